// `gcloud storage` (the Cloud SDK, a real client written in Python on apitools) against the local
// GCS server, configured with the variables `npm run local` prints: small (multipart) and > 8 MiB
// (resumable) uploads and downloads, cp -n, rsync both ways and ls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { localInstructions } from '../../infra/local/run-local.js';

const run = promisify(execFile);
const PROJECT = 'cloudseg-test';
const MISSING = spawnSync('gcloud', ['--version'], { stdio: 'ignore' }).error ? 'gcloud (the Google Cloud CLI) is not on PATH' : '';
if (MISSING) console.warn(`!!! SKIPPING gcloud storage tests against the local GCS server: ${MISSING}`);

/** The `export CLOUDSDK_...` line of what `npm run local` prints, as variables. */
function printedCloudSdkEnv(gcsUrl: string): Record<string, string> {
  const text = localInstructions({ inputDir: 'in', outputDir: 'out', flushEverySeconds: 10, gcsUrl, pubsubHost: '127.0.0.1:1', projectId: PROJECT, inputBucket: 'in', outputBucket: 'out' });
  const line = text.split('\n').find((l) => l.trim().startsWith('export CLOUDSDK_'));
  assert.ok(line, `no 'export CLOUDSDK_...' line in:\n${text}`);
  return Object.fromEntries(line.trim().slice('export '.length).split(' ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

const md5Of = (buf: Buffer) => createHash('md5').update(buf).digest('base64');

describe('gcloud storage against the local GCS server', { skip: MISSING || false }, () => {
  let rootDir: string;
  let work: string;
  let server: GcsServer;
  let storage: Storage;
  let env: NodeJS.ProcessEnv;
  const bucket = 'gcloud-test';

  before(async () => {
    rootDir = await mkdtemp(join(tmpdir(), 'gcs-gcloud-'));
    work = await mkdtemp(join(tmpdir(), 'gcs-gcloud-work-'));
    server = await startGcsServer({ rootDir, projectId: PROJECT });
    await server.createBucket(bucket);
    storage = new Storage({ projectId: PROJECT, apiEndpoint: server.url });
    // A throwaway config directory: the user's gcloud configuration and credentials stay untouched.
    const config = join(work, 'cloudsdk-config');
    await mkdir(config);
    env = {
      ...process.env,
      ...printedCloudSdkEnv(server.url),
      CLOUDSDK_CONFIG: config,
      CLOUDSDK_CORE_DISABLE_PROMPTS: '1',
      METADATA_SERVER_DETECTION: 'none',
    };
  });
  after(async () => {
    await server.stop();
    await rm(rootDir, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  async function gcloud(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return gcloudWith({}, ...args);
  }

  async function gcloudWith(extraEnv: Record<string, string>, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
    try {
      return await run('gcloud', ['storage', ...args], { env: { ...env, ...extraEnv }, maxBuffer: 16 * 1024 * 1024, timeout: 120_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      assert.fail(`gcloud storage ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
    }
  }

  test('cp up and down: small (multipart) and 9 MiB (resumable), bytes and hashes intact', async () => {
    const small = Buffer.from('hello from gcloud\n');
    const big = randomBytes(9 * 1024 * 1024);
    await writeFile(join(work, 'small.txt'), small);
    await writeFile(join(work, 'big.bin'), big);
    await gcloud('cp', join(work, 'small.txt'), `gs://${bucket}/up/small.txt`);
    await gcloud('cp', join(work, 'big.bin'), `gs://${bucket}/up/big.bin`);
    const [smallMeta] = await storage.bucket(bucket).file('up/small.txt').getMetadata();
    const [bigMeta] = await storage.bucket(bucket).file('up/big.bin').getMetadata();
    assert.equal(smallMeta.md5Hash, md5Of(small));
    assert.equal(bigMeta.md5Hash, md5Of(big));
    assert.equal(bigMeta.size, String(big.length));

    const down = join(work, 'down');
    await mkdir(down);
    await gcloud('cp', `gs://${bucket}/up/small.txt`, `gs://${bucket}/up/big.bin`, down);
    assert.ok((await readFile(join(down, 'small.txt'))).equals(small));
    assert.ok((await readFile(join(down, 'big.bin'))).equals(big));
  });

  test('cp -n leaves an existing object alone', async () => {
    await writeFile(join(work, 'keep.txt'), 'first');
    await gcloud('cp', join(work, 'keep.txt'), `gs://${bucket}/keep.txt`);
    const [before] = await storage.bucket(bucket).file('keep.txt').getMetadata();
    await writeFile(join(work, 'keep.txt'), 'second, longer');
    await gcloud('cp', '-n', join(work, 'keep.txt'), `gs://${bucket}/keep.txt`);
    const [after] = await storage.bucket(bucket).file('keep.txt').getMetadata();
    assert.equal(after.generation, before.generation);
    const [bytes] = await storage.bucket(bucket).file('keep.txt').download();
    assert.equal(bytes.toString(), 'first');
  });

  test('rsync up copies only what changed, rsync down mirrors the prefix, ls lists it', async () => {
    const src = join(work, 'tree');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'a');
    await writeFile(join(src, 'sub', 'b.txt'), 'b');
    await gcloud('rsync', '-r', src, `gs://${bucket}/tree`);
    const file = (name: string) => storage.bucket(bucket).file(name);
    const [aFirst] = await file('tree/a.txt').getMetadata();
    const [bFirst] = await file('tree/sub/b.txt').getMetadata();

    await writeFile(join(src, 'sub', 'b.txt'), 'b, changed');
    await gcloud('rsync', '-r', src, `gs://${bucket}/tree`);
    const [aSecond] = await file('tree/a.txt').getMetadata();
    const [bSecond] = await file('tree/sub/b.txt').getMetadata();
    assert.equal(aSecond.generation, aFirst.generation, 'unchanged file not uploaded again');
    assert.notEqual(bSecond.generation, bFirst.generation, 'changed file uploaded');

    const mirror = join(work, 'mirror');
    await gcloud('rsync', '-r', `gs://${bucket}/tree`, mirror);
    assert.equal(await readFile(join(mirror, 'a.txt'), 'utf8'), 'a');
    assert.equal(await readFile(join(mirror, 'sub', 'b.txt'), 'utf8'), 'b, changed');

    const { stdout: top } = await gcloud('ls', `gs://${bucket}/tree`);
    assert.deepEqual(top.trim().split('\n').sort(), [`gs://${bucket}/tree/a.txt`, `gs://${bucket}/tree/sub/`]);
    const { stdout: long } = await gcloud('ls', '-l', '-r', `gs://${bucket}/tree`);
    assert.match(long, /\s10\s+\S+\s+gs:\/\/gcloud-test\/tree\/sub\/b\.txt/);
  });

  test('a missing object is reported missing, not the bucket', async () => {
    const failed = await run('gcloud', ['storage', 'cp', `gs://${bucket}/nope.txt`, join(work, 'nope.txt')], { env }).then(
      () => null,
      (err: { stderr: string }) => err.stderr,
    );
    assert.ok(failed !== null, 'cp of a missing object fails');
    assert.doesNotMatch(failed, new RegExp(`gs://${bucket} not found`));
  });

  test('split transfers: parallel composite upload (compose, parts deleted) and sliced download', async () => {
    // gcloud splits files above 150 MiB; these thresholds make it split a 7 MiB file the same way.
    const split = {
      CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED: 'True',
      CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_THRESHOLD: '1M',
      CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_COMPONENT_SIZE: '2M',
      // Parts are deleted only when uploaded resumably (gcloud finds them by their tracker files).
      CLOUDSDK_STORAGE_RESUMABLE_THRESHOLD: '1M',
      CLOUDSDK_STORAGE_SLICED_OBJECT_DOWNLOAD_THRESHOLD: '1M',
      CLOUDSDK_STORAGE_SLICED_OBJECT_DOWNLOAD_COMPONENT_SIZE: '2M',
    };
    const bytes = randomBytes(7 * 1024 * 1024);
    await writeFile(join(work, 'split.bin'), bytes);
    await gcloudWith(split, 'cp', join(work, 'split.bin'), `gs://${bucket}/split/split.bin`);
    const [meta] = await storage.bucket(bucket).file('split/split.bin').getMetadata();
    assert.equal(meta.componentCount, 4, 'composed from 4 parts');
    assert.equal(meta.size, String(bytes.length));
    const [all] = await storage.bucket(bucket).getFiles();
    assert.deepEqual(all.filter((f) => f.name.startsWith('gcloud/tmp/')).map((f) => f.name), [], 'temporary parts deleted');
    await gcloudWith(split, 'cp', `gs://${bucket}/split/split.bin`, join(work, 'split.down'));
    assert.ok((await readFile(join(work, 'split.down'))).equals(bytes));
  });

  test('mv and cp between buckets (rewrite), rm -r, buckets create and delete', async () => {
    const other = `gcloud-other-${process.pid}`;
    await gcloud('buckets', 'create', `gs://${other}`);
    await writeFile(join(work, 'mv.txt'), 'move me');
    await gcloud('cp', join(work, 'mv.txt'), `gs://${bucket}/mv/mv.txt`);
    await gcloud('cp', `gs://${bucket}/mv/mv.txt`, `gs://${other}/copied.txt`);
    await gcloud('mv', `gs://${bucket}/mv/mv.txt`, `gs://${other}/moved/mv.txt`);
    assert.equal((await storage.bucket(bucket).file('mv/mv.txt').exists())[0], false);
    assert.equal((await storage.bucket(other).file('moved/mv.txt').download())[0].toString(), 'move me');
    assert.equal((await storage.bucket(other).file('copied.txt').download())[0].toString(), 'move me');
    await gcloud('rm', '-r', `gs://${other}/moved`);
    assert.deepEqual((await storage.bucket(other).getFiles())[0].map((f) => f.name), ['copied.txt']);
    await gcloud('rm', '-r', `gs://${other}`);
    assert.equal((await storage.bucket(other).exists())[0], false, 'rm -r removed the bucket too');
  });
});
