// The local GCS server driven by the real @google-cloud/storage client: uploads of every kind,
// metadata, ranges, listing, preconditions, errors and the client's own checksum validation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CRC32C, Storage, type GetFilesResponse } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { isPreconditionFailed } from '../../shared/errors.js';

const PROJECT = 'cloudseg-test';
let seq = 0;
const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

/** A client configured the way the pipeline's is locally: through STORAGE_EMULATOR_HOST. */
function clientViaEmulatorHost(server: GcsServer): Storage {
  const saved = process.env.STORAGE_EMULATOR_HOST;
  process.env.STORAGE_EMULATOR_HOST = server.env.STORAGE_EMULATOR_HOST;
  try {
    return new Storage({ projectId: PROJECT });
  } finally {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
  }
}

/** A client pointed by apiEndpoint instead, which keeps the /storage/v1 prefix. */
function clientViaApiEndpoint(server: GcsServer): Storage {
  return new Storage({ projectId: PROJECT, apiEndpoint: server.url });
}

const md5Of = (buf: Buffer) => createHash('md5').update(buf).digest('base64');
const crc32cOf = (buf: Buffer) => {
  const crc = new CRC32C();
  crc.update(buf);
  return crc.toString();
};

async function expectCode(promise: Promise<unknown>, code: number | string, what: string): Promise<Error & { code?: unknown }> {
  try {
    await promise;
  } catch (err) {
    assert.equal((err as { code?: unknown }).code, code, `${what}: expected code ${code}, got ${String((err as { code?: unknown }).code)}: ${(err as Error).message}`);
    return err as Error & { code?: unknown };
  }
  assert.fail(`${what}: expected an error with code ${code}`);
}

describe('local GCS server with the real storage client', () => {
  let rootDir: string;
  let server: GcsServer;
  let storage: Storage;

  before(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'gcs-server-'));
    server = await startGcsServer({ rootDir, projectId: PROJECT });
    storage = clientViaEmulatorHost(server);
  });
  after(async () => {
    await server.stop();
    await rm(rootDir, { recursive: true, force: true });
  });

  async function newBucket() {
    const name = unique('b');
    await storage.createBucket(name);
    return storage.bucket(name);
  }

  test('listens on loopback and exposes STORAGE_EMULATOR_HOST', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.env.STORAGE_EMULATOR_HOST, server.url);
  });

  test('bucket create, get, duplicate create is 409, missing bucket is 404', async () => {
    const bucket = await newBucket();
    const [exists] = await bucket.exists();
    assert.equal(exists, true);
    const [meta] = await bucket.getMetadata();
    assert.equal(meta.name, bucket.name);
    await expectCode(storage.createBucket(bucket.name), 409, 'second create');
    await expectCode(storage.bucket(unique('nope')).getMetadata(), 404, 'missing bucket');
    assert.deepEqual(await readdir(server.bucketDir(bucket.name)), []);
  });

  test('multipart upload (resumable:false) round trips bytes, content type and custom metadata', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(100_000);
    const file = bucket.file('scenes/2024/a.tif');
    await file.save(bytes, { resumable: false, contentType: 'image/tiff', metadata: { metadata: { sensor: 'S2', band: 'B04' } } });
    const [meta] = await file.getMetadata();
    assert.equal(meta.kind, 'storage#object');
    assert.equal(meta.bucket, bucket.name);
    assert.equal(meta.name, 'scenes/2024/a.tif');
    assert.equal(meta.size, '100000');
    assert.equal(meta.contentType, 'image/tiff');
    assert.deepEqual(meta.metadata, { sensor: 'S2', band: 'B04' });
    assert.equal(meta.md5Hash, md5Of(bytes));
    assert.equal(meta.crc32c, crc32cOf(bytes));
    assert.match(String(meta.generation), /^\d{16}$/);
    assert.equal(meta.metageneration, '1');
    assert.equal(meta.id, `${bucket.name}/scenes/2024/a.tif/${meta.generation}`);
    assert.ok(!Number.isNaN(Date.parse(String(meta.timeCreated))));
    const [down] = await file.download();
    assert.ok(down.equals(bytes));
    // On disk: the bucket folder holds only the user's file, with slashes as sub-folders.
    assert.ok((await readFile(join(server.bucketDir(bucket.name), 'scenes', '2024', 'a.tif'))).equals(bytes));
    assert.deepEqual(await readdir(server.bucketDir(bucket.name)), ['scenes']);
  });

  test('media upload (uploadType=media) through the JSON API path', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(4096);
    const res = await fetch(`${server.url}/upload/storage/v1/b/${bucket.name}/o?uploadType=media&name=${encodeURIComponent('m/x.png')}`, {
      method: 'POST',
      headers: { 'Content-Type': 'image/png' },
      body: bytes,
    });
    assert.equal(res.status, 200);
    const resource = (await res.json()) as Record<string, string>;
    assert.equal(resource.contentType, 'image/png');
    assert.equal(resource.crc32c, crc32cOf(bytes));
    const [down] = await bucket.file('m/x.png').download();
    assert.ok(down.equals(bytes));
  });

  test('resumable upload: file.save default (one streamed request) of 9 MiB', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(9 * 1024 * 1024);
    const file = bucket.file('big/nine.bin');
    await file.save(bytes); // resumable by default
    const [meta] = await file.getMetadata();
    assert.equal(meta.size, String(bytes.length));
    assert.equal(meta.md5Hash, md5Of(bytes));
    const [down] = await file.download();
    assert.ok(down.equals(bytes));
  });

  test('resumable upload in 256 KiB chunks (308 + Range between chunks)', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(5 * 256 * 1024 + 12345);
    const file = bucket.file('chunked.bin');
    await file.save(bytes, { resumable: true, chunkSize: 256 * 1024, contentType: 'application/x-test', metadata: { metadata: { k: 'v' } } });
    const [meta] = await file.getMetadata();
    assert.equal(meta.contentType, 'application/x-test');
    assert.deepEqual(meta.metadata, { k: 'v' });
    const [down] = await file.download();
    assert.ok(down.equals(bytes));
  });

  test('bucket.upload(path) resumable and not, and the status query of a resumable session', async () => {
    const bucket = await newBucket();
    const local = join(rootDir, `${unique('local')}.tif`);
    const bytes = randomBytes(700_000);
    await writeFile(local, bytes);
    await bucket.upload(local, { destination: 'up/resumable.tif', resumable: true });
    await bucket.upload(local, { destination: 'up/simple.tif', resumable: false });
    for (const name of ['up/resumable.tif', 'up/simple.tif']) {
      const [meta] = await bucket.file(name).getMetadata();
      assert.equal(meta.contentType, 'image/tiff', name); // the client derives it from the extension
      const [down] = await bucket.file(name).download();
      assert.ok(down.equals(bytes), name);
    }
    await rm(local);

    // The raw protocol: session, a chunk (308 + Range), a status query (308 + Range), the rest (200).
    const start = await fetch(`${server.url}/upload/storage/v1/b/${bucket.name}/o?uploadType=resumable&name=raw.bin`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Upload-Content-Type': 'text/plain' },
      body: JSON.stringify({ metadata: { a: '1' } }),
    });
    assert.equal(start.status, 200);
    const location = start.headers.get('location') ?? '';
    assert.ok(location.includes('upload_id='), `Location: ${location}`);
    const data = randomBytes(300_000);
    const first = await fetch(location, { method: 'PUT', headers: { 'Content-Range': 'bytes 0-262143/*' }, body: data.subarray(0, 262144) });
    assert.equal(first.status, 308);
    assert.equal(first.headers.get('range'), 'bytes=0-262143');
    const status = await fetch(location, { method: 'PUT', headers: { 'Content-Range': 'bytes */*' } });
    assert.equal(status.status, 308);
    assert.equal(status.headers.get('range'), 'bytes=0-262143');
    // A retried chunk that overlaps what is stored: the overlap is skipped, not stored twice.
    const rest = await fetch(location, { method: 'PUT', headers: { 'Content-Range': `bytes 262000-299999/300000` }, body: data.subarray(262000) });
    assert.equal(rest.status, 200);
    const resource = (await rest.json()) as Record<string, unknown>;
    assert.equal(resource.size, '300000');
    assert.equal(resource.contentType, 'text/plain');
    assert.deepEqual(resource.metadata, { a: '1' });
    const [down] = await bucket.file('raw.bin').download();
    assert.ok(down.equals(data));
  });

  test('PATCH metadata merges, null deletes a key, metageneration increments', async () => {
    const bucket = await newBucket();
    const file = bucket.file('meta.txt');
    await file.save('hello', { resumable: false, metadata: { metadata: { keep: '1', drop: '2' } } });
    const [before] = await file.getMetadata();
    const [patched] = await file.setMetadata({ contentType: 'text/markdown', metadata: { drop: null, added: '3' } });
    assert.deepEqual(patched.metadata, { keep: '1', added: '3' });
    assert.equal(patched.metageneration, '2');
    assert.equal(patched.generation, before.generation);
    assert.equal(patched.contentType, 'text/markdown');
    const [again] = await file.getMetadata();
    assert.deepEqual(again.metadata, { keep: '1', added: '3' });
    await expectCode(file.setMetadata({ metadata: { x: '1' } }, { ifMetagenerationMatch: 1 }), 412, 'stale metageneration');
  });

  test('range downloads: start-end, open end, tail', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(10_000);
    const file = bucket.file('range.bin');
    await file.save(bytes, { resumable: false });
    const [mid] = await file.download({ start: 100, end: 199 });
    assert.ok(mid.equals(bytes.subarray(100, 200)));
    const [open] = await file.download({ start: 9_990 });
    assert.ok(open.equals(bytes.subarray(9_990)));
    const [tail] = await file.download({ end: -50 });
    assert.ok(tail.equals(bytes.subarray(-50)));
    const res = await fetch(`${server.url}/b/${bucket.name}/o/range.bin?alt=media`, { headers: { Range: 'bytes=20000-' } });
    assert.equal(res.status, 416);
  });

  test('list with prefix, delimiter and paging', async () => {
    const bucket = await newBucket();
    const names = ['a/1.tif', 'a/2.tif', 'a/sub/3.tif', 'b/1.tif', 'c.tif', 'd/e/f.tif'];
    for (const name of names) await bucket.file(name).save(name, { resumable: false });

    const [all] = await bucket.getFiles();
    assert.deepEqual(all.map((f) => f.name), names);
    const [underA] = await bucket.getFiles({ prefix: 'a/' });
    assert.deepEqual(underA.map((f) => f.name), ['a/1.tif', 'a/2.tif', 'a/sub/3.tif']);

    const [top, , topResponse] = await bucket.getFiles({ delimiter: '/', autoPaginate: false });
    assert.deepEqual(top.map((f) => f.name), ['c.tif']);
    assert.deepEqual((topResponse as { prefixes?: string[] }).prefixes, ['a/', 'b/', 'd/']);
    const [inA, , inAResponse] = await bucket.getFiles({ prefix: 'a/', delimiter: '/', autoPaginate: false });
    assert.deepEqual(inA.map((f) => f.name), ['a/1.tif', 'a/2.tif']);
    assert.deepEqual((inAResponse as { prefixes?: string[] }).prefixes, ['a/sub/']);

    // Pages of 2, followed by hand, and the client's own auto-pagination with the same page size.
    const seen: string[] = [];
    let query: { maxResults: number; autoPaginate: false; pageToken?: string } | null = { maxResults: 2, autoPaginate: false };
    let pages = 0;
    while (query) {
      const response: GetFilesResponse = await bucket.getFiles(query);
      const [files, next] = response;
      assert.ok(files.length <= 2);
      seen.push(...files.map((f) => f.name));
      pages += 1;
      query = next ? { ...(next as { pageToken: string }), maxResults: 2, autoPaginate: false } : null;
    }
    assert.deepEqual(seen, names);
    assert.equal(pages, 3);
    const [auto] = await bucket.getFiles({ maxResults: 4 });
    assert.equal(auto.length, 4); // maxResults caps the total when auto-paginating
  });

  test('preconditions: ifGenerationMatch 0 on an existing object, stale generation on delete, old generation is 404', async () => {
    const bucket = await newBucket();
    const file = bucket.file('p.txt');
    await file.save('one', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const [first] = await file.getMetadata();
    await expectCode(file.save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }), 412, 'create-only multipart');
    // A resumable session refused at creation surfaces as the client's raw GaxiosError: the 412 is
    // in `status`, not `code` (the same against Google); shared/errors' isPreconditionFailed sees both.
    const refused = await file.save('two', { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } }).then(
      () => assert.fail('create-only resumable upload over an existing object succeeded'),
      (err: unknown) => err,
    );
    assert.equal((refused as { status?: unknown }).status, 412);
    assert.ok(isPreconditionFailed(refused));
    await file.save('two', { resumable: false, preconditionOpts: { ifGenerationMatch: Number(first.generation) } });
    const [second] = await file.getMetadata();
    assert.ok(BigInt(String(second.generation)) > BigInt(String(first.generation)));

    await expectCode(file.delete({ ifGenerationMatch: Number(first.generation) }), 412, 'delete with stale generation');
    const old = bucket.file('p.txt', { generation: Number(first.generation) });
    await expectCode(old.download(), 404, 'download of old generation');
    await expectCode(old.getMetadata(), 404, 'metadata of old generation');
    const live = bucket.file('p.txt', { generation: Number(second.generation) });
    assert.equal((await live.download())[0].toString(), 'two');

    await file.delete({ ifGenerationMatch: Number(second.generation) });
    const [exists] = await file.exists();
    assert.equal(exists, false);
    await expectCode(file.delete(), 404, 'delete of a deleted object');
    // Deleting the last object of a folder leaves no empty folders behind.
    assert.deepEqual(await readdir(server.bucketDir(bucket.name)), []);
  });

  test('errors have the GCS JSON shape and the client sees the HTTP status as code', async () => {
    const bucket = await newBucket();
    const res = await fetch(`${server.url}/b/${bucket.name}/o/missing.tif`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: number; message: string; errors: { reason: string; domain: string }[] } };
    assert.equal(body.error.code, 404);
    assert.equal(body.error.errors[0]?.reason, 'notFound');
    assert.equal(body.error.errors[0]?.domain, 'global');
    await expectCode(bucket.file('missing.tif').download(), 404, 'missing download');
    // Valid GCS names, but no file path may hold them: they must not land outside the bucket.
    await bucket.file('../escape.txt').save('x', { resumable: false });
    await bucket.file('a/../../escape.txt').save('x', { resumable: false });
    assert.deepEqual(await readdir(server.bucketDir(bucket.name)), []);
    assert.ok(!(await readdir(rootDir)).includes('escape.txt'));
    assert.equal((await bucket.file('a/../../escape.txt').download())[0].toString(), 'x');
  });

  test('download validation is on: bytes changed behind the server raise the client checksum error', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(50_000);
    const file = bucket.file('tamper.bin');
    await file.save(bytes, { resumable: false });
    const res = await fetch(`${server.url}/b/${bucket.name}/o/tamper.bin?alt=media`);
    assert.equal(res.headers.get('x-goog-hash'), `crc32c=${crc32cOf(bytes)},md5=${md5Of(bytes)}`);
    assert.equal(res.headers.get('x-goog-stored-content-encoding'), 'identity');
    assert.match(res.headers.get('x-goog-generation') ?? '', /^\d+$/);
    assert.equal(res.headers.get('x-goog-metageneration'), '1');
    await res.arrayBuffer();
    // The resource's mediaLink (the /download path) serves the same bytes.
    const [resource] = await file.getMetadata();
    const viaMediaLink = Buffer.from(await (await fetch(String(resource.mediaLink))).arrayBuffer());
    assert.ok(viaMediaLink.equals(bytes));

    // Flip one byte in place, same size: the sidecar still describes the old bytes.
    const handle = await open(join(server.bucketDir(bucket.name), 'tamper.bin'), 'r+');
    await handle.write(Buffer.from([bytes[1000]! ^ 0xff]), 0, 1, 1000);
    await handle.close();
    await expectCode(file.download(), 'CONTENT_DOWNLOAD_MISMATCH', 'tampered download');
    const [unchecked] = await file.download({ validation: false });
    assert.equal(unchecked[1000], bytes[1000]! ^ 0xff);
  });

  test('a file copied into a bucket folder without a watcher is adopted on first read (no watch mode)', async () => {
    const bucket = await newBucket();
    const bytes = randomBytes(2048);
    await writeFile(join(server.bucketDir(bucket.name), 'dropped.png'), bytes);
    const [files] = await bucket.getFiles();
    assert.deepEqual(files.map((f) => f.name), ['dropped.png']);
    const [meta] = await bucket.file('dropped.png').getMetadata();
    assert.equal(meta.contentType, 'image/png');
    assert.equal(meta.md5Hash, md5Of(bytes));
    const [down] = await bucket.file('dropped.png').download();
    assert.ok(down.equals(bytes));
  });

  test('the apiEndpoint style (/storage/v1 prefix) works too', async () => {
    const viaEndpoint = clientViaApiEndpoint(server);
    const name = unique('ep');
    await viaEndpoint.createBucket(name);
    const bytes = randomBytes(300_000);
    await viaEndpoint.bucket(name).file('x/y.bin').save(bytes);
    await viaEndpoint.bucket(name).file('x/z.bin').save(bytes, { resumable: false });
    const [files] = await viaEndpoint.bucket(name).getFiles({ prefix: 'x/' });
    assert.deepEqual(files.map((f) => f.name), ['x/y.bin', 'x/z.bin']);
    const [down] = await viaEndpoint.bucket(name).file('x/y.bin').download();
    assert.ok(down.equals(bytes));
    // and the emulator-host client sees the same objects
    const [meta] = await storage.bucket(name).file('x/z.bin').getMetadata();
    assert.equal(meta.size, '300000');
  });

  test('concurrent uploads to one name: each gets its own generation, the last one wins whole', async () => {
    const bucket = await newBucket();
    const bodies = Array.from({ length: 6 }, () => randomBytes(64 * 1024));
    const file = bucket.file('race.bin');
    await Promise.all(bodies.map((b, i) => file.save(b, { resumable: i % 2 === 0 })));
    const [meta] = await file.getMetadata();
    const [down] = await file.download();
    assert.ok(bodies.some((b) => b.equals(down)), 'content is one of the uploads, not a mix');
    assert.equal(meta.md5Hash, md5Of(down));
  });
});
