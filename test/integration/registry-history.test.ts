// Compatibility over a generated history: one repository whose commits carry every generation of DVC
// file the registry must read, as DVC wrote them (formats from DVC's dvc/schema.py, output.py and
// dvcfile.py; dvc-data's hashfile): DVC 1 `.dvc` (stage md5, md5: outs, legacy object layout, CRLF text
// hashed dos2unix), DVC 2 dvc.lock 2.0 (no hash: field), DVC 3 `hash: md5`, a `.dvc` elsewhere with
// `wdir:`, a nested dvc.lock, and a per-output `remote:`. Each commit resolves and pulls byte for byte.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirManifestJson } from '../../shared/registry/dir-manifest.js';
import { openRegistry } from '../../shared/registry/index.js';
import { git, writeFiles } from './registry-helpers.js';

const md5 = (b: Buffer | string) => createHash('md5').update(b).digest('hex');
type Tree = Record<string, Buffer>;

interface Generation {
  tag: string;
  path: string;
  tree: Tree;
  /** DVC 1/2 outputs: xx/rest objects, text files hashed with CRLF as LF */
  legacy: boolean;
  remoteDir: string;
  /** repo files (DVC metadata) of this commit; `dirMd5` is the output's md5 with ".dir" */
  files: (dirMd5: string) => Record<string, string>;
  /** files this generation removes from the previous commit */
  remove?: string[];
}

describe('registry over a generated DVC 1 -> 3 history', () => {
  let root: string;
  let repo: string;
  const generations: Generation[] = [];
  const commits: Record<string, string> = {};

  // Text with CRLF: DVC 1 and 2 recorded md5 of the LF form; DVC 3 of the bytes.
  const card = (n: number) => Buffer.from(`name: seg\r\nversion: ${n}\r\n`);
  const lf = (b: Buffer) => Buffer.from(b.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  const weights = (n: number) => Buffer.from([0, n, 255, 13, 10, n]);
  const tree = (n: number): Tree => ({ 'card.yaml': card(n), 'model.json': Buffer.from(`{"v":${n}}`), 'weights/w.bin': weights(n) });

  /** Writes the tree's objects and its manifest (named <md5>.dir, as DVC names it) to `remoteDir`; returns the md5 with ".dir". */
  async function push(t: Tree, legacy: boolean, remoteDir: string): Promise<string> {
    const entries = Object.entries(t).map(([relpath, data]) => ({ relpath, data, md5: md5(legacy && relpath.endsWith('.yaml') ? lf(data) : data) }));
    const manifest = dirManifestJson(entries.map(({ md5: m, relpath }) => ({ md5: m, relpath })));
    const key = (m: string) => (legacy ? join(m.slice(0, 2), m.slice(2)) : join('files', 'md5', m.slice(0, 2), m.slice(2)));
    await writeFiles(remoteDir, Object.fromEntries([...entries.map((e) => [key(e.md5), e.data] as const), [key(`${md5(manifest)}.dir`), manifest]]));
    return `${md5(manifest)}.dir`;
  }

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-history-'));
    repo = join(root, 'repo');
    const store = join(root, 'store');
    const archive = join(root, 'archive');
    git(root, 'init', '-q', repo);
    const config = "[core]\n    remote = store\n['remote \"store\"']\n    url = ../../store\n['remote \"archive\"']\n    url = ../../archive\n";
    const stage = (dirMd5: string, hashLine: string) => ({
      deps: `    deps:\n    - path: train.py\n      md5: ${md5('print(1)\n')}\n      size: 9${hashLine ? `\n      ${hashLine}` : ''}\n`,
      out: `    - path: model\n      md5: ${dirMd5}\n      size: 40\n      nfiles: 3${hashLine ? `\n      ${hashLine}` : ''}\n`,
    });
    generations.push(
      {
        tag: 'dvc1-dvc-file',
        path: 'model',
        tree: tree(1),
        legacy: true,
        remoteDir: store,
        // DVC 1's `dvc add`: a stage md5 at the top, cache/metric/persist flags on the out.
        files: (m) => ({ '.dvc/config': config, 'model.dvc': `md5: ${md5('stage 1')}\nwdir: .\nouts:\n- md5: ${m}\n  path: model\n  cache: true\n  metric: false\n  persist: false\n` }),
      },
      {
        tag: 'dvc2-lock-2.0',
        path: 'model',
        tree: tree(2),
        legacy: true,
        remoteDir: store,
        remove: ['model.dvc'],
        files: (m) => {
          const s = stage(m, '');
          return { 'train.py': 'print(1)\n', 'dvc.yaml': 'stages:\n  train:\n    cmd: python train.py\n    deps:\n    - train.py\n    outs:\n    - model\n', 'dvc.lock': `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n${s.deps}    outs:\n${s.out}` };
        },
      },
      {
        tag: 'dvc3-hash-md5',
        path: 'model',
        tree: tree(3),
        legacy: false,
        remoteDir: store,
        files: (m) => {
          const s = stage(m, 'hash: md5');
          return { 'dvc.lock': `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n${s.deps}    outs:\n${s.out}` };
        },
      },
      {
        tag: 'dvc3-wdir',
        path: 'model',
        tree: tree(4),
        legacy: false,
        remoteDir: store,
        remove: ['dvc.lock', 'dvc.yaml'],
        files: (m) => ({ 'pipelines/seg/model.dvc': `wdir: ../..\nouts:\n- md5: ${m}\n  size: 40\n  nfiles: 3\n  hash: md5\n  path: model\n` }),
      },
      {
        tag: 'dvc3-nested-lock',
        path: 'project/model',
        tree: tree(5),
        legacy: false,
        remoteDir: store,
        remove: ['pipelines/seg/model.dvc'],
        files: (m) => {
          const s = stage(m, 'hash: md5');
          return { 'project/train.py': 'print(1)\n', 'project/dvc.yaml': 'stages:\n  train:\n    cmd: python train.py\n    outs:\n    - model\n', 'project/dvc.lock': `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n${s.deps}    outs:\n${s.out}` };
        },
      },
      {
        tag: 'dvc3-output-remote',
        path: 'project/model',
        tree: tree(6),
        legacy: false,
        remoteDir: archive,
        files: (m) => {
          const s = stage(m, 'hash: md5\n      remote: archive');
          return { 'project/dvc.lock': `schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n${s.deps}    outs:\n${s.out}` };
        },
      },
    );
    for (const g of generations) {
      const dirMd5 = await push(g.tree, g.legacy, g.remoteDir);
      for (const f of g.remove ?? []) git(repo, 'rm', '-q', f);
      await writeFiles(repo, g.files(dirMd5));
      git(repo, 'add', '-A');
      git(repo, 'commit', '-qm', g.tag);
      git(repo, 'tag', g.tag);
      commits[g.tag] = git(repo, 'rev-parse', 'HEAD');
    }
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('every generation resolves to its commit and pulls byte for byte', async () => {
    const registry = openRegistry({ cacheDir: join(root, 'cache') });
    for (const g of generations) {
      const r = await registry.resolve({ repo, path: g.path, rev: g.tag });
      assert.deepEqual([r.commit, r.isDir, r.legacy, r.remoteUrl], [commits[g.tag], true, g.legacy, g.remoteDir], g.tag);
      const dir = await registry.pull(r);
      const got: Tree = {};
      for (const d of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
        got[join(d.parentPath, d.name).slice(dir.length + 1).split(/[\\/]/).join('/')] = await readFile(join(d.parentPath, d.name));
      }
      assert.deepEqual(got, g.tree, g.tag);
    }
  });
});
