// Registry formats against real files: example-get-started's .dvc, dvc.lock, .dvc/config, dvc.yaml and GTO
// tags; DVC's own published `.dir` md5s; the `.dvc` text `dvc add` writes; GTO stage resolution as a table.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dirManifestMd5 } from '../../shared/registry/dir-manifest.js';
import { parseDvcConfig, remoteOptions } from '../../shared/registry/dvc-config.js';
import { formatDvcFile, parseArtifacts, parseDvcFile, parseDvcLock } from '../../shared/registry/dvc-files.js';
import { isGtoName, nextAssignmentTag, parseGtoTag, resolveStage, versionAt, type GtoTagRecord } from '../../shared/registry/gto-tags.js';
import { objectKey } from '../../shared/registry/object-remotes.js';
import { gtoNameOf } from '../../shared/registry/index.js';
import { CloudsegError } from '../../shared/errors.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'dvc');
const read = (name: string) => readFileSync(join(FIX, name), 'utf8');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('real DVC files (iterative/example-get-started)', () => {
  test('DVC 3 .dvc of an import: md5, size, hash md5 -> not legacy', () => {
    assert.deepEqual(parseDvcFile(read('egs-data.xml.dvc'), 'data/data.xml.dvc'), [
      { path: 'data/data.xml', md5: '22a1a2931c8370d3aeedd7183606fd7f', size: 14445097, nfiles: null, legacy: false, remote: null },
    ]);
  });
  test('DVC 1/2 .dvc (wdir, no hash field) -> legacy layout', () => {
    const [out] = parseDvcFile(read('egs-legacy-data.xml.dvc'), 'data/data.xml.dvc');
    assert.equal(out?.path, 'data/data.xml');
    assert.equal(out?.md5, 'a304afb96060aad90176268345e10355');
    assert.equal(out?.legacy, true);
    assert.equal(objectKey(out.md5, out.legacy), 'a3/04afb96060aad90176268345e10355');
  });
  test('dvc.lock 2.0 with DVC 3 outs: directory outs keep .dir and nfiles', () => {
    const outs = parseDvcLock(read('egs-dvc.lock'), 'dvc.lock');
    const prepared = outs.find((o) => o.path === 'data/prepared');
    assert.deepEqual(prepared, { path: 'data/prepared', md5: '153aad06d376b6595932470e459ef42a.dir', size: 8437363, nfiles: 2, legacy: false, remote: null });
    assert.equal(objectKey(prepared.md5, false), 'files/md5/15/3aad06d376b6595932470e459ef42a.dir');
    assert.ok(outs.some((o) => o.path === 'model.pkl'));
  });
  test('dvc.lock 2.0 written by DVC 2: legacy outs', () => {
    const outs = parseDvcLock(read('egs-legacy-dvc.lock'), 'dvc.lock');
    assert.ok(outs.length >= 5);
    assert.ok(outs.every((o) => o.legacy));
    assert.equal(outs.find((o) => o.path === 'data/prepared')?.md5, '20b786b6e6f80e2b3fcf17827ad18597.dir');
  });
  test(".dvc/config: both header spellings, sections in either order", () => {
    for (const [file, remote] of [['egs-config', 'public-s3'], ['egs-legacy-config', 'storage']] as const) {
      const config = parseDvcConfig(read(file));
      assert.equal(config.defaultRemote, remote, file);
      assert.equal(remoteOptions(config, undefined, file).options.url, 'https://remote.dvc.org/get-started');
    }
    const both = parseDvcConfig('[core]\nremote = a\n[remote "a"]\nurl = gs://b/p\n[\'remote "c.d"\']\n  url = ../x  \n');
    assert.deepEqual(both.remotes, { a: { url: 'gs://b/p' }, 'c.d': { url: '../x' } });
  });
  test('unknown or missing remotes are typed errors naming the remote', () => {
    const config = parseDvcConfig(read('egs-config'));
    assert.throws(() => remoteOptions(config, 'nope', 'repo'), (e: CloudsegError) => e.code === 'REGISTRY_REMOTE_NOT_FOUND' && /'nope'.*public-s3/.test(e.message));
    assert.throws(() => remoteOptions(parseDvcConfig(''), undefined, 'repo'), (e: CloudsegError) => e.code === 'REGISTRY_REMOTE_NOT_FOUND');
  });
  test('dvc.yaml artifacts map names to paths', () => {
    assert.deepEqual(parseArtifacts(read('egs-dvc.yaml'), 'dvc.yaml'), { 'stackoverflow-dataset': 'data/data.xml', 'text-classification': 'model.pkl' });
  });
  test('malformed files are REGISTRY_FILE_INVALID naming the file', () => {
    assert.throws(() => parseDvcFile('outs:\n- md5: zz\n  path: x\n', 'x.dvc'), (e: CloudsegError) => e.code === 'REGISTRY_FILE_INVALID' && e.message.startsWith('x.dvc'));
    assert.throws(() => parseDvcLock("schema: '3.0'\n", 'dvc.lock'), (e: CloudsegError) => e.code === 'REGISTRY_FILE_INVALID');
    assert.throws(() => parseDvcFile('outs: [\n', 'y.dvc'), (e: CloudsegError) => e.code === 'REGISTRY_FILE_INVALID');
  });
});

describe(".dir md5s published by DVC's own tests (tests/func/test_diff.py)", () => {
  const entries = (files: Record<string, string>) => Object.entries(files).map(([relpath, content]) => ({ relpath, md5: md5(content) }));
  test('{1: "1", 2: "2"} -> 5fb6b29836c388e093ca0715c872fe2a', () => assert.equal(dirManifestMd5(entries({ 1: '1', 2: '2' })), '5fb6b29836c388e093ca0715c872fe2a'));
  test('":/modify": {1: "1", 2: "two", 3: "3"} -> 9b5faf37366b3370fd98e3e60ca439c1', () => assert.equal(dirManifestMd5(entries({ 1: '1', 2: 'two', 3: '3' })), '9b5faf37366b3370fd98e3e60ca439c1'));
  test('":/delete": {1: "1", 3: "3"} -> 83ae82fb367ac9926455870773ff09e6', () => assert.equal(dirManifestMd5(entries({ 1: '1', 3: '3' })), '83ae82fb367ac9926455870773ff09e6'));
});

describe('the .dvc text dvc add (DVC 3) writes', () => {
  test('directory: md5, size, nfiles, hash, path in that order; round-trips', () => {
    const text = formatDvcFile({ md5: '5fb6b29836c388e093ca0715c872fe2a.dir', size: 2, nfiles: 2, path: 'dir' });
    assert.equal(text, 'outs:\n- md5: 5fb6b29836c388e093ca0715c872fe2a.dir\n  size: 2\n  nfiles: 2\n  hash: md5\n  path: dir\n');
    assert.deepEqual(parseDvcFile(text, 'dir.dvc'), [{ path: 'dir', md5: '5fb6b29836c388e093ca0715c872fe2a.dir', size: 2, nfiles: 2, legacy: false, remote: null }]);
  });
  test('file: no nfiles, same layout as the real DVC 3 fixture', () => {
    const real = read('egs-data.xml.dvc');
    const ours = formatDvcFile({ md5: '22a1a2931c8370d3aeedd7183606fd7f', size: 14445097, nfiles: null, path: 'data.xml' });
    assert.ok(real.endsWith(ours.replace(/^outs:\n/, '')), `${ours} is the tail of\n${real}`);
  });
});

describe('GTO tags', () => {
  test('grammar', () => {
    assert.deepEqual(parseGtoTag('cloudseg@v1.2.0'), { artifact: 'cloudseg', action: 'register', version: 'v1.2.0', stage: null, counter: null });
    assert.deepEqual(parseGtoTag('cloudseg@v1.2.0!#7'), { artifact: 'cloudseg', action: 'deregister', version: 'v1.2.0', stage: null, counter: 7 });
    assert.deepEqual(parseGtoTag('cloudseg#prod#3'), { artifact: 'cloudseg', action: 'assign', version: null, stage: 'prod', counter: 3 });
    assert.deepEqual(parseGtoTag('cloudseg#prod!#4'), { artifact: 'cloudseg', action: 'unassign', version: null, stage: 'prod', counter: 4 });
    assert.deepEqual(parseGtoTag('models=cloud-seg#dev'), { artifact: 'models:cloud-seg', action: 'assign', version: null, stage: 'dev', counter: null });
    assert.equal(parseGtoTag('cloudseg@deprecated#9')?.action, 'deprecate');
    for (const bad of ['v1.0.0', 'cloudseg@1.0.0', 'cloudseg#prod#x', 'cloudseg', 'cloudseg-@v1.0.0', '_m@v1.0.0', 'm_#prod#1', 'a b@v1.0.0']) assert.equal(parseGtoTag(bad), null, bad);
  });

  test('GTO >= 1.5 names: both cases, digits, -, _, /, never folded', () => {
    assert.deepEqual(parseGtoTag('Cloudseg@v1.0.0'), { artifact: 'Cloudseg', action: 'register', version: 'v1.0.0', stage: null, counter: null });
    assert.deepEqual(parseGtoTag('My_Model/RGBI#Prod#1'), { artifact: 'My_Model/RGBI', action: 'assign', version: null, stage: 'Prod', counter: 1 });
    assert.deepEqual(parseGtoTag('Sub.Dir/x=My_Model#prod#2'), { artifact: 'Sub.Dir/x:My_Model', action: 'assign', version: null, stage: 'prod', counter: 2 });
    assert.equal(isGtoName('landsatbiomeRGBI6'), true);
    assert.equal(isGtoName('m'), true);
  });

  test('real example-get-started tags: prod, stage and dev resolve to their versions', () => {
    const tags: GtoTagRecord[] = read('egs-gto-tags.txt').trim().split('\n').map((l) => {
      const [name, , commit, time] = l.split(' ');
      return { name: name!, commit: commit!, taggerTimeSec: Number(time) };
    });
    assert.deepEqual(resolveStage(tags, 'text-classification', 'prod'), { commit: '0d46eb42e874eb1f681adda2aa772b6d1ea2bb97', tag: 'text-classification#prod#1', version: 'v1.0.0' });
    assert.deepEqual(resolveStage(tags, 'text-classification', 'stage')?.version, 'v1.1.0');
    assert.deepEqual(resolveStage(tags, 'text-classification', 'dev')?.version, 'v1.2.0');
    assert.equal(resolveStage(tags, 'text-classification', 'qa'), null);
    assert.equal(versionAt(tags, 'text-classification', 'e4bc9b0445bce5d075d1a4b8a7bd758e1d4eb1cb')?.version, 'v1.1.0');
    assert.equal(nextAssignmentTag(tags.map((t) => t.name), 'text-classification', 'prod'), 'text-classification#prod#4');
  });

  const A = 'a'.repeat(40);
  const B = 'b'.repeat(40);
  const C = 'c'.repeat(40);
  const cases: { name: string; tags: [string, string, number][]; want: string | null }[] = [
    { name: 'newest assignment wins', tags: [['m@v1.0.0', A, 1], ['m#prod#1', A, 2], ['m@v2.0.0', B, 3], ['m#prod#2', B, 4]], want: B },
    { name: 'rollback: re-assigning an older version wins', tags: [['m#prod#1', A, 1], ['m#prod#2', B, 2], ['m#prod#3', A, 3]], want: A },
    { name: 'unassignment falls back to the previous live assignment', tags: [['m#prod#1', A, 1], ['m#prod#2', B, 2], ['m#prod!#3', B, 3]], want: A },
    { name: 'unassigning everything leaves no stage', tags: [['m#prod#1', A, 1], ['m#prod!#2', A, 2]], want: null },
    { name: 'unassignment older than the assignment does not cancel it', tags: [['m#prod!#1', A, 1], ['m#prod#2', A, 2]], want: A },
    { name: 'same second: the counter orders them', tags: [['m#prod#6', B, 5], ['m#prod#5', A, 5]], want: B },
    { name: 'tagger time beats the counter', tags: [['m#prod#9', A, 1], ['m#prod#2', B, 7]], want: B },
    { name: 'a deregistered version is never served', tags: [['m@v1.0.0', A, 1], ['m#prod#1', A, 2], ['m@v2.0.0', B, 3], ['m#prod#2', B, 4], ['m@v2.0.0!#3', B, 5]], want: A },
    { name: 'other stages and artifacts are ignored', tags: [['m#prod#1', A, 1], ['m#dev#2', B, 2], ['other#prod#1', C, 3]], want: A },
  ];
  for (const c of cases) {
    test(`resolveStage: ${c.name}`, () => {
      const tags = c.tags.map(([name, commit, taggerTimeSec]) => ({ name, commit, taggerTimeSec }));
      assert.equal(resolveStage(tags, 'm', 'prod')?.commit ?? null, c.want);
    });
  }

  test('GTO names from paths keep their case (GTO >= 1.5)', () => {
    assert.equal(gtoNameOf('models/landsatbiomeRGBI6'), 'landsatbiomeRGBI6');
    assert.equal(gtoNameOf('models/My_Model'), 'My_Model');
    assert.equal(gtoNameOf('models/model.pkl'), 'model-pkl');
  });
});
