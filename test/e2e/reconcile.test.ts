// Lost notifications are found and made good: with the bucket's notification removed (the path a
// restarted emulator or a misconfiguration breaks), uploads reach nobody; `reconcile` queues exactly
// those, the worker processes them, and a second run finds nothing left (failures included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSampleManifest } from '../../infra/local/samples.js';
import { startLocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import { createBatchPublisher } from '../../shared/flush/publisher.js';
import { createLogger } from '../../shared/logging.js';
import { reconcile } from '../../shared/operations/reconcile.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { pullResults } from '../support/results.js';

test('reconcile queues uploads whose notification was lost, once', { skip: EMULATOR_MISSING }, async () => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-reconcile-test-'));
  const logger = createLogger({ level: 'warn' });
  const stack = await startLocalStack({ rootDir, logger, resultSubscriptions: ['reconcile-results'], env: { LOG_LEVEL: 'warn', CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS: '0' } });
  try {
    const { config, storage } = stack;
    const input = storage.bucket(config.buckets.input);
    const [sample] = await readSampleManifest();
    const bytes = await readFile(sample!.imagePath);
    // One upload goes through the normal path first: reconcile must leave it alone.
    await input.file('seen.tif').save(bytes, { resumable: false, contentType: 'image/tiff' });
    await stack.triggerFlush();
    const results = subscriptionPath(config.projectId, 'reconcile-results');
    assert.equal((await pullResults(stack.pubsub, results, 1, 120_000))[0]!.status, 'succeeded');

    const [notifications] = await input.getNotifications();
    for (const n of notifications) await n.delete();
    await input.file('lost-1.tif').save(bytes, { resumable: false, contentType: 'image/tiff' });
    await input.file('lost-2.tif').save(bytes, { resumable: false, contentType: 'image/tiff' });
    await input.file('lost-notes.txt').save('not an image', { resumable: false, contentType: 'text/plain' });
    // A scene's band files are no work of their own (the item is): by product name, or named by the item beside them.
    await input.file('scene/LC08_L1TP_002053_20160520_20200907_02_T1_B2.TIF').save(bytes, { resumable: false, contentType: 'image/tiff' });
    await input.file('scene/red.tif').save(bytes, { resumable: false, contentType: 'image/tiff' });
    await input.file('scene/item.json').save(JSON.stringify({ type: 'Feature', stac_version: '1.0.0', id: 'x', properties: {}, assets: { red: { href: './red.tif' } } }), { resumable: false, contentType: 'application/json' });

    const deps = {
      storage,
      inputBucket: config.buckets.input,
      outputBucket: config.buckets.output,
      outputPrefix: config.buckets.outputPrefix,
      publishBatch: createBatchPublisher(stack.pubsub, config.topics.work),
      limits: { maxItems: config.flush.maxBatchItems, maxBytes: config.flush.maxBatchBytes },
      logger,
    };
    const dry = await reconcile({ ...deps, dryRun: true });
    assert.deepEqual(dry.requeued.map((r) => r.name), ['lost-1.tif', 'lost-2.tif', 'lost-notes.txt', 'scene/item.json']);
    assert.equal(dry.sceneMembers, 2);
    assert.equal(dry.done, 1);

    const first = await reconcile(deps);
    assert.equal(first.requeued.length, 4);
    const events = await pullResults(stack.pubsub, results, 4, 120_000);
    const status = Object.fromEntries(events.map((e) => [e.input.name, e.error?.code ?? e.status]));
    // The item names no band the model reads (one asset, no common names): its one failed event says so.
    assert.deepEqual(status, { 'lost-1.tif': 'succeeded', 'lost-2.tif': 'succeeded', 'lost-notes.txt': 'UNSUPPORTED_FORMAT', 'scene/item.json': 'BANDS_MISSING' });

    const second = await reconcile(deps);
    assert.deepEqual(second.requeued, [], 'nothing is left: masks and the failure records say so');
    assert.equal(second.done, 3);
    assert.equal(second.failed, 2);
    assert.equal(second.sceneMembers, 2);
  } finally {
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  }
});
