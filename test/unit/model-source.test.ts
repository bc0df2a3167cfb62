import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SegmentationModel } from '../../shared/model/types.js';
import { fixedModelSource, refreshingModelSource, type ModelVersion } from '../../shared/worker/model-source.js';

// A stand-in model that records its disposal: the lifecycle, not inference, is under test here.
function fakeModel(md5: string, disposed: string[]): SegmentationModel {
  return {
    identity: { name: 'm', version: '1', md5: md5.padEnd(32, '0'), rev: null, tag: null },
    card: {} as SegmentationModel['card'],
    backend: 'cpu',
    parallelism: 1,
    outputChannels: 1,
    predict: async () => new Float32Array(0),
    dispose: () => disposed.push(md5),
  };
}

function registry(disposed: string[]) {
  const state = { md5: 'a', resolves: 0, loads: 0, fail: false };
  const resolve = async (): Promise<ModelVersion> => {
    state.resolves++;
    if (state.fail) throw new Error('registry unreachable');
    const md5 = state.md5;
    return { md5, describe: {}, load: async () => (state.loads++, fakeModel(md5, disposed)) };
  };
  return { state, resolve };
}

test('loads once and serves from memory within the refresh interval', async () => {
  const disposed: string[] = [];
  let t = 0;
  const r = registry(disposed);
  const source = refreshingModelSource({ resolve: r.resolve, refreshMs: 1000, now: () => t });
  const a = await source.acquire();
  const b = await source.acquire();
  assert.equal(a.model, b.model);
  assert.equal(r.state.resolves, 1);
  t = 999;
  (await source.acquire()).release();
  assert.equal(r.state.resolves, 1);
  t = 1000;
  (await source.acquire()).release();
  assert.equal(r.state.resolves, 2, 're-resolved after the interval');
  assert.equal(r.state.loads, 1, 'same md5: not loaded again');
});

test('swaps on a new md5 and disposes the old model only after its last lease', async () => {
  const disposed: string[] = [];
  let t = 0;
  const r = registry(disposed);
  const source = refreshingModelSource({ resolve: r.resolve, refreshMs: 10, now: () => t });
  const inFlight = await source.acquire();
  r.state.md5 = 'b';
  t = 10;
  const next = await source.acquire();
  assert.equal(next.model.identity.md5.startsWith('b'), true);
  assert.deepEqual(disposed, [], 'old model still in use');
  inFlight.release();
  assert.deepEqual(disposed, ['a']);
  inFlight.release(); // idempotent
  assert.deepEqual(disposed, ['a']);
  next.release();
  await source.close();
  assert.deepEqual(disposed, ['a', 'b']);
});

test('a failed refresh keeps serving the current model; a failed first load fails', async () => {
  const disposed: string[] = [];
  let t = 0;
  const r = registry(disposed);
  r.state.fail = true;
  const source = refreshingModelSource({ resolve: r.resolve, refreshMs: 10, now: () => t });
  await assert.rejects(source.acquire(), /unreachable/);
  r.state.fail = false;
  const first = await source.acquire();
  r.state.fail = true;
  t = 20;
  const second = await source.acquire();
  assert.equal(second.model, first.model);
  t = 25;
  (await source.acquire()).release();
  assert.equal(r.state.resolves, 3, 'after a failure it waits a full interval before trying again');
});

test('concurrent acquires share one load', async () => {
  const disposed: string[] = [];
  const r = registry(disposed);
  const source = fixedModelSource(async () => (r.state.loads++, fakeModel('x', disposed)));
  const leases = await Promise.all([source.acquire(), source.acquire(), source.acquire()]);
  assert.equal(r.state.loads, 1);
  assert.ok(leases.every((l) => l.model === leases[0]!.model));
});
