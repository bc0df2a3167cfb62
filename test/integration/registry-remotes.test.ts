// The registry across the network, on loopback: a gs:// remote on the local GCS server (push and pull
// through @google-cloud/storage), the registry repo itself over smart HTTP (isomorphic-git, shallow),
// an https object remote, and the `cloudseg registry` CLI spawned as users run it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { loadConfig } from '../../shared/config/index.js';
import { CloudsegError } from '../../shared/errors.js';
import { addOutput, openRegistry, promote, pushOutputs } from '../../shared/registry/index.js';
import { git, serveGitHttp, serveStatic, writeFiles, type Served } from './registry-helpers.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
let seq = 0;

describe('registry remotes and transports', () => {
  let root: string;
  let repo: string;
  let gcs: GcsServer;
  let storage: Storage;
  let gitHttp: Served;
  let v1Commit: string;
  let v2Commit: string;
  const cacheDir = () => join(root, `cache-${seq++}`);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-remotes-'));
    gcs = await startGcsServer({ rootDir: join(root, 'gcs'), projectId: 'registry-test' });
    await gcs.createBucket('models-bucket');
    storage = new Storage({ projectId: 'registry-test', apiEndpoint: gcs.url });
    repo = join(root, 'srv', 'registry.git.work');
    git(root, 'init', '-q', repo);
    git(repo, 'config', 'user.name', 't');
    git(repo, 'config', 'user.email', 't@e');
    await writeFiles(repo, {
      '.dvc/config': `[core]\n    remote = inrepo\n['remote "inrepo"']\n    url = ../dvc-remote\n['remote "gcs"']\n    url = gs://models-bucket/dvcstore\n`,
      '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
      'model/model.json': '{"v":1}',
      'model/w.bin': Buffer.from([1, 2, 3]),
    });
    await addOutput(repo, 'model');
    await pushOutputs(repo);
    await pushOutputs(repo, { remote: 'gcs', storage });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'v1');
    v1Commit = git(repo, 'rev-parse', 'HEAD');
    await promote(repo, 'cloud', { stage: 'prod', version: 'v1.0.0' });
    await writeFiles(repo, { 'model/model.json': '{"v":2}' });
    await addOutput(repo, 'model');
    await pushOutputs(repo);
    await pushOutputs(repo, { remote: 'gcs', storage });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'v2');
    v2Commit = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'branch', 'next');
    git(repo, 'reset', '-q', '--hard', v1Commit);
    git(join(root, 'srv'), 'clone', '-q', '--bare', '--no-local', repo, join(root, 'srv', 'registry.git'));
    gitHttp = await serveGitHttp(join(root, 'srv'));
  });
  after(async () => {
    await gitHttp?.close();
    await gcs?.stop();
    await rm(root, { recursive: true, force: true });
  });

  test('gs:// remote on the local GCS server: push wrote DVC 3 keys, pull verifies and materialises', async () => {
    const [files] = await storage.bucket('models-bucket').getFiles({ prefix: 'dvcstore/' });
    assert.ok(files.some((f) => /^dvcstore\/files\/md5\/[0-9a-f]{2}\/[0-9a-f]{30}\.dir$/.test(f.name)), files.map((f) => f.name).join(', '));
    const registry = openRegistry({ cacheDir: cacheDir(), storage });
    const r = await registry.resolve({ repo, path: 'model', rev: 'next', remote: 'gcs' });
    assert.equal(r.remoteUrl, 'gs://models-bucket/dvcstore');
    const dir = await registry.pull(r);
    assert.equal(await readFile(join(dir, 'model.json'), 'utf8'), '{"v":2}');
    await assert.rejects(
      openRegistry({ cacheDir: cacheDir(), storage }).resolve({ repo, path: 'model', rev: 'next', remote: 'gcs', remoteConfig: { url: 'gs://models-bucket/elsewhere' } }),
      (e: CloudsegError) => e.code === 'REGISTRY_OBJECT_MISSING' && /gs:\/\/models-bucket\/elsewhere/.test(e.message),
    );
  });

  test('https repo (smart HTTP, shallow): rev, tag and stage; the in-repo remote comes with the commit', async () => {
    const url = `${gitHttp.url}/registry.git`;
    const cache = cacheDir();
    const registry = openRegistry({ cacheDir: cache });
    const next = await registry.resolve({ repo: url, path: 'model', rev: 'next' });
    assert.equal(next.commit, v2Commit);
    assert.equal(await readFile(join(await registry.pull(next), 'model.json'), 'utf8'), '{"v":2}');
    const tagged = await registry.resolve({ repo: url, path: 'model', rev: 'cloud@v1.0.0' });
    assert.deepEqual([tagged.commit, tagged.tag, tagged.version], [v1Commit, 'cloud@v1.0.0', 'v1.0.0']);
    const prod = await registry.resolve({ repo: url, path: 'model', artifact: 'cloud', stage: 'prod' });
    assert.deepEqual([prod.commit, prod.tag, prod.version], [v1Commit, 'cloud#prod#1', 'v1.0.0']);
    assert.equal(await readFile(join(await registry.pull(prod), 'model.json'), 'utf8'), '{"v":1}');
    // shallow: the clone holds no more than the commits asked for
    const gitDirs = await readdir(join(cache, 'git'));
    assert.equal(gitDirs.length, 1);
    const shallow = await readFile(join(cache, 'git', gitDirs[0]!, 'shallow'), 'utf8');
    assert.ok(shallow.includes(v2Commit), 'the fetch was shallow');
    await assert.rejects(registry.resolve({ repo: url, path: 'model', rev: 'nope' }), (e: CloudsegError) => e.code === 'REGISTRY_REV_NOT_FOUND');
    await assert.rejects(openRegistry({ cacheDir: cacheDir() }).resolve({ repo: `${gitHttp.url}/missing.git`, path: 'model' }), (e: CloudsegError) => e.code === 'REGISTRY_REPO_UNAVAILABLE' || e.code === 'REGISTRY_REV_NOT_FOUND');
  });

  test('a private https repo: read with a token (HTTP basic, as CLOUDSEG_MODEL_REPO_TOKEN gives it), refused without; the token is never in a message', async () => {
    const token = 'ghp_secret-token-1234567890';
    const privateHost = await serveGitHttp(join(root, 'srv'), { basicAuth: { username: 'x-access-token', password: token } });
    try {
      const url = `${privateHost.url}/registry.git`;
      const withToken = openRegistry({ cacheDir: cacheDir(), credentials: { username: 'x-access-token', password: token } });
      const next = await withToken.resolve({ repo: url, path: 'model', rev: 'next' });
      assert.equal(next.commit, v2Commit);
      assert.equal(await readFile(join(await withToken.pull(next), 'model.json'), 'utf8'), '{"v":2}');
      for (const credentials of [undefined, { username: 'x-access-token', password: 'wrong' }]) {
        await assert.rejects(openRegistry({ cacheDir: cacheDir(), ...(credentials ? { credentials } : {}) }).resolve({ repo: url, path: 'model', rev: 'next' }), (e: CloudsegError) => {
          return e.code === 'REGISTRY_REPO_UNAVAILABLE' && !e.message.includes(token) && !JSON.stringify(e.details ?? {}).includes(token);
        });
      }
      const config = loadConfig({ CLOUDSEG_MODEL_REPO: url, CLOUDSEG_MODEL_REPO_TOKEN: token });
      assert.deepEqual(config.model.source.kind === 'registry' && config.model.source.credentials, { username: 'x-access-token', password: token });
    } finally {
      await privateHost.close();
    }
  });

  test('an https object remote (remoteConfig url override, as dvc.api remote_config=)', async () => {
    const files = await serveStatic(join(repo, 'dvc-remote'));
    try {
      const registry = openRegistry({ cacheDir: cacheDir() });
      const r = await registry.resolve({ repo, path: 'model', rev: 'cloud@v1.0.0', remoteConfig: { url: `${files.url}/` } });
      assert.equal(await readFile(join(await registry.pull(r), 'model.json'), 'utf8'), '{"v":1}');
      assert.ok(files.requests.every((p) => p.startsWith('/files/md5/')), files.requests.join(', '));
    } finally {
      await files.close();
    }
  });

  test('CLI: resolve prints {rev, tag, md5, files}; pull -o; errors print their code and exit 1', async () => {
    const run = promisify(execFile);
    const cli = (...args: string[]) => run(TSX, [join(PROJECT_ROOT, 'functions', 'cli.ts'), 'registry', ...args], { cwd: PROJECT_ROOT });
    const cache = cacheDir();
    const resolved = JSON.parse((await cli('resolve', '--repo', repo, '--path', 'model', '--stage', 'prod', '--artifact', 'cloud', '--cache-dir', cache)).stdout) as Record<string, unknown>;
    assert.equal(resolved.rev, v1Commit);
    assert.equal(resolved.tag, 'cloud#prod#1');
    assert.equal((resolved.files as unknown[]).length, 2);
    const out = join(root, `pulled-${seq++}`);
    await cli('pull', '--repo', repo, '--path', 'model', '--rev', 'next', '--cache-dir', cache, '-o', out);
    assert.equal(md5(await readFile(join(out, 'model.json'))), md5('{"v":2}'));
    const failed = await cli('resolve', '--repo', repo, '--path', 'model', '--stage', 'qa', '--cache-dir', cache).then(() => null, (e: { code: number; stderr: string }) => e);
    assert.equal(failed?.code, 1);
    assert.match(failed?.stderr ?? '', /"code":"REGISTRY_STAGE_NOT_FOUND"/);
  });

  test('CLI: add, push and promote in a fresh repo', async () => {
    const run = promisify(execFile);
    const work = join(root, `cli-repo-${seq++}`);
    git(root, 'init', '-q', work);
    git(work, 'config', 'user.name', 't');
    git(work, 'config', 'user.email', 't@e');
    await writeFiles(work, { '.dvc/config': "[core]\n    remote = local\n['remote \"local\"']\n    url = ../remote\n", 'm/a.txt': 'a', 'm/b/c.txt': 'c' });
    const cli = (...args: string[]) => run(TSX, [join(PROJECT_ROOT, 'functions', 'cli.ts'), 'registry', ...args], { cwd: work });
    const added = JSON.parse((await cli('add', 'm')).stdout) as { md5: string; nfiles: number };
    assert.equal(added.nfiles, 2);
    assert.equal(JSON.parse((await cli('push')).stdout).uploaded, 3);
    git(work, 'add', '-A');
    git(work, 'commit', '-qm', 'm');
    const promoted = JSON.parse((await cli('promote', 'mm', '--stage', 'prod', '--version', 'v0.1.0')).stdout) as { stageTag: string };
    assert.equal(promoted.stageTag, 'mm#prod#1');
    assert.equal(git(work, 'cat-file', '-t', 'mm#prod#1'), 'tag', 'GTO tags are annotated');
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo: work, path: 'm', artifact: 'mm', stage: 'prod' });
    assert.equal(`${r.md5}.dir`, added.md5);
    assert.equal(r.version, 'v0.1.0');
  });
});
