// Small Sentinel-2 SAFE products built at test time, laid out like ESA's compact SAFE: the XML of
// test/fixtures/safe/ with the tile shrunk to a few hundred pixels, and one lossless JPEG 2000 per
// band written by GDAL from a uint16 GeoTIFF (kept, so the same bands can be read as GeoTIFFs),
// with or without GeoJP2/GMLJP2 boxes. GDAL is a test tool only: callers skip when it is missing.
import { execFile } from 'node:child_process';
import { mkdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/config/project-root.js';
import type { Georeference } from '../../shared/imaging/types.js';
import { bandValue, writeBandFile } from '../integration/scene-band-files.js';

const run = promisify(execFile);

async function findGdalJp2(): Promise<string | false> {
  try {
    const { stdout } = await run('gdal_translate', ['--formats']);
    return /JP2OpenJPEG/.test(stdout) ? false : 'gdal_translate has no JP2OpenJPEG driver';
  } catch {
    return 'gdal_translate not found';
  }
}

const missing = await findGdalJp2();
/** Why SAFE products cannot be built here, or false. */
export const GDAL_JP2_MISSING = missing ? `${missing}: GDAL not installed (apt-get install gdal-bin; .ci/run does)` : false;

export const SAFE_FIXTURES = {
  'l1c-05.10': 'S2B_MSIL1C_20240612T101559_N0510_R065_T32TQM_20240612T121920.SAFE',
  'l1c-03.01': 'S2A_MSIL1C_20210714T101031_N0301_R022_T32TQM_20210714T122145.SAFE',
  'l2a-05.10': 'S2A_MSIL2A_20240615T101031_N0510_R022_T32TQM_20240615T141413.SAFE',
} as const;
export type SafeFixture = keyof typeof SAFE_FIXTURES;

/** The tile at 10 m: divisible by 6, so the 20 m and 60 m grids are whole pixels too. */
export const SAFE_SIZE = { width: 360, height: 300 } as const;
/** The fixtures' Tile_Geocoding: UTM 32N, upper-left corner 699960, 5000040. */
export const SAFE_EPSG = 32632;
export const SAFE_GRID_10M: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: SAFE_EPSG },
  modelTiepoint: [0, 0, 0, 699960, 5000040, 0],
  modelPixelScale: [10, 10, 0],
  modelTransformation: null,
};
/** The GDAL geotransform of the 10 m grid. */
export const SAFE_GEOTRANSFORM_10M = [699960, 10, 0, 5000040, 0, -10];

/** The MSI bands written: the four the bundled model reads (10 m) and a 20 m one it does not. */
export const SAFE_BANDS = [
  { msi: 'B02', commonName: 'blue', resolutionM: 10, seed: 0 },
  { msi: 'B03', commonName: 'green', resolutionM: 10, seed: 1 },
  { msi: 'B04', commonName: 'red', resolutionM: 10, seed: 2 },
  { msi: 'B08', commonName: 'nir', resolutionM: 10, seed: 3 },
  { msi: 'B11', commonName: 'swir16', resolutionM: 20, seed: 4 },
] as const;
export type SafeBand = (typeof SAFE_BANDS)[number]['msi'];

/** Which georeferencing boxes GDAL writes into a band's JP2. */
export type GeoBoxes = 'geojp2+gmljp2' | 'gmljp2' | 'none';

/** Saturated (65535) pixels of the red band, in 10 m pixels: inside the footprint. */
export const SATURATED_RECT = { x: 150, y: 120, width: 12, height: 8 } as const;
/** Fill (0, NODATA) along every edge of every band, in its own pixels at 10 m. */
export const BORDER_10M = 30;

export interface SafeProductSpec {
  fixture: SafeFixture;
  /** For every band, or per band (the rest 'none'). @default 'geojp2+gmljp2' */
  boxes?: GeoBoxes | Partial<Record<SafeBand, GeoBoxes>>;
  /** The EPSG code the bands' own georeference names (another than the granule's: a CRS mismatch). */
  fileEpsg?: number;
  /** Write SATURATED_RECT into the red band. */
  saturated?: boolean;
  /** Bands the product lists but whose file is not there. */
  omit?: SafeBand[];
  /** A band whose JP2 is cut to 60 % of its bytes. */
  truncated?: SafeBand;
}

export interface SafeProduct {
  /** The .SAFE folder. */
  dir: string;
  /** Its MTD_MSIL1C.xml / MTD_MSIL2A.xml. */
  descriptor: string;
  /** The product id (PRODUCT_URI without .SAFE). */
  id: string;
  /** Every file of the product, relative to `dir`. */
  files: string[];
  /** Each written band's JP2, relative to `dir`. */
  bandFiles: Map<SafeBand, string>;
  /** The GeoTIFF each band's JP2 was made from (the same pixels: the JP2s are lossless). */
  sourceTiffs: Map<SafeBand, string>;
}

/** The stored value of a band at (x, y) of its own grid: what bandValue gives, 65535 where saturated. */
export function safeBandValue(msi: SafeBand, x: number, y: number, saturated: boolean): number {
  const band = SAFE_BANDS.find((b) => b.msi === msi)!;
  const r = SATURATED_RECT;
  if (saturated && msi === 'B04' && x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height) return 65535;
  return bandValue(band.seed, x, y);
}

/** Builds a product under `parentDir` (the .SAFE folder keeps the fixture's name). */
export async function buildSafeProduct(parentDir: string, spec: SafeProductSpec): Promise<SafeProduct> {
  const name = SAFE_FIXTURES[spec.fixture];
  const fixtureDir = join(projectRoot(), 'test', 'fixtures', 'safe', name);
  const dir = join(parentDir, name);
  const descriptorName = spec.fixture.startsWith('l2a') ? 'MTD_MSIL2A.xml' : 'MTD_MSIL1C.xml';
  const productXml = await readFile(join(fixtureDir, descriptorName), 'utf8');
  const imageFiles = [...productXml.matchAll(/<IMAGE_FILE>([^<]+)<\/IMAGE_FILE>/g)].map((m) => m[1]!);
  const granule = /^GRANULE\/([^/]+)\//.exec(imageFiles[0]!)![1]!;
  const files: string[] = [];
  const put = async (relative: string, content: string) => {
    await mkdir(dirname(join(dir, relative)), { recursive: true });
    await writeFile(join(dir, relative), content);
    files.push(relative);
  };
  await put(descriptorName, productXml);
  const tile = await readFile(join(fixtureDir, 'GRANULE', granule, 'MTD_TL.xml'), 'utf8');
  await put(`GRANULE/${granule}/MTD_TL.xml`, shrinkTile(tile));
  await put('manifest.safe', '<?xml version="1.0" encoding="UTF-8"?>\n<xfdu:XFDU xmlns:xfdu="urn:ccsds:schema:xfdu:1" version="esa/safe/sentinel/1.1/sentinel-2/msi/archive_l1c_user_product"/>\n');
  await put('INSPIRE.xml', '<?xml version="1.0" encoding="UTF-8"?>\n<gmd:MD_Metadata xmlns:gmd="http://www.isotc211.org/2005/gmd"/>\n');

  const bandFiles = new Map<SafeBand, string>();
  const sourceTiffs = new Map<SafeBand, string>();
  const tiffDir = join(parentDir, 'tiff');
  await mkdir(tiffDir, { recursive: true });
  for (const band of SAFE_BANDS) {
    const listed = imageFiles.find((f) => new RegExp(`_${band.msi}(?:_${band.resolutionM}m)?$`).test(f));
    if (!listed) throw new Error(`${name} lists no ${band.msi} file`);
    const tiff = await sourceTiff(tiffDir, band.msi, spec.saturated === true, spec.fileEpsg ?? SAFE_EPSG);
    sourceTiffs.set(band.msi, tiff);
    if (spec.omit?.includes(band.msi)) continue;
    const relative = `${listed}.jp2`;
    const boxes = typeof spec.boxes === 'string' || spec.boxes === undefined ? (spec.boxes ?? 'geojp2+gmljp2') : (spec.boxes[band.msi] ?? 'none');
    await mkdir(dirname(join(dir, relative)), { recursive: true });
    await toJp2(tiff, join(dir, relative), boxes);
    if (spec.truncated === band.msi) await truncate(join(dir, relative), Math.floor((await stat(join(dir, relative))).size * 0.6));
    bandFiles.set(band.msi, relative);
    files.push(relative);
  }
  return { dir, descriptor: join(dir, descriptorName), id: name.replace(/\.SAFE$/, ''), files, bandFiles, sourceTiffs };
}

/** A STAC item over the GeoTIFF sources of the four 10 m bands, with the product's scale and offset. */
export function stacItemOverSources(product: SafeProduct, scale: number, offset: number): { key: string; href: string; commonName: string; scale: number; offset: number }[] {
  return SAFE_BANDS.filter((b) => b.resolutionM === 10).map((b) => ({ key: b.msi, href: product.sourceTiffs.get(b.msi)!, commonName: b.commonName, scale, offset }));
}

// The fixture's 10980/5490/1830 pixel tile becomes SAFE_SIZE at 10 m, and its 20 m / 60 m sizes.
function shrinkTile(xml: string): string {
  return xml.replace(/<Size resolution="(\d+)">([\s\S]*?)<\/Size>/g, (_, resolution: string) => {
    const factor = Number(resolution) / 10;
    return `<Size resolution="${resolution}">\n        <NROWS>${SAFE_SIZE.height / factor}</NROWS>\n        <NCOLS>${SAFE_SIZE.width / factor}</NCOLS>\n      </Size>`;
  });
}

const tiffs = new Map<string, Promise<string>>();

// One GeoTIFF per band and variant, written once per folder: tiled uint16, NODATA border, UTM grid.
function sourceTiff(dir: string, msi: SafeBand, saturated: boolean, epsg: number): Promise<string> {
  const file = `${msi}${saturated && msi === 'B04' ? '-saturated' : ''}${epsg === SAFE_EPSG ? '' : `-epsg${epsg}`}.tif`;
  const path = join(dir, file);
  let written = tiffs.get(path);
  if (!written) {
    const band = SAFE_BANDS.find((b) => b.msi === msi)!;
    const factor = band.resolutionM / 10;
    const georef: Georeference = {
      ...SAFE_GRID_10M,
      geoKeys: { ...SAFE_GRID_10M.geoKeys, ProjectedCSTypeGeoKey: epsg },
      modelPixelScale: [band.resolutionM, band.resolutionM, 0],
    };
    written = writeBandFile(
      dir,
      file,
      { width: SAFE_SIZE.width / factor, height: SAFE_SIZE.height / factor, border: BORDER_10M / factor, tileSize: 128, georef },
      (x, y) => safeBandValue(msi, x, y, saturated),
    );
    tiffs.set(path, written);
  }
  return written;
}

async function toJp2(tiff: string, jp2: string, boxes: GeoBoxes): Promise<void> {
  const options = ['-co', 'REVERSIBLE=YES', '-co', 'QUALITY=100', '-co', 'BLOCKXSIZE=128', '-co', 'BLOCKYSIZE=128'];
  if (boxes !== 'geojp2+gmljp2') options.push('-co', 'GeoJP2=NO');
  if (boxes === 'none') options.push('-co', 'GMLJP2=NO');
  // No .aux.xml sidecar: a file without boxes must carry no georeference at all.
  await run('gdal_translate', ['--config', 'GDAL_PAM_ENABLED', 'NO', '-q', '-of', 'JP2OpenJPEG', ...options, tiff, jp2]);
}
