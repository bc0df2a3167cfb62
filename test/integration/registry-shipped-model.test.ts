// The repository as the default registry: the shipped model resolves and pulls from a clone of this repo
// (offline, directory remote committed in git), exactly what models/landsatbiomeRGBI6.dvc records; and the
// numbers for the closing note: cold resolve+pull, warm resolve+pull (same cache, new registry).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { dirManifestMd5, directoryManifest, md5File } from '../../shared/registry/dir-manifest.js';
import { openRegistry } from '../../shared/registry/index.js';
import { git, serveGitHttp } from './registry-helpers.js';

const PROJECT_ROOT = join(import.meta.dirname, '..', '..');
const MODEL = 'models/landsatbiomeRGBI6';

/** The md5 DVC recorded for the shipped model (models/<name>.dvc, committed). */
async function recordedMd5(): Promise<string> {
  const dvc = parse(await readFile(join(PROJECT_ROOT, `${MODEL}.dvc`), 'utf8')) as { outs: { md5: string }[] };
  return dvc.outs[0]!.md5.replace(/\.dir$/, '');
}

describe('the shipped model from the default registry (this repo)', () => {
  let root: string;
  let clone: string;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-shipped-'));
    clone = join(root, 'clone');
    // A clone has what git has: the .dvc file and the committed directory remote, not the model dir.
    git(root, 'clone', '-q', '--no-hardlinks', PROJECT_ROOT, clone);
    assert.equal(existsSync(join(clone, MODEL)), false, 'the tracked directory is not in git');
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('cold and warm resolve+pull; files identical to the shipped model', async () => {
    const cacheDir = join(root, 'cache');
    const t0 = performance.now();
    const cold = openRegistry({ cacheDir });
    const r = await cold.resolve({ repo: clone, path: MODEL });
    const dir = await cold.pull(r);
    const coldMs = performance.now() - t0;

    const t1 = performance.now();
    const warm = openRegistry({ cacheDir });
    const r2 = await warm.resolve({ repo: clone, path: MODEL });
    const dir2 = await warm.pull(r2);
    const warmMs = performance.now() - t1;

    const t2 = performance.now();
    await warm.pull(await warm.resolve({ repo: clone, path: MODEL }));
    const hotMs = performance.now() - t2;

    assert.equal(dir2, dir);
    assert.equal(r.md5, await recordedMd5());
    for (const f of r.files) assert.equal(await md5File(join(dir, f.relpath)), f.md5, f.relpath);
    assert.equal(dirManifestMd5(await directoryManifest(dir)), r.md5, 'the pulled tree hashes to the recorded .dir md5');
    assert.ok((await readFile(join(dir, 'model.json'), 'utf8')).includes('modelTopology'));
    process.stdout.write(`# shipped model (${r.files.length} files, ${r.md5}): cold resolve+pull ${coldMs.toFixed(0)} ms, warm (new registry, same cache) ${warmMs.toFixed(0)} ms, hot (same registry) ${hotMs.toFixed(0)} ms\n`);
  });

  test('over smart HTTP (shallow fetch, objects read from the fetched commit): cold and warm', async () => {
    git(root, 'clone', '-q', '--bare', clone, join(root, 'srv', 'registry.git'));
    const server = await serveGitHttp(join(root, 'srv'));
    try {
      const repo = `${server.url}/registry.git`;
      const cacheDir = join(root, 'cache-https');
      const t0 = performance.now();
      const cold = openRegistry({ cacheDir });
      const dir = await cold.pull(await cold.resolve({ repo, path: MODEL }));
      const coldMs = performance.now() - t0;
      const t1 = performance.now();
      const warm = openRegistry({ cacheDir });
      assert.equal(await warm.pull(await warm.resolve({ repo, path: MODEL })), dir);
      const warmMs = performance.now() - t1;
      assert.equal(dirManifestMd5(await directoryManifest(dir)), await recordedMd5());
      process.stdout.write(`# shipped model over https (git http-backend on loopback): cold resolve+pull ${coldMs.toFixed(0)} ms, warm ${warmMs.toFixed(0)} ms (one ref listing: no fetch, no download)\n`);
    } finally {
      await server.close();
    }
  });
});
