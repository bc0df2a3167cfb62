// A full-size Landsat-like band set through the scene path: four single-band uint16 tiled GeoTIFFs
// of 7800 x 7800 (B2..B5, ~30 % fill around a rotated footprint, as a Landsat scene has) and their
// MTL.json, written into a temp dir at bench time (never committed) and deleted after, segmented by
// `cloudseg segment`'s path from the MTL in a process of its own, so its peak RSS is the scene's.
// `bandSetBench` is the bench runner's section; run directly with --descriptor it is that child.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeTiledGeoTiffFile } from '../shared/imaging/tiled-geotiff-write.js';
import { landsatMtlJson } from '../test/integration/scene-band-files.js';

const PRODUCT = 'LC08_L1TP_002053_20160520_20200907_02_T1';
const SUN_ELEVATION = 55;
const BANDS = [2, 3, 4, 5] as const;

export interface BandSetBenchOptions {
  /** A temp dir of the runner's; the band set goes into a folder of its own there and is deleted after. */
  work: string;
  engine: string;
  print: (line?: string) => void;
  /** Edge of the square scene. @default 7800 */
  size?: number;
}

interface BandSetResult {
  engine: string;
  width: number;
  height: number;
  status: string;
  error: string | null;
  cloudFraction: number | null;
  seconds: number;
  timingsMs: Record<string, number>;
  peakRssMb: number;
  memoryBudgetMb: number;
}

/** Writes the band set, segments it from its MTL.json in a child process, prints one table row. */
export async function bandSetBench(options: BandSetBenchOptions): Promise<void> {
  const { print } = options;
  const size = options.size ?? 7800;
  print(`\nLandsat-like band set: ${size}x${size} (${((size * size) / 1e6).toFixed(1)} Mpx) x 4 single-band uint16 tiled GeoTIFFs (512x512 deflate tiles, ~30 % fill) + MTL.json, segmented from the MTL by \`cloudseg segment\`'s scene path (bands read window by window) in a process of its own`);
  const dir = await mkdtemp(join(options.work, 'band-set-'));
  try {
    const t0 = performance.now();
    let bytes = 0;
    await mkdir(dir, { recursive: true });
    for (const [i, band] of BANDS.entries()) bytes += await writeBand(join(dir, `${PRODUCT}_B${band}.TIF`), size, i);
    const descriptor = join(dir, `${PRODUCT}_MTL.json`);
    await writeFile(descriptor, landsatMtlJson(PRODUCT, SUN_ELEVATION));
    const writeSeconds = (performance.now() - t0) / 1000;
    const run = await segmentInChild(descriptor, options.engine);
    if ('error' in run) {
      print(`  ${options.engine}: ${run.error}`);
      return;
    }
    const r = run.result;
    const row = [
      r.engine,
      (bytes / 1e6).toFixed(0),
      writeSeconds.toFixed(0),
      r.error ?? r.status,
      r.cloudFraction === null ? '-' : (r.cloudFraction * 100).toFixed(1),
      r.seconds.toFixed(1),
      ((r.width * r.height) / 1e6 / r.seconds).toFixed(2),
      (r.timingsMs.decode ?? 0).toFixed(0),
      (r.timingsMs.infer ?? 0).toFixed(0),
      (r.timingsMs.encode ?? 0).toFixed(0),
      r.peakRssMb.toFixed(0),
      String(r.memoryBudgetMb),
    ];
    const header = ['engine', 'files MB', 'write s', 'status', 'cloud %', 'seconds', 'Mpx/s', 'read ms', 'infer ms', 'encode ms', 'peak RSS MB', 'budget MB'];
    const widths = header.map((h, i) => Math.max(h.length, row[i]!.length));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    print(line(header));
    print(widths.map((w) => '-'.repeat(w)).join('  '));
    print(line(row));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// One band: Landsat L1 DNs (reflectance ~ DN * 2e-5 - 0.1, before the sun term), bright where clouds are.
function writeBand(path: string, size: number, band: number): Promise<number> {
  // Data inside a square of 70 % of the scene's area, rotated 12 degrees like a Landsat path's footprint.
  const half = (size * Math.sqrt(0.7)) / 2;
  const cos = Math.cos((12 * Math.PI) / 180);
  const sin = Math.sin((12 * Math.PI) / 180);
  const inside = (x: number, y: number) => {
    const dx = x - size / 2;
    const dy = y - size / 2;
    return Math.abs(dx * cos + dy * sin) < half && Math.abs(-dx * sin + dy * cos) < half;
  };
  const cloudiness = (x: number, y: number) => {
    const v = Math.sin(x / 600) * Math.sin(y / 450) + 0.5 * Math.sin((x + y) / 270);
    return v > 0.6 ? Math.min(1, (v - 0.6) * 2) : 0;
  };
  const ground = [9000, 8200, 7600, 14000][band]!;
  const cloud = [30000, 30500, 31000, 29000][band]!;
  return writeTiledGeoTiffFile(
    path,
    {
      width: size,
      height: size,
      bands: 1,
      dtype: 'uint16',
      noData: 0,
      tileSize: 512,
      georef: {
        geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32618 },
        modelTiepoint: [0, 0, 0, 199785, 1726815, 0],
        modelPixelScale: [30, 30, 0],
        modelTransformation: null,
      },
    },
    (x0, y0, tile) => {
      const out = new Uint16Array(tile * tile);
      for (let y = y0; y < Math.min(y0 + tile, size); y++) {
        for (let x = x0; x < Math.min(x0 + tile, size); x++) {
          if (!inside(x, y)) continue;
          const c = cloudiness(x, y);
          // Hashed noise (~500 DN) so the files compress like a real scene, not like a gradient.
          const noise = (Math.imul(x, 73856093) ^ Math.imul(y, 19349663) ^ band) & 511;
          out[(y - y0) * tile + (x - x0)] = ground + noise + (cloud - ground) * c;
        }
      }
      return out;
    },
  );
}

function segmentInChild(descriptor: string, engine: string): Promise<{ result: BandSetResult } | { error: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--descriptor', descriptor, '--engine', engine], {
      env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.on('close', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code === 0 && line) resolve({ result: JSON.parse(line.slice('BENCH_RESULT '.length)) as BandSetResult });
      else resolve({ error: `band set run exited ${code}: ${(stderr + stdout).split('\n').filter((l) => l.trim()).slice(-3).join(' | ').slice(0, 400)}` });
    });
  });
}

// The child: the scene from its descriptor, as `cloudseg segment <MTL.json>` runs it.
async function runChild(): Promise<void> {
  const { values } = parseArgs({ options: { descriptor: { type: 'string' }, engine: { type: 'string', default: 'auto' } } });
  if (!values.descriptor) throw new Error('--descriptor is required');
  const { DEFAULT_MODEL_DIR, loadConfig } = await import('../shared/config/index.js');
  const { loadModelFromDir } = await import('../shared/model/load.js');
  const { segmentFile } = await import('../shared/worker/segment-files.js');
  const { shippedModelDir } = await import('../test/support/model.js');
  type EngineChoice = Parameters<typeof loadModelFromDir>[1]['backend'];
  const config = loadConfig(process.env);
  const modelDir = process.env.CLOUDSEG_MODEL_DIR ?? (await shippedModelDir().catch(() => DEFAULT_MODEL_DIR()));
  const model = await loadModelFromDir(modelDir, { backend: values.engine as EngineChoice, batchTiles: 1 });
  const out = await mkdtemp(join(values.descriptor, '..', 'out-'));
  try {
    const started = performance.now();
    const event = await segmentFile(model, values.descriptor, { outDir: out, memoryBudgetBytes: config.worker.memoryBudgetBytes, batchTiles: 1, geotiff: true });
    const result: BandSetResult = {
      engine: model.backend,
      width: event.width ?? 0,
      height: event.height ?? 0,
      status: event.status,
      error: event.error ? `${event.error.code}: ${event.error.message}` : null,
      cloudFraction: event.cloudFraction,
      seconds: (performance.now() - started) / 1000,
      timingsMs: event.timingsMs as Record<string, number>,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      memoryBudgetMb: config.worker.memoryBudgetBytes / 2 ** 20,
    };
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
  } finally {
    await model.dispose();
    await rm(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runChild();
