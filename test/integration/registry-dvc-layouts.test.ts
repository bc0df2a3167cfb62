// The registry over a repository laid out as real DVC projects are, built here with the git CLI and
// DVC's file formats written by hand (no DVC needed): an output in another folder's .dvc (wdir:), one in
// a nested dvc.lock, files committed to git, a lock with external/never-run/upper-case outputs, DVC 1
// locks and DVC 0.x stage files, DVC 2 CRLF text files, config.local, remote://, per-output remote:, an
// s3 default remote, artifacts in a sub-folder's dvc.yaml and in artifacts.yaml, GTO's mixed-case names,
// deprecation, the SemVer stage rule, and `registry add` over symlinks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CloudsegError } from '../../shared/errors.js';
import { dirManifestJson } from '../../shared/registry/dir-manifest.js';
import { addOutput, openRegistry } from '../../shared/registry/index.js';
import { git, writeFiles } from './registry-helpers.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
const TSX = join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');
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

/** Puts `data` where DVC keeps it in a directory remote: files/md5/xx/rest (DVC 3) or xx/rest (DVC 2). */
function objectFile(remoteDir: string, hash: string, legacy: boolean): string {
  return legacy ? join(remoteDir, hash.slice(0, 2), hash.slice(2)) : join(remoteDir, 'files', 'md5', hash.slice(0, 2), hash.slice(2));
}

describe('registry over DVC repository layouts', () => {
  let root: string;
  let repo: string;
  let store: string;
  let head: string;
  const cacheDir = () => join(root, `cache-${seq++}`);
  const posts = Buffer.from('<posts>1</posts>\n');
  const subModel = Buffer.from([7, 7, 7, 0]);
  const crlfCard = Buffer.from('name: legacy\r\nbands: [r, g, b, nir]\r\n');
  const pinned = Buffer.from('pinned to its own remote');
  const gitModel = { 'gitmodels/seg/model.json': '{"git":true}', 'gitmodels/seg/card.yaml': 'name: g\n' };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-layouts-'));
    repo = join(root, 'repo');
    store = join(root, 'store');
    git(root, 'init', '-q', repo);
    const legacyCardMd5 = md5(crlfCard.toString('latin1').replace(/\r\n/g, '\n'));
    await writeFiles(root, {
      [objectFile(join(store, 'base'), md5(posts), false).slice(root.length + 1)]: posts,
      [objectFile(join(store, 'base', 'nested'), md5(subModel), false).slice(root.length + 1)]: subModel,
      [objectFile(join(store, 'legacy'), legacyCardMd5, true).slice(root.length + 1)]: crlfCard,
      [objectFile(join(store, 'pinned'), md5(pinned), false).slice(root.length + 1)]: pinned,
    });
    await writeFiles(repo, {
      // The default remote is s3 (unsupported here); `nested` is remote://base/nested; `legacy` is a plain dir.
      '.dvc/config': [
        '[core]  # set by dvc remote default',
        '    remote = cloud # the team bucket',
        '[\'remote "cloud"\']',
        '    url = s3://team-bucket/dvc',
        '[\'remote "base"\']',
        '    url = ../../store/wrong  # overridden in config.local',
        '[\'remote "nested"\']',
        '    url = remote://base/nested',
        '[\'remote "legacy"\']',
        '    url = ../../store/legacy',
        '[\'remote "pinned"\']',
        '    url = ../../store/pinned',
        '',
      ].join('\n'),
      '.dvc/.gitignore': '/config.local\n/tmp\n/cache\n',
      // An import-style .dvc living away from its output (dvc import -o tutorial/... run from tutorials/nlp).
      'tutorials/nlp/Posts.xml.zip.dvc': `wdir: ../..\nouts:\n- md5: ${md5(posts)}\n  size: ${posts.length}\n  hash: md5\n  remote: base\n  path: tutorial/nlp/Posts.xml.zip\n`,
      // A nested project's lock: its outs are relative to sub/, pinned to the nested remote.
      'sub/dvc.yaml': 'stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model.bin\nartifacts:\n  Seg_Model:\n    path: model.bin\n    type: model\n',
      'sub/dvc.lock': `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    outs:\n    - path: model.bin\n      md5: ${md5(subModel).toUpperCase()}\n      size: ${subModel.length}\n      hash: md5\n      remote: nested\n`,
      // The root lock: an external output, a never-run one, and a DVC 2 (legacy) CRLF card on `legacy`.
      'dvc.lock': [
        "schema: '2.0'",
        'stages:',
        '  mirror:',
        '    cmd: aws s3 cp s3://team-bucket/raw.csv s3://team-bucket/copy.csv',
        '    outs:',
        '    - path: s3://team-bucket/copy.csv',
        '      etag: 6f1ed002ab5595859014ebf0951522d9',
        '  pending:',
        '    cmd: python pending.py',
        '    outs:',
        '    - path: pending.csv',
        '      md5: null',
        '  card:',
        '    cmd: python card.py',
        '    outs:',
        '    - path: cards/legacy.yaml',
        `      md5: ${legacyCardMd5}`,
        `      size: ${crlfCard.length}`,
        '      remote: legacy',
        '',
      ].join('\n'),
      'pinned.bin.dvc': `outs:\n- md5: ${md5(pinned)}\n  size: ${pinned.length}\n  hash: md5\n  remote: pinned\n  path: pinned.bin\n`,
      'dvc.yaml': `stages:\n  card:\n    cmd: python card.py\n    outs:\n    - cards/legacy.yaml\nartifacts:\n  external-data:\n    path: s3://team-bucket/copy.csv\n    type: dataset\n`,
      'artifacts.yaml': 'old-seg:\n  type: model\n  path: gitmodels/seg\n  virtual: false\n',
      // DVC 1 lock and a DVC 0.x stage file, in folders of their own.
      'v1/dvc.lock': `train:\n  cmd: python train.py\n  outs:\n  - path: model.pkl\n    md5: ${md5('x')}\n`,
      'v0/model.pkl.dvc': `md5: ${md5('s')}\ncmd: python train.py\nouts:\n- md5: ${md5('x')}\n  path: model.pkl\n  cache: true\n`,
      ...gitModel,
    });
    // config.local (uncommitted, git-ignored) fixes the base remote's url for this checkout.
    await writeFiles(repo, { '.dvc/config.local': "['remote \"base\"']\n    url = ../../store/base\n" });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'layouts');
    head = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'tag', '-a', 'sub=Seg_Model@v1.0.0', '-m', 'r');
    git(repo, 'tag', '-a', 'sub=Seg_Model#Prod#1', '-m', 'a');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('an output recorded in another folder\'s .dvc (wdir: ../..), its remote from config.local', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'tutorial/nlp/Posts.xml.zip' });
    assert.deepEqual([r.md5, r.isDir, r.remoteName, r.remoteUrl], [md5(posts), false, 'base', join(root, 'store', 'base')]);
    assert.deepEqual(await readFile(join(await registry.pull(r), 'Posts.xml.zip')), posts);
  });

  test('an output of a nested dvc.lock (sub/), upper-case md5, remote://base/nested', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'sub/model.bin' });
    assert.deepEqual([r.md5, r.remoteName, r.remoteUrl], [md5(subModel), 'nested', join(root, 'store', 'base', 'nested')]);
    assert.deepEqual(await readFile(join(await registry.pull(r), 'model.bin')), subModel);
  });

  test('files committed to git are read from git, a folder hashed as DVC would', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'gitmodels/seg' });
    const manifest = dirManifestJson([{ md5: md5(gitModel['gitmodels/seg/card.yaml']), relpath: 'card.yaml' }, { md5: md5(gitModel['gitmodels/seg/model.json']), relpath: 'model.json' }]);
    assert.deepEqual([r.isDir, r.md5, r.fromGit], [true, md5(manifest), true]);
    const dir = await registry.pull(r);
    assert.equal(await readFile(join(dir, 'model.json'), 'utf8'), '{"git":true}');
    const file = await registry.resolve({ repo, path: 'gitmodels/seg/card.yaml' });
    assert.equal(await readFile(join(await registry.pull(file), 'card.yaml'), 'utf8'), 'name: g\n');
    await expectCode(registry.resolve({ repo, path: 'nowhere/model' }), 'REGISTRY_OUTPUT_NOT_FOUND', /nowhere\/model.*git does not track it/);
  });

  test('a DVC 2 CRLF text output verifies as DVC 2 hashed it (md5-dos2unix), bytes kept as pushed', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'cards/legacy.yaml' });
    assert.equal(r.legacy, true);
    assert.deepEqual(await readFile(join(await registry.pull(r), 'legacy.yaml')), crlfCard);
  });

  test("the output's own remote: wins over --remote, which sets the default only (as in DVC)", async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'pinned.bin', remote: 'legacy' });
    assert.equal(r.remoteName, 'pinned');
    assert.deepEqual(await readFile(join(await registry.pull(r), 'pinned.bin')), pinned);
  });

  test('an s3 default remote fails only when an object is needed, naming the scheme', async () => {
    await writeFiles(repo, { 'late.txt.dvc': `outs:\n- md5: ${md5('late')}\n  size: 4\n  hash: md5\n  path: late.txt\n` });
    git(repo, 'add', 'late.txt.dvc');
    git(repo, 'commit', '-qm', 'an output on the default remote');
    const registry = openRegistry({ cacheDir: cacheDir() });
    const r = await registry.resolve({ repo, path: 'late.txt' });
    assert.equal(r.md5, md5('late'));
    await expectCode(registry.pull(r), 'REGISTRY_REMOTE_NOT_FOUND', /unsupported scheme \(s3:\/\/team-bucket\/dvc\)/);
    git(repo, 'reset', '-q', '--hard', head);
  });

  test('DVC 1 locks and DVC 0.x stage files say what they are', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    await expectCode(registry.resolve({ repo, path: 'v1/model.pkl' }), 'REGISTRY_FILE_INVALID', /v1\/dvc\.lock: lock format 1\.0/);
    await expectCode(registry.resolve({ repo, path: 'v0/model.pkl' }), 'REGISTRY_FILE_INVALID', /v0\/model\.pkl\.dvc: a DVC 0\.x stage file/);
    await expectCode(registry.resolve({ repo, path: 'pending.csv' }), 'REGISTRY_FILE_INVALID', /'pending\.csv' has no md5/);
  });

  test('artifacts: dir:name and dir/dvc.yaml:name from sub/dvc.yaml, GTO stage of a mixed-case name', async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    for (const artifact of ['sub:Seg_Model', 'sub/dvc.yaml:Seg_Model']) {
      const r = await registry.resolve({ repo, artifact, stage: 'Prod' });
      assert.deepEqual([r.path, r.commit, r.tag, r.version, r.md5], ['sub/model.bin', head, 'sub=Seg_Model#Prod#1', 'v1.0.0', md5(subModel)]);
    }
  });

  test("artifacts.yaml (GTO before DVC 3) and external artifact paths", async () => {
    const registry = openRegistry({ cacheDir: cacheDir() });
    assert.equal((await registry.resolve({ repo, artifact: 'old-seg' })).path, 'gitmodels/seg');
    await expectCode(registry.resolve({ repo, artifact: 'external-data' }), 'REGISTRY_OUTPUT_NOT_FOUND', /external \(dvc\.yaml says path: s3:\/\/team-bucket\/copy\.csv\)/);
  });

  test('name@deprecated#N hides the artifact from --stage, as gto show does', async () => {
    git(repo, 'tag', '-a', 'sub=Seg_Model@deprecated#2', '-m', 'd', head);
    try {
      const registry = openRegistry({ cacheDir: cacheDir() });
      await expectCode(registry.resolve({ repo, artifact: 'sub:Seg_Model', stage: 'Prod' }), 'REGISTRY_STAGE_NOT_FOUND', /deprecated/);
      assert.equal((await registry.resolve({ repo, artifact: 'sub:Seg_Model', rev: head })).md5, md5(subModel));
    } finally {
      git(repo, 'tag', '-d', 'sub=Seg_Model@deprecated#2');
    }
  });

  test('--stage-selection: newest assignment (default) or highest SemVer, from the CLI', async () => {
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'a hotfix of an older line');
    const hotfix = git(repo, 'rev-parse', 'HEAD');
    git(repo, 'tag', '-a', 'sub=Seg_Model@v0.9.1', '-m', 'r');
    git(repo, 'tag', '-a', 'sub=Seg_Model#Prod#2', '-m', 'a');
    try {
      const cli = (...args: string[]) => promisify(execFile)(TSX, [join(PROJECT_ROOT, 'functions', 'cli.ts'), 'registry', 'resolve', '--repo', repo, '--artifact', 'sub:Seg_Model', '--stage', 'Prod', '--cache-dir', cacheDir(), ...args], { cwd: PROJECT_ROOT });
      const newest = JSON.parse((await cli()).stdout) as { rev: string; version: string };
      assert.deepEqual([newest.rev, newest.version], [hotfix, 'v0.9.1']);
      const semver = JSON.parse((await cli('--stage-selection', 'semver')).stdout) as { rev: string; version: string };
      assert.deepEqual([semver.rev, semver.version], [head, 'v1.0.0']);
      const bad = await cli('--stage-selection', 'oldest').then(() => null, (e: { stderr: string }) => e);
      assert.match(bad?.stderr ?? '', /CONFIG_INVALID.*newest, semver/);
    } finally {
      git(repo, 'tag', '-d', 'sub=Seg_Model@v0.9.1', 'sub=Seg_Model#Prod#2');
      git(repo, 'reset', '-q', '--hard', head);
    }
  });

  test('registry add includes files reached through symlinks, as DVC walks them', async () => {
    const work = join(root, 'addrepo');
    git(root, 'init', '-q', work);
    await writeFiles(work, { 'shared/weights.bin': Buffer.from([1, 2, 3]), 'model/model.json': '{}' });
    await symlink(join(work, 'shared', 'weights.bin'), join(work, 'model', 'weights.bin'));
    const added = await addOutput(work, 'model');
    assert.equal(added.nfiles, 2);
    const manifest = dirManifestJson([{ md5: md5('{}'), relpath: 'model.json' }, { md5: md5(Buffer.from([1, 2, 3])), relpath: 'weights.bin' }]);
    assert.equal(added.md5, `${md5(manifest)}.dir`);
  });
});
