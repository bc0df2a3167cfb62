// Pub/Sub unreachable is an outage, not an empty queue: flush answers 503 with the pull error, so
// Cloud Scheduler retries and alerting sees it (it used to answer 200 "empty"). Nothing listens on
// the port the clients are pointed at: the real client meets a real refused connection.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../infra/local/free-port.js';
import type { FlushSummary } from '../../shared/flush/run-flush.js';

let server: Server;
let url: string;

before(async () => {
  Object.assign(process.env, {
    PUBSUB_EMULATOR_HOST: `127.0.0.1:${await freePort()}`,
    METADATA_SERVER_DETECTION: 'none',
    GOOGLE_CLOUD_PROJECT: 'cloudseg-outage-test',
    LOG_LEVEL: 'silent',
  });
  await import('../../functions/index.js');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  server = getTestServer('flush');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

after(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  const { closeFlushInstance } = await import('../../functions/flush.js');
  await closeFlushInstance();
});

test('Pub/Sub unreachable: flush answers 503 with the pull error, not 200 "empty"', async () => {
  const res = await fetch(url, { method: 'POST' });
  const summary = (await res.json()) as FlushSummary;
  assert.equal(res.status, 503);
  assert.equal(summary.stoppedBecause, 'pull-failed');
  assert.ok(summary.pullError, 'the error is in the answer');
  assert.match(summary.pullError.message, /UNAVAILABLE|ECONNREFUSED|No connection/);
  assert.equal(summary.pulled, 0);
});
