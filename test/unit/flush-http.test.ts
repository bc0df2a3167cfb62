import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bearerMatches, handleFlushRequest, type FlushRequest } from '../../shared/flush/http.js';
import type { FlushSummary } from '../../shared/flush/run-flush.js';
import { createLogger } from '../../shared/logging.js';

const TOKEN = 'a-flush-token-of-32-characters!!';
const logger = createLogger({ level: 'silent' });
const summary = (over: Partial<FlushSummary> = {}): FlushSummary => ({
  pulled: 3, accepted: 2, batches: 1, published: 1, failedBatches: 0, deferred: 0, pixelsEstimated: 0, duplicates: 1,
  skipped: { 'not-finalize': 0, 'folder-placeholder': 0, 'no-object-resource': 0, 'cloudseg-mask': 0, 'foreign-bucket': 0, 'scene-member': 0 },
  rejected: 0, acked: 3, nacked: 0, ackFailures: 0, stoppedBecause: 'empty', pullError: null, durationMs: 5, ...over,
});
const request = (method: string, headers: Record<string, string> = {}): FlushRequest => ({
  method,
  header: (name) => headers[name.toLowerCase()],
});
const neverCalled = async (): Promise<FlushSummary> => assert.fail('flush must not run');

describe('handleFlushRequest', () => {
  test('GET is 405 with Allow: POST, and flush does not run', async () => {
    const out = await handleFlushRequest(request('GET'), { token: undefined, logger, flush: neverCalled });
    assert.equal(out.status, 405);
    assert.equal(out.headers.allow, 'POST');
  });
  for (const [name, headers] of [
    ['no header', {}],
    ['wrong token', { authorization: `Bearer ${TOKEN}x` }],
    ['token prefix', { authorization: `Bearer ${TOKEN.slice(0, 10)}` }],
    ['not a bearer', { authorization: `Basic ${TOKEN}` }],
    ['empty bearer', { authorization: 'Bearer ' }],
  ] as [string, Record<string, string>][]) {
    test(`401 when a token is configured: ${name}`, async () => {
      const out = await handleFlushRequest(request('POST', headers), { token: TOKEN, logger, flush: neverCalled });
      assert.equal(out.status, 401);
    });
  }
  test('200 with the summary when everything was published', async () => {
    const out = await handleFlushRequest(request('POST', { authorization: `bearer ${TOKEN}` }), { token: TOKEN, logger, flush: async () => summary() });
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, summary());
  });
  test('no token configured: POST runs without a header', async () => {
    const out = await handleFlushRequest(request('POST'), { token: undefined, logger, flush: async () => summary() });
    assert.equal(out.status, 200);
  });
  test('503 when a batch failed or the pull failed', async () => {
    for (const s of [summary({ failedBatches: 1, published: 0, nacked: 2 }), summary({ stoppedBecause: 'pull-failed' })]) {
      const out = await handleFlushRequest(request('POST'), { token: undefined, logger, flush: async () => s });
      assert.equal(out.status, 503);
      assert.deepEqual(out.body, s);
    }
  });
  test('500 with a typed error when flush throws', async () => {
    const out = await handleFlushRequest(request('POST'), { token: undefined, logger, flush: async () => { throw new Error('boom'); } });
    assert.equal(out.status, 500);
    assert.deepEqual(out.body, { error: { code: 'INTERNAL', message: 'boom' } });
  });
});

test('bearerMatches', () => {
  assert.equal(bearerMatches(`Bearer ${TOKEN}`, TOKEN), true);
  assert.equal(bearerMatches(`Bearer  ${TOKEN} `, TOKEN), true);
  assert.equal(bearerMatches(undefined, TOKEN), false);
  assert.equal(bearerMatches('Bearer', TOKEN), false);
  assert.equal(bearerMatches(`Bearer ${TOKEN} extra`, TOKEN), false);
});
