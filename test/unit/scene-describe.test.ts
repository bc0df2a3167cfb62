// describeScene on hand-written descriptors laid out like the real ones (USGS Landsat C2 MTL in
// both forms, a USGS Landsat STAC item, Earth Search and Planetary Computer Sentinel-2 items, a
// STAC 1.1 item with `bands`): band matching, hrefs, reflectance and its record, and the errors.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CloudsegError, type ErrorCode } from '../../shared/errors.js';
import { companionMtlOf, describeScene } from '../../shared/scenes/describe-scene.js';
import type { DescribeSceneArgs, ObjectLocation, SceneDescription } from '../../shared/scenes/types.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'scenes');
const L9 = 'LC09_L1TP_014034_20220330_20220330_02_T1';
const FILES = {
  mtlJson: `${L9}_MTL.json`,
  mtlTxt: `${L9}_MTL.txt`,
  usgsItem: `${L9}_stac.json`,
  earthSearch: 'S2A_32TQM_20220615_0_L2A.json',
  pc: 'S2A_MSIL2A_20220615T101611_R065_T32TQM_pc.json',
  stac11: 'S2B_T33UXP_20250302T095029_L2A_stac11.json',
};
const SIX = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];
const FOUR = ['blue', 'green', 'red', 'nir'];
const PRESETS = { 'sentinel2-l1c': { scale: 1e-4, offset: 0 }, 'landsat8-l1': { scale: 2e-5, offset: -0.1 } };

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const bytesOf = (file: string): Uint8Array => readFileSync(join(DIR, file));
const jsonOf = (file: string): Json => JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Json;
const encode = (doc: unknown): Uint8Array => new TextEncoder().encode(typeof doc === 'string' ? doc : JSON.stringify(doc));
const gcs = (name: string): ObjectLocation => ({ kind: 'gcs', bucket: 'in', name });

function run(bytes: Uint8Array, opts: Partial<DescribeSceneArgs> = {}): SceneDescription {
  return describeScene({ location: gcs('scenes/a/descriptor.json'), bytes, cardBands: SIX, presets: PRESETS, defaultPreset: 'sentinel2-l1c', ...opts });
}

/** Reflectance of a stored value for band i, as the band stack will compute it. */
const reflectance = (d: SceneDescription, i: number, dn: number): number => dn * d.bands[i]!.scale + d.bands[i]!.offset;
const close = (actual: number, expected: number, what = ''): void => assert.ok(Math.abs(actual - expected) < 1e-9, `${what} ${actual} != ${expected}`);

function fails(fn: () => unknown, code: ErrorCode, says: RegExp): CloudsegError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CloudsegError, `expected a CloudsegError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, says);
  return caught;
}

// Hand-computed, sin(35.2 deg) = 0.5764323161697933:
//   (2e-5 * 7000 - 0.1) / sin = 0.04 / 0.5764323161697933 = 0.06939236208300585
//   (2e-5 * 30000 - 0.1) / sin = 0.5 / 0.5764323161697933 = 0.8674045260375732
const TOA_7000 = 0.06939236208300585;
const TOA_30000 = 0.8674045260375732;

describe('describeScene: Landsat C2 MTL', () => {
  it('MTL.json: OLI bands B2..B7 beside the MTL, TOA reflectance with the sun term', () => {
    const d = run(bytesOf(FILES.mtlJson), { location: gcs(`landsat/${L9}_MTL.json`) });
    assert.equal(d.kind, 'landsat-mtl');
    assert.equal(d.id, L9);
    assert.deepEqual(
      d.bands.map((b) => [b.band, b.href, b.location, b.sample, b.noData]),
      [2, 3, 4, 5, 6, 7].map((n, i) => [SIX[i], `${L9}_B${n}.TIF`, gcs(`landsat/${L9}_B${n}.TIF`), 0, 0]),
    );
    close(reflectance(d, 0, 7000), TOA_7000, 'blue DN 7000');
    close(reflectance(d, 5, 30000), TOA_30000, 'swir2 DN 30000');
    assert.equal(d.reflectance.conversion, 'landsat-l1-toa');
    assert.equal(d.reflectance.source, 'mtl');
    assert.equal(d.reflectance.sunElevation, 35.2);
    assert.equal(d.reflectance.processingBaseline, null);
    assert.equal(d.reflectance.preset, null);
    assert.deepEqual(d.reflectance.scale, d.bands.map((b) => b.scale));
    assert.deepEqual(d.reflectance.offset, d.bands.map((b) => b.offset));
  });

  it('MTL.txt (ODL) describes the same scene as MTL.json', () => {
    const location = gcs(`landsat/${L9}_MTL.txt`);
    assert.deepEqual(run(bytesOf(FILES.mtlTxt), { location }), run(bytesOf(FILES.mtlJson), { location }));
  });

  it('a descriptor on disk names files beside it; card order is kept', () => {
    const d = run(bytesOf(FILES.mtlTxt), { location: { kind: 'file', path: `/data/l9/${L9}_MTL.txt` }, cardBands: ['nir', 'red', 'green', 'blue'] });
    assert.deepEqual(
      d.bands.map((b) => [b.band, b.location]),
      [['nir', 5], ['red', 4], ['green', 3], ['blue', 2]].map(([band, n]) => [band, { kind: 'file', path: `/data/l9/${L9}_B${n}.TIF` }]),
    );
  });

  it('Landsat 7 ETM+ numbering: B1 blue .. B4 nir, B5 swir1, B7 swir2, each with its own MULT/ADD', () => {
    const doc = jsonOf(FILES.mtlJson);
    const meta = doc.LANDSAT_METADATA_FILE;
    meta.IMAGE_ATTRIBUTES.SPACECRAFT_ID = 'LANDSAT_7';
    meta.IMAGE_ATTRIBUTES.SENSOR_ID = 'ETM';
    meta.LEVEL1_RADIOMETRIC_RESCALING.REFLECTANCE_MULT_BAND_4 = '1.2500E-03';
    meta.LEVEL1_RADIOMETRIC_RESCALING.REFLECTANCE_ADD_BAND_4 = '-0.004000';
    const d = run(encode(doc));
    assert.deepEqual(d.bands.map((b) => b.href.replace(`${L9}_`, '')), ['B1.TIF', 'B2.TIF', 'B3.TIF', 'B4.TIF', 'B5.TIF', 'B7.TIF']);
    // nir = B4: (1.25e-3 * 100 - 0.004) / sin(35.2 deg) = 0.121 / 0.5764323161697933 = 0.20991189530109267
    close(reflectance(d, 3, 100), 0.20991189530109267, 'nir DN 100');
    close(reflectance(d, 0, 7000), TOA_7000, 'blue DN 7000');
  });

  it('Level-2 surface reflectance is linear, not divided by sin(elevation)', () => {
    const doc = jsonOf(FILES.mtlJson);
    const meta = doc.LANDSAT_METADATA_FILE;
    meta.PRODUCT_CONTENTS.PROCESSING_LEVEL = 'L2SP';
    for (let n = 1; n <= 7; n++) meta.PRODUCT_CONTENTS[`FILE_NAME_BAND_${n}`] = `${L9.replace('L1TP', 'L2SP')}_SR_B${n}.TIF`;
    const params: Json = {};
    for (let n = 1; n <= 7; n++) {
      params[`REFLECTANCE_MULT_BAND_${n}`] = '2.75e-05';
      params[`REFLECTANCE_ADD_BAND_${n}`] = '-0.2';
    }
    meta.LEVEL2_SURFACE_REFLECTANCE_PARAMETERS = params;
    const d = run(encode(doc));
    assert.equal(d.reflectance.conversion, 'linear');
    assert.equal(d.reflectance.source, 'mtl');
    assert.equal(d.reflectance.sunElevation, null);
    assert.match(d.bands[0]!.href, /_SR_B2\.TIF$/);
    // 2.75e-5 * 10000 - 0.2 = 0.275 - 0.2 = 0.075; 2.75e-5 * 40000 - 0.2 = 1.1 - 0.2 = 0.9
    close(reflectance(d, 0, 10000), 0.075, 'DN 10000');
    close(reflectance(d, 3, 40000), 0.9, 'DN 40000');

    delete meta.LEVEL2_SURFACE_REFLECTANCE_PARAMETERS;
    fails(() => run(encode(doc)), 'SCENE_INVALID', /LEVEL2_SURFACE_REFLECTANCE_PARAMETERS/);
  });

  it('missing band files are BANDS_MISSING naming the card bands and what the product offers', () => {
    const doc = jsonOf(FILES.mtlJson);
    delete doc.LANDSAT_METADATA_FILE.PRODUCT_CONTENTS.FILE_NAME_BAND_5;
    delete doc.LANDSAT_METADATA_FILE.PRODUCT_CONTENTS.FILE_NAME_BAND_6;
    const err = fails(() => run(encode(doc)), 'BANDS_MISSING', /no nir, swir1 band.*offers .*blue \(B2\)/);
    assert.deepEqual(err.details?.missing, ['nir', 'swir1']);
  });

  it('an MSS product has no blue band', () => {
    const doc = jsonOf(FILES.mtlJson);
    doc.LANDSAT_METADATA_FILE.IMAGE_ATTRIBUTES.SPACECRAFT_ID = 'LANDSAT_5';
    doc.LANDSAT_METADATA_FILE.IMAGE_ATTRIBUTES.SENSOR_ID = 'MSS';
    const err = fails(() => run(encode(doc), { cardBands: FOUR }), 'BANDS_MISSING', /no blue band.*green \(B1\)/);
    assert.deepEqual(err.details?.missing, ['blue']);
  });

  const MALFORMED: Array<{ name: string; edit: (meta: Json) => void; says: RegExp }> = [
    { name: 'a non-numeric REFLECTANCE_MULT', edit: (m) => (m.LEVEL1_RADIOMETRIC_RESCALING.REFLECTANCE_MULT_BAND_4 = 'abc'), says: /LEVEL1_RADIOMETRIC_RESCALING\.REFLECTANCE_MULT_BAND_4 is "abc"/ },
    { name: 'no REFLECTANCE_ADD for a band', edit: (m) => delete m.LEVEL1_RADIOMETRIC_RESCALING.REFLECTANCE_ADD_BAND_2, says: /LEVEL1_RADIOMETRIC_RESCALING\.REFLECTANCE_ADD_BAND_2/ },
    { name: 'no rescaling group', edit: (m) => delete m.LEVEL1_RADIOMETRIC_RESCALING, says: /LEVEL1_RADIOMETRIC_RESCALING group/ },
    { name: 'no SUN_ELEVATION', edit: (m) => delete m.IMAGE_ATTRIBUTES.SUN_ELEVATION, says: /IMAGE_ATTRIBUTES\.SUN_ELEVATION/ },
    { name: 'a night scene', edit: (m) => (m.IMAGE_ATTRIBUTES.SUN_ELEVATION = '-21.5'), says: /SUN_ELEVATION is -21\.5/ },
    { name: 'no product id', edit: (m) => delete m.PRODUCT_CONTENTS.LANDSAT_PRODUCT_ID, says: /PRODUCT_CONTENTS\.LANDSAT_PRODUCT_ID/ },
    { name: 'no PRODUCT_CONTENTS', edit: (m) => delete m.PRODUCT_CONTENTS, says: /PRODUCT_CONTENTS group/ },
    { name: 'an unknown instrument', edit: (m) => ((m.IMAGE_ATTRIBUTES.SPACECRAFT_ID = 'SENTINEL_2A'), (m.IMAGE_ATTRIBUTES.SENSOR_ID = 'MSI')), says: /SENSOR_ID "MSI"/ },
    { name: 'a band file name with a path', edit: (m) => (m.PRODUCT_CONTENTS.FILE_NAME_BAND_2 = '../other/B2.TIF'), says: /FILE_NAME_BAND_2 "..\/other\/B2.TIF" is not a plain file name/ },
    { name: 'a group where a value belongs', edit: (m) => (m.IMAGE_ATTRIBUTES.SUN_ELEVATION = { x: '1' }), says: /SUN_ELEVATION is a group/ },
  ];
  for (const { name, edit, says } of MALFORMED) {
    it(`SCENE_INVALID for ${name}`, () => {
      const doc = jsonOf(FILES.mtlJson);
      edit(doc.LANDSAT_METADATA_FILE);
      fails(() => run(encode(doc)), 'SCENE_INVALID', says);
    });
  }

  it('SCENE_INVALID for ODL text whose groups do not close, with the line', () => {
    const text = readFileSync(join(DIR, FILES.mtlTxt), 'utf8').replace('END_GROUP = IMAGE_ATTRIBUTES', 'END_GROUP = PRODUCT_CONTENTS');
    fails(() => run(encode(text)), 'SCENE_INVALID', /MTL text line \d+: END_GROUP = PRODUCT_CONTENTS does not close GROUP = IMAGE_ATTRIBUTES/);
    const truncated = readFileSync(join(DIR, FILES.mtlTxt), 'utf8').split('  GROUP = LEVEL1_RADIOMETRIC_RESCALING')[0]!;
    fails(() => run(encode(truncated)), 'SCENE_INVALID', /ends inside GROUP = LANDSAT_METADATA_FILE/);
    const garbled = readFileSync(join(DIR, FILES.mtlTxt), 'utf8').replace('    SUN_AZIMUTH = 141.63772117', '    SUN_AZIMUTH 141.63772117');
    fails(() => run(encode(garbled)), 'SCENE_INVALID', /line \d+: "SUN_AZIMUTH 141.63772117" is not KEY = value/);
  });
});

describe('describeScene: Landsat STAC item', () => {
  it('USGS L1 item: nir from nir08, raster:bands MULT/ADD with view:sun_elevation -> TOA, the same numbers as the MTL', () => {
    const d = run(bytesOf(FILES.usgsItem), { location: gcs(`landsat/${L9}_stac.json`) });
    assert.equal(d.kind, 'stac-item');
    assert.equal(d.id, L9);
    assert.deepEqual(d.bands.map((b) => b.href.slice(b.href.lastIndexOf('_') + 1)), ['B2.TIF', 'B3.TIF', 'B4.TIF', 'B5.TIF', 'B6.TIF', 'B7.TIF']);
    assert.match(d.bands[0]!.href, /^https:\/\/landsatlook\.usgs\.gov\//);
    assert.deepEqual(d.bands[0]!.location, gcs(`landsat/${L9}_B2.TIF`));
    assert.equal(d.reflectance.conversion, 'landsat-l1-toa');
    assert.equal(d.reflectance.source, 'stac-raster-bands');
    assert.equal(d.reflectance.sunElevation, 35.2);
    close(reflectance(d, 0, 7000), TOA_7000, 'blue DN 7000');
    close(reflectance(d, 3, 30000), TOA_30000, 'nir DN 30000');
    const fromMtl = run(bytesOf(FILES.mtlJson), { location: gcs(`landsat/${L9}_MTL.json`) });
    assert.deepEqual(d.bands.map((b) => b.location), fromMtl.bands.map((b) => b.location));
    d.reflectance.scale.forEach((s, i) => close(s, fromMtl.reflectance.scale[i]!, `scale ${i}`));
  });

  it('an L1 item with scale/offset but no view:sun_elevation is SCENE_INVALID', () => {
    const item = jsonOf(FILES.usgsItem);
    delete item.properties['view:sun_elevation'];
    fails(() => run(encode(item)), 'SCENE_INVALID', /view:sun_elevation/);
  });

  it('radiance scaling (a W/(m2 sr um) unit) is no reflectance: SCENE_INVALID', () => {
    const item = jsonOf(FILES.usgsItem);
    item.assets.blue['raster:bands'][0] = { data_type: 'uint16', nodata: 0, unit: 'watt/steradian/square_meter/micrometer', scale: 0.012146, offset: -60.73117 };
    fails(() => run(encode(item)), 'SCENE_INVALID', /assets\.blue\.raster:bands\[0\] converts to radiance/);
  });

  it('a Level-2 surface reflectance item (2.75e-5, -0.2) is linear, not divided by sin(elevation)', () => {
    const item = jsonOf(FILES.usgsItem);
    item.id = L9.replace('L1TP', 'L2SP');
    item.properties['landsat:correction'] = 'L2SP';
    for (const key of ['blue', 'green', 'red', 'nir08', 'swir16', 'swir22']) item.assets[key]['raster:bands'] = [{ data_type: 'uint16', nodata: 0, scale: 2.75e-5, offset: -0.2 }];
    const d = run(encode(item));
    assert.equal(d.reflectance.conversion, 'linear');
    assert.equal(d.reflectance.sunElevation, null);
    // 2.75e-5 * 10000 - 0.2 = 0.075
    close(reflectance(d, 0, 10000), 0.075, 'DN 10000');
  });

  it('the USGS layout without raster:bands takes MULT/ADD and the sun elevation from its MTL asset, never a preset', () => {
    const item = jsonOf(FILES.usgsItem);
    for (const asset of Object.values(item.assets) as Json[]) delete asset['raster:bands'];
    const location = gcs(`landsat/${L9}/${L9}_stac.json`);
    // The MTL asset's https href resolves to the file of that name beside the item.
    assert.deepEqual(companionMtlOf({ bytes: encode(item), location })[0], gcs(`landsat/${L9}/${L9}_MTL.json`));
    const d = run(encode(item), { location, defaultPreset: 'landsat8-l1', companionMtl: bytesOf(FILES.mtlJson) });
    assert.equal(d.kind, 'stac-item');
    assert.equal(d.reflectance.conversion, 'landsat-l1-toa');
    assert.equal(d.reflectance.source, 'mtl');
    assert.equal(d.reflectance.sunElevation, 35.2);
    assert.equal(d.reflectance.preset, null);
    close(reflectance(d, 0, 7000), TOA_7000, 'DN 7000');
    close(reflectance(d, 5, 30000), TOA_30000, 'DN 30000');
    // the product's fill is 0 even when the item does not say so
    assert.deepEqual(d.bands.map((b) => b.noData), Array(6).fill(0));
    // The MTL text form gives the same numbers.
    const fromTxt = run(encode(item), { location, companionMtl: bytesOf(FILES.mtlTxt) });
    assert.deepEqual(fromTxt.reflectance.scale, d.reflectance.scale);
    // Without the MTL's bytes (not uploaded beside the item) it is refused, not darkened by a preset.
    fails(() => run(encode(item), { location, defaultPreset: 'landsat8-l1' }), 'SCENE_INVALID', /Level-1 without raster:bands.*MTL.*could not be read/);
    for (const [key, asset] of Object.entries(item.assets as Record<string, Json>)) if (String(asset.href).includes('_MTL')) delete (item.assets as Json)[key];
    assert.deepEqual(companionMtlOf({ bytes: encode(item), location }), []);
    fails(() => run(encode(item), { location }), 'SCENE_INVALID', /names no MTL asset/);
  });

  it('only Landsat Level-1 items have a companion MTL', () => {
    const location = gcs('s2/item.json');
    assert.deepEqual(companionMtlOf({ bytes: bytesOf(FILES.earthSearch), location }), []);
    assert.deepEqual(companionMtlOf({ bytes: bytesOf(FILES.mtlJson), location }), []);
    assert.deepEqual(companionMtlOf({ bytes: encode('not json'), location }), []);
  });
});

describe('describeScene: Sentinel-2 STAC items', () => {
  it('Earth Search: COG assets (not the JPEG 2000 twin, not TCI), nir = B08, raster:bands offset applied', () => {
    const d = run(bytesOf(FILES.earthSearch), { location: gcs('s2/S2A_32TQM_20220615_0_L2A/item.json') });
    assert.deepEqual(d.bands.map((b) => b.location), ['B02', 'B03', 'B04', 'B08', 'B11', 'B12'].map((f) => gcs(`s2/S2A_32TQM_20220615_0_L2A/${f}.tif`)));
    assert.deepEqual(d.bands.map((b) => b.sample), Array(6).fill(0));
    assert.deepEqual(d.bands.map((b) => b.noData), Array(6).fill(0));
    assert.equal(d.reflectance.conversion, 'linear');
    assert.equal(d.reflectance.source, 'stac-raster-bands');
    assert.equal(d.reflectance.processingBaseline, '04.00');
    assert.equal(d.reflectance.sunElevation, null);
    // (2500 - 1000) / 10000 = 0.15
    close(reflectance(d, 0, 2500), 0.15, 'DN 2500');
    close(reflectance(d, 0, 1000), 0, 'DN 1000');
  });

  it('the preference is by asset, not by declaration order: GeoTIFF over JPEG 2000, one band over TCI', () => {
    const es = jsonOf(FILES.earthSearch);
    es.assets = { 'blue-jp2': es.assets['blue-jp2'], visual: es.assets.visual, ...es.assets };
    assert.match(run(encode(es)).bands[0]!.href, /\/B02\.tif$/);
    const pc = jsonOf(FILES.pc);
    pc.assets = { visual: pc.assets.visual, ...pc.assets };
    assert.deepEqual(run(encode(pc), { cardBands: ['red', 'green', 'blue'] }).bands.map((b) => [b.href.slice(-11), b.sample]), [['B04_10m.tif', 0], ['B03_10m.tif', 0], ['B02_10m.tif', 0]]);
    // with the single-band files gone, the TCI's bands are what the item offers (the Planetary
    // Computer gives it the data role): red, green, blue are its samples 0, 1, 2
    for (const key of ['B02', 'B03', 'B04']) delete pc.assets[key];
    assert.deepEqual(run(encode(pc), { cardBands: ['red', 'green', 'blue'] }).bands.map((b) => b.sample), [0, 1, 2]);
  });

  it('Earth Search earthsearch:boa_offset_applied: the offset is in the DNs already, not applied twice', () => {
    const item = jsonOf(FILES.earthSearch);
    item.properties['earthsearch:boa_offset_applied'] = true;
    const d = run(encode(item));
    // 2500 / 10000 = 0.25 (the -1000 was subtracted inside the COG)
    close(reflectance(d, 0, 2500), 0.25, 'DN 2500');
    assert.deepEqual(d.reflectance.offset, Array(6).fill(0));
    item.properties['earthsearch:boa_offset_applied'] = 'yes';
    fails(() => run(encode(item)), 'SCENE_INVALID', /properties\.earthsearch:boa_offset_applied is not true or false/);
  });

  it('Planetary Computer: no scale/offset, s2:processing_baseline 04.00 -> (DN - 1000) / 10000', () => {
    const d = run(bytesOf(FILES.pc), { location: gcs('pc/item.json') });
    assert.deepEqual(d.bands.map((b) => b.location), ['B02_10m', 'B03_10m', 'B04_10m', 'B08_10m', 'B11_20m', 'B12_20m'].map((f) => gcs(`pc/T32TQM_20220615T101611_${f}.tif`)));
    assert.equal(d.reflectance.conversion, 'linear');
    assert.equal(d.reflectance.source, 'stac-processing-baseline');
    assert.equal(d.reflectance.processingBaseline, '04.00');
    assert.deepEqual(d.bands.map((b) => b.noData), Array(6).fill(0));
    // (1000 - 1000) / 10000 = 0; (2500 - 1000) / 10000 = 0.15
    close(reflectance(d, 1, 1000), 0, 'DN 1000');
    close(reflectance(d, 1, 2500), 0.15, 'DN 2500');
  });

  it('Planetary Computer before baseline 04.00: DN / 10000', () => {
    const item = jsonOf(FILES.pc);
    item.properties['s2:processing_baseline'] = '03.01';
    const d = run(encode(item));
    // 2500 / 10000 = 0.25
    close(reflectance(d, 0, 2500), 0.25, 'DN 2500');
    assert.equal(d.reflectance.processingBaseline, '03.01');
    item.properties['s2:processing_baseline'] = 'N0400';
    fails(() => run(encode(item)), 'SCENE_INVALID', /properties\.s2:processing_baseline "N0400"/);
  });

  it('STAC 1.1 `bands`: eo:common_name, raster:scale/offset, asset-level nodata, relative hrefs', () => {
    const d = run(bytesOf(FILES.stac11), { location: gcs('copied/T33UXP/item.json') });
    assert.deepEqual(d.bands.map((b) => b.href), ['./B02.tif', './B03.tif', './B04.tif', './B08.tif', '../shared-20m/B11.tif', './B12.tif']);
    assert.deepEqual(d.bands[4]!.location, gcs('copied/shared-20m/B11.tif'));
    assert.deepEqual(d.bands[0]!.location, gcs('copied/T33UXP/B02.tif'));
    assert.deepEqual(d.bands.map((b) => b.noData), Array(6).fill(0));
    assert.equal(d.reflectance.source, 'stac-raster-bands');
    assert.equal(d.reflectance.processingBaseline, '05.11');
    // (1000 - 1000) / 10000 = 0; (3000 - 1000) / 10000 = 0.2
    close(reflectance(d, 0, 1000), 0, 'DN 1000');
    close(reflectance(d, 5, 3000), 0.2, 'DN 3000');
  });

  it('STAC 1.1 single-band asset with its band fields on the asset itself (no `bands` array)', () => {
    const item = jsonOf(FILES.stac11);
    item.assets.red = { href: './B04.tif', roles: ['data'], 'eo:common_name': 'red', nodata: 0, 'raster:scale': 0.0001, 'raster:offset': -0.1 };
    const d = run(encode(item));
    assert.equal(d.bands[2]!.href, './B04.tif');
    // (2500 - 1000) / 10000 = 0.15
    close(reflectance(d, 2, 2500), 0.15, 'red DN 2500');
    item.assets.red['raster:scale'] = 'x';
    fails(() => run(encode(item)), 'SCENE_INVALID', /assets\.red\.raster:scale is "x"/);
  });

  it('an href escaping the bucket is SCENE_INVALID naming the asset', () => {
    fails(() => run(bytesOf(FILES.stac11), { location: gcs('item.json') }), 'SCENE_INVALID', /assets\.swir16\.href "..\/shared-20m\/B11.tif" leaves bucket in/);
  });

  it('one asset holding several bands: sample is the band index', () => {
    const item: Json = {
      type: 'Feature',
      stac_version: '1.0.0',
      id: 'stacked',
      properties: { datetime: '2022-06-15T10:16:11Z' },
      assets: {
        image: {
          href: 'stacked.tif',
          roles: ['data'],
          'eo:bands': [{ common_name: 'nir' }, { common_name: 'red' }, { common_name: 'green' }, { common_name: 'blue' }],
          'raster:bands': [{ nodata: 'nan' }, { nodata: 'nan' }, { nodata: 'nan' }, { nodata: 'nan' }],
        },
      },
    };
    const d = run(encode(item), { cardBands: FOUR });
    assert.deepEqual(d.bands.map((b) => b.sample), [3, 2, 1, 0]);
    assert.ok(d.bands.every((b) => b.location.kind === 'gcs' && b.location.name === 'scenes/a/stacked.tif'));
    assert.ok(d.bands.every((b) => Number.isNaN(b.noData)));
    delete item.assets.image['raster:bands'];
    assert.deepEqual(run(encode(item), { cardBands: FOUR }).bands.map((b) => b.noData), [null, null, null, null]);
    assert.equal(d.reflectance.conversion, 'preset');
    assert.equal(d.reflectance.preset, 'sentinel2-l1c');
  });

  it('missing bands are BANDS_MISSING naming them and listing what the item offers', () => {
    const item = jsonOf(FILES.pc);
    delete item.assets.B11;
    delete item.assets.B12;
    const err = fails(() => run(encode(item)), 'BANDS_MISSING', /no asset for swir1, swir2; it offers coastal, blue, green, red, nir, rededge/);
    assert.deepEqual(err.details?.missing, ['swir1', 'swir2']);
  });

  it('scale/offset for some bands but not all is SCENE_INVALID naming the band without', () => {
    const item = jsonOf(FILES.earthSearch);
    delete item.assets.nir['raster:bands'];
    fails(() => run(encode(item)), 'SCENE_INVALID', /given for blue, green, red, swir1, swir2 but not for nir \(assets\.nir\.raster:bands\[0\]\)/);
  });

  it('an unknown default preset is INVALID_SCALING', () => {
    const item = jsonOf(FILES.pc);
    delete item.properties['s2:processing_baseline'];
    fails(() => run(encode(item), { defaultPreset: 'nope' }), 'INVALID_SCALING', /"nope"/);
  });

  it('quirks in assets the model does not read are no reason to refuse the scene', () => {
    const item = jsonOf(FILES.earthSearch);
    item.assets.nir08['raster:bands'] = [{ nodata: 'none', scale: '1e-4' }];
    item.assets.scl['eo:bands'] = [{ name: 'scl', common_name: 7 }];
    assert.equal(run(encode(item)).bands.length, 6);
  });

  const MALFORMED: Array<{ name: string; edit: (item: Json) => void; says: RegExp }> = [
    { name: 'no stac_version', edit: (i) => delete i.stac_version, says: /stac_version/ },
    { name: 'no id', edit: (i) => delete i.id, says: /no id/ },
    { name: 'properties not an object', edit: (i) => (i.properties = []), says: /properties is missing or not an object/ },
    { name: 'assets not an object', edit: (i) => (i.assets = 'B02.tif'), says: /assets is missing or not an object/ },
    { name: 'an asset that is no object', edit: (i) => (i.assets.extra = 3), says: /assets\.extra is not an object/ },
    { name: 'eo:bands not an array', edit: (i) => (i.assets.red['eo:bands'] = { common_name: 'red' }), says: /assets\.red\.eo:bands is not an array/ },
    { name: 'a scale that is text', edit: (i) => (i.assets.green['raster:bands'][0].scale = '0.0001'), says: /assets\.green\.raster:bands\[0\]\.scale is "0.0001", not a number/ },
    { name: 'a bad nodata', edit: (i) => (i.assets.green['raster:bands'][0].nodata = 'none'), says: /assets\.green\.raster:bands\[0\]\.nodata/ },
    { name: 'a chosen asset without href', edit: (i) => delete i.assets.blue.href, says: /assets\.blue\.href is missing/ },
    { name: 'an s3:// href', edit: (i) => (i.assets.red.href = 's3://sentinel-cogs/B04.tif'), says: /assets\.red\.href .*"s3:"/ },
  ];
  for (const { name, edit, says } of MALFORMED) {
    it(`SCENE_INVALID for ${name}`, () => {
      const item = jsonOf(FILES.earthSearch);
      edit(item);
      fails(() => run(encode(item)), 'SCENE_INVALID', says);
    });
  }
});

describe('describeScene: what is no scene descriptor', () => {
  const TIFF = new Uint8Array([0x49, 0x49, 0x2a, 0x00, 0x08, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00]);
  const CASES: Array<{ name: string; bytes: Uint8Array; says: RegExp }> = [
    { name: 'empty bytes', bytes: new Uint8Array(0), says: /empty/ },
    { name: 'TIFF bytes', bytes: TIFF, says: /not text/ },
    { name: 'text that is not JSON', bytes: encode('hello, world'), says: /neither JSON .* nor a Landsat MTL text/ },
    { name: 'a JSON array', bytes: encode([1, 2]), says: /no object/ },
    { name: 'some other JSON', bytes: encode({ hello: 1 }), says: /neither a STAC item .* nor a Landsat MTL\.json/ },
    { name: 'a STAC search result', bytes: encode({ type: 'FeatureCollection', features: [] }), says: /FeatureCollection/ },
    { name: 'a STAC Collection', bytes: encode({ type: 'Collection', stac_version: '1.0.0', id: 'c' }), says: /STAC Collection/ },
    { name: 'a Collection 1 MTL', bytes: encode('GROUP = L1_METADATA_FILE\n  GROUP = METADATA_FILE_INFO\n  END_GROUP = METADATA_FILE_INFO\nEND_GROUP = L1_METADATA_FILE\nEND\n'), says: /Collection 1 MTL/ },
    { name: 'a plain GeoJSON Feature', bytes: encode({ type: 'Feature', geometry: null, properties: {} }), says: /GeoJSON Feature/ },
  ];
  for (const { name, bytes, says } of CASES) {
    it(`UNSUPPORTED_FORMAT for ${name}, in a short message`, () => {
      const err = fails(() => run(bytes), 'UNSUPPORTED_FORMAT', says);
      assert.ok(err.message.length < 160, err.message);
    });
  }

  it('a UTF-8 byte order mark is no obstacle', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf(FILES.mtlJson)]);
    assert.equal(run(withBom).id, L9);
  });
});
