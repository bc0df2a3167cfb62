// A Sentinel-2 SAFE product copied into the input bucket object by object in shuffled order (the
// product XML not last, as `gcloud storage cp -r X.SAFE` may land it), through the whole local
// pipeline: flush skips every other object as a scene member, counts the product's pixels from a
// band's JP2 header, and the worker publishes exactly one result, succeeded, for the product.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { pullResults } from '../support/results.js';
import { buildSafeProduct, GDAL_JP2_MISSING, SAFE_SIZE } from '../support/safe-products.js';

if (GDAL_JP2_MISSING) console.warn(`!!! SKIPPING SAFE product pipeline check: ${GDAL_JP2_MISSING}`);

const RESULTS = 'safe-pipeline-results';

test('a .SAFE folder uploaded in any order: members skipped, one succeeded result for the product', { skip: EMULATOR_MISSING || GDAL_JP2_MISSING, timeout: 600_000 }, async (t) => {
  const rootDir = await mkdtemp(join(tmpdir(), 'spipe-safe-pipeline-'));
  const stack = await startLocalStack({
    rootDir: join(rootDir, 'stack'),
    logger: createLogger({ level: 'error' }),
    flushEveryMs: null,
    resultSubscriptions: [RESULTS],
    env: { LOG_LEVEL: 'error', CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS: '120' },
  }).catch(async (err: unknown) => {
    await rm(rootDir, { recursive: true, force: true });
    throw err;
  });
  t.after(async () => {
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  });
  const product = await buildSafeProduct(join(rootDir, 'files'), { fixture: 'l2a-05.10', boxes: { B02: 'geojp2+gmljp2' }, saturated: true });
  const { storage, config } = stack;
  const input = storage.bucket(config.buckets.input);
  const prefix = `drop/${product.id}.SAFE/`;

  // A fixed shuffle (reproducible), the product XML third: members land before and after it.
  const descriptor = product.files.find((f) => /^MTD_MSIL2A\.xml$/.test(f))!;
  const others = product.files.filter((f) => f !== descriptor).sort((a, b) => hash(a) - hash(b));
  const order = [...others.slice(0, 2), descriptor, ...others.slice(2)];
  assert.ok(order.indexOf(descriptor) < order.length - 1);
  const generations = new Map<string, string>();
  for (const relative of order) {
    const file = input.file(prefix + relative);
    await file.save(await readFile(join(product.dir, relative)), { resumable: false });
    generations.set(prefix + relative, String(file.metadata.generation));
  }

  let pulled = 0;
  let accepted = 0;
  let sceneMembers = 0;
  let pixelsEstimated = 0;
  for (let calls = 0; pulled < order.length; calls++) {
    assert.ok(calls < 20, `flush saw ${pulled} of ${order.length} uploads`);
    const summary = (await stack.triggerFlush()) as { pulled: number; accepted: number; pixelsEstimated: number; skipped: Record<string, number> };
    pulled += summary.pulled;
    accepted += summary.accepted;
    pixelsEstimated += summary.pixelsEstimated;
    sceneMembers += summary.skipped['scene-member'] ?? 0;
    if (summary.pulled === 0) await new Promise((r) => setTimeout(r, 300));
  }
  assert.equal(accepted, 1, 'the product XML is the only work');
  assert.equal(sceneMembers, order.length - 1, 'every other object of the product is a scene member');
  assert.equal(pixelsEstimated, 0, 'the product counts as its first 10 m band\'s JP2 header, not a guess');

  const events = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 300_000);
  const extra = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 3000).catch(() => []);
  assert.deepEqual(extra.map((e) => `${e.input.name} ${e.status}`), [], 'exactly one result event');
  const [event] = events;
  assert.equal(event!.status, 'succeeded', JSON.stringify(event!.error));
  assert.equal(event!.input.name, prefix + descriptor);
  assert.equal(event!.input.generation, generations.get(prefix + descriptor));
  assert.equal(event!.scene?.kind, 'sentinel2-safe');
  assert.equal(event!.scene?.id, product.id);
  assert.deepEqual(
    event!.scene?.inputs.map((i) => [i.band, i.name, i.generation]),
    (['B02', 'B03', 'B04', 'B08'] as const).map((msi, i) => [['blue', 'green', 'red', 'nir'][i], prefix + product.bandFiles.get(msi)!, generations.get(prefix + product.bandFiles.get(msi)!)]),
  );
  assert.deepEqual([event!.reflectance?.source, event!.reflectance?.processingBaseline, event!.reflectance?.offset], ['safe-product-xml', '05.10', [-0.1, -0.1, -0.1, -0.1]]);
  assert.deepEqual([event!.width, event!.height], [SAFE_SIZE.width, SAFE_SIZE.height]);
  assert.ok(event!.output?.georeferenced, 'the mask COG is written on the product grid');
});

// FNV-1a: a stable, name-dependent order.
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
