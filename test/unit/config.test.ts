import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, RESOURCE_NAMES } from '../../shared/config/index.js';
import { CloudsegError } from '../../shared/errors.js';

test('defaults come from the one table of resource names', () => {
  const config = loadConfig({});
  assert.equal(config.buckets.input, RESOURCE_NAMES.inputBucket);
  assert.equal(config.subscriptions.uploadsBuffer, RESOURCE_NAMES.uploadsBufferSubscription);
  assert.equal(config.projectId, 'cloudseg-local');
  assert.equal(config.worker.deleteInput, false);
  assert.equal(config.model.source.kind, 'registry', 'the repository itself is the default registry');
  if (config.model.source.kind === 'registry') {
    assert.equal(config.model.source.path, 'models/landsatbiomeRGBI6');
    assert.equal(config.model.source.refreshSeconds, 60);
  }
});

test('variables override defaults and are coerced', () => {
  const config = loadConfig({
    GOOGLE_CLOUD_PROJECT: 'p1',
    CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: '3',
    CLOUDSEG_DELETE_INPUT: 'true',
    CLOUDSEG_WORK_TOPIC: 'w',
    CLOUDSEG_MODEL_DIR: '/m',
  });
  assert.equal(config.projectId, 'p1');
  assert.equal(config.flush.maxBatchItems, 3);
  assert.equal(config.worker.deleteInput, true);
  assert.equal(config.topics.work, 'w');
  assert.deepEqual(config.model.source, { kind: 'dir', dir: '/m' });
});

test('an empty variable counts as unset, except the flush secret (empty would switch auth off)', () => {
  assert.equal(loadConfig({ CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: '' }).flush.maxBatchItems, 8);
  for (const token of ['', '   ']) {
    assert.throws(
      () => loadConfig({ CLOUDSEG_FLUSH_TOKEN: token }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'CONFIG_INVALID' && err.message.includes('CLOUDSEG_FLUSH_TOKEN'),
    );
  }
});

test('a wrong value is a CONFIG_INVALID error naming the variable', () => {
  for (const [key, value] of [
    ['CLOUDSEG_FLUSH_MAX_BATCH_ITEMS', '0'],
    ['CLOUDSEG_FLUSH_MAX_BATCH_ITEMS', 'many'],
    ['CLOUDSEG_INFERENCE_BACKEND', 'gpu'],
    ['CLOUDSEG_ONNX_LAYOUT', 'both'],
    ['CLOUDSEG_INFERENCE_THREADS', '0'],
    ['CLOUDSEG_WORKER_CONCURRENCY', '0'],
    ['CLOUDSEG_DELETE_INPUT', 'maybe'],
    ['CLOUDSEG_FLUSH_TOKEN', 'short'],
    ['CLOUDSEG_MODEL_REMOTE_CONFIG', 'not json'],
    ['CLOUDSEG_FLUSH_MAX_BATCH_SECONDS', '0'],
    ['CLOUDSEG_FLUSH_MAX_BATCH_SECONDS', 'Infinity'],
    ['CLOUDSEG_WORKER_SECONDS_PER_MPX', '-0.6'],
    ['CLOUDSEG_WORKER_SECONDS_PER_MPX', 'fast'],
    ['CLOUDSEG_SCENE_BAND_BUCKETS', 'gs://mirror'],
    ['CLOUDSEG_SCENE_BAND_BUCKETS', 'ok-bucket,Upper'],
  ] as const) {
    assert.throws(
      () => loadConfig({ [key]: value }),
      (err: unknown) => err instanceof CloudsegError && err.code === 'CONFIG_INVALID' && err.message.includes(key),
      `${key}=${value}`,
    );
  }
});

test('scenes read bands from their own bucket only, unless other buckets are named', () => {
  assert.deepEqual(loadConfig({}).worker.sceneBandBuckets, []);
  assert.deepEqual(loadConfig({ CLOUDSEG_SCENE_BAND_BUCKETS: ' gcp-public-data-landsat, my.mirror ,' }).worker.sceneBandBuckets, ['gcp-public-data-landsat', 'my.mirror']);
});

test('planning by seconds: 300 s per batch and 0.6 s/Mpx by default; fractions accepted', () => {
  const defaults = loadConfig({}).flush;
  assert.equal(defaults.maxBatchSeconds, 300);
  assert.equal(defaults.workerSecondsPerMpx, 0.6);
  const set = loadConfig({ CLOUDSEG_FLUSH_MAX_BATCH_SECONDS: '120.5', CLOUDSEG_WORKER_SECONDS_PER_MPX: '4' }).flush;
  assert.equal(set.maxBatchSeconds, 120.5);
  assert.equal(set.workerSecondsPerMpx, 4);
});

test('registry settings: a stage or a rev, a path or an artifact, never both', () => {
  const config = loadConfig({ CLOUDSEG_MODEL_REPO: 'https://example.invalid/r.git', CLOUDSEG_MODEL_ARTIFACT: 'cloudseg', CLOUDSEG_MODEL_STAGE: 'prod', CLOUDSEG_MODEL_REMOTE_CONFIG: '{"projectname":"p"}' });
  assert.equal(config.model.source.kind, 'registry');
  if (config.model.source.kind === 'registry') {
    assert.equal(config.model.source.path, undefined);
    assert.equal(config.model.source.artifact, 'cloudseg');
    assert.deepEqual(config.model.source.remoteConfig, { projectname: 'p' });
  }
  for (const env of [{ CLOUDSEG_MODEL_REV: 'main', CLOUDSEG_MODEL_STAGE: 'prod' }, { CLOUDSEG_MODEL_PATH: 'm', CLOUDSEG_MODEL_ARTIFACT: 'a' }]) {
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof CloudsegError && err.code === 'CONFIG_INVALID');
  }
});

test('engine settings: auto by default, concurrency left to the engine unless set', () => {
  const defaults = loadConfig({});
  assert.equal(defaults.model.backend, 'auto');
  assert.equal(defaults.model.onnxLayout, 'intra-op');
  assert.equal(defaults.model.threads, undefined);
  assert.equal(defaults.worker.concurrency, undefined);
  const set = loadConfig({ CLOUDSEG_INFERENCE_BACKEND: 'onnxruntime', CLOUDSEG_ONNX_LAYOUT: 'sessions', CLOUDSEG_INFERENCE_THREADS: '4', CLOUDSEG_WORKER_CONCURRENCY: '3' });
  assert.equal(set.model.backend, 'onnxruntime');
  assert.equal(set.model.onnxLayout, 'sessions');
  assert.equal(set.model.threads, 4);
  assert.equal(set.worker.concurrency, 3);
});
