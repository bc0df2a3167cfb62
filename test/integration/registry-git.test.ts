// The registry against real git repos made here with the git CLI: revs, branches, version tags, GTO
// stages with an unassignment, a directory remote, an in-repo remote read from a bare repo, DVC 2
// (legacy) outputs, dvc.lock outputs, dvc.yaml artifacts, corruption cases and concurrent pulls.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudsegError } from '../../shared/errors.js';
import { addOutput, openRegistry, promote, pushOutputs, type ResolvedModel } from '../../shared/registry/index.js';
import { git, writeFiles } from './registry-helpers.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
let seq = 0;

async function expectCode(promise: Promise<unknown>, code: string, pattern?: RegExp): Promise<CloudsegError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CloudsegError, `expected a CloudsegError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail(`expected ${code}`);
}

async function treeMd5s(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((d) => d.isFile())) {
    const full = join(name.parentPath, name.name);
    out[full.slice(dir.length + 1)] = md5(await readFile(full));
  }
  return out;
}

describe('registry over real git repos', () => {
  let root: string;
  let repo: string;
  let remoteDir: string;
  const commits: Record<string, string> = {};
  const v1 = { 'model/model.json': '{"v":1}', 'model/weights/w.bin': Buffer.from([0, 1, 2, 3, 255]), 'model/card.yaml': 'name: m\n' };
  const v2 = { 'model/model.json': '{"v":2}', 'model/weights/w.bin': Buffer.from([9, 9, 9]), 'model/card.yaml': 'name: m\n' };
  const cacheDir = () => join(root, `cache-${seq++}`);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-git-'));
    repo = join(root, 'repo');
    remoteDir = join(root, 'remote');
    git(root, 'init', '-q', repo);
    await writeFiles(repo, {
      '.dvc/config': `[core]\n    remote = store\n['remote "store"']\n    url = ../../remote\n[remote "inrepo"]\n    url = ../dvc-remote\n`,
      '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
      'dvc.yaml': 'artifacts:\n  cloud-model:\n    path: model\n    type: model\n',
      ...v1,
    });
    await addOutput(repo, 'model');
    await pushOutputs(repo);
    await pushOutputs(repo, { remote: 'inrepo' });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'v1');
    commits.v1 = git(repo, 'rev-parse', 'HEAD');
    await promote(repo, 'm', { stage: 'prod', version: 'v1.0.0' });

    git(repo, 'checkout', '-qb', 'next');
    await writeFiles(repo, v2);
    await rm(join(repo, 'model', 'weights', 'w.bin'));
    await writeFiles(repo, v2);
    await addOutput(repo, 'model');
    await pushOutputs(repo);
    await pushOutputs(repo, { remote: 'inrepo' });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'v2');
    commits.v2 = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'tag', 'plain-tag');
    await promote(repo, 'm', { stage: 'dev', version: 'v2.0.0' });
    git(repo, 'checkout', '-q', 'main');
    await writeFiles(repo, { 'README.md': 'docs only\n' });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'docs');
    commits.main = git(repo, 'rev-parse', 'HEAD');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('add wrote the .dvc file DVC 3 writes, with the .dir md5 of the manifest', async () => {
    const text = await readFile(join(repo, 'model.dvc'), 'utf8');
    assert.match(text, /^outs:\n- md5: [0-9a-f]{32}\.dir\n {2}size: 20\n {2}nfiles: 3\n {2}hash: md5\n {2}path: model\n$/);
    assert.equal(await readFile(join(repo, '.gitignore'), 'utf8'), '/model\n');
    assert.equal(git(repo, 'ls-files', 'model').length, 0, 'the tracked directory is not in git');
  });

  test('HEAD, branch, version tag, plain tag, full and short sha', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const head = await registry.resolve({ repo, path: 'model' });
    assert.equal(head.commit, commits.main);
    assert.equal(head.version, null, 'GTO versions belong to commits: main HEAD is a later, unregistered commit');
    const branch = await registry.resolve({ repo, path: 'model', rev: 'next' });
    assert.equal(branch.commit, commits.v2);
    assert.equal(branch.tag, null);
    assert.notEqual(branch.md5, head.md5);
    const version = await registry.resolve({ repo, path: 'model', rev: 'm@v1.0.0' });
    assert.deepEqual([version.commit, version.tag, version.version], [commits.v1, 'm@v1.0.0', 'v1.0.0']);
    const plain = await registry.resolve({ repo, path: 'model', rev: 'plain-tag' });
    assert.deepEqual([plain.commit, plain.tag, plain.version], [commits.v2, 'plain-tag', 'v2.0.0']);
    assert.equal((await registry.resolve({ repo, path: 'model', rev: commits.v2! })).md5, branch.md5);
    assert.equal((await registry.resolve({ repo, path: 'model', rev: commits.v2!.slice(0, 10) })).commit, commits.v2);
    assert.equal(head.md5, version.md5);
    assert.equal(head.isDir, true);
    assert.deepEqual(head.files.map((f) => f.relpath), ['card.yaml', 'model.json', 'weights/w.bin']);
  });

  test('pull materialises exactly the committed files, md5 for md5, and reuses the tree', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'model', rev: 'next' });
    const dir = await registry.pull(r);
    assert.deepEqual(await treeMd5s(dir), { 'card.yaml': md5('name: m\n'), 'model.json': md5('{"v":2}'), [join('weights', 'w.bin')]: md5(Buffer.from([9, 9, 9])) });
    assert.equal(await registry.pull(r), dir);
  });

  test('stages: assignment, promotion of a newer version, unassignment, unknown stage', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    let prod = await registry.resolve({ repo, path: 'model', artifact: 'm', stage: 'prod' });
    assert.deepEqual([prod.commit, prod.version, prod.tag], [commits.v1, 'v1.0.0', 'm#prod#1']);
    assert.equal((await registry.resolve({ repo, path: 'model', artifact: 'm', stage: 'dev' })).commit, commits.v2);

    const promoted = await promote(repo, 'm', { stage: 'prod', version: 'v2.0.0' });
    assert.deepEqual(promoted, { commit: commits.v2, versionTag: 'm@v2.0.0', stageTag: 'm#prod#3' });
    prod = await registry.resolve({ repo, path: 'model', artifact: 'm', stage: 'prod' });
    assert.deepEqual([prod.commit, prod.version, prod.tag], [commits.v2, 'v2.0.0', 'm#prod#3']);

    // GTO's unassignment: an annotated tag name#stage!#N on the version's commit.
    git(repo, 'tag', '-a', 'm#prod!#4', '-m', 'Unassigning stage prod from version v2.0.0', commits.v2!);
    prod = await registry.resolve({ repo, path: 'model', artifact: 'm', stage: 'prod' });
    assert.deepEqual([prod.commit, prod.version, prod.tag], [commits.v1, 'v1.0.0', 'm#prod#1']);

    await expectCode(registry.resolve({ repo, path: 'model', artifact: 'm', stage: 'qa' }), 'REGISTRY_STAGE_NOT_FOUND', /'qa'.*stages seen: (prod, dev|dev, prod)/);
  });

  test('an artifact name from dvc.yaml maps to its path', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, artifact: 'cloud-model', rev: 'next' });
    assert.equal(r.path, 'model');
    await expectCode(registry.resolve({ repo, artifact: 'nope' }), 'REGISTRY_ARTIFACT_NOT_FOUND', /'nope'.*cloud-model/);
  });

  test('a bare clone is read in place; the in-repo remote is read from git blobs', async () => {
    const bare = join(root, `bare-${seq++}.git`);
    git(root, 'clone', '-q', '--bare', repo, bare);
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo: bare, path: 'model', rev: 'next', remote: 'inrepo' });
    assert.match(r.remoteUrl, /@[0-9a-f]{40}:dvc-remote$/);
    const dir = await registry.pull(r);
    assert.equal(md5(await readFile(join(dir, 'model.json'))), md5('{"v":2}'));
    const viaFileUrl = await registry.resolve({ repo: `file://${bare}`, path: 'model', rev: 'next' });
    assert.equal(viaFileUrl.commit, commits.v2);
  });

  test('corruption and absence are typed errors naming what is wrong', async (t) => {
    const resolveFresh = () => openRegistry({ cacheDir: cacheDir() }).resolve({ repo, path: 'model', rev: 'next' });
    const r: ResolvedModel = await resolveFresh();
    const weights = r.files.find((f) => f.relpath === 'weights/w.bin')!;
    const objectPath = join(remoteDir, 'files', 'md5', weights.md5.slice(0, 2), weights.md5.slice(2));
    const original = await readFile(objectPath);

    await t.test('a flipped byte in a remote object', async () => {
      const flipped = Buffer.from(original);
      flipped[0] = flipped[0]! ^ 0x01;
      await writeFile(objectPath, flipped);
      try {
        const registry = openRegistry({ cacheDir: cacheDir() });
        const err = await expectCode(registry.pull(await registry.resolve({ repo, path: 'model', rev: 'next' })), 'MODEL_CHECKSUM_MISMATCH', /weights\/w\.bin.*md5 is [0-9a-f]{32}, expected/);
        assert.equal(err.details?.expected, weights.md5);
        assert.equal(err.details?.actual, md5(flipped));
      } finally {
        await writeFile(objectPath, original);
      }
    });
    await t.test('a missing object', async () => {
      await rm(objectPath);
      try {
        const registry = openRegistry({ cacheDir: cacheDir() });
        await expectCode(registry.pull(await registry.resolve({ repo, path: 'model', rev: 'next' })), 'REGISTRY_OBJECT_MISSING', new RegExp(`weights/w\\.bin.*${weights.md5}.*files/md5/`));
      } finally {
        await writeFile(objectPath, original);
      }
    });
    await t.test('a missing remote', async () => {
      await expectCode(openRegistry({ cacheDir: cacheDir() }).resolve({ repo, path: 'model', remote: 'gone' }), 'REGISTRY_REMOTE_NOT_FOUND', /'gone'.*store, inrepo/);
    });
    await t.test('unknown rev, unknown output, not a repo', async () => {
      const registry = openRegistry({ cacheDir: cacheDir() });
      await expectCode(registry.resolve({ repo, path: 'model', rev: 'no-such-branch' }), 'REGISTRY_REV_NOT_FOUND', /no-such-branch/);
      await expectCode(registry.resolve({ repo, path: 'nothing/here' }), 'REGISTRY_OUTPUT_NOT_FOUND', /nothing\/here/);
      await expectCode(registry.resolve({ repo: root, path: 'model' }), 'REGISTRY_REPO_UNAVAILABLE');
    });
    await t.test('a cache entry is only ever a verified one: the original pulls after the fixes', async () => {
      const registry = openRegistry({ cacheDir: cacheDir() });
      const dir = await registry.pull(await registry.resolve({ repo, path: 'model', rev: 'next' }));
      assert.equal(md5(await readFile(join(dir, 'weights', 'w.bin'))), weights.md5);
    });
  });

  test('two registries on one cache pull the same model at once: one tree, no partial files', async () => {
    const shared = cacheDir();
    const a = openRegistry({ cacheDir: shared });
    const b = openRegistry({ cacheDir: shared });
    const [ra, rb] = await Promise.all([a.resolve({ repo, path: 'model' }), b.resolve({ repo, path: 'model' })]);
    const [da, db] = await Promise.all([a.pull(ra), b.pull(rb)]);
    assert.equal(da, db);
    assert.deepEqual(await treeMd5s(da), { 'card.yaml': md5('name: m\n'), 'model.json': md5('{"v":1}'), [join('weights', 'w.bin')]: md5(Buffer.from([0, 1, 2, 3, 255])) });
    assert.deepEqual((await readdir(join(shared, 'trees'))).filter((n) => n.endsWith('.tmp')), []);
  });
});

describe('DVC 2 (legacy) outputs and dvc.lock outputs', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-legacy-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a DVC 2 .dvc (no hash field) reads objects at <remote>/xx/rest; a dvc.lock out resolves', async () => {
    const repo = join(root, 'repo');
    const remote = join(root, 'remote');
    git(root, 'init', '-q', repo);
    const weights = Buffer.from('legacy weights');
    const h = md5(weights);
    const lockOut = Buffer.from('produced by a stage');
    const lh = md5(lockOut);
    await writeFiles(remote, { [`${h.slice(0, 2)}/${h.slice(2)}`]: weights, [`files/md5/${lh.slice(0, 2)}/${lh.slice(2)}`]: lockOut });
    await writeFiles(repo, {
      '.dvc/config': `['remote "old"']\nurl = ${remote}\n[core]\nremote = old\n`,
      'model.bin.dvc': `md5: 301598c8348f8ac0c95abc6fc19da952\nwdir: .\nouts:\n- md5: ${h}\n  path: model.bin\n  cache: true\n  metric: false\n  persist: false\n`,
      'dvc.lock': `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: out/model.pkl\n      hash: md5\n      md5: ${lh}\n      size: ${lockOut.length}\n`,
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'legacy');
    const registry = openRegistry({ cacheDir: join(root, 'cache') });
    const r = await registry.resolve({ repo, path: 'model.bin' });
    assert.deepEqual([r.legacy, r.isDir, r.md5, r.files], [true, false, h, [{ relpath: 'model.bin', md5: h, size: null }]]);
    assert.equal((await readFile(join(await registry.pull(r), 'model.bin'))).toString(), 'legacy weights');
    const fromLock = await registry.resolve({ repo, path: 'out/model.pkl' });
    assert.deepEqual([fromLock.legacy, fromLock.md5, fromLock.files[0]?.size], [false, lh, lockOut.length]);
    assert.equal((await readFile(join(await registry.pull(fromLock), 'model.pkl'))).toString(), 'produced by a stage');
  });
});
