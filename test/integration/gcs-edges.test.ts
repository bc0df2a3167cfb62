// The local GCS server at its edges, with the real @google-cloud/storage client: names GCS refuses
// ('.', '..', which a URL parser folds away), routes it does not serve (501, never a misleading
// 404), bucket names, symlinks inside a bucket folder, and what a failed upload leaves on disk.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';

const PROJECT = 'cloudseg-test';
let seq = 0;
const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

async function expectCode(promise: Promise<unknown>, code: number, what: string): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    assert.equal((err as { code?: unknown }).code, code, `${what}: expected ${code}, got ${String((err as { code?: unknown }).code)}: ${(err as Error).message}`);
    return err as Error;
  }
  assert.fail(`${what}: expected an error with code ${code}`);
}

describe('local GCS server edges with the real storage client', () => {
  let rootDir: string;
  let server: GcsServer;
  let storage: Storage;

  before(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'gcs-edges-'));
    server = await startGcsServer({ rootDir, projectId: PROJECT });
    storage = new Storage({ projectId: PROJECT, apiEndpoint: server.url });
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

  test("deleting objects '..' and '.' is refused and leaves the (empty) bucket alone", async () => {
    const bucket = await newBucket();
    await expectCode(bucket.file('..').delete(), 400, "delete '..'");
    await expectCode(bucket.file('.').delete(), 400, "delete '.'");
    await expectCode(bucket.file('..').getMetadata(), 400, "get '..'");
    const [exists] = await bucket.exists();
    assert.equal(exists, true, 'the bucket survived');
    await expectCode(bucket.file('..').save('x', { resumable: false }), 400, "upload '..'");
    await expectCode(bucket.file('.').save('x'), 400, "resumable upload '.'");
  });

  test('routes the server does not serve answer 501 notImplemented naming the route', async () => {
    const bucket = await newBucket();
    await bucket.file('x.txt').save('x', { resumable: false });
    const aclError = await expectCode(bucket.file('x.txt').acl.get(), 501, 'object ACL');
    assert.match(aclError.message, /acl/);
    const moveError = await expectCode(bucket.file('x.txt').moveFileAtomic('y.txt'), 501, 'atomic move (moveTo)');
    assert.match(moveError.message, /moveTo/);
    await expectCode(bucket.iam.getPolicy(), 501, 'bucket IAM');
    // XML API (and signed URLs, which are XML API URLs): not a 404 that reads as "no such bucket".
    const xml = await fetch(`${server.url}/${bucket.name}/x.txt?X-Goog-Signature=abc`);
    assert.equal(xml.status, 501);
    const body = (await xml.json()) as { error: { code: number; errors: { reason: string }[] } };
    assert.equal(body.error.code, 501);
    assert.equal(body.error.errors[0]?.reason, 'notImplemented');
  });

  test('symlinks that leave the bucket folder are refused for uploads and reads (403)', async () => {
    const bucket = await newBucket();
    const outside = await mkdtemp(join(tmpdir(), 'gcs-outside-'));
    try {
      await writeFile(join(outside, 'secret.txt'), 'secret');
      const dir = server.bucketDir(bucket.name);
      await symlink(outside, join(dir, 'escape'));
      await symlink(join(outside, 'secret.txt'), join(dir, 'secret-link.txt'));
      await symlink(join(outside, 'not-yet'), join(dir, 'dangling'));
      await expectCode(bucket.file('escape/planted.txt').save('x', { resumable: false }), 403, 'multipart upload through a linked folder');
      await expectCode(bucket.file('escape/sub/planted.txt').save('x'), 403, 'resumable upload through a linked folder');
      await expectCode(bucket.file('dangling/planted.txt').save('x', { resumable: false }), 403, 'upload through a dangling link');
      assert.deepEqual(await readdir(outside), ['secret.txt'], 'nothing was written outside');
      await expectCode(bucket.file('escape/secret.txt').download(), 403, 'read through a linked folder');
      await expectCode(bucket.file('secret-link.txt').getMetadata(), 403, 'read of a linked file');
      // A link that stays inside the bucket is an ordinary path.
      await mkdir(join(dir, 'real'));
      await symlink(join(dir, 'real'), join(dir, 'alias'));
      await bucket.file('alias/ok.txt').save('ok', { resumable: false });
      const [bytes] = await bucket.file('alias/ok.txt').download();
      assert.equal(bytes.toString(), 'ok');
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });

  test('a media upload cut off midway leaves no temp file behind', async () => {
    const bucket = await newBucket();
    const tmp = join(rootDir, '.gcs-meta', 'tmp');
    const before = await readdir(tmp);
    await new Promise<void>((resolve) => {
      const req = request(`${server.url}/upload/storage/v1/b/${bucket.name}/o?uploadType=media&name=cut.bin`, {
        method: 'POST',
        headers: { 'Content-Length': '1000000', 'Content-Type': 'application/octet-stream' },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(64 * 1024));
      setTimeout(() => req.destroy(), 100);
    });
    let left: string[] = [];
    for (let i = 0; i < 50; i++) {
      left = (await readdir(tmp)).filter((f) => !before.includes(f));
      if (left.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(left, [], 'temp files of the failed upload');
    await expectCode(bucket.file('cut.bin').getMetadata(), 404, 'the cut upload is no object');
  });

  test("bucket names starting with 'goog' are refused, as GCS does", async () => {
    await expectCode(storage.createBucket('goog-bucket'), 400, "'goog' prefix");
    await expectCode(storage.createBucket('googlecloud-x'), 400, "'goog' prefix");
    await expectCode(storage.createBucket('my-google-bucket'), 400, "'google' inside the name");
  });

  test("names a file path cannot hold are GCS names: 'dir/', 'a' beside 'a/b', 'a//b', '../x'", async () => {
    const bucket = await newBucket();
    const bodies: Record<string, string> = {
      'dir/': '',
      'dir/x.txt': 'x',
      a: 'file a', // then a folder a/ is needed
      'a/b': 'file a/b',
      'c/d': 'file c/d', // then a file where the folder c/ is
      c: 'file c',
      'a//b': 'double slash',
      '../x': 'dot dot',
      'e/./f': 'dot',
    };
    for (const [name, body] of Object.entries(bodies)) {
      await bucket.file(name).save(body, { resumable: name.length % 2 === 0 });
    }
    for (const [name, body] of Object.entries(bodies)) {
      const [bytes] = await bucket.file(name).download();
      assert.equal(bytes.toString(), body, name);
    }
    const [files] = await bucket.getFiles();
    assert.deepEqual(files.map((f) => f.name), Object.keys(bodies).sort());
    const [, , top] = await bucket.getFiles({ delimiter: '/', autoPaginate: false });
    const listing = top as { items?: { name: string }[]; prefixes?: string[] };
    assert.deepEqual(listing.items?.map((i) => i.name), ['a', 'c']);
    assert.deepEqual(listing.prefixes, ['../', 'a/', 'c/', 'dir/', 'e/']);
    // Nothing was written outside the bucket folder or the server's metadata.
    assert.deepEqual((await readdir(rootDir)).sort(), ['.gcs-meta', ...(await storage.getBuckets())[0].map((b) => b.name)].sort());

    // Overwrites and preconditions work the same wherever the bytes live.
    const [meta] = await bucket.file('a').getMetadata();
    await expectCode(bucket.file('a').save('stale', { preconditionOpts: { ifGenerationMatch: 1 } }), 412, 'stale overwrite of a');
    await bucket.file('a').save('file a, again', { preconditionOpts: { ifGenerationMatch: Number(meta.generation) } });
    assert.equal((await bucket.file('a').download())[0].toString(), 'file a, again');

    for (const name of Object.keys(bodies)) await bucket.file(name).delete();
    assert.deepEqual((await bucket.getFiles())[0], []);
    await bucket.delete();
    assert.equal((await bucket.exists())[0], false);
  });

  test('a file deleted by hand leaves no trace that blocks new names beneath it', async () => {
    const bucket = await newBucket();
    await bucket.file('a').save('a', { resumable: false });
    await rm(join(server.bucketDir(bucket.name), 'a')); // its sidecar stays behind
    await bucket.file('a/b').save('under a', { resumable: false });
    assert.equal((await bucket.file('a/b').download())[0].toString(), 'under a');
    assert.equal((await bucket.file('a').exists())[0], false);
    assert.deepEqual((await bucket.getFiles())[0].map((f) => f.name), ['a/b']);
  });

  test('copy and rewrite (same and other bucket) and compose, with preconditions and metadata', async () => {
    const a = await newBucket();
    const b = await newBucket();
    const one = randomBytes(70_000);
    const two = randomBytes(30_000);
    await a.file('one.bin').save(one, { resumable: false, metadata: { contentType: 'image/tiff', metadata: { k: 'v' } } });
    await a.file('two.bin').save(two, { resumable: false });

    await a.file('one.bin').copy(b.file('copied/one.bin'));
    const [copied] = await b.file('copied/one.bin').getMetadata();
    assert.equal(copied.contentType, 'image/tiff', 'metadata comes from the source');
    assert.deepEqual(copied.metadata, { k: 'v' });
    assert.ok((await b.file('copied/one.bin').download())[0].equals(one));
    await a.file('two.bin').move(a.file('moved.bin'));
    assert.equal((await a.file('two.bin').exists())[0], false);
    assert.ok((await a.file('moved.bin').download())[0].equals(two));
    await expectCode(a.file('one.bin').copy(b.file('copied/one.bin'), { preconditionOpts: { ifGenerationMatch: 0 } }), 412, 'copy onto an existing object with ifGenerationMatch=0');
    await expectCode(a.file('missing.bin').copy(b.file('x.bin')), 404, 'copy of a missing source');

    await a.combine(['one.bin', 'moved.bin'], 'combined.bin');
    const [combined] = await a.file('combined.bin').getMetadata();
    assert.equal(combined.componentCount, 2);
    assert.equal(combined.md5Hash, undefined, 'composite objects have no md5, as in GCS');
    assert.equal(combined.size, String(one.length + two.length));
    // Downloads are still validated (crc32c only).
    assert.ok((await a.file('combined.bin').download())[0].equals(Buffer.concat([one, two])));
    await a.combine(['combined.bin', 'one.bin'], 'combined.bin');
    assert.equal((await a.file('combined.bin').getMetadata())[0].componentCount, 3);
    await expectCode(a.combine(['one.bin', 'nope.bin'], 'bad.bin'), 404, 'compose with a missing source');
    assert.deepEqual(await readdir(join(rootDir, '.gcs-meta', 'tmp')), [], 'no temp files left');
  });

  test('concurrent uploads into new nested folders all succeed (no false symlink alarms)', async () => {
    for (let round = 0; round < 5; round++) {
      const bucket = await newBucket();
      const names = Array.from({ length: 24 }, (_, i) => `r/${i % 4}/${i % 3}/x${i}.txt`);
      await Promise.all(names.map((n) => bucket.file(n).save(n, { resumable: false })));
      const [files] = await bucket.getFiles();
      assert.equal(files.length, names.length);
    }
  });
});
