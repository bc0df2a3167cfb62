// The worker's downloads retry 503, 429 and resets themselves (the storage client's own retry of a
// media download crashes Node 24: googleapis/google-cloud-node#8670), against the local GCS server's
// fault injection, with the real client: the bytes come back whole, and the process lives.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { objectDownloader } from '../../shared/cloud/object-download.js';

let rootDir: string;
let server: GcsServer;
const bytes = randomBytes(200 * 1024);
let generation: string;

before(async () => {
  rootDir = await mkdtemp(join(tmpdir(), 'object-download-'));
  server = await startGcsServer({ rootDir, projectId: 'p' });
  await server.createBucket('dl-bucket');
  const file = new Storage({ projectId: 'p', apiEndpoint: server.url }).bucket('dl-bucket').file('scene.tif');
  await file.save(bytes, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
  generation = String(file.metadata.generation);
});
after(async () => {
  await server.stop();
  await rm(rootDir, { recursive: true, force: true });
});

/** A download client as the worker's (no client retries), every request tagged with one retry test. */
async function withFaults(instructions: string[]): Promise<{ storage: Storage; remaining: () => Promise<string[]> }> {
  const res = await fetch(`${server.url}/retry_test`, { method: 'POST', body: JSON.stringify({ instructions: { 'storage.objects.get': instructions } }) });
  const { id } = (await res.json()) as { id: string };
  const storage = new Storage({ projectId: 'p', apiEndpoint: server.url, retryOptions: { autoRetry: false } });
  storage.interceptors.push({
    request: (options) => {
      options.headers = { ...(options.headers as Record<string, string> | undefined), 'x-retry-test-id': id };
      // The client hands interceptors its own request options (with uri); the type says less.
      return options as ReturnType<Storage['interceptors'][number]['request']>;
    },
  });
  const remaining = async () => ((await (await fetch(`${server.url}/retry_test/${id}`)).json()) as { instructions: Record<string, string[]> }).instructions['storage.objects.get'] ?? [];
  return { storage, remaining };
}

const ref = () => ({ bucket: 'dl-bucket', name: 'scene.tif', generation });

test('503, 429 and a reset are retried until the bytes come back whole', async () => {
  const { storage, remaining } = await withFaults(['return-503', 'return-429', 'return-reset-connection']);
  const got = await objectDownloader(storage, { attempts: 4, baseDelayMs: 5 }).download(ref());
  assert.ok(got.equals(bytes));
  assert.deepEqual(await remaining(), [], 'every fault was met');
});

test('a byte range of the pinned generation', async () => {
  const { storage } = await withFaults(['return-503']);
  const head = await objectDownloader(storage, { baseDelayMs: 5 }).download(ref(), { start: 0, end: 15 });
  assert.ok(head.equals(bytes.subarray(0, 16)));
});

test('retries are bounded: the last transient error surfaces (the batch is redelivered)', async () => {
  const { storage } = await withFaults(['return-503', 'return-503', 'return-503']);
  await assert.rejects(objectDownloader(storage, { attempts: 2, baseDelayMs: 5 }).download(ref()), (err: { code?: unknown }) => err.code === 503);
});

test('a permanent error is not retried', async () => {
  const { storage, remaining } = await withFaults(['return-403', 'return-503']);
  await assert.rejects(objectDownloader(storage, { baseDelayMs: 5 }).download(ref()), (err: { code?: unknown }) => err.code === 403);
  assert.deepEqual(await remaining(), ['return-503'], 'exactly one attempt');
});
