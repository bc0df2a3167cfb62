// Our mask COGs judged by GDAL, the field's reference: gdalinfo -json (size, CRS, geotransform,
// nodata, overviews, block size, compression, metadata, a class mask's colour table), GDAL's own COG
// validator with the full leader/trailer check, and pixels read back by GDAL at every level.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { encodeMaskCog } from '../../shared/imaging/encode.js';
import { halveMask, maskOverviews } from '../../shared/imaging/mask-overviews.js';
import { CLASS_MASK_NODATA, type MaskLegend } from '../../shared/imaging/mask-values.js';
import type { Georeference } from '../../shared/imaging/types.js';

const run = promisify(execFile);

// python3-gdal installs into Debian's python; a pyenv/venv python3 first on PATH cannot import it.
const PYTHONS = ['/usr/bin/python3', 'python3'];

async function findGdal(): Promise<{ python: string } | string> {
  try {
    await run('gdalinfo', ['--version']);
  } catch {
    return 'gdalinfo not found';
  }
  for (const python of PYTHONS) {
    try {
      await run(python, ['-c', 'import osgeo_utils.samples.validate_cloud_optimized_geotiff']);
      return { python };
    } catch {
      // try the next
    }
  }
  return 'no python3 with osgeo_utils (python3-gdal)';
}

const gdal = await findGdal();
const MISSING = typeof gdal === 'string' ? `${gdal}: GDAL not installed (apt-get install gdal-bin python3-gdal; .ci/run does)` : false;
if (MISSING) console.warn(`!!! SKIPPING GDAL COG checks: ${MISSING}`);

const UTM36S: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, GTCitationGeoKey: 'WGS 84 / UTM zone 36S', ProjectedCSTypeGeoKey: 32736 },
  modelTiepoint: [0, 0, 0, 446235, 9705660, 0],
  modelPixelScale: [10, 10, 0],
  modelTransformation: null,
};

// Clouds of several sizes, clear, and a nodata margin on the left and bottom.
function sceneMask(width: number, height: number): Uint8Array {
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const nodata = x < 150 || y > height - 90;
      const cloud = ((x >> 6) * 7 + (y >> 5) * 3) % 5 < 2 || ((x * 31) ^ (y * 17)) % 97 === 0;
      out[y * width + x] = nodata ? 128 : cloud ? 255 : 0;
    }
  }
  return out;
}

// A class mask as a card lists it: values with a gap, names with a space and an ampersand.
const CLASS_LEGEND: MaskLegend = {
  kind: 'classes',
  nodata: CLASS_MASK_NODATA,
  classes: [
    { value: 0, name: 'clear', kind: 'clear', rgb: [34, 139, 34] },
    { value: 1, name: 'thick cloud', kind: 'cloud', rgb: [255, 255, 255] },
    { value: 2, name: 'thin cloud', kind: 'thin-cloud', rgb: [0, 191, 255] },
    { value: 3, name: 'shadow', kind: 'shadow', rgb: [105, 105, 105] },
    { value: 9, name: 'snow & ice', kind: 'snow', rgb: [255, 0, 255] },
  ],
};

// The classes in bands of several widths, a nodata margin on the left and bottom.
function classSceneMask(width: number, height: number): Uint8Array {
  const values = CLASS_LEGEND.classes.map((c) => c.value);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const nodata = x < 150 || y > height - 90;
      out[y * width + x] = nodata ? CLASS_MASK_NODATA : values[((x >> 6) * 7 + (y >> 5) * 3) % values.length]!;
    }
  }
  return out;
}

interface GdalInfo {
  size: [number, number];
  geoTransform?: number[];
  stac?: { 'proj:epsg'?: number };
  coordinateSystem?: { wkt: string };
  metadata: Record<string, Record<string, string>>;
  bands: {
    block: [number, number];
    type: string;
    noDataValue?: number;
    description?: string;
    colorInterpretation?: string;
    colorTable?: { palette: string; count: number; entries: [number, number, number, number][] };
    overviews?: { size: [number, number] }[];
  }[];
}

describe('mask COG checked by GDAL', { skip: MISSING }, () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cloudseg-gdal-cog-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function save(name: string, bytes: Buffer): Promise<string> {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  }
  async function info(path: string): Promise<GdalInfo> {
    return JSON.parse((await run('gdalinfo', ['-json', path])).stdout) as GdalInfo;
  }
  async function validate(path: string): Promise<string> {
    const python = (gdal as { python: string }).python;
    const { stdout } = await run(python, ['-m', 'osgeo_utils.samples.validate_cloud_optimized_geotiff', '--full-check=yes', path]);
    return stdout;
  }
  // The whole band of one level (0 = full resolution, i = overview i-1) as GDAL reads it.
  async function gdalPixels(path: string, level: number): Promise<Uint8Array> {
    const python = (gdal as { python: string }).python;
    const script = [
      'import sys',
      'from osgeo import gdal',
      'ds = gdal.Open(sys.argv[1])  # kept: a band outlives a collected dataset badly',
      'band = ds.GetRasterBand(1)',
      'level = int(sys.argv[2])',
      'b = band if level == 0 else band.GetOverview(level - 1)',
      'sys.stdout.buffer.write(b.ReadRaster())',
    ].join('\n');
    const { stdout } = await run(python, ['-c', script, path, String(level)], { encoding: 'buffer', maxBuffer: 1 << 28 });
    return new Uint8Array(stdout);
  }

  it('a small georeferenced mask: size, EPSG, geotransform, nodata 128, deflate, 512 blocks, LAYOUT=COG, valid', async () => {
    const mask = sceneMask(600, 400);
    const path = await save('small.tif', await encodeMaskCog(mask, 600, 400, { georef: UTM36S }));
    const meta = await info(path);
    assert.deepEqual(meta.size, [600, 400]);
    assert.equal(meta.stac?.['proj:epsg'], 32736);
    assert.deepEqual(meta.geoTransform, [446235, 10, 0, 9705660, 0, -10]);
    const [band] = meta.bands;
    assert.deepEqual([band!.type, band!.block, band!.noDataValue], ['Byte', [512, 512], 128]);
    assert.deepEqual(band!.overviews?.map((o) => o.size), [[300, 200]]);
    assert.equal(meta.metadata.IMAGE_STRUCTURE?.COMPRESSION, 'DEFLATE');
    assert.equal(meta.metadata.IMAGE_STRUCTURE?.LAYOUT, 'COG');
    assert.match(await validate(path), /is a valid cloud optimized GeoTIFF/);
    assert.deepEqual(await gdalPixels(path, 0), mask);
    // gdallocationinfo on a cloud, a clear and a nodata pixel
    for (const [x, y] of [[200, 10], [300, 10], [10, 10], [599, 399]] as const) {
      const { stdout } = await run('gdallocationinfo', ['-valonly', path, String(x), String(y)]);
      assert.equal(Number(stdout.trim()), mask[y * 600 + x], `pixel ${x},${y}`);
    }
  });

  it('a 3000x2000 mask: three overviews GDAL reads as our mode levels, every level valid', async () => {
    const width = 3000;
    const height = 2000;
    const mask = sceneMask(width, height);
    const path = await save('multi.tif', await encodeMaskCog(mask, width, height, { georef: UTM36S }));
    const meta = await info(path);
    assert.deepEqual(meta.bands[0]!.overviews?.map((o) => o.size), [[1500, 1000], [750, 500], [375, 250]]);
    for (const o of meta.bands[0]!.overviews!) assert.ok(o.size[0] > 0);
    const validation = await validate(path);
    assert.match(validation, /is a valid cloud optimized GeoTIFF/);
    assert.doesNotMatch(validation, /error|warning/i);
    let level = { width, height, data: mask };
    for (let i = 0; i <= 3; i++) {
      if (i > 0) level = halveMask(level);
      const got = await gdalPixels(path, i);
      assert.equal(got.length, level.width * level.height, `level ${i} size`);
      assert.ok(Buffer.from(got).equals(Buffer.from(level.data)), `level ${i} pixels`);
      assert.deepEqual([...new Set(got)].sort((a, b) => a - b), [0, 128, 255], `level ${i} keeps clear, cloud and nodata`);
    }
    assert.equal(maskOverviews({ width, height, data: mask }).length, 3);
  });

  it('an ungeoreferenced mask is still a valid COG, without a CRS', async () => {
    const mask = sceneMask(1100, 700);
    const path = await save('plain.tif', await encodeMaskCog(mask, 1100, 700, { georef: null }));
    const meta = await info(path);
    assert.equal(meta.coordinateSystem?.wkt ?? '', '');
    assert.equal(meta.bands[0]!.noDataValue, 128);
    assert.deepEqual(meta.bands[0]!.overviews?.map((o) => o.size), [[550, 350], [275, 175]]);
    assert.match(await validate(path), /is a valid cloud optimized GeoTIFF/);
    assert.deepEqual(await gdalPixels(path, 0), mask);
  });

  it('tags and value meanings are GDAL metadata items, special characters intact', async () => {
    const tags = {
      CLOUDSEG_REFLECTANCE: 'toa = (REFLECTANCE_MULT_BAND_x * DN + REFLECTANCE_ADD_BAND_x) / sin(SUN_ELEVATION)',
      CLOUDSEG_REFLECTANCE_SOURCE: 'LC09_L1TP_…_MTL.json <sun 41.2°> & "scale"',
    };
    const path = await save('tags.tif', await encodeMaskCog(sceneMask(700, 520), 700, 520, { georef: UTM36S, tags }));
    const meta = await info(path);
    const items = meta.metadata[''] ?? {};
    assert.equal(items.CLOUDSEG_REFLECTANCE, tags.CLOUDSEG_REFLECTANCE);
    assert.equal(items.CLOUDSEG_REFLECTANCE_SOURCE, tags.CLOUDSEG_REFLECTANCE_SOURCE);
    assert.deepEqual([items.MASK_VALUE_CLEAR, items.MASK_VALUE_CLOUD, items.MASK_VALUE_NODATA], ['0', '255', '128']);
    assert.match(meta.bands[0]!.description ?? '', /cloud mask/);
    assert.match(await validate(path), /is a valid cloud optimized GeoTIFF/);
  });

  it('a class mask: palette with the card colours, nodata 255, class names, class values at every level, valid', async () => {
    const width = 1300;
    const height = 900;
    const mask = classSceneMask(width, height);
    const tags = { CLOUDSEG_MODEL: 'classes-v1' };
    const path = await save('classes.tif', await encodeMaskCog(mask, width, height, { georef: UTM36S, tags, legend: CLASS_LEGEND }));
    const meta = await info(path);
    const [band] = meta.bands;
    assert.deepEqual([band!.type, band!.noDataValue, band!.colorInterpretation], ['Byte', 255, 'Palette']);
    const table = band!.colorTable!;
    assert.deepEqual([table.palette, table.count], ['RGB', 256]);
    for (const c of CLASS_LEGEND.classes) assert.deepEqual(table.entries[c.value], [...c.rgb, 255], `colour of ${c.name}`);
    assert.deepEqual(table.entries[5]!.slice(0, 3), [0, 0, 0], 'an unused entry is black');
    const items = meta.metadata[''] ?? {};
    for (const c of CLASS_LEGEND.classes) {
      assert.equal(items[`CLASS_${c.value}`], c.name);
      assert.equal(items[`CLASS_${c.value}_KIND`], c.kind);
    }
    assert.equal(items.CLOUDSEG_MODEL, 'classes-v1');
    assert.equal(items.MASK_VALUE_CLOUD, undefined, 'no cloud-mask items');
    assert.equal(band!.description, 'class mask (0 clear, 1 thick cloud, 2 thin cloud, 3 shadow, 9 snow & ice, 255 nodata)');
    assert.deepEqual(band!.overviews?.map((o) => o.size), [[650, 450], [325, 225]]);
    assert.equal(meta.metadata.IMAGE_STRUCTURE?.LAYOUT, 'COG');
    const validation = await validate(path);
    assert.match(validation, /is a valid cloud optimized GeoTIFF/);
    assert.doesNotMatch(validation, /error|warning/i);
    let level = { width, height, data: mask };
    for (let i = 0; i <= 2; i++) {
      if (i > 0) level = halveMask(level, CLASS_LEGEND);
      const got = await gdalPixels(path, i);
      assert.ok(Buffer.from(got).equals(Buffer.from(level.data)), `level ${i} pixels`);
      assert.deepEqual([...new Set(got)].sort((a, b) => a - b), [0, 1, 2, 3, 9, 255], `level ${i} keeps every class and nodata`);
    }
    // gdallocationinfo gives the class value, not a colour
    for (const [x, y] of [[200, 10], [300, 10], [700, 100], [10, 10], [1299, 899]] as const) {
      const { stdout } = await run('gdallocationinfo', ['-valonly', path, String(x), String(y)]);
      assert.equal(Number(stdout.trim()), mask[y * width + x], `pixel ${x},${y}`);
    }
  });
});
