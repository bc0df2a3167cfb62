// Cuts a deployment's node_modules down to what its engines load. Cloud Build runs it as the last
// step of `npm run gcp-build` (Terraform sets CLOUDSEG_PRUNE_RUNTIME=1 and CLOUDSEG_ENGINES there);
// anywhere else it does nothing, so a checkout's node_modules is never touched by accident.
//   usage: CLOUDSEG_PRUNE_RUNTIME=1 CLOUDSEG_ENGINES=onnxruntime node scripts/prune-runtime.mjs [--root DIR] [--dry-run]
// What it does, in order, and only after checking that this platform's onnxruntime-node binary is there:
//  1. engines not in the set: their optional packages leave package.json's optionalDependencies and
//     node_modules; the buildpack's `npm prune` right after removes their dependencies (and the
//     devDependencies). Without the package.json edit, that `npm prune` would reinstall them.
//  2. onnxruntime-node: every other platform's binaries (darwin, win32, linux-arm64: ~240 MB).
//  3. onnxruntime-web (when kept): every dist build but the one Node imports (exports["."].node)
//     and its threaded-SIMD WebAssembly; jsep/jspi/asyncify/webgpu/webgl builds and bundles ~120 MB.
//  4. source maps (*.map) everywhere: Node reads them only with --enable-source-maps.
// Plain JavaScript: it runs with the Node that runs npm, before or without tsx.
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Engine -> the optional packages it needs. onnxruntime-node is a plain dependency: always there. */
export const ENGINE_PACKAGES = {
  onnxruntime: [],
  wasm: ['onnxruntime-web'],
  'tfjs-node': ['@tensorflow/tfjs', '@tensorflow/tfjs-node'],
  'tfjs-wasm': ['@tensorflow/tfjs', '@tensorflow/tfjs-backend-wasm'],
  cpu: ['@tensorflow/tfjs'],
};
export const ENGINES = Object.keys(ENGINE_PACKAGES);

// What `import('onnxruntime-web')` opens in Node (traced with strace on 1.30: the node entry, the
// threaded-SIMD Emscripten glue and its .wasm); the CommonJS twin of the entry stays for require().
const ORT_WEB_NODE_FILES = ['ort.node.min.mjs', 'ort.node.min.js', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const ORT_WEB_KEEP = [...ORT_WEB_NODE_FILES, 'package.json'];

/**
 * Options from the command line and the environment, validated in one place.
 * `enabled` is false unless CLOUDSEG_PRUNE_RUNTIME=1: then the script only says so.
 */
export function parseOptions(argv, env) {
  const options = { enabled: env.CLOUDSEG_PRUNE_RUNTIME === '1', root: process.cwd(), engines: [], dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--dry-run') options.dryRun = true;
    else if (argv[i] === '--root' && argv[i + 1]) options.root = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (usage: prune-runtime.mjs [--root DIR] [--dry-run])`);
  }
  if (!options.enabled) return options;
  const text = (env.CLOUDSEG_ENGINES ?? '').trim();
  if (text === '') throw new Error(`CLOUDSEG_ENGINES must name the engine set: a comma list of ${ENGINES.join(', ')}, or "all" or "none"`);
  const names = text === 'all' ? ENGINES : text === 'none' ? [] : text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !ENGINES.includes(n));
  if (unknown.length > 0) throw new Error(`CLOUDSEG_ENGINES: unknown engine ${unknown.join(', ')}; the engines are ${ENGINES.join(', ')}`);
  options.engines = [...new Set(names)];
  return options;
}

/** Prunes `options.root`; returns what was (or, dry, would be) removed and the sizes. Throws before deleting anything when a check fails. */
export function pruneRuntime(options, log = (line) => process.stdout.write(`${line}\n`)) {
  const modules = join(options.root, 'node_modules');
  const pkgPath = join(options.root, 'package.json');
  if (!existsSync(modules) || !existsSync(pkgPath)) throw new Error(`${options.root} has no package.json and node_modules: nothing to prune`);
  const platform = `${process.platform}-${process.arch}`;

  // Every check first: a failed one leaves everything in place.
  const ortNodeBin = join(modules, 'onnxruntime-node', 'bin');
  const napiDirs = existsSync(ortNodeBin) ? readdirSync(ortNodeBin).filter((d) => d.startsWith('napi-v')) : [];
  for (const napi of napiDirs) {
    const own = join(ortNodeBin, napi, process.platform, process.arch, 'onnxruntime_binding.node');
    if (!existsSync(own)) throw new Error(`refusing to prune: onnxruntime-node has no binary for this platform (${relative(options.root, own)} is missing)`);
  }
  const ortWebDist = join(modules, 'onnxruntime-web', 'dist');
  const keepOrtWeb = options.engines.includes('wasm');
  if (keepOrtWeb && existsSync(ortWebDist)) {
    const entry = nodeEntry(join(modules, 'onnxruntime-web', 'package.json'));
    if (!ORT_WEB_NODE_FILES.includes(entry)) throw new Error(`refusing to prune: onnxruntime-web's Node entry is now dist/${entry}, not one of ${ORT_WEB_NODE_FILES.join(', ')}: re-trace what it loads`);
    const missing = ORT_WEB_NODE_FILES.filter((f) => !existsSync(join(ortWebDist, f)));
    if (missing.length > 0) throw new Error(`refusing to prune: onnxruntime-web/dist lacks ${missing.join(', ')}: re-trace what it loads`);
  }

  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  const needed = new Set(options.engines.flatMap((e) => ENGINE_PACKAGES[e]));
  const enginePackages = [...new Set(Object.values(ENGINE_PACKAGES).flat())];
  const dropped = enginePackages.filter((name) => !needed.has(name) && pkg.optionalDependencies?.[name] !== undefined);

  const removals = []; // [path, why]
  for (const name of dropped) if (existsSync(join(modules, name))) removals.push([join(modules, name), `engine package not in the set`]);
  for (const napi of napiDirs) {
    for (const os of readdirSync(join(ortNodeBin, napi))) {
      if (os !== process.platform) removals.push([join(ortNodeBin, napi, os), 'onnxruntime-node binaries of another platform']);
      else for (const arch of readdirSync(join(ortNodeBin, napi, os))) if (arch !== process.arch) removals.push([join(ortNodeBin, napi, os, arch), 'onnxruntime-node binaries of another platform']);
    }
  }
  if (keepOrtWeb && existsSync(ortWebDist)) {
    for (const f of readdirSync(ortWebDist)) if (!ORT_WEB_KEEP.includes(f)) removals.push([join(ortWebDist, f), 'onnxruntime-web build Node does not import']);
  }
  const covered = (path) => removals.some(([p]) => path === p || path.startsWith(`${p}/`));
  for (const map of findFiles(modules, (name) => name.endsWith('.map'))) if (!covered(map)) removals.push([map, 'source map']);

  const before = treeBytes(modules);
  const byWhy = new Map();
  for (const [path, why] of removals) {
    const bytes = treeBytes(path);
    const entry = byWhy.get(why) ?? { bytes: 0, paths: [] };
    entry.bytes += bytes;
    entry.paths.push([relative(options.root, path), bytes]);
    byWhy.set(why, entry);
  }

  const verb = options.dryRun ? 'would remove' : 'removed';
  log(`prune-runtime: engines [${options.engines.join(', ') || 'none'}] on ${platform}${options.dryRun ? ' (dry run)' : ''}`);
  if (dropped.length > 0) log(`  optionalDependencies ${options.dryRun ? 'would lose' : 'lose'} ${dropped.join(', ')}: npm prune removes what only they needed`);
  for (const [why, { bytes, paths }] of byWhy) {
    log(`  ${verb} ${formatMb(bytes)} (${paths.length} ${paths.length === 1 ? 'path' : 'paths'}): ${why}`);
    // Directories one by one; single files (source maps) as a count only.
    for (const [path, b] of paths) if (why !== 'source map') log(`    ${path} ${formatMb(b)}`);
  }

  if (!options.dryRun) {
    if (dropped.length > 0) {
      for (const name of dropped) delete pkg.optionalDependencies[name];
      writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
    }
    for (const [path] of removals) rmSync(path, { recursive: true, force: true });
  }
  const removedBytes = [...byWhy.values()].reduce((sum, e) => sum + e.bytes, 0);
  const after = options.dryRun ? before - removedBytes : treeBytes(modules);
  log(`  node_modules: ${formatMb(before)} -> ${formatMb(after)}`);
  return { engines: options.engines, platform, dropped, removed: removals.map(([p]) => relative(options.root, p)), beforeBytes: before, afterBytes: after };
}

function nodeEntry(pkgJson) {
  const pkg = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const target = pkg.exports?.['.']?.node?.import ?? '';
  return target.replace(/^\.\/dist\//, '');
}

function findFiles(dir, match, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) findFiles(path, match, out);
    else if (entry.isFile() && match(entry.name)) out.push(path);
  }
  return out;
}

function treeBytes(path) {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (!stat) return 0;
  if (!stat.isDirectory()) return stat.size;
  let sum = 0;
  for (const name of readdirSync(path)) sum += treeBytes(join(path, name));
  return sum;
}

const formatMb = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const options = parseOptions(process.argv.slice(2), process.env);
    if (!options.enabled) {
      process.stdout.write('prune-runtime: skipped (CLOUDSEG_PRUNE_RUNTIME is not 1; Terraform sets it for Cloud Build only)\n');
    } else {
      pruneRuntime(options);
    }
  } catch (err) {
    process.stderr.write(`prune-runtime: ${err.message}\n`);
    process.exit(1);
  }
}
