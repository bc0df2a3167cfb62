// Scenes of several objects through the whole local pipeline (local GCS server with notifications,
// the Pub/Sub emulator, the registered flush and worker functions): a STAC item and its band COGs,
// a Landsat band set with its MTL.json and MTL.txt, and an item whose band object is missing.
// Flush skips the band files (counted, no event); each descriptor gets exactly one result event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { startLocalStack, type LocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import { MASK_VALUES } from '../../shared/imaging/mask-values.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { pullResults } from '../support/results.js';
import { bandValue, LANDSAT_BANDS, LANDSAT_REFLECTANCE, landsatMtlJson, landsatMtlText, stacItem, writeBandFile } from './scene-band-files.js';

const RESULTS = 'scene-pipeline-results';
const PRODUCT = 'LC08_L1TP_002053_20160520_20200907_02_T1';
const SUN_ELEVATION = 61.25;
const S2_SCALE = 1e-4;
const S2_OFFSET = -0.1;
const STAC_BANDS = [
  { key: 'B02', commonName: 'blue', file: 'blue-10m.tif' },
  { key: 'B03', commonName: 'green', file: 'green-10m.tif' },
  { key: 'B04', commonName: 'red', file: 'red-10m.tif' },
  { key: 'B08', commonName: 'nir', file: 'nir-10m.tif' },
] as const;

test('STAC item, Landsat band set and an item with a missing band: flush skips the band files, one result per scene', { skip: EMULATOR_MISSING, timeout: 600_000 }, async (t) => {
  const rootDir = await mkdtemp(join(tmpdir(), 'spipe-scene-pipeline-'));
  const filesDir = join(rootDir, 'files');
  const stack = await startLocalStack({ rootDir: join(rootDir, 'stack'), logger: createLogger({ level: 'warn' }), flushEveryMs: null, resultSubscriptions: [RESULTS], env: { LOG_LEVEL: 'warn', CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS: '0' } }).catch(async (err: unknown) => {
    await rm(rootDir, { recursive: true, force: true });
    throw err;
  });
  t.after(async () => {
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  });
  const { storage, config } = stack;
  const input = storage.bucket(config.buckets.input);
  const generations = new Map<string, string>();
  const upload = async (name: string, bytes: Uint8Array | string) => {
    const file = input.file(name);
    await file.save(typeof bytes === 'string' ? bytes : Buffer.from(bytes), { resumable: false });
    generations.set(name, String(file.metadata.generation));
  };
  await mkdir(filesDir, { recursive: true });

  // 1. A Sentinel-2-like STAC item; its band files carry no product name, only the item names them.
  const stacFiles = new Map<string, string>();
  for (const [i, b] of STAC_BANDS.entries()) {
    const path = await writeBandFile(filesDir, b.file, {}, (x, y) => bandValue(i, x, y));
    stacFiles.set(b.file, path);
    await upload(`s2/scene-a/${b.file}`, await readFile(path));
  }
  const item = stacItem('S2A_33TVK_20230601_0_L2A', STAC_BANDS.map((b) => ({ key: b.key, href: `./${b.file}`, commonName: b.commonName, scale: S2_SCALE, offset: S2_OFFSET })));
  await writeFile(join(filesDir, 'item.json'), item);
  await upload('s2/scene-a/item.json', item);

  // 2. A Landsat C2 L1 band set as USGS delivers it: B2..B7, MTL.json and MTL.txt.
  for (const [i, b] of LANDSAT_BANDS.entries()) {
    const path = await writeBandFile(filesDir, `${PRODUCT}_B${b}.TIF`, {}, (x, y) => bandValue(i, x, y));
    await upload(`landsat/${PRODUCT}/${PRODUCT}_B${b}.TIF`, await readFile(path));
  }
  await upload(`landsat/${PRODUCT}/${PRODUCT}_MTL.json`, landsatMtlJson(PRODUCT, SUN_ELEVATION));
  await upload(`landsat/${PRODUCT}/${PRODUCT}_MTL.txt`, landsatMtlText(PRODUCT, SUN_ELEVATION));
  // USGS also delivers the product's own STAC item: beside its MTL it is part of the product, not a second scene.
  await upload(`landsat/${PRODUCT}/${PRODUCT}_stac.json`, stacItem(PRODUCT, [], { platform: 'LANDSAT_9', 'landsat:correction': 'L1TP' }));

  // 3. An item whose nir object was never uploaded.
  for (const b of STAC_BANDS.slice(0, 3)) await upload(`s2/scene-b/${b.file}`, await readFile(stacFiles.get(b.file)!));
  await upload('s2/scene-b/item.json', stacItem('S2B_33TVK_20230602_0_L2A', STAC_BANDS.map((b) => ({ key: b.key, href: b.file, commonName: b.commonName, scale: S2_SCALE, offset: S2_OFFSET }))));

  // 3b. An item naming a band in a bucket scenes may not read (the output bucket): refused, nothing read from it.
  const foreignNir = `gs://${config.buckets.output}/secret/nir.tif`;
  await storage.bucket(config.buckets.output).file('secret/nir.tif').save(await readFile(stacFiles.get('nir-10m.tif')!), { resumable: false });
  await upload(
    's2/scene-c/item.json',
    stacItem('S2B_33TVK_20230603_0_L2A', STAC_BANDS.map((b) => ({ key: b.key, href: b.commonName === 'nir' ? foreignNir : `gs://${config.buckets.input}/s2/scene-a/${b.file}`, commonName: b.commonName, scale: S2_SCALE, offset: S2_OFFSET }))),
  );

  // 4. A JSON that is no scene descriptor: work (flush cannot tell), answered with UNSUPPORTED_FORMAT.
  await upload('s2/settings.json', JSON.stringify({ threshold: 0.5 }));

  // Flush until it has seen every upload (their notifications arrive as the uploads finish).
  const uploads = generations.size;
  let pulled = 0;
  let accepted = 0;
  let sceneMembers = 0;
  let pixelsEstimated = 0;
  for (let calls = 0; pulled < uploads; calls++) {
    assert.ok(calls < 20, `flush saw ${pulled} of ${uploads} uploads`);
    const summary = (await stack.triggerFlush()) as { pulled: number; accepted: number; pixelsEstimated: number; skipped: Record<string, number> };
    pixelsEstimated += summary.pixelsEstimated;
    pulled += summary.pulled;
    accepted += summary.accepted;
    sceneMembers += summary.skipped['scene-member'] ?? 0;
    if (summary.pulled === 0) await new Promise((r) => setTimeout(r, 300));
  }
  // 4 + 3 STAC band files, 6 Landsat band files, the MTL.txt and the product's STAC item beside its MTL.json.
  assert.equal(sceneMembers, 4 + 3 + 6 + 1 + 1, 'band files (and the MTL.txt and STAC item twins) are skipped as scene members');
  assert.equal(accepted, 5, 'the three items, the MTL.json and the other JSON are the work');
  assert.equal(pixelsEstimated, 1, 'each descriptor\'s work is its first band\'s header pixels, not a guess from its size (only settings.json is estimated)');

  const events = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 5, 300_000);
  // No sixth event follows (a band file or the MTL.txt would have made one).
  const extra = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 3000).catch(() => []);
  assert.deepEqual(extra.map((e) => e.input.name), []);
  const byName = new Map(events.map((e) => [e.input.name, e]));
  const output = storage.bucket(config.buckets.output);

  // The STAC item: one succeeded result naming the scene, its inputs (generations) and the conversion.
  const stac = byName.get('s2/scene-a/item.json')!;
  assert.equal(stac.status, 'succeeded', JSON.stringify(stac.error));
  assert.equal(stac.input.generation, generations.get('s2/scene-a/item.json'));
  assert.deepEqual(stac.scene, {
    kind: 'stac-item',
    id: 'S2A_33TVK_20230601_0_L2A',
    descriptor: stac.input,
    inputs: STAC_BANDS.map((b) => ({ band: b.commonName, bucket: config.buckets.input, name: `s2/scene-a/${b.file}`, generation: generations.get(`s2/scene-a/${b.file}`)! })),
  });
  assert.deepEqual(stac.reflectance, { conversion: 'linear', source: 'stac-raster-bands', sunElevation: null, processingBaseline: '05.09', preset: null, scale: [S2_SCALE, S2_SCALE, S2_SCALE, S2_SCALE], offset: [S2_OFFSET, S2_OFFSET, S2_OFFSET, S2_OFFSET] });
  assert.deepEqual([stac.width, stac.height], [700, 600]);
  assert.equal(stac.output?.name, `${config.buckets.input}/s2/scene-a/item.json.mask.png`, 'masks are named after the descriptor');
  const [pngMeta] = await output.file(stac.output.name).getMetadata();
  assert.equal(pngMeta.metadata?.['cloudseg-source-generation'], stac.input.generation);
  assert.equal(pngMeta.metadata?.['cloudseg-reflectance-conversion'], 'linear');
  assert.equal(pngMeta.metadata?.['cloudseg-reflectance-source'], 'stac-raster-bands');
  const mask = await maskPixels(storage, config.buckets.output, stac.output.name);
  assert.equal(mask[0], MASK_VALUES.nodata, 'the fill border is nodata');
  assert.notEqual(mask[300 * 700 + 350], MASK_VALUES.nodata, 'the footprint has data');

  // The same item segmented locally by the CLI's path gives the same mask.
  const { segmentFile } = await import('../../shared/worker/segment-files.js');
  const { workerInstance } = await import('../../functions/worker.js');
  const model = await workerInstance().runtime.model();
  const local = await segmentFile(model, join(filesDir, 'item.json'), { outDir: join(rootDir, 'out'), memoryBudgetBytes: config.worker.memoryBudgetBytes, batchTiles: config.model.batchTiles, geotiff: false });
  assert.equal(local.status, 'succeeded', JSON.stringify(local.error));
  assert.equal(local.scene?.inputs.length, 4);
  assert.deepEqual(local.reflectance, stac.reflectance);
  const localMask = await sharp(await readFile(local.output!.name)).greyscale().raw().toBuffer();
  assert.ok(localMask.equals(mask), 'the pipeline mask equals the local segmentation of the same item');
  assert.equal(local.cloudFraction, stac.cloudFraction);

  // The Landsat band set: one result, from the MTL.json, with top-of-atmosphere reflectance from the MTL.
  const landsat = byName.get(`landsat/${PRODUCT}/${PRODUCT}_MTL.json`)!;
  assert.ok(landsat, `events for ${[...byName.keys()].join(', ')}`);
  assert.equal(landsat.status, 'succeeded', JSON.stringify(landsat.error));
  assert.equal(landsat.scene?.kind, 'landsat-mtl');
  assert.equal(landsat.scene?.id, PRODUCT);
  assert.deepEqual(
    landsat.scene?.inputs.map((i) => [i.band, i.name, i.generation]),
    [2, 3, 4, 5].map((b, i) => [['blue', 'green', 'red', 'nir'][i], `landsat/${PRODUCT}/${PRODUCT}_B${b}.TIF`, generations.get(`landsat/${PRODUCT}/${PRODUCT}_B${b}.TIF`)]),
  );
  const sin = Math.sin((SUN_ELEVATION * Math.PI) / 180);
  assert.equal(landsat.reflectance?.conversion, 'landsat-l1-toa');
  assert.equal(landsat.reflectance?.source, 'mtl');
  assert.equal(landsat.reflectance?.sunElevation, SUN_ELEVATION);
  for (let b = 0; b < 4; b++) {
    assert.ok(Math.abs(landsat.reflectance!.scale[b]! - LANDSAT_REFLECTANCE.mult / sin) < 1e-12, `scale ${landsat.reflectance!.scale[b]}`);
    assert.ok(Math.abs(landsat.reflectance!.offset[b]! - LANDSAT_REFLECTANCE.add / sin) < 1e-9, `offset ${landsat.reflectance!.offset[b]}`);
  }

  // The item with a band object missing (no arrival grace here): failed, BANDS_MISSING naming the band and its object.
  const missing = byName.get('s2/scene-b/item.json')!;
  assert.equal(missing.status, 'failed');
  assert.equal(missing.error?.code, 'BANDS_MISSING');
  assert.match(missing.error!.message, /nir/);
  assert.match(missing.error!.message, /s2\/scene-b\/nir-10m\.tif/);

  // A band outside the buckets a scene may read: refused before any band is opened, naming it.
  const foreign = byName.get('s2/scene-c/item.json')!;
  assert.equal(foreign.status, 'failed');
  assert.equal(foreign.error?.code, 'SCENE_INVALID');
  assert.ok(foreign.error!.message.includes(foreignNir), foreign.error!.message);
  assert.match(foreign.error!.message, /CLOUDSEG_SCENE_BAND_BUCKETS/);

  const notScene = byName.get('s2/settings.json')!;
  assert.equal(notScene.status, 'failed');
  assert.equal(notScene.error?.code, 'UNSUPPORTED_FORMAT');

  // A redelivery of the item is recognised as done from the mask's provenance (the descriptor's
  // generation and the model): `duplicate`, with the scene and reflectance repeated from the mask.
  const { batchOf, deliverBatch } = await import('../support/worker-server.js');
  const itemRef = { ...stac.input, size: item.length, contentType: 'application/json' };
  const res = await deliverBatch(stack.urls.worker, config.projectId, config.topics.work, batchOf([itemRef]), 'eventarc');
  assert.ok(res.ok, `worker answered ${res.status}`);
  const [again] = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 60_000);
  assert.equal(again!.status, 'duplicate');
  assert.deepEqual(again!.scene, stac.scene);
  assert.deepEqual(again!.reflectance, stac.reflectance);
});

async function maskPixels(storage: LocalStack['storage'], bucket: string, name: string): Promise<Buffer> {
  const [png] = await storage.bucket(bucket).file(name).download();
  return sharp(png).greyscale().raw().toBuffer();
}
