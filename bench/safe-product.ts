// A Sentinel-2-like L1C product for the scene path, written at bench time (never committed): the
// Landsat-like band set of bench/band-set.ts at Sentinel-2 tile size (four single-band uint16 tiled
// GeoTIFFs, ~30 % fill, with their MTL.json: the "COG bands" side of the comparison), the same
// pixels converted by GDAL (a test tool, never a product dependency) to the JP2s of a compact SAFE
// (B02 B03 B04 B08; lossless, 1024 x 1024 tiles, 15 bits, 6 resolutions and TLM markers, as ESA's
// products have) with MTD_MSIL1C.xml and the granule's MTD_TL.xml after test/fixtures/safe. Both are
// kept in the temp dir between runs: the JPEG 2000 encode takes minutes.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { writeLandsatLikeBandSet } from './band-set.js';

const run = promisify(execFile);

export const SAFE_PRODUCT = 'S2B_MSIL1C_20240612T101559_N0510_R065_T32TQM_20240612T121920.SAFE';
const GRANULE = 'L1C_T32TQM_A037930_20240612T101558';
const IMAGE_PREFIX = 'T32TQM_20240612T101559';
// The Landsat band set's B2 B3 B4 B5 are blue, green, red and NIR: Sentinel-2's B02 B03 B04 B08.
const BANDS = [
  { landsat: 'B2', sentinel: 'B02' },
  { landsat: 'B3', sentinel: 'B03' },
  { landsat: 'B4', sentinel: 'B04' },
  { landsat: 'B5', sentinel: 'B08' },
] as const;
// The tile's upper-left corner in EPSG:32632 (the fixtures' T32TQM) and its 10 m pixels.
const ULX = 699960;
const ULY = 5000040;
// Landsat L1 DNs (ground ~8000-14000, clouds ~30000) scaled by 1/4 to L1C DNs with baseline 05.10's
// +1000: reflectance ground ~0.1-0.25, clouds ~0.65, nodata 0 kept 0.
const DN_SCALE = ['-scale', '0', '65535', '0', '16384'];
export const JP2_OPTIONS = ['REVERSIBLE=YES', 'QUALITY=100', 'BLOCKXSIZE=1024', 'BLOCKYSIZE=1024', 'NBITS=15', 'RESOLUTIONS=6', 'TLM=YES'];
// Bump when what is written changes, so a kept product is rewritten.
const LAYOUT_VERSION = 1;

export interface SafeLikeProduct {
  /** Where both are kept. */
  dir: string;
  /** The COG band set's MTL.json and the bytes of its four GeoTIFFs. */
  cog: { descriptor: string; bytes: number };
  /** The SAFE's MTD_MSIL1C.xml, its four JP2s and their bytes; null (with why) when GDAL cannot write them. */
  safe: { descriptor: string; bands: string[]; bytes: number } | null;
  safeMissing: string | false;
  /** Whether the product was kept from an earlier run (nothing written now). */
  reused: boolean;
  /** Time spent writing now: GeoTIFFs, then the JPEG 2000 conversion. */
  writeMs: number;
  convertMs: number;
}

/** Why GDAL cannot write JP2 here, or false when gdal_translate has the JP2OpenJPEG driver. */
export async function gdalJp2Missing(): Promise<string | false> {
  try {
    const { stdout } = await run('gdal_translate', ['--formats']);
    return /JP2OpenJPEG/.test(stdout) ? false : 'gdal_translate has no JP2OpenJPEG driver';
  } catch {
    return 'GDAL not installed';
  }
}

/** Writes (or finds, from an earlier run) the COG band set and the SAFE product under `root`. */
export async function safeLikeProduct(root: string, size: number): Promise<SafeLikeProduct> {
  const dir = join(root, `cloudseg-bench-safe-${size}-v${LAYOUT_VERSION}`);
  const cogDir = join(dir, 'cog');
  const safeDir = join(dir, SAFE_PRODUCT);
  const done = join(dir, 'complete.json');
  const safeMissing = await gdalJp2Missing();
  if (existsSync(done)) {
    const kept = JSON.parse(await readFile(done, 'utf8')) as Pick<SafeLikeProduct, 'cog' | 'safe'>;
    if (kept.safe || safeMissing) return { ...kept, dir, safeMissing, reused: true, writeMs: 0, convertMs: 0 };
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(cogDir, { recursive: true });
  let started = performance.now();
  const cog = await writeLandsatLikeBandSet(cogDir, size);
  const writeMs = performance.now() - started;
  started = performance.now();
  const safe = safeMissing ? null : await writeSafe(safeDir, cog.descriptor, size);
  const convertMs = performance.now() - started;
  await writeFile(done, JSON.stringify({ cog, safe }));
  return { dir, cog, safe, safeMissing, reused: false, writeMs, convertMs };
}

async function writeSafe(safeDir: string, mtl: string, size: number): Promise<{ descriptor: string; bands: string[]; bytes: number }> {
  const imgData = join(safeDir, 'GRANULE', GRANULE, 'IMG_DATA');
  await mkdir(imgData, { recursive: true });
  const tifOf = (landsat: string) => mtl.replace(/_MTL\.json$/, `_${landsat}.TIF`);
  const lrx = ULX + 10 * size;
  const lry = ULY - 10 * size;
  // One gdal_translate per core: the encoder uses one.
  const limit = pLimit(availableParallelism());
  const bands = await Promise.all(
    BANDS.map((b) =>
      limit(async () => {
        const out = join(imgData, `${IMAGE_PREFIX}_${b.sentinel}.jp2`);
        const co = JP2_OPTIONS.flatMap((o) => ['-co', o]);
        await run('gdal_translate', ['-q', '-of', 'JP2OpenJPEG', ...co, ...DN_SCALE, '-a_srs', 'EPSG:32632', '-a_ullr', String(ULX), String(ULY), String(lrx), String(lry), tifOf(b.landsat), out], { maxBuffer: 1 << 24 });
        // Only what the file holds: no PAM sidecar.
        await rm(`${out}.aux.xml`, { force: true });
        return out;
      }),
    ),
  );
  const descriptor = join(safeDir, 'MTD_MSIL1C.xml');
  await writeFile(descriptor, productXml());
  await writeFile(join(safeDir, 'GRANULE', GRANULE, 'MTD_TL.xml'), granuleXml(size));
  let bytes = 0;
  for (const band of bands) bytes += (await stat(band)).size;
  return { descriptor, bands, bytes };
}

// After the fixture S2B_MSIL1C_..._N0510_...SAFE/MTD_MSIL1C.xml, listing the four bands written.
function productXml(): string {
  const files = BANDS.map((b) => `            <IMAGE_FILE>GRANULE/${GRANULE}/IMG_DATA/${IMAGE_PREFIX}_${b.sentinel}</IMAGE_FILE>`).join('\n');
  const offsets = Array.from({ length: 13 }, (_, i) => `        <RADIO_ADD_OFFSET band_id="${i}">-1000</RADIO_ADD_OFFSET>`).join('\n');
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-1C_User_Product xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-1C.xsd">
    <n1:General_Info>
        <Product_Info>
            <PRODUCT_START_TIME>2024-06-12T10:15:59.024Z</PRODUCT_START_TIME>
            <PRODUCT_STOP_TIME>2024-06-12T10:15:59.024Z</PRODUCT_STOP_TIME>
            <PRODUCT_URI>${SAFE_PRODUCT}</PRODUCT_URI>
            <PROCESSING_LEVEL>Level-1C</PROCESSING_LEVEL>
            <PRODUCT_TYPE>S2MSI1C</PRODUCT_TYPE>
            <PROCESSING_BASELINE>05.10</PROCESSING_BASELINE>
            <GENERATION_TIME>2024-06-12T12:19:20.000000Z</GENERATION_TIME>
<Query_Options completeSingleTile="true">
<PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>
</Query_Options>
<Product_Organisation>
    <Granule_List>
        <Granule datastripIdentifier="S2B_OPER_MSI_L1C_DS_2BPS_20240612T121920_S20240612T101558_N05.10" granuleIdentifier="S2B_OPER_MSI_L1C_TL_2BPS_20240612T121920_A037930_T32TQM_N05.10" imageFormat="JPEG2000">
${files}
        </Granule>
    </Granule_List>
</Product_Organisation>
</Product_Info>
        <Product_Image_Characteristics>
            <Special_Values>
                <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>
                <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>
            </Special_Values>
            <Special_Values>
                <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>
                <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>
            </Special_Values>
            <QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
            <Radiometric_Offset_List>
${offsets}
            </Radiometric_Offset_List>
        </Product_Image_Characteristics>
    </n1:General_Info>
</n1:Level-1C_User_Product>
`;
}

// After the fixture's granule MTD_TL.xml: the tile's geocoding at 10/20/60 m and a mean sun zenith.
function granuleXml(size: number): string {
  const resolutions = [10, 20, 60];
  const sizes = resolutions.map((r) => `      <Size resolution="${r}">\n        <NROWS>${Math.ceil((size * 10) / r)}</NROWS>\n        <NCOLS>${Math.ceil((size * 10) / r)}</NCOLS>\n      </Size>`).join('\n');
  const positions = resolutions
    .map((r) => `      <Geoposition resolution="${r}">\n        <ULX>${ULX}</ULX>\n        <ULY>${ULY}</ULY>\n        <XDIM>${r}</XDIM>\n        <YDIM>-${r}</YDIM>\n      </Geoposition>`)
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<n1:Level-1C_Tile_ID xmlns:n1="https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-1C_Tile_ID.xsd" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <n1:General_Info>
    <TILE_ID metadataLevel="Brief">S2B_OPER_MSI_L1C_TL_2BPS_20240612T121920_A037930_T32TQM_N05.10</TILE_ID>
    <SENSING_TIME metadataLevel="Standard">2024-06-12T10:26:31.012Z</SENSING_TIME>
  </n1:General_Info>
  <n1:Geometric_Info>
    <Tile_Geocoding metadataLevel="Brief">
      <HORIZONTAL_CS_NAME>WGS84 / UTM zone 32N</HORIZONTAL_CS_NAME>
      <HORIZONTAL_CS_CODE>EPSG:32632</HORIZONTAL_CS_CODE>
${sizes}
${positions}
    </Tile_Geocoding>
    <Tile_Angles metadataLevel="Standard">
      <Mean_Sun_Angle>
        <ZENITH_ANGLE unit="deg">31.5</ZENITH_ANGLE>
        <AZIMUTH_ANGLE unit="deg">150.25</AZIMUTH_ANGLE>
      </Mean_Sun_Angle>
    </Tile_Angles>
  </n1:Geometric_Info>
</n1:Level-1C_Tile_ID>
`;
}
