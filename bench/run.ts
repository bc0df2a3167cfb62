// `npm run bench [-- --engine NAME] [--rounds N] [--seconds S] [--scene-only] [--engines-only] [--scene-size PX]
// [--backlog-only] [--no-backlog] [--backlog-uploads N]`:
// every inference engine available here side by side on the same tile and scenes, on the shipped
// model and on the PyTorch-exported ONNX fixtures (ms per 512x512 tile, Mpixel/s, peak RSS, load
// time, agreement with a reference engine), then the whole local pipeline on the default engine, on
// onnxruntime-web and on TF.js wasm (images/s, Mpixel/s, per-stage means, peak RSS), then what 1000
// 512x512 images cost on Cloud Functions at the Terraform worker's size, then one Sentinel-2-tile
// sized scene (generated into a temp dir, 120 Mpx) through `cloudseg segment`'s windowed path (time,
// peak RSS), then a Sentinel-2-like SAFE product of 4 JP2 bands beside the same pixels as GeoTIFF bands
// (bench/safe-product.ts; `--safe-only` for that alone), then a backlog of 100,000 uploads drained by
// flush at the Terraform defaults (bench/backlog.ts).
// Each configuration runs in its own process. Prints; asserts nothing.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES } from '../shared/model/types.js';
import { costOf, terraformWorkerSize } from './cost.js';
import type { EngineResult } from './engine.js';
import type { PipelineResult } from './pipeline.js';
import type { SceneResult } from './scene.js';
import { CLOUD_RUN_PRICES } from './prices.js';
import { writeLandsatLikeBandSet } from './band-set.js';
import { fixture, fixturesMissing } from '../test/support/fixtures.js';
import { backlogReport, type BacklogResult } from './backlog.js';
import { safeLikeProduct, JP2_OPTIONS } from './safe-product.js';
import type { SafeDecodeResult } from './safe-decode.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    rounds: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '4' },
    'scene-only': { type: 'boolean', default: false },
    // The engine tables only: no pipeline, cost, large scene or band set.
    'engines-only': { type: 'boolean', default: false },
    'scene-size': { type: 'string', default: '10980' },
    // The backlog section (bench/backlog.ts) alone, or everything but it.
    'backlog-only': { type: 'boolean', default: false },
    'no-backlog': { type: 'boolean', default: false },
    'backlog-uploads': { type: 'string', default: '100000' },
    // The SAFE product section (JP2 bands vs GeoTIFF bands of one 10980 x 10980 scene) alone.
    'safe-only': { type: 'boolean', default: false },
  },
});
if (values.engine && !(BACKEND_NAMES as readonly string[]).includes(values.engine)) {
  process.stderr.write(`bench: --engine must be one of ${BACKEND_NAMES.join(', ')}\n`);
  process.exit(2);
}

const cores = availableParallelism();
const here = new URL('.', import.meta.url).pathname;
const work = await mkdtemp(join(tmpdir(), 'cloudseg-bench-run-'));

interface EngineConfig {
  label: string;
  engine: string;
  args: string[];
  /** Measured on the ONNX fixtures too (TF.js engines cannot run an ONNX model; a second ONNX Runtime layout adds little). */
  onnxModels: boolean;
}

// The default first (auto picks it), then the ONNX Runtime alternatives (native, then WebAssembly),
// then the TF.js engines. The 1-thread / 1-session lines compare per-core speed with TF.js wasm,
// which uses one core.
const ENGINE_CONFIGS: EngineConfig[] = [
  { label: `onnxruntime, 1 session x ${cores} threads (default)`, engine: 'onnxruntime', args: ['--layout', 'intra-op'], onnxModels: true },
  { label: `onnxruntime, ${cores} sessions x 1 thread`, engine: 'onnxruntime', args: ['--layout', 'sessions'], onnxModels: false },
  { label: 'onnxruntime, 1 thread (per core)', engine: 'onnxruntime', args: ['--threads', '1'], onnxModels: true },
  { label: `onnxruntime-web (wasm, ${cores} sessions x 1 thread)`, engine: 'wasm', args: [], onnxModels: true },
  { label: 'onnxruntime-web (wasm, 1 session x 1 thread, per core)', engine: 'wasm', args: ['--threads', '1'], onnxModels: true },
  { label: 'tfjs-node (native TensorFlow)', engine: 'tfjs-node', args: [], onnxModels: false },
  { label: 'tfjs wasm (SIMD, 1 core)', engine: 'tfjs-wasm', args: [], onnxModels: false },
  { label: 'tfjs cpu (pure JS)', engine: 'cpu', args: [], onnxModels: false },
];

interface BenchModel {
  name: string;
  what: string;
  /** engine.ts arguments that select the model. */
  args: string[];
  /** The config whose output the others are compared with. */
  reference: EngineConfig;
  /** Why the model cannot be measured here (its fixture is missing), or false. */
  missing: string | false;
}

// The shipped TF.js Layers model (exported to ONNX in memory for ONNX Runtime; TF.js wasm is the
// reference, the engine it was trained for), then the PyTorch exports, where no TF.js engine runs
// and native ONNX Runtime is the reference.
const BENCH_MODELS: BenchModel[] = [
  { name: 'shipped', what: 'the shipped model (TF.js Layers; ONNX Runtime runs its in-memory ONNX export)', args: [], reference: ENGINE_CONFIGS.find((c) => c.engine === 'tfjs-wasm')!, missing: false },
  ...(['ipluv-rgbi-torch', 'seed-unet-3class'] as const).map((name) => ({
    name,
    what: name === 'ipluv-rgbi-torch' ? `${name}.onnx (the same network exported by PyTorch)` : `${name}.onnx (3 classes, PyTorch)`,
    args: ['--onnx-fixture', name],
    reference: ENGINE_CONFIGS[0]!,
    missing: onnxFixtureMissing(name),
  })),
];

function onnxFixtureMissing(name: string): string | false {
  const path = fixture('onnx', `${name}.onnx`);
  return fixturesMissing() || (existsSync(path) ? false : `fixtures not found: no ${path} (set CLOUDSEG_FIXTURES)`);
}

const print = (line = '') => process.stdout.write(`${line}\n`);
print(`cloudseg benchmark: node ${process.version}, ${cores} cores, ${new Date().toISOString()}`);

const safeOnly = values['safe-only'];
try {
  if (!values['scene-only'] && !values['backlog-only'] && !safeOnly) {
    const engineRuns = await engines();
    if (!values['engines-only']) await pipelineAndCost(engineRuns);
  }
  if (!values['engines-only'] && !values['backlog-only']) {
    if (!safeOnly) {
      await largeScene();
      await bandSet();
    }
    await safeProduct();
  }
  if (!safeOnly && !values['backlog-only'] && !values['scene-only'] && !values['engines-only']) await coldStart();
  if (!safeOnly && (values['backlog-only'] || !(values['no-backlog'] || values['engines-only'] || values['scene-only']))) await backlog();
} finally {
  await rm(work, { recursive: true, force: true });
}

async function largeScene(): Promise<void> {
  const size = Number(values['scene-size']);
  const path = join(work, 'scene.tif');
  print(`\nLarge scene: ${size}x${size} (${((size * size) / 1e6).toFixed(1)} Mpx) 4-band uint16 tiled GeoTIFF (512x512 deflate tiles, ~30 % nodata fill), written into a temp dir, segmented by \`cloudseg segment\`'s path (windowed ranged reads, masks encoded) in a process of its own`);
  const made = await child('make-scene.ts', ['--out', path, '--size', String(size)]);
  if (!made.result) {
    print(`  could not write the scene: ${firstLine(made.error)}`);
    return;
  }
  const scene = made.result as { bytes: number; writeMs: number };
  const engine = values.engine ?? 'auto';
  const run = await child('scene.ts', ['--image', path, '--engine', engine]);
  if (!run.result) {
    print(`  ${engine}: ${firstLine(run.error)}`);
    return;
  }
  sceneTable(run.result as SceneResult, scene.bytes);
}

async function bandSet(): Promise<void> {
  const size = 7800;
  print(`\nLandsat-like band set: ${size}x${size} (${((size * size) / 1e6).toFixed(1)} Mpx) x 4 single-band uint16 tiled GeoTIFFs (512x512 deflate tiles, ~30 % fill) + MTL.json, segmented from the MTL by \`cloudseg segment\`'s scene path (bands read window by window) in a process of its own`);
  const dir = await mkdtemp(join(work, 'band-set-'));
  const { descriptor, bytes } = await writeLandsatLikeBandSet(dir, size);
  const engine = values.engine ?? 'auto';
  const run = await child('scene.ts', ['--image', descriptor, '--engine', engine]);
  if (!run.result) {
    print(`  ${engine}: ${firstLine(run.error)}`);
    return;
  }
  sceneTable(run.result as SceneResult, bytes);
}

// One 10980 x 10980 scene twice, as JP2 bands in a SAFE and as GeoTIFF bands (the same pixels), through
// the scene path, then the JP2s decoded alone: is decoding the SAFE cheaper than inferring it?
async function safeProduct(): Promise<void> {
  const size = 10980;
  print(`\nSAFE product: a Sentinel-2-like L1C product, ${size}x${size} x 4 JP2 bands (B02 B03 B04 B08; ${JP2_OPTIONS.join(' ')}; ~30 % fill), beside the same pixels as`);
  print(`4 tiled GeoTIFFs (512x512 deflate) + MTL.json; each segmented from its descriptor by \`cloudseg segment\`'s scene path, then the JP2s decoded alone, each in a process of its own`);
  const product = await safeLikeProduct(tmpdir(), size);
  print(
    product.reused
      ? `  product kept from an earlier run in ${product.dir} (delete it to rewrite)`
      : `  written: GeoTIFFs ${(product.writeMs / 1000).toFixed(0)} s, JP2 conversion (gdal_translate) ${(product.convertMs / 1000).toFixed(0)} s; kept for the next run`,
  );
  const engine = values.engine ?? 'auto';
  const rows: string[][] = [];
  const notes: string[] = [];
  const sceneRow = (what: string, run: ChildRun, bytes: number) => {
    const r = run.result as SceneResult | null;
    if (!r) {
      notes.push(`${what}: ${firstLine(run.error)}`);
      return [what, (bytes / 1e6).toFixed(0), 'failed'];
    }
    const ms = (n: number | undefined) => ((n ?? 0) / 1000).toFixed(1);
    const cloud = r.cloudFraction === null ? '-' : (r.cloudFraction * 100).toFixed(1);
    return [what, (bytes / 1e6).toFixed(0), r.error ?? r.status, cloud, r.seconds.toFixed(1), ms(r.timingsMs.decode), ms(r.timingsMs.infer), ms(r.timingsMs.encode), r.peakRssMb.toFixed(0)];
  };
  rows.push(sceneRow('GeoTIFF bands (MTL.json)', await child('scene.ts', ['--image', product.cog.descriptor, '--engine', engine]), product.cog.bytes));
  if (product.safe) {
    rows.push(sceneRow('JP2 bands (SAFE MTD_MSIL1C.xml)', await child('scene.ts', ['--image', product.safe.descriptor, '--engine', engine]), product.safe.bytes));
    const decode = await child('safe-decode.ts', ['--bands', product.safe.bands.join(',')]);
    const d = decode.result as SafeDecodeResult | null;
    if (d) {
      rows.push(['JP2 bands, decode alone', (product.safe.bytes / 1e6).toFixed(0), 'decoded', '-', d.seconds.toFixed(1), d.seconds.toFixed(1), '-', '-', d.peakRssMb.toFixed(0)]);
      notes.push(`decode alone: ${d.tiles} tiles, ${d.cpuSeconds.toFixed(1)} CPU s (${((d.cpuSeconds / d.tiles) * 1000).toFixed(0)} ms per 1024x1024 tile), event loop stalled at most ${d.maxStallMs.toFixed(0)} ms, ${d.cores} cores`);
    } else {
      notes.push(`JP2 decode alone: ${firstLine(decode.error)}`);
    }
  } else {
    print(`!!! SKIPPING SAFE product: ${product.safeMissing}`);
    rows.push(['JP2 bands (SAFE MTD_MSIL1C.xml)', '-', `!!! SKIPPED: ${product.safeMissing}`]);
  }
  table(['bands', 'input MB', 'status', 'cloud %', 'wall s', 'decode s', 'infer s', 'encode s', 'peak RSS MB'], rows);
  print('  decode s / infer s as the scene path reports them (window reads overlap inference, so they do not add up to wall s); load average ' + loadavg().map((l) => l.toFixed(1)).join(' '));
  for (const note of notes) print(`  ${note}`);
  if (!product.safe) print(`!!! SKIPPING SAFE product: ${product.safeMissing}`);
}

// One row: a scene (one file or a band set) segmented by bench/scene.ts.
function sceneTable(r: SceneResult, inputBytes: number): void {
  table(
    ['engine', 'input MB', 'status', 'cloud %', 'seconds', 'Mpx/s', 'read ms', 'infer ms', 'encode ms', 'peak RSS MB', 'budget MB'],
    [[
      r.engine,
      (inputBytes / 1e6).toFixed(0),
      r.error ?? r.status,
      r.cloudFraction === null ? '-' : (r.cloudFraction * 100).toFixed(1),
      r.seconds.toFixed(1),
      ((r.width * r.height) / 1e6 / r.seconds).toFixed(2),
      (r.timingsMs.decode ?? 0).toFixed(0),
      (r.timingsMs.infer ?? 0).toFixed(0),
      (r.timingsMs.encode ?? 0).toFixed(0),
      r.peakRssMb.toFixed(0),
      String(r.memoryBudgetMb),
    ]],
  );
}

// A deployed worker runs compiled JS: build dist/ first, so the cold start is not tsx compiling sources.
async function coldStart(): Promise<void> {
  print('\nWorker cold start: a new functions-framework worker process (compiled dist/), spawn -> first result of one 512x512 sample, model in the content cache (warm) and not (cold)');
  const built = await new Promise<number | null>((resolve) => {
    const tsc = spawn(process.execPath, [join(here, '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(here, '..', 'tsconfig.build.json')], { stdio: 'ignore' });
    tsc.on('close', resolve);
  });
  if (built !== 0) {
    print(`  tsc -p tsconfig.build.json exited ${built}: cold start not measured`);
    return;
  }
  const run = await child('cold-start.ts', ['--runs', '2']);
  if (!run.result) {
    print(`  ${firstLine(run.error)}`);
    return;
  }
  const r = run.result as { warmCacheMs: number; coldCacheMs: number; runs: { cache: string; listeningMs: number; modelLoadedMs: number | null; firstResultMs: number }[] };
  table(
    ['cache', 'listening ms', 'model loaded ms', 'first result ms'],
    r.runs.map((x) => [x.cache, x.listeningMs.toFixed(0), x.modelLoadedMs === null ? '-' : x.modelLoadedMs.toFixed(0), x.firstResultMs.toFixed(0)]),
  );
  print(`  warm cache ${r.warmCacheMs.toFixed(0)} ms, cold cache ${r.coldCacheMs.toFixed(0)} ms (this checkout's node_modules; a pruned production build: bench/cold-start.ts --app DIR)`);
}

async function backlog(): Promise<void> {
  const uploads = values['backlog-uploads']!;
  print(`\nBacklog: ${Number(uploads).toLocaleString('en-US')} upload notifications (real 512x512 PNGs in the local GCS server) buffered in uploads-buffer, drained by`);
  print('the real flush function (functions-framework server, POSTed back to back as Cloud Scheduler would, Terraform defaults) to a no-op work-topic consumer');
  const run = await child('backlog.ts', ['--uploads', uploads]);
  if (!run.result) {
    print(`  ${firstLine(run.error)}`);
    return;
  }
  const report = backlogReport(run.result as BacklogResult);
  table(report.header, report.rows);
  for (const note of report.notes) print(`  ${note}`);
}

interface EngineRun {
  model: BenchModel;
  config: EngineConfig;
  result: EngineResult | null;
  error: string | null;
  /** The tile's output, H x W x outputChannels. */
  output: Float32Array | null;
}

// Every engine config on every model, one process each; one table, the models one after another.
async function engines(): Promise<EngineRun[]> {
  print('\nInference engines, the same real 512x512 tile and the 3 sample scenes (calls in flight = what each engine uses)');
  const runs: EngineRun[] = [];
  const skipped: string[] = [];
  for (const model of BENCH_MODELS) {
    if (model.missing) {
      const line = `!!! SKIPPING ${model.name} (${model.what}): ${model.missing}`;
      print(line);
      skipped.push(line);
      continue;
    }
    // cpu is ~12x slower than tfjs-wasm: measured only when asked for by name.
    const configs = ENGINE_CONFIGS.filter(
      (c) => (model.args.length === 0 || c.onnxModels) && (values.engine ? c.engine === values.engine : c.engine !== 'cpu'),
    );
    for (const config of configs) {
      const out = join(work, `${runs.length}.f32`);
      const run = await child('engine.ts', [...config.args, ...model.args, '--engine', config.engine, '--probability-out', out, '--seconds-per-config', values.seconds!]);
      const output = run.result ? new Float32Array((await readFile(out)).buffer.slice(0)) : null;
      runs.push({ model, config, result: run.result as EngineResult | null, error: run.error, output });
    }
  }

  const rows: string[][] = [];
  for (const model of BENCH_MODELS) {
    if (model.missing) {
      rows.push([model.name, '!!! SKIPPED: fixtures not found']);
      continue;
    }
    const reference = runs.find((r) => r.model === model && r.config === model.reference)?.output ?? null;
    for (const { config, result, output } of runs.filter((r) => r.model === model)) {
      if (!result) {
        rows.push([model.name, config.label, 'unavailable']);
        continue;
      }
      const agreement = config === model.reference ? '(ref)' : reference && output ? maxAbsDiff(reference, output).toExponential(1) : '-';
      rows.push([
        model.name,
        config.label,
        result.msPerTile.toFixed(0),
        result.mpxPerSecond.toFixed(2),
        (result.scenes.reduce((n, s) => n + s.pixels, 0) / 1e6 / (result.scenes.reduce((n, s) => n + s.ms, 0) / 1000)).toFixed(2),
        result.peakRssMb.toFixed(0),
        result.loadMs.toFixed(0),
        String(result.outputChannels),
        agreement,
      ]);
    }
  }
  table(['model', 'engine', 'ms/tile', 'Mpx/s tile', 'Mpx/s scenes', 'peak RSS MB', 'load ms', 'out ch', 'max|diff| vs ref'], rows, 2);
  for (const model of BENCH_MODELS.filter((m) => !m.missing)) {
    const measured = runs.some((r) => r.model === model && r.config === model.reference && r.output);
    print(`  ${model.name}: ${model.what}; ref = ${model.reference.label}${measured ? '' : ' (not measured in this run)'}`);
  }
  print('  max|diff| vs ref: largest difference over every output value of the tile (all classes for a multi-class model)');
  for (const { model, config, error } of runs) if (error) print(`  ${model.name}, ${config.label}: ${firstLine(error)}`);
  // Repeated under the table so a skip is not lost above it.
  for (const line of skipped) print(line);
  return runs;
}

async function pipelineAndCost(engineRuns: EngineRun[]): Promise<void> {
  print('\nWhole local pipeline: first flush -> last result event, flush every second;');
  print('emulator, local GCS server, flush and worker in functions-framework servers; stage times are means per image;');
  print('latency is upload finalized -> result published per image (every upload lands before the first flush: it includes that wait)');
  // auto (the default), then the WebAssembly fallbacks: onnxruntime-web, then TF.js wasm.
  const pipelineEngines = values.engine ? [values.engine] : ['auto', 'wasm', 'tfjs-wasm'];
  const pipelines: { engine: string; result: PipelineResult | null; error: string | null }[] = [];
  for (const engine of pipelineEngines) {
    // The WebAssembly engines run the shipped model at 0.1-0.25 Mpx/s on 2 cores (the engine table): a few rounds.
    const rounds = engine === 'wasm' || engine === 'tfjs-wasm' || engine === 'cpu' ? String(Math.min(3, Number(values.rounds))) : values.rounds!;
    const run = await child('pipeline.ts', ['--rounds', rounds], { CLOUDSEG_INFERENCE_BACKEND: engine });
    pipelines.push({ engine, result: run.result as PipelineResult | null, error: run.error });
  }
  const stageNames = Object.keys(pipelines.find((p) => p.result)?.result?.stageMeansMs ?? {});
  table(
    ['pipeline', 'images', 'images/s', 'Mpx/s', 'concurrency', 'peak RSS MB', 'latency p50 ms', 'latency p95 ms', 'latency max ms', ...stageNames.map((s) => `${s} ms`)],
    pipelines.map(({ engine, result }) =>
      result
        ? [
            `${engineName(result.engine)}${engine === 'auto' ? ' (auto)' : ''}`,
            `${result.images} ${JSON.stringify(result.statuses)}`,
            result.imagesPerSecond.toFixed(2),
            result.mpxPerSecond.toFixed(2),
            String(result.concurrency),
            result.peakRssMb.toFixed(0),
            ...(['p50', 'p95', 'max'] as const).map((q) => (result.latencyMs ? result.latencyMs[q].toFixed(0) : '-')),
            ...stageNames.map((s) => (result.stageMeansMs[s] ?? Number.NaN).toFixed(1)),
          ]
        : [engine, 'failed'],
    ),
  );
  for (const { engine, error } of pipelines) if (error) print(`  ${engine}: ${firstLine(error)}`);

  const size = await terraformWorkerSize();
  const p = CLOUD_RUN_PRICES;
  print(
    `\nCost of 1000 512x512 images on Cloud Functions: worker ${size.vcpu} vCPU / ${size.memoryGib} GiB (infra/gcp defaults), ` +
      `$${p.perVcpuSecond}/vCPU-s, $${p.perGibSecond}/GiB-s, $${p.perMillionRequests}/M requests (${p.source}, read ${p.readOn}); ` +
      `measured here on ${cores} cores, scaled linearly to ${size.vcpu} vCPU (an estimate)`,
  );
  const megapixels = (512 * 512) / 1e6;
  const costRows: string[][] = [];
  for (const { result } of pipelines) {
    if (result) costRows.push([`pipeline on ${engineName(result.engine)}`, `$${costOf(1000, megapixels / result.mpxPerSecond, cores, size).toFixed(4)}`]);
  }
  for (const { model, config, result } of engineRuns) {
    if (result && model.name === 'shipped') costRows.push([`inference only, shipped model, ${config.label}`, `$${costOf(1000, result.msPerTile / 1000, cores, size).toFixed(4)}`]);
  }
  table(['what', 'USD per 1000 images'], costRows);
}

interface ChildRun {
  result: unknown;
  error: string | null;
}

// Runs a bench script under tsx in a fresh process; its result is the BENCH_RESULT line.
function child(script: string, args: string[], env: Record<string, string> = {}): Promise<ChildRun> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(here, script), ...args], {
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      const reported = stdout.split('\n').find((l) => l.startsWith('BENCH_ERROR '));
      if (code === 0 && line) resolve({ result: JSON.parse(line.slice('BENCH_RESULT '.length)), error: null });
      else resolve({ result: null, error: reported ? reported.slice('BENCH_ERROR '.length) : `${script} exited ${code}: ${errorLine(stderr + stdout)}` });
    });
  });
}

function errorLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));
  return lines.find((l) => /Error|error|unavailable|cannot/i.test(l)) ?? lines.at(-1) ?? '(no output)';
}

// 'wasm' meant TF.js wasm before it meant onnxruntime-web: say which in the tables.
function engineName(engine: string): string {
  return engine === 'wasm' ? 'wasm (onnxruntime-web)' : engine;
}

function firstLine(text: string | null): string {
  return (text ?? '').split('\n')[0]!.slice(0, 160);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.NaN;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

// The first `textColumns` columns are left-aligned, the numbers after them right-aligned.
function table(header: string[], rows: string[][], textColumns = 1): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  print(line(header));
  print(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) print(line(r));
}
