// `npm run local` as a person uses it: a file copied into the input folder is an upload; the
// scheduler ticker flushes; the mask lands in the output folder and a result event is published.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSampleManifest } from '../../infra/local/samples.js';
import { startLocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { pullResults } from '../support/results.js';

test('a file dropped into the input folder comes back as a mask in the output folder', { skip: EMULATOR_MISSING }, async () => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-local-test-'));
  const stack = await startLocalStack({
    rootDir,
    logger: createLogger({ level: 'warn' }),
    watch: true,
    flushEveryMs: 1000,
    resultSubscriptions: ['local-test-results'],
    env: { LOG_LEVEL: 'warn' },
  });
  try {
    const [sample] = await readSampleManifest();
    const inputDir = stack.bucketDir(stack.config.buckets.input);
    await copyFile(sample!.imagePath, join(inputDir, 'dropped.tif'));
    const [event] = await pullResults(stack.pubsub, subscriptionPath(stack.config.projectId, 'local-test-results'), 1, 120_000);
    assert.equal(event!.status, 'succeeded');
    assert.equal(event!.input.name, 'dropped.tif');
    const maskOnDisk = await stat(join(stack.bucketDir(stack.config.buckets.output), stack.config.buckets.input, 'dropped.tif.mask.png'));
    assert.ok(maskOnDisk.size > 0);
  } finally {
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  }
});
