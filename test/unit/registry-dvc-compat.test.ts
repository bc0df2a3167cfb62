// What real DVC and GTO repositories contain beyond `dvc add` of DVC 3, written here from the formats as
// DVC (dvc/schema.py, dvc/output.py, dvc/config.py, dvc/fs) and dvc-data (hashfile/hash.py,
// istextfile.py) and GTO (gto/constants.py, gto/base.py) define them: odd outputs beside the one asked
// for, DVC 1 locks, DVC 0.x stage files, external paths, DVC 2's dos2unix md5, config.local, inline
// comments, remote:// urls, GTO's SemVer selection and deprecation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CloudsegError } from '../../shared/errors.js';
import { legacyMd5, verifyMd5 } from '../../shared/registry/content-cache.js';
import { layerDvcConfig, parseDvcConfig, remoteOptions } from '../../shared/registry/dvc-config.js';
import { listDvcFileOuts, listLockOuts, parseArtifactLocations, parseArtifactsYaml, toDvcOut } from '../../shared/registry/dvc-files.js';
import { compareVersions, deprecationOf, resolveStage } from '../../shared/registry/gto-tags.js';
import { artifactId } from '../../shared/registry/index.js';

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest('hex');
const isCode = (code: string, pattern: RegExp) => (e: unknown) => e instanceof CloudsegError && e.code === code && pattern.test(e.message);

describe('dvc.lock and .dvc: one odd output does not sink the file', () => {
  const M = 'a'.repeat(32);
  const lock = [
    "schema: '2.0'",
    'stages:',
    '  fetch:',
    '    cmd: aws s3 cp s3://bucket/raw.csv s3://bucket/copy.csv',
    '    outs:',
    '    - path: s3://bucket/copy.csv',
    '      etag: 8f3a1c0e2b',
    '      size: 10',
    '  never-run:',
    '    cmd: python make.py',
    '    outs:',
    '    - path: data/pending.csv',
    '      md5: null',
    '  train:',
    '    cmd: python train.py',
    '    outs:',
    '    - path: model.pkl',
    `      md5: ${'B'.repeat(32)}`,
    '      size: 3',
    '      hash: md5',
    '    - path: metrics',
    `      md5: ${M}.dir`,
    '      size: 9',
    '      nfiles: 1',
    '',
  ].join('\n');

  test('the asked output is read; md5 lowercased as DVC does', () => {
    const outs = listLockOuts(lock, 'dvc.lock');
    assert.deepEqual(outs.map((o) => o.path), ['s3://bucket/copy.csv', 'data/pending.csv', 'model.pkl', 'metrics']);
    assert.deepEqual(toDvcOut(outs.find((o) => o.path === 'model.pkl')!), { path: 'model.pkl', md5: 'b'.repeat(32), size: 3, nfiles: null, legacy: false, remote: null });
    assert.equal(toDvcOut(outs.find((o) => o.path === 'metrics')!).md5, `${M}.dir`);
  });
  test('the odd outputs fail only when asked for, each with its own reason', () => {
    const outs = listLockOuts(lock, 'dvc.lock');
    assert.throws(() => toDvcOut(outs[0]!), isCode('REGISTRY_FILE_INVALID', /s3:\/\/bucket\/copy\.csv' is an external output/));
    assert.throws(() => toDvcOut(outs[1]!), isCode('REGISTRY_FILE_INVALID', /data\/pending\.csv' has no md5/));
  });
  test('an external path stays a URL (not s3:/...)', () => {
    const [out] = listDvcFileOuts('outs:\n- path: s3://bucket/key/data.csv\n  etag: abc\n', 'sub/data.csv.dvc');
    assert.equal(out!.path, 's3://bucket/key/data.csv');
    assert.equal(out!.external, true);
  });
  test('lock format 1.0 (DVC 1: no schema:, stages at the top) says so', () => {
    const v1 = 'train:\n  cmd: python train.py\n  outs:\n  - path: model.pkl\n    md5: 0123456789abcdef0123456789abcdef\n';
    assert.throws(() => listLockOuts(v1, 'dvc.lock'), isCode('REGISTRY_FILE_INVALID', /lock format 1\.0 .*not supported/));
  });
  test('a DVC 0.x stage file (cmd: in a .dvc) says so', () => {
    const v0 = `md5: ${M}\ncmd: python train.py\nwdir: .\ndeps:\n- md5: ${M}\n  path: train.py\nouts:\n- md5: ${M}\n  path: model.pkl\n  cache: true\n`;
    assert.throws(() => listDvcFileOuts(v0, 'model.pkl.dvc'), isCode('REGISTRY_FILE_INVALID', /DVC 0\.x stage file/));
  });
  test('wdir: is applied to the .dvc file folder', () => {
    const [out] = listDvcFileOuts(`wdir: ../..\nouts:\n- md5: ${M}\n  path: tutorial/nlp/Posts.xml.zip\n`, 'tutorials/nlp/Posts.xml.zip.dvc');
    assert.equal(out!.path, 'tutorial/nlp/Posts.xml.zip');
  });
});

describe('DVC 2 text files (md5-dos2unix)', () => {
  const crlf = Buffer.from('name: m\r\nbands: [r, g, b]\r\n');
  const lf = Buffer.from('name: m\nbands: [r, g, b]\n');
  test('a text file is hashed with CRLF as LF; a binary one as it is', () => {
    assert.equal(legacyMd5(crlf), md5(lf));
    const binary = Buffer.from([0, 13, 10, 1, 2]);
    assert.equal(legacyMd5(binary), md5(binary));
  });
  test('verification: legacy outputs accept the dos2unix md5, DVC 3 outputs do not', () => {
    assert.doesNotThrow(() => verifyMd5(crlf, md5(lf), 'card.yaml', true));
    assert.throws(() => verifyMd5(crlf, md5(lf), 'card.yaml', false), isCode('MODEL_CHECKSUM_MISMATCH', /card\.yaml/));
    assert.throws(() => verifyMd5(Buffer.from('other\r\n'), md5(lf), 'card.yaml', true), isCode('MODEL_CHECKSUM_MISMATCH', /card\.yaml/));
  });
});

describe('.dvc/config as DVC reads it', () => {
  test('inline comments after a header or a value are dropped (configobj)', () => {
    const c = parseDvcConfig("[core]  # defaults\n    remote = store # the shared one\n['remote \"store\"']   # team bucket\n    url = gs://b/dvc  # moved 2024\n    projectname = 'p#1'\n");
    assert.equal(c.defaultRemote, 'store');
    assert.deepEqual(c.remotes.store, { url: 'gs://b/dvc', projectname: 'p#1' });
  });
  test('url = remote://base/sub extends base, its own options winning', () => {
    const c = parseDvcConfig('[remote "base"]\n  url = gs://bucket/root\n  projectname = p\n[remote "models"]\n  url = remote://base/models/v2\n  credentialpath = k.json\n');
    assert.deepEqual(remoteOptions(c, 'models', 'r').options, { url: 'gs://bucket/root/models/v2', projectname: 'p', credentialpath: 'k.json' });
    const loop = parseDvcConfig('[remote "a"]\n  url = remote://b/x\n[remote "b"]\n  url = remote://a/y\n');
    assert.throws(() => remoteOptions(loop, 'a', 'r'), isCode('REGISTRY_FILE_INVALID', /loop/));
  });
  test('config.local layers over config: key by key, new remotes, the default', () => {
    const base = parseDvcConfig('[core]\n  remote = a\n[remote "a"]\n  url = gs://shared/a\n  projectname = p\n');
    const local = parseDvcConfig('[core]\n  remote = mine\n[remote "a"]\n  url = /mnt/mirror/a\n[remote "mine"]\n  url = /tmp/mine\n');
    const c = layerDvcConfig(base, local);
    assert.equal(c.defaultRemote, 'mine');
    assert.deepEqual(c.remotes.a, { url: '/mnt/mirror/a', projectname: 'p' });
    assert.equal(layerDvcConfig(base, parseDvcConfig('')).defaultRemote, 'a');
  });
});

describe('artifacts', () => {
  test('dvc.yaml in a folder: paths relative to it; s3:// paths are external', () => {
    const a = parseArtifactLocations('artifacts:\n  seg:\n    path: model\n    type: model\n  raw:\n    path: s3://bucket/raw\n', 'sub/dvc.yaml');
    assert.deepEqual(a, { seg: { path: 'sub/model', external: false }, raw: { path: 's3://bucket/raw', external: true } });
  });
  test("GTO's artifacts.yaml", () => {
    assert.deepEqual(parseArtifactsYaml('seg:\n  type: model\n  path: models/seg\n  virtual: false\n', 'artifacts.yaml'), { seg: { path: 'models/seg', external: false } });
  });
  test('artifact ids as DVC reformats them (dir/dvc.yaml:name -> dir:name)', () => {
    assert.equal(artifactId('sub/dvc.yaml:seg'), 'sub:seg');
    assert.equal(artifactId('sub:seg'), 'sub:seg');
    assert.equal(artifactId('dvc.yaml:seg'), 'seg');
    assert.equal(artifactId('seg'), 'seg');
  });
});

describe('GTO selection rules and deprecation', () => {
  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const C = 'c'.repeat(40);
  const tags = [
    ['m@v2.0.0', B, 1],
    ['m#prod#1', B, 2],
    ['m@v1.5.0', A, 3],
    ['m#prod#2', A, 4],
    ['m#prod#3', C, 5],
  ].map(([name, commit, t]) => ({ name: name as string, commit: commit as string, taggerTimeSec: t as number }));
  test('newest assignment (gto show, dvc artifacts get) vs highest SemVer (gto API)', () => {
    assert.equal(resolveStage(tags, 'm', 'prod')?.commit, C);
    assert.deepEqual(resolveStage(tags, 'm', 'prod', 'semver'), { commit: B, tag: 'm#prod#1', version: 'v2.0.0' });
  });
  test('SemVer precedence', () => {
    const sorted = ['v1.0.0', 'v1.0.0-rc.1', 'v1.0.0-alpha', 'v1.0.0-alpha.1', 'v0.9.10', 'v0.9.9', 'v1.0.0-rc.11'].sort((x, y) => compareVersions(x, y));
    assert.deepEqual(sorted, ['v0.9.9', 'v0.9.10', 'v1.0.0-alpha', 'v1.0.0-alpha.1', 'v1.0.0-rc.1', 'v1.0.0-rc.11', 'v1.0.0']);
    assert.equal(compareVersions('v1.0.0+build.5', 'v1.0.0'), 0);
  });
  test('name@deprecated as the newest event deprecates; a later event revives', () => {
    const dep = [...tags, { name: 'm@deprecated', commit: C, taggerTimeSec: 6 }];
    assert.equal(deprecationOf(dep, 'm'), 'm@deprecated');
    assert.equal(deprecationOf(tags, 'm'), null);
    assert.equal(deprecationOf([...dep, { name: 'm#prod#4', commit: A, taggerTimeSec: 7 }], 'm'), null);
  });
});

test('a [__proto__] section or key in a registry config is data, never Object.prototype', () => {
  const text = ['[__proto__]', 'polluted = yes', "['remote \"__proto__\"']", 'url = gs://b/p', '[core]', 'remote = __proto__', '__proto__ = x'].join('\n');
  const config = parseDvcConfig(text);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  assert.equal(({} as Record<string, unknown>).url, undefined);
  assert.equal(remoteOptions(config, undefined, 'test').options.url, 'gs://b/p', 'a remote named __proto__ is just a name');
  const layered = layerDvcConfig(config, parseDvcConfig(['[\'remote "__proto__"\']', 'url = gs://b/q'].join('\n')));
  assert.equal(remoteOptions(layered, '__proto__', 'test').options.url, 'gs://b/q');
  assert.equal(({} as Record<string, unknown>).url, undefined);
});
