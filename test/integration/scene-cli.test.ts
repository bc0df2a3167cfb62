// `cloudseg segment` on scene descriptors as a user runs it: a real process, a Landsat band set
// on disk named by its MTL.txt, a STAC item with a band file missing, and a plain image beside them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readSampleManifest } from '../../infra/local/samples.js';
import { projectRoot } from '../../shared/config/project-root.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import { bandValue, LANDSAT_BANDS, landsatMtlText, stacItem, writeBandFile } from './scene-band-files.js';

const run = promisify(execFile);
const CLI = join(projectRoot(), 'functions', 'cli.ts');
const PRODUCT = 'LC08_L1TP_002053_20160520_20200907_02_T1';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'spipe-scene-cli-'));
});
after(() => rm(dir, { recursive: true, force: true }));

test('segment takes an MTL.txt and a STAC item beside images: one result event each, scenes named with their inputs', async () => {
  for (const [i, b] of LANDSAT_BANDS.entries()) await writeBandFile(dir, `${PRODUCT}_B${b}.TIF`, { width: 520, height: 400 }, (x, y) => bandValue(i, x, y));
  const mtl = join(dir, `${PRODUCT}_MTL.txt`);
  await writeFile(mtl, landsatMtlText(PRODUCT, 42.5));
  const item = join(dir, 'partial-item.json');
  await writeFile(
    item,
    stacItem('partial', [
      { key: 'B02', href: `${PRODUCT}_B2.TIF`, commonName: 'blue', scale: 1e-4, offset: 0 },
      { key: 'B03', href: `${PRODUCT}_B3.TIF`, commonName: 'green', scale: 1e-4, offset: 0 },
      { key: 'B04', href: `${PRODUCT}_B4.TIF`, commonName: 'red', scale: 1e-4, offset: 0 },
      { key: 'B08', href: 'never-written-nir.tif', commonName: 'nir', scale: 1e-4, offset: 0 },
    ]),
  );
  // USGS's own Level-1 item: no raster:bands, the scaling lives in the MTL it lists (https hrefs,
  // found beside the item: here only the .txt exists, so the .json is tried first and passed over).
  const usgs = JSON.parse(
    stacItem(
      PRODUCT,
      ['blue', 'green', 'red', 'nir08'].map((commonName, i) => ({ key: `B${i + 2}`, href: `https://landsatlook.usgs.gov/data/${PRODUCT}/${PRODUCT}_B${i + 2}.TIF`, commonName, scale: 0, offset: 0 })),
      { platform: 'LANDSAT_8', constellation: undefined, 'landsat:correction': 'L1TP', 'view:sun_elevation': 42.5, 's2:processing_baseline': undefined },
    ),
  ) as { assets: Record<string, Record<string, unknown>> };
  for (const asset of Object.values(usgs.assets)) delete asset['raster:bands'];
  for (const ext of ['json', 'txt']) usgs.assets[`MTL.${ext}`] = { href: `https://landsatlook.usgs.gov/data/${PRODUCT}/${PRODUCT}_MTL.${ext}`, roles: ['metadata'] };
  const usgsItem = join(dir, `${PRODUCT}_stac.json`);
  await writeFile(usgsItem, JSON.stringify(usgs));
  const [image] = await readSampleManifest();
  const out = join(dir, 'out');
  let result: { stdout: string; code: number };
  try {
    result = { ...(await run(process.execPath, ['--import', 'tsx', CLI, 'segment', mtl, item, image!.imagePath, usgsItem, '--out', out], { cwd: projectRoot(), maxBuffer: 1 << 24 })), code: 0 };
  } catch (err) {
    result = err as { stdout: string; code: number };
  }
  assert.equal(result.code, 1, 'the missing band fails its item, so the exit code says so');
  const events = result.stdout.trim().split('\n').map((l) => ResultEventSchema.parse(JSON.parse(l)));
  assert.deepEqual(events.map((e) => e.status), ['succeeded', 'failed', 'succeeded', 'succeeded']);

  const [landsat, partial, plain, fromItem] = events as [typeof events[0], typeof events[0], typeof events[0], typeof events[0]];
  assert.equal(landsat.input.name, mtl);
  assert.equal(landsat.scene?.kind, 'landsat-mtl');
  assert.equal(landsat.scene?.id, PRODUCT);
  assert.deepEqual(landsat.scene?.inputs.map((i) => [i.band, i.bucket, i.name]), ['blue', 'green', 'red', 'nir'].map((b, i) => [b, 'file', join(dir, `${PRODUCT}_B${i + 2}.TIF`)]));
  assert.equal(landsat.reflectance?.conversion, 'landsat-l1-toa');
  assert.equal(landsat.reflectance?.sunElevation, 42.5);
  assert.deepEqual([landsat.width, landsat.height], [520, 400]);
  assert.ok((await stat(join(out, `${PRODUCT}_MTL.txt.mask.png`))).size > 0, 'the mask is named after the descriptor');
  assert.ok(landsat.output?.georeferenced, 'the bands are georeferenced, so is the mask');

  // The USGS item: the MTL's TOA scaling (sun term included), so the very same mask as the MTL's.
  assert.equal(fromItem.scene?.kind, 'stac-item');
  assert.deepEqual(fromItem.reflectance, { ...landsat.reflectance, source: 'mtl' });
  assert.equal(fromItem.cloudFraction, landsat.cloudFraction);

  assert.equal(partial.error?.code, 'BANDS_MISSING');
  assert.match(partial.error!.message, /nir \(.*never-written-nir\.tif\)/);

  // A bare image records the conversion it got too.
  assert.equal(plain.scene, null);
  assert.ok(plain.reflectance && ['preset', 'linear'].includes(plain.reflectance.conversion), JSON.stringify(plain.reflectance));
  assert.ok(['override', 'object-metadata', 'file', 'default'].includes(plain.reflectance.source));
});
