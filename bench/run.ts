// `npm run bench [-- --engine NAME] [--rounds N] [--seconds S] [--scene-only] [--scene-size PX]`:
// every inference engine available here side by side on the same tile and scenes (ms per 512x512
// tile, Mpixel/s, peak RSS, agreement with the wasm engine), then the whole local pipeline on the
// default engine and on wasm (images/s, Mpixel/s, per-stage means, peak RSS), then what 1000
// 512x512 images cost on Cloud Functions at the Terraform worker's size, then one Sentinel-2-tile
// sized scene (generated into a temp dir, 120 Mpx) through `cloudseg segment`'s windowed path (time,
// peak RSS). Each configuration runs in its own process. Prints; asserts nothing.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BACKEND_NAMES } from '../shared/model/types.js';
import { costOf, terraformWorkerSize } from './cost.js';
import type { EngineResult } from './engine.js';
import type { PipelineResult } from './pipeline.js';
import type { SceneResult } from './scene.js';
import { CLOUD_RUN_PRICES } from './prices.js';
import { writeLandsatLikeBandSet } from './band-set.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    rounds: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '4' },
    'scene-only': { type: 'boolean', default: false },
    'scene-size': { type: 'string', default: '10980' },
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
}

// The default first (auto picks it), then the ONNX Runtime alternatives, then the TF.js engines.
const ENGINE_CONFIGS: EngineConfig[] = [
  { label: `onnxruntime, 1 session x ${cores} threads (default)`, engine: 'onnxruntime', args: ['--layout', 'intra-op'] },
  { label: `onnxruntime, ${cores} sessions x 1 thread`, engine: 'onnxruntime', args: ['--layout', 'sessions'] },
  { label: 'onnxruntime, 1 thread (per core)', engine: 'onnxruntime', args: ['--threads', '1'] },
  { label: 'tfjs-node (native TensorFlow)', engine: 'tfjs-node', args: [] },
  { label: 'tfjs wasm (SIMD, 1 core)', engine: 'wasm', args: [] },
  { label: 'tfjs cpu (pure JS)', engine: 'cpu', args: [] },
];

const print = (line = '') => process.stdout.write(`${line}\n`);
print(`cloudseg benchmark: node ${process.version}, ${cores} cores, ${new Date().toISOString()}`);

try {
  if (!values['scene-only']) await enginesAndPipeline();
  await largeScene();
  await bandSet();
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

async function enginesAndPipeline(): Promise<void> {
  // cpu is ~12x slower than wasm: measured only when asked for by name.
  const configs = ENGINE_CONFIGS.filter((c) => (values.engine ? c.engine === values.engine : c.engine !== 'cpu'));
  const engines: { config: EngineConfig; result: EngineResult | null; error: string | null; probability: Float32Array | null }[] = [];
  for (const config of configs) {
    const out = join(work, `${engines.length}.f32`);
    const run = await child('engine.ts', [...config.args, '--engine', config.engine, '--probability-out', out, '--seconds-per-config', values.seconds!]);
    const probability = run.result ? new Float32Array((await readFile(out)).buffer.slice(0)) : null;
    engines.push({ config, result: run.result as EngineResult | null, error: run.error, probability });
  }

  print('\nInference engines, the same real 512x512 tile and the 3 sample scenes (calls in flight = what each engine uses)');
  const reference = engines.find((e) => e.config.engine === 'wasm' && e.probability)?.probability ?? null;
  const rows = engines.map(({ config, result, probability }) =>
    result
      ? [
          config.label,
          result.msPerTile.toFixed(0),
          result.mpxPerSecond.toFixed(2),
          (result.scenes.reduce((n, s) => n + s.pixels, 0) / 1e6 / (result.scenes.reduce((n, s) => n + s.ms, 0) / 1000)).toFixed(2),
          result.peakRssMb.toFixed(0),
          reference && probability ? maxAbsDiff(reference, probability).toExponential(1) : '-',
          (result.loadMs / 1000).toFixed(2),
        ]
      : [config.label, 'unavailable'],
  );
  table(['engine', 'ms/tile', 'Mpx/s tile', 'Mpx/s scenes', 'peak RSS MB', 'max|p - wasm|', 'load s'], rows);
  for (const { config, error } of engines) if (error) print(`  ${config.label}: ${firstLine(error)}`);

  print('\nWhole local pipeline: first flush -> last result event, flush every second;');
print('emulator, local GCS server, flush and worker in functions-framework servers; stage times are means per image');
  const pipelineEngines = values.engine ? [values.engine] : ['auto', 'wasm'];
  const pipelines: { engine: string; result: PipelineResult | null; error: string | null }[] = [];
  for (const engine of pipelineEngines) {
    const rounds = engine === 'wasm' || engine === 'cpu' ? String(Math.min(3, Number(values.rounds))) : values.rounds!;
    const run = await child('pipeline.ts', ['--rounds', rounds], { CLOUDSEG_INFERENCE_BACKEND: engine });
    pipelines.push({ engine, result: run.result as PipelineResult | null, error: run.error });
  }
  const stageNames = Object.keys(pipelines.find((p) => p.result)?.result?.stageMeansMs ?? {});
  table(
    ['pipeline', 'images', 'images/s', 'Mpx/s', 'concurrency', 'peak RSS MB', ...stageNames.map((s) => `${s} ms`)],
    pipelines.map(({ engine, result }) =>
      result
        ? [
            `${result.engine}${engine === 'auto' ? ' (auto)' : ''}`,
            `${result.images} ${JSON.stringify(result.statuses)}`,
            result.imagesPerSecond.toFixed(2),
            result.mpxPerSecond.toFixed(2),
            String(result.concurrency),
            result.peakRssMb.toFixed(0),
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
    if (result) costRows.push([`pipeline on ${result.engine}`, `$${costOf(1000, megapixels / result.mpxPerSecond, cores, size).toFixed(4)}`]);
  }
  for (const { config, result } of engines) {
    if (result) costRows.push([`inference only, ${config.label}`, `$${costOf(1000, result.msPerTile / 1000, cores, size).toFixed(4)}`]);
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

function firstLine(text: string | null): string {
  return (text ?? '').split('\n')[0]!.slice(0, 160);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Number.NaN;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  print(line(header));
  print(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) print(line(r));
}
