// A scene whose descriptor lands before its bands (a folder copy in any order): within the arrival
// grace the worker waits for them (the batch is redelivered) and the scene gets exactly one result,
// succeeded, once the bands are there. After the grace a missing band fails the scene by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import { CloudsegError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { membersPending } from '../../shared/worker/process-item.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { pullResults } from '../support/results.js';
import { bandValue, stacItem, writeBandFile } from './scene-band-files.js';

const RESULTS = 'scene-arrival-results';
const BANDS = [
  { key: 'B02', commonName: 'blue', file: 'blue.tif' },
  { key: 'B03', commonName: 'green', file: 'green.tif' },
  { key: 'B04', commonName: 'red', file: 'red.tif' },
  { key: 'B08', commonName: 'nir', file: 'nir.tif' },
] as const;

test('membersPending: BANDS_MISSING waits (retryable) only while the descriptor is younger than the grace', () => {
  const missing = new CloudsegError('BANDS_MISSING', 'gs://in/a/item.json: band nir (gs://in/a/nir.tif) not found', { details: { missing: [] } });
  const landed = '2026-12-07T10:00:00.000Z';
  const at = (seconds: number) => new Date(Date.parse(landed) + seconds * 1000);
  const waiting = membersPending(missing, landed, 600, at(30));
  assert.ok(waiting?.retryable, 'within the grace: retryable');
  assert.equal(waiting.code, 'BANDS_MISSING');
  assert.match(waiting.message, /landed 30 s ago: waiting up to 600 s/);
  assert.equal(membersPending(missing, landed, 600, at(600)), null, 'the grace is over: fails for good');
  assert.equal(membersPending(missing, undefined, 600, at(1)), null, 'no upload time: nothing to wait on');
  assert.equal(membersPending(missing, landed, 0, at(1)), null, 'grace 0: no waiting');
  assert.equal(membersPending(new CloudsegError('SCENE_INVALID', 'x'), landed, 600, at(1)), null, 'other errors are what they are');
});

test('a STAC item uploaded before its bands: one succeeded result once they land', { skip: EMULATOR_MISSING, timeout: 300_000 }, async (t) => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-scene-arrival-'));
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
  const { storage, config } = stack;
  const input = storage.bucket(config.buckets.input);
  const item = stacItem('S2B_33TVK_20240601_0_L2A', BANDS.map((b) => ({ key: b.key, href: `./${b.file}`, commonName: b.commonName, scale: 1e-4, offset: -0.1 })));
  await input.file('drop/item.json').save(item, { resumable: false });
  for (let calls = 0, pulled = 0; pulled < 1; calls++) {
    assert.ok(calls < 20, 'flush never saw the item');
    pulled += ((await stack.triggerFlush()) as { pulled: number }).pulled;
    if (pulled === 0) await new Promise((r) => setTimeout(r, 300));
  }
  // The worker has the item and no band yet: nothing is published while it waits.
  const early = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 3000).catch(() => []);
  assert.deepEqual(early.map((e) => `${e.status} ${e.error?.code}`), [], 'no result while the bands are on their way');

  const filesDir = join(rootDir, 'files');
  await mkdir(filesDir, { recursive: true });
  for (const [i, b] of BANDS.entries()) {
    const path = await writeBandFile(filesDir, b.file, {}, (x, y) => bandValue(i, x, y));
    await input.file(`drop/${b.file}`).save(await readFile(path), { resumable: false });
  }
  const [event] = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 120_000);
  assert.equal(event!.status, 'succeeded', JSON.stringify(event!.error));
  assert.equal(event!.input.name, 'drop/item.json');
  assert.deepEqual(event!.scene?.inputs.map((i) => i.band), ['blue', 'green', 'red', 'nir']);
  const extra = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 3000).catch(() => []);
  assert.deepEqual(extra.map((e) => e.input.name), [], 'exactly one result for the scene');
});
