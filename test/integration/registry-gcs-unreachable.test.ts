// A remote that cannot be reached fails in seconds with its cause in the message: a gs:// host that
// does not resolve (getaddrinfo ENOTFOUND), an https one, and a server that accepts and never answers.
// The Storage client is the one the registry makes itself (no injected client), pointed at each
// endpoint through STORAGE_EMULATOR_HOST, which @google-cloud/storage reads.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudsegError } from '../../shared/errors.js';
import { openRegistry } from '../../shared/registry/index.js';
import { git, writeFiles } from './registry-helpers.js';

const md5 = (b: string) => createHash('md5').update(b).digest('hex');

describe('unreachable remotes', () => {
  let root: string;
  let repo: string;
  let silent: Server;
  const sockets: Socket[] = [];
  const saved = process.env.STORAGE_EMULATOR_HOST;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'registry-gcs-down-'));
    repo = join(root, 'repo');
    git(root, 'init', '-q', repo);
    await writeFiles(repo, {
      '.dvc/config': "[core]\n    remote = gcs\n['remote \"gcs\"']\n    url = gs://models-bucket/dvcstore\n['remote \"web\"']\n    url = https://example.invalid/store\n",
      'model.bin.dvc': `outs:\n- md5: ${md5('m')}\n  size: 1\n  hash: md5\n  path: model.bin\n`,
    });
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'model on gs');
    // Accepts and keeps every connection, never writes a byte.
    silent = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    await rm(root, { recursive: true, force: true });
  });

  async function pullFails(endpoint: string): Promise<{ err: CloudsegError; ms: number }> {
    process.env.STORAGE_EMULATOR_HOST = endpoint;
    const registry = openRegistry({ cacheDir: join(root, `cache-${Math.random().toString(36).slice(2)}`) });
    const resolved = await registry.resolve({ repo, path: 'model.bin' });
    const started = performance.now();
    const err = await registry.pull(resolved).then(() => assert.fail('pull should fail'), (e: unknown) => e);
    assert.ok(err instanceof CloudsegError, String(err));
    return { err, ms: performance.now() - started };
  }

  test('a host that does not resolve: STORAGE_UNAVAILABLE naming getaddrinfo, within seconds', { timeout: 30_000 }, async () => {
    const { err, ms } = await pullFails('http://no-such-host.invalid:9');
    assert.equal(err.code, 'STORAGE_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.match(err.message, /gs:\/\/models-bucket\/dvcstore.*(ENOTFOUND|EAI_AGAIN) no-such-host\.invalid/);
    assert.ok(err.cause, 'the client error is kept as the cause');
    assert.ok(ms < 8_000, `took ${Math.round(ms)} ms`);
  });

  test('an https remote whose host does not resolve names getaddrinfo (fetch hides it in its cause)', { timeout: 30_000 }, async () => {
    const registry = openRegistry({ cacheDir: join(root, 'cache-https') });
    const resolved = await registry.resolve({ repo, path: 'model.bin', remote: 'web', remoteConfig: { url: 'https://no-such-host.invalid/store' } });
    const err = await registry.pull(resolved).then(() => assert.fail('pull should fail'), (e: unknown) => e);
    assert.ok(err instanceof CloudsegError && err.code === 'STORAGE_UNAVAILABLE', String(err));
    assert.match(err.message, /fetch failed: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid/);
  });

  test('a server that never answers: STORAGE_UNAVAILABLE after the stall limit, not never', { timeout: 30_000 }, async () => {
    const { port } = silent.address() as { port: number };
    const { err, ms } = await pullFails(`http://127.0.0.1:${port}`);
    assert.equal(err.code, 'STORAGE_UNAVAILABLE');
    assert.match(err.message, /no data for \d+ ms/);
    assert.ok(ms < 12_000, `took ${Math.round(ms)} ms`);
  });
});
