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
  const stack = await startLocalStack({ rootDir, logger, resultSubscriptions: ['reconcile-results'], env: { LOG_LEVEL: 'warn' } });
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
    assert.deepEqual(dry.requeued.map((r) => r.name), ['lost-1.tif', 'lost-2.tif', 'lost-notes.txt']);
    assert.equal(dry.done, 1);

    const first = await reconcile(deps);
    assert.equal(first.requeued.length, 3);
    const events = await pullResults(stack.pubsub, results, 3, 120_000);
    const status = Object.fromEntries(events.map((e) => [e.input.name, e.error?.code ?? e.status]));
    assert.deepEqual(status, { 'lost-1.tif': 'succeeded', 'lost-2.tif': 'succeeded', 'lost-notes.txt': 'UNSUPPORTED_FORMAT' });

    const second = await reconcile(deps);
    assert.deepEqual(second.requeued, [], 'nothing is left: masks and the failure record say so');
    assert.equal(second.done, 3);
    assert.equal(second.failed, 1);
  } finally {
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  }
});
