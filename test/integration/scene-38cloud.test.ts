// Correctness on real data: four real Landsat-8 single-band patches (38-Cloud, patch 192) named by
// a STAC item give exactly the mask of the 4-band image stacked from them (`cloudseg stack`'s code)
// with the same scaling, through the same model.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { stackBands } from '../../shared/imaging/stack.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { segmentFile } from '../../shared/worker/segment-files.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';
import { shippedModelDir } from '../support/model.js';
import { stacItem } from './scene-band-files.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING the 38-Cloud scene test: ${MISSING}`);

const PATCH = 'patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF';
const BANDS = ['blue', 'green', 'red', 'nir'] as const;
// The fixture README's approximate TOA reflectance for these Level-1 DNs.
const SCALE = 2e-5;
const OFFSET = -0.1;

let model: LoadedModel;
let dir: string;
before(async () => {
  if (MISSING) return;
  model = await loadModelFromDir(await shippedModelDir(), { backend: 'onnxruntime', batchTiles: 2 });
  dir = await mkdtemp(join(tmpdir(), 'spipe-scene-38cloud-'));
});
after(async () => {
  await model?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a STAC item naming the four 38-Cloud band files gives exactly the mask of the stacked 4-band image', { skip: MISSING }, async () => {
  const paths = BANDS.map((b) => fixture('38cloud', `${b}_${PATCH}`));
  // The item lies beside copies of nothing: its hrefs are absolute paths to the fixtures, as a local item may name them.
  // No id of a Landsat product: the item states the linear scaling itself (no sun term), the same as the stack's.
  const item = stacItem(
    '38cloud-p192',
    BANDS.map((b, i) => ({ key: b, href: paths[i]!, commonName: b, scale: SCALE, offset: OFFSET })),
    { platform: 'landsat-8', constellation: undefined, 's2:processing_baseline': undefined },
  );
  const itemPath = join(dir, 'p192.json');
  await writeFile(itemPath, item);
  const stackedPath = join(dir, 'p192.tif');
  await writeFile(stackedPath, await stackBands(await Promise.all(paths.map(async (p) => new Uint8Array(await readFile(p)))), { scaling: { scale: [SCALE, SCALE, SCALE, SCALE], offset: [OFFSET, OFFSET, OFFSET, OFFSET] } }));

  const options = { outDir: join(dir, 'out'), memoryBudgetBytes: 2 ** 30, batchTiles: 2, geotiff: false };
  const scene = await segmentFile(model, itemPath, options);
  const stacked = await segmentFile(model, stackedPath, options);
  assert.equal(scene.status, 'succeeded', JSON.stringify(scene.error));
  assert.equal(stacked.status, 'succeeded', JSON.stringify(stacked.error));
  assert.deepEqual(scene.scene?.inputs.map((i) => i.name), paths);
  assert.deepEqual(scene.reflectance && [scene.reflectance.conversion, scene.reflectance.source], ['linear', 'stac-raster-bands']);
  assert.deepEqual(stacked.reflectance && [stacked.reflectance.conversion, stacked.reflectance.source], ['linear', 'file']);
  assert.deepEqual(scene.reflectance?.scale, stacked.reflectance?.scale);
  assert.deepEqual(scene.reflectance?.offset, stacked.reflectance?.offset);

  const pixels = async (path: string) => sharp(await readFile(path)).greyscale().raw().toBuffer();
  const sceneMask = await pixels(scene.output!.name);
  const stackedMask = await pixels(stacked.output!.name);
  assert.equal(sceneMask.length, 384 * 384);
  assert.ok(sceneMask.equals(stackedMask), 'the scene mask equals the stacked image mask, pixel for pixel');
  assert.equal(scene.cloudFraction, stacked.cloudFraction);
  // Not a trivial mask: the patch is ~30 % cloud.
  assert.ok(scene.cloudFraction! > 0.1 && scene.cloudFraction! < 0.6, `cloud fraction ${scene.cloudFraction}`);
});
