// scripts/prune-runtime.mjs, run as Cloud Build runs it, on hard-linked copies of the installed
// ONNX Runtime packages: the engines kept still load and run a graph afterwards, the others are gone
// (from package.json too, so npm prune does not reinstall them), and a failed check deletes nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/config/index.js';
import { meanOfBands } from '../support/onnx-graphs.js';

const ROOT = projectRoot();
const SCRIPT = join(ROOT, 'scripts', 'prune-runtime.mjs');
const run = promisify(execFile);
const PACKAGES = ['onnxruntime-node', 'onnxruntime-common', 'onnxruntime-web', '@tensorflow/tfjs-backend-wasm'];
const ORT_WEB_NODE_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm', 'ort.node.min.js', 'ort.node.min.mjs'];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudseg-prune-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// Hard links: a 450 MB copy in milliseconds; the prune unlinks, so the originals stay whole.
function linkTree(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const src = join(from, entry.name);
    const dst = join(to, entry.name);
    if (entry.isDirectory()) linkTree(src, dst);
    else if (entry.isSymbolicLink()) symlinkSync(readlinkSync(src), dst);
    else linkSync(src, dst);
  }
}

function appWith(name: string, packages: string[], optionalDependencies: Record<string, string>): string {
  const app = join(dir, name);
  for (const pkg of packages) linkTree(join(ROOT, 'node_modules', pkg), join(app, 'node_modules', pkg));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name, private: true, type: 'module', dependencies: { 'onnxruntime-node': '*' }, optionalDependencies }, null, 2));
  return app;
}

async function prune(app: string, env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SCRIPT, '--root', app, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

function findMaps(path: string): string[] {
  if (!lstatSync(path).isDirectory()) return path.endsWith('.map') ? [path] : [];
  return readdirSync(path).flatMap((name) => findMaps(join(path, name)));
}

const optional = { 'onnxruntime-web': '^1.30.0', '@tensorflow/tfjs-backend-wasm': '^4.22.0' };

test('engines onnxruntime,wasm: both ONNX Runtimes still run a graph; other platforms, unused builds, maps and tfjs-wasm are gone', async () => {
  const app = appWith('both', PACKAGES, optional);
  const { code, out } = await prune(app, { CLOUDSEG_PRUNE_RUNTIME: '1', CLOUDSEG_ENGINES: 'onnxruntime,wasm' });
  assert.equal(code, 0, out);
  assert.match(out, /node_modules: [\d.]+ MB -> [\d.]+ MB/);

  const bin = join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6');
  assert.deepEqual(readdirSync(bin), [process.platform]);
  assert.deepEqual(readdirSync(join(bin, process.platform)), [process.arch]);
  assert.deepEqual(readdirSync(join(app, 'node_modules', 'onnxruntime-web', 'dist')).filter((f) => f !== 'package.json').sort(), ORT_WEB_NODE_FILES);
  assert.deepEqual(findMaps(join(app, 'node_modules')), []);
  assert.equal(existsSync(join(app, 'node_modules', '@tensorflow', 'tfjs-backend-wasm')), false);
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> };
  assert.deepEqual(pkg.optionalDependencies, { 'onnxruntime-web': '^1.30.0' }, 'npm prune must not reinstall a dropped engine');
  assert.ok(existsSync(join(ROOT, 'node_modules', 'onnxruntime-web', 'dist', 'ort.all.min.mjs')), 'the checkout keeps its files');

  // Both runtimes from the pruned copy, onnxruntime-web single- and multi-threaded (its worker build).
  writeFileSync(join(app, 'mean.onnx'), meanOfBands());
  writeFileSync(
    join(app, 'probe.mjs'),
    `import { readFileSync } from 'node:fs';
const graph = new Uint8Array(readFileSync(new URL('./mean.onnx', import.meta.url)));
const out = [];
for (const [name, threads] of [['onnxruntime-node', 1], ['onnxruntime-web', 1], ['onnxruntime-web', 2]]) {
  const ort = await import(name);
  if (name === 'onnxruntime-web') Object.assign(ort.env.wasm, { numThreads: threads, proxy: false });
  const session = await ort.InferenceSession.create(graph, name === 'onnxruntime-web' ? { executionProviders: ['wasm'] } : {});
  const result = await session.run({ image: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 6]), [1, 4, 1, 1]) });
  out.push([name, threads, Array.from(result.score.data)]);
  if (name === 'onnxruntime-web' && threads === 2) break;
}
console.log(JSON.stringify(out));
process.exit(0);
`,
  );
  const { stdout } = await run(process.execPath, [join(app, 'probe.mjs')], { cwd: app });
  assert.deepEqual(JSON.parse(stdout), [
    ['onnxruntime-node', 1, [3]],
    ['onnxruntime-web', 1, [3]],
    ['onnxruntime-web', 2, [3]],
  ]);
});

test('engines onnxruntime, dry run: says what would go and deletes nothing', async () => {
  const app = appWith('dry', ['onnxruntime-web'], optional);
  const before = readFileSync(join(app, 'package.json'), 'utf8');
  const { code, out } = await prune(app, { CLOUDSEG_PRUNE_RUNTIME: '1', CLOUDSEG_ENGINES: 'onnxruntime' }, '--dry-run');
  assert.equal(code, 0, out);
  assert.match(out, /would lose onnxruntime-web, @tensorflow\/tfjs-backend-wasm/);
  assert.match(out, /node_modules\/onnxruntime-web [\d.]+ MB/);
  assert.ok(existsSync(join(app, 'node_modules', 'onnxruntime-web', 'dist', 'ort.all.min.mjs')));
  assert.equal(readFileSync(join(app, 'package.json'), 'utf8'), before);
});

test('without CLOUDSEG_PRUNE_RUNTIME=1 it does nothing; a bad engine set or a missing platform binary stops it before any delete', async () => {
  const app = join(dir, 'foreign');
  const foreign = join(app, 'node_modules', 'onnxruntime-node', 'bin', 'napi-v6', 'darwin', 'arm64');
  mkdirSync(foreign, { recursive: true });
  writeFileSync(join(foreign, 'onnxruntime_binding.node'), 'not this platform');
  writeFileSync(join(app, 'node_modules', 'onnxruntime-node', 'index.js.map'), '{}');
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'foreign', optionalDependencies: optional }));

  const skipped = await prune(app, {});
  assert.equal(skipped.code, 0);
  assert.match(skipped.out, /skipped/);

  const cases: [Record<string, string>, RegExp][] = [
    [{ CLOUDSEG_PRUNE_RUNTIME: '1' }, /CLOUDSEG_ENGINES must name the engine set/],
    [{ CLOUDSEG_PRUNE_RUNTIME: '1', CLOUDSEG_ENGINES: 'onnxruntime,tensorrt' }, /unknown engine tensorrt/],
    [{ CLOUDSEG_PRUNE_RUNTIME: '1', CLOUDSEG_ENGINES: 'onnxruntime' }, /refusing to prune: onnxruntime-node has no binary for this platform/],
  ];
  for (const [env, message] of cases) {
    const { code, out } = await prune(app, env);
    assert.equal(code, 1, out);
    assert.match(out, message);
  }
  assert.ok(existsSync(join(foreign, 'onnxruntime_binding.node')));
  assert.ok(existsSync(join(app, 'node_modules', 'onnxruntime-node', 'index.js.map')));
});
