// Fault injection in the local GCS server (storage testbench's retry tests) driven by the real
// @google-cloud/storage client: it must retry 503/429/connection resets on idempotent calls and
// surface them on calls that are not idempotent (no generation precondition), as against GCS.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Storage, type Bucket } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';

const run = promisify(execFile);
const PROJECT = 'cloudseg-test';
let seq = 0;
const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

interface RetryTest {
  id: string;
  instructions: Record<string, string[]>;
  completed: boolean;
}

describe('fault injection with the real storage client', () => {
  let rootDir: string;
  let server: GcsServer;

  before(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'gcs-faults-'));
    server = await startGcsServer({ rootDir, projectId: PROJECT });
  });
  after(async () => {
    await server.stop();
    await rm(rootDir, { recursive: true, force: true });
  });

  async function retryTest(instructions: Record<string, string[]>): Promise<RetryTest> {
    const res = await fetch(`${server.url}/retry_test`, { method: 'POST', body: JSON.stringify({ instructions }) });
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as RetryTest;
  }

  async function state(id: string): Promise<RetryTest> {
    return (await (await fetch(`${server.url}/retry_test/${id}`)).json()) as RetryTest;
  }

  /**
   * A client whose every request carries the retry test id, with short retry delays. File.save
   * retries through async-retry, whose minimum delay is 1 s: a shorter maxRetryDelay makes every
   * save fail ("minTimeout is greater than maxTimeout"), so clients that save wait up to 1 s.
   */
  function clientFor(test: RetryTest, options: { saves?: boolean } = {}): Storage {
    const storage = new Storage({
      projectId: PROJECT,
      apiEndpoint: server.url,
      retryOptions: { maxRetries: 3, retryDelayMultiplier: 1, maxRetryDelay: options.saves ? 1 : 0.02, totalTimeout: 30 },
    });
    storage.interceptors.push({
      request: (options) => {
        options.headers = { ...(options.headers as Record<string, string> | undefined), 'x-retry-test-id': test.id };
        // The client hands interceptors its own request options (with uri); the type says less.
        return options as ReturnType<Storage['interceptors'][number]['request']>;
      },
    });
    return storage;
  }

  async function bucketWith(objects: Record<string, Buffer | string>): Promise<string> {
    const plain = new Storage({ projectId: PROJECT, apiEndpoint: server.url });
    const name = unique('f');
    await plain.createBucket(name);
    for (const [object, body] of Object.entries(objects)) await plain.bucket(name).file(object).save(body, { resumable: false });
    return name;
  }

  const bucketOf = (storage: Storage, name: string): Bucket => storage.bucket(name);

  test('the retry test resource validates instructions and reports what is left', async () => {
    const bad = await fetch(`${server.url}/retry_test`, { method: 'POST', body: JSON.stringify({ instructions: { 'storage.objects.restore': ['return-503'] } }) });
    assert.equal(bad.status, 400);
    const badInstruction = await fetch(`${server.url}/retry_test`, { method: 'POST', body: JSON.stringify({ instructions: { 'storage.objects.get': ['explode'] } }) });
    assert.equal(badInstruction.status, 400);
    const created = await retryTest({ 'storage.objects.get': ['return-503', 'return-429'] });
    assert.deepEqual((await state(created.id)).instructions['storage.objects.get'], ['return-503', 'return-429']);
    assert.equal((await fetch(`${server.url}/retry_test/${created.id}`, { method: 'DELETE' })).status, 200);
    assert.equal((await fetch(`${server.url}/retry_test/${created.id}`)).status, 404);
  });

  test('objects.get metadata: 503 twice then 429 are retried until it succeeds', async () => {
    const name = await bucketWith({ 'x.txt': 'x' });
    const test = await retryTest({ 'storage.objects.get': ['return-503', 'return-503', 'return-429'] });
    const [meta] = await bucketOf(clientFor(test), name).file('x.txt').getMetadata();
    assert.equal(meta.size, '1');
    assert.equal((await state(test.id)).completed, true, 'all three faults were hit');
  });

  test('objects.get media: a connection reset before the response is retried; the bytes arrive whole', async () => {
    const bytes = randomBytes(300 * 1024);
    const name = await bucketWith({ 'scene.bin': bytes });
    const test = await retryTest({ 'storage.objects.get': ['return-reset-connection', 'return-reset-connection'] });
    const [down] = await bucketOf(clientFor(test), name).file('scene.bin').download();
    assert.ok(down.equals(bytes));
    assert.equal((await state(test.id)).completed, true);
  });

  test('objects.get media: a stream broken midway is an error, never truncated bytes', async () => {
    const bytes = randomBytes(300 * 1024);
    const name = await bucketWith({ 'scene.bin': bytes });
    const test = await retryTest({ 'storage.objects.get': ['return-broken-stream-after-64K'] });
    await assert.rejects(bucketOf(clientFor(test), name).file('scene.bin').download(), (err: { code?: unknown }) => err.code === 'ECONNRESET');
    assert.equal((await state(test.id)).completed, true);
  });

  // @google-cloud/storage 8.4 downloads through teeny-request 11.1.1, which on Node 24 (not 20) throws an
  // uncaught ERR_STREAM_UNABLE_TO_PIPE when retry-request discards a 503/429 response to retry it
  // (googleapis/google-cloud-node#8670, no released fix): the process dies. Run in a child process so
  // the crash is observed here instead of taking the test file down. Pinned on purpose: the worker
  // downloads through shared/cloud/object-download.ts (its own retries) because of it, and this test
  // fails the day the client is fixed, to say the workaround can go.
  for (const status of ['return-503', 'return-429']) {
    test(`objects.get media: the client's own retry of a ${status} still crashes Node 24 (googleapis/google-cloud-node#8670)`, async () => {
      const bytes = randomBytes(100 * 1024);
      const name = await bucketWith({ 'scene.bin': bytes });
      const test = await retryTest({ 'storage.objects.get': [status] });
      const script = `
        import { Storage } from '@google-cloud/storage';
        const storage = new Storage({ projectId: 'p', apiEndpoint: process.env.GCS_URL, retryOptions: { maxRetries: 3, maxRetryDelay: 1 } });
        storage.interceptors.push({ request: (o) => ({ ...o, headers: { ...o.headers, 'x-retry-test-id': process.env.RETRY_TEST_ID } }) });
        const [bytes] = await storage.bucket(process.env.BUCKET).file('scene.bin').download();
        console.log(bytes.length);`;
      // Not spawnSync: the server runs in this process and must keep answering.
      const child = await run(process.execPath, ['--input-type=module', '-e', script], {
        env: { ...process.env, GCS_URL: server.url, RETRY_TEST_ID: test.id, BUCKET: name },
        timeout: 60_000,
      }).then(
        ({ stdout }) => ({ ok: true, stdout, stderr: '' }),
        (err: { stdout?: string; stderr?: string }) => ({ ok: false, stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
      );
      assert.equal(child.ok, false, 'the client retried without crashing: the upstream bug is fixed, drop the workaround in shared/cloud/object-download.ts');
      assert.match(child.stderr, /ERR_STREAM_UNABLE_TO_PIPE/);
    });
  }

  test('objects.list and buckets.get: connection resets are retried', async () => {
    const name = await bucketWith({ 'a.txt': 'a' });
    const test = await retryTest({ 'storage.objects.list': ['return-reset-connection'], 'storage.buckets.get': ['return-reset-connection', 'return-503'] });
    const client = clientFor(test);
    const [files] = await bucketOf(client, name).getFiles();
    assert.deepEqual(files.map((f) => f.name), ['a.txt']);
    const [exists] = await bucketOf(client, name).exists();
    assert.equal(exists, true);
    assert.equal((await state(test.id)).completed, true);
  });

  test('objects.delete without a precondition is not retried: the 503 surfaces and the object stays', async () => {
    const name = await bucketWith({ 'keep.txt': 'k' });
    const test = await retryTest({ 'storage.objects.delete': ['return-503', 'return-503'] });
    const file = bucketOf(clientFor(test), name).file('keep.txt');
    await assert.rejects(file.delete(), (err: { code?: unknown }) => err.code === 503);
    assert.deepEqual((await state(test.id)).instructions['storage.objects.delete'], ['return-503'], 'exactly one attempt');
    assert.equal((await file.exists())[0], true);
  });

  test('objects.delete with ifGenerationMatch is retried and deletes', async () => {
    const name = await bucketWith({ 'gone.txt': 'g' });
    const test = await retryTest({ 'storage.objects.delete': ['return-503', 'return-reset-connection'] });
    const file = bucketOf(clientFor(test), name).file('gone.txt');
    const [meta] = await file.getMetadata();
    await file.delete({ ifGenerationMatch: meta.generation });
    assert.equal((await file.exists())[0], false);
    assert.equal((await state(test.id)).completed, true);
  });

  test('objects.insert: surfaced without a precondition, retried with ifGenerationMatch=0', async () => {
    const name = await bucketWith({});
    const test = await retryTest({ 'storage.objects.insert': ['return-503', 'return-503'] });
    const once = bucketOf(clientFor(test, { saves: true }), name).file('once.txt');
    await assert.rejects(once.save('1', { resumable: false }), (err: { code?: unknown }) => err.code === 503);
    assert.equal((await once.exists())[0], false);
    // A fresh client: see the next test for why the first one would not retry any more.
    const safe = bucketOf(clientFor(test, { saves: true }), name).file('safe.txt');
    await safe.save('2', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    assert.equal((await safe.download())[0].toString(), '2');
    assert.equal((await state(test.id)).completed, true);
  });

  test('client quirk: one save without a precondition switches retries off for the whole Storage instance', async () => {
    // @google-cloud/storage 8.4 File.save sets storage.retryOptions.autoRetry = false for an
    // unconditional write and does not restore it: later idempotent calls on that client surface
    // 503s instead of retrying. Writes in this project carry generation preconditions; if this
    // starts failing, the client fixed it and the fresh client above is no longer needed.
    const name = await bucketWith({ 'x.txt': 'x' });
    const test = await retryTest({ 'storage.objects.get': ['return-503'] });
    const client = clientFor(test, { saves: true });
    await bucketOf(client, name).file('plain.txt').save('p', { resumable: false });
    await assert.rejects(bucketOf(client, name).file('x.txt').getMetadata(), (err: { code?: unknown }) => err.code === 503);
  });

  test('requests without the header are never affected', async () => {
    const name = await bucketWith({ 'x.txt': 'x' });
    const test = await retryTest({ 'storage.objects.get': ['return-503'] });
    const plain = new Storage({ projectId: PROJECT, apiEndpoint: server.url, retryOptions: { autoRetry: false } });
    await plain.bucket(name).file('x.txt').getMetadata();
    assert.equal((await state(test.id)).completed, false);
  });
});
