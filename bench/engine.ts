// One engine configuration on one model, measured in a process of its own (so its peak RSS is its
// own): bare inference on a real 512x512 tile (the first 512x512 sample, scaled as the worker scales
// it) with as many calls in flight as the engine uses, then each sample scene through segmentScene.
// The model is the shipped one unless `--model-dir DIR` or `--onnx-fixture NAME` names another.
// Prints one `BENCH_RESULT {json}` line; writes the tile's output (H x W x outputChannels) for the
// agreement check.
import { readFile, rm, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_MODEL_DIR } from '../shared/config/index.js';
import type { EngineChoice, OnnxLayout } from '../shared/engines/index.js';
import { decodeImage } from '../shared/imaging/decode.js';
import { resolveScaling, toModelInput } from '../shared/imaging/scaling.js';
import { loadModelFromDir } from '../shared/model/load.js';
import { segmentScene } from '../shared/model/segment.js';
import type { SegmentationModel } from '../shared/model/types.js';
import { readSampleManifest } from '../infra/local/samples.js';
import { shippedModelDir } from '../test/support/model.js';
import { ONNX_FIXTURES, onnxModelDir, type OnnxFixture } from '../test/support/onnx-models.js';

const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    layout: { type: 'string' },
    threads: { type: 'string' },
    'model-dir': { type: 'string' },
    'onnx-fixture': { type: 'string' },
    'probability-out': { type: 'string' },
    'seconds-per-config': { type: 'string', default: '4' },
  },
});

export interface EngineResult {
  engine: string;
  /** The card's name of the model measured. */
  model: string;
  /** Values per pixel in the probability output (1: cloud probability; n: one per class). */
  outputChannels: number;
  layout: string | null;
  threads: number | null;
  loadMs: number;
  tiles: number;
  msPerTile: number;
  mpxPerSecond: number;
  scenes: { id: string; pixels: number; ms: number }[];
  peakRssMb: number;
}

const TILE = 512;
const engine = values.engine as EngineChoice;
const threads = values.threads ? Number(values.threads) : undefined;
const layout = values.layout as OnnxLayout | undefined;
const budgetMs = Number(values['seconds-per-config']) * 1000;

// A configuration that cannot run here (tfjs-node not installed) says why in one line.
process.on('uncaughtException', (err: Error & { code?: string }) => {
  process.stdout.write(`BENCH_ERROR ${err.code ? `${err.code}: ` : ''}${err.message.split('\n')[0]}\n`);
  process.exit(1);
});

const fixtureName = values['onnx-fixture'];
if (fixtureName !== undefined && !(ONNX_FIXTURES as readonly string[]).includes(fixtureName)) {
  throw new Error(`--onnx-fixture must be one of ${ONNX_FIXTURES.join(', ')}, got ${fixtureName}`);
}
const samples = await readSampleManifest();
// A fixture is copied into a temporary model dir (with its card), removed at the end.
const fixtureDir = fixtureName ? await onnxModelDir(fixtureName as OnnxFixture) : null;
const modelDir =
  fixtureDir ?? values['model-dir'] ?? process.env.CLOUDSEG_MODEL_DIR ?? (await shippedModelDir().catch(() => DEFAULT_MODEL_DIR()));
const model = await loadModelFromDir(modelDir, { backend: engine, batchTiles: 1, ...(threads ? { threads } : {}), ...(layout ? { onnxLayout: layout } : {}) });

const scenes = await Promise.all(samples.map(async (s) => ({ id: s.id, ...(await modelInput(model, s.imagePath)) })));
const tileScene = scenes.find((s) => s.width === TILE && s.height === TILE);
if (!tileScene) throw new Error(`no ${TILE}x${TILE} sample to take the tile from`);

// Warm up at this shape, then as many tiles as fit the budget (at least 3), model.parallelism in flight.
const first = await model.predict(tileScene.input, 1, TILE, TILE);
if (values['probability-out']) await writeFile(values['probability-out'], first);
let tiles = 0;
const started = performance.now();
const worker = async () => {
  while (tiles < 3 || performance.now() - started < budgetMs) {
    tiles++;
    await model.predict(tileScene.input, 1, TILE, TILE);
  }
};
await Promise.all(Array.from({ length: model.parallelism }, worker));
const msPerTile = (performance.now() - started) / tiles;

const sceneTimes = [];
for (const scene of scenes) {
  const t = performance.now();
  await segmentScene(model, scene.input, scene.width, scene.height);
  sceneTimes.push({ id: scene.id, pixels: scene.width * scene.height, ms: performance.now() - t });
}
model.dispose();
if (fixtureDir) await rm(fixtureDir, { recursive: true, force: true });

const result: EngineResult = {
  engine: model.backend,
  model: model.card.name,
  outputChannels: model.outputChannels,
  // wasm (onnxruntime-web) always runs one single-threaded session per thread.
  layout: model.backend === 'onnxruntime' ? (layout ?? 'intra-op') : model.backend === 'wasm' ? 'sessions' : null,
  threads: threads ?? null,
  loadMs: model.loadMs,
  tiles,
  msPerTile,
  mpxPerSecond: (TILE * TILE) / 1e6 / (msPerTile / 1000),
  scenes: sceneTimes,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
};
process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
process.exit(0);

async function modelInput(m: SegmentationModel, path: string): Promise<{ input: Float32Array; width: number; height: number }> {
  const raster = await decodeImage(await readFile(path), { name: path, maxPixels: 1e8 });
  const { scaling } = resolveScaling({ bands: m.card.bands.length, raster, presets: m.card.presets, defaults: m.card.defaultPreset });
  return { input: toModelInput(raster, scaling, m.card.bands.length), width: raster.width, height: raster.height };
}
