// DVC `.dir` manifests byte for byte. Expected strings and md5s were produced with python3:
//   json.dumps(sorted(entries, key=lambda e: e["relpath"]), sort_keys=True) and hashlib.md5.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirManifestJson, dirManifestMd5, directoryManifest, md5File, type ManifestEntry } from '../../shared/registry/dir-manifest.js';

const cases: { name: string; entries: ManifestEntry[]; json: string; md5: string }[] = [
  {
    name: 'ascii, sorted by relpath',
    entries: [
      { relpath: 'model.json', md5: '0123456789abcdef0123456789abcdef' },
      { relpath: 'group1-shard1of1.bin', md5: 'fedcba9876543210fedcba9876543210' },
      { relpath: 'sub/a.txt', md5: '00000000000000000000000000000000' },
    ],
    json:
      '[{"md5": "fedcba9876543210fedcba9876543210", "relpath": "group1-shard1of1.bin"}, ' +
      '{"md5": "0123456789abcdef0123456789abcdef", "relpath": "model.json"}, ' +
      '{"md5": "00000000000000000000000000000000", "relpath": "sub/a.txt"}]',
    md5: '8d6f9284128bff07752dd4010c933ccd',
  },
  {
    name: 'unicode: \\u escapes, surrogate pairs, code-point order (U+FFFF before an emoji)',
    entries: [
      { relpath: 'café/ñ.txt', md5: '11111111111111111111111111111111' },
      { relpath: 'emoji/😀.bin', md5: '22222222222222222222222222222222' },
      { relpath: 'emoji/\uffff.bin', md5: '33333333333333333333333333333333' },
    ],
    json:
      '[{"md5": "11111111111111111111111111111111", "relpath": "caf\\u00e9/\\u00f1.txt"}, ' +
      '{"md5": "33333333333333333333333333333333", "relpath": "emoji/\\uffff.bin"}, ' +
      '{"md5": "22222222222222222222222222222222", "relpath": "emoji/\\ud83d\\ude00.bin"}]',
    md5: '3f3d28e535add8884a6b6ae2f56b3919',
  },
  {
    name: 'quotes, backslashes, control characters, DEL',
    entries: [
      { relpath: 'say "hi"\\back.txt', md5: '44444444444444444444444444444444' },
      { relpath: 'tab\there\nnl\u007f', md5: '55555555555555555555555555555555' },
    ],
    json:
      '[{"md5": "44444444444444444444444444444444", "relpath": "say \\"hi\\"\\\\back.txt"}, ' +
      '{"md5": "55555555555555555555555555555555", "relpath": "tab\\there\\nnl\\u007f"}]',
    md5: '86ebe9cccb5d181f0c93db0639f53a29',
  },
  {
    name: 'string order, not path-part order ("a.b" before "a/b"; uppercase first)',
    entries: [
      { relpath: 'a/b', md5: '66666666666666666666666666666666' },
      { relpath: 'a.b', md5: '77777777777777777777777777777777' },
      { relpath: 'B', md5: '88888888888888888888888888888888' },
    ],
    json:
      '[{"md5": "88888888888888888888888888888888", "relpath": "B"}, ' +
      '{"md5": "77777777777777777777777777777777", "relpath": "a.b"}, ' +
      '{"md5": "66666666666666666666666666666666", "relpath": "a/b"}]',
    md5: '7e65d1aa306e8dd6bc5705fe747fc658',
  },
  { name: 'empty directory', entries: [], json: '[]', md5: 'd751713988987e9331980363e24189ce' },
];

for (const c of cases) {
  test(`dirManifestJson / dirManifestMd5: ${c.name}`, () => {
    assert.equal(dirManifestJson(c.entries), c.json);
    assert.equal(dirManifestMd5(c.entries), c.md5);
  });
}

test('dirManifestJson does not reorder the caller’s array', () => {
  const entries = cases[0]!.entries;
  const before = entries.map((e) => e.relpath);
  dirManifestJson(entries);
  assert.deepEqual(entries.map((e) => e.relpath), before);
});

test('directoryManifest walks a real directory: posix relpaths, file md5s, the DVC .dir md5', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-manifest-'));
  try {
    await mkdir(join(dir, 'sub'));
    await mkdir(join(dir, 'café'));
    await writeFile(join(dir, 'a.txt'), 'hello\n');
    await writeFile(join(dir, 'sub', 'b.bin'), Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
    await writeFile(join(dir, 'café', 'ñ.txt'), 'x');
    const entries = await directoryManifest(dir);
    assert.deepEqual(entries, [
      { md5: 'b1946ac92492d2347c6235b4d2611184', relpath: 'a.txt' },
      { md5: '9dd4e461268c8034f5c8564e155c67a6', relpath: 'café/ñ.txt' },
      { md5: 'e2c865db4162bed963bfaa9ef6ac18f0', relpath: 'sub/b.bin' },
    ]);
    assert.equal(dirManifestMd5(entries), '5ba99c1b5aff86383b17f873d43d407a');
    assert.equal(await md5File(join(dir, 'a.txt')), 'b1946ac92492d2347c6235b4d2611184');
    // A trailing slash on the directory does not change the relpaths.
    assert.deepEqual(await directoryManifest(`${dir}/`), entries);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
