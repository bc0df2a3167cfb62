// Loads a model directory (model card + TF.js model files) once into a SegmentationModel: files are
// read from disk into tf.io.fromMemory, the identity is the directory's DVC md5, and predict() is
// leak-free (tidy + dispose) and chunks its input into at most `batchTiles` tiles per tf call.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { CloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { dirManifestMd5, directoryManifest } from '../registry/dir-manifest.js';
import { selectBackend, type BackendChoice, type Tf } from './backend.js';
import { readModelCard } from './card.js';
import type { ModelCard, SegmentationModel } from './types.js';

export interface LoadModelOptions {
  backend: BackendChoice;
  /** Most tiles per tf call: batching buys no speed on wasm but costs ~150 MB per extra 512x512 tile. */
  batchTiles: number;
  logger?: Logger;
  /** Run one tiny prediction at load so the first real request does not pay for initialisation. @default true */
  warmUp?: boolean;
}

/** What loadModelFromDir returns: the seam plus what tests and benchmarks want to see. */
export interface LoadedModel extends SegmentationModel {
  readonly batchTiles: number;
  readonly loadMs: number;
  /** Live tensors in the engine (for leak checks). */
  numTensors(): number;
}

type Runnable = Pick<tfTypes.LayersModel, 'predict' | 'dispose' | 'inputs'> | tfTypes.GraphModel;

export async function loadModelFromDir(dir: string, options: LoadModelOptions): Promise<LoadedModel> {
  const started = performance.now();
  if (!Number.isInteger(options.batchTiles) || options.batchTiles < 1) {
    throw new CloudsegError('CONFIG_INVALID', `batchTiles must be a positive integer, got ${options.batchTiles}`);
  }
  const card = await readModelCard(dir);
  const [{ tf, backend }, manifest] = await Promise.all([selectBackend(options.backend, options.logger), directoryManifest(dir)]);
  const md5 = dirManifestMd5(manifest);
  const net = await loadNetwork(tf, backend, dir, card);
  const bands = card.bands.length;
  checkInputChannels(net, card, dir);

  let disposed = false;
  const predict = async (tiles: Float32Array, count: number, height: number, width: number): Promise<Float32Array> => {
    if (disposed) throw new CloudsegError('INTERNAL', `model ${card.name} was disposed`);
    const perTile = height * width * bands;
    if (tiles.length !== count * perTile) {
      throw new CloudsegError('BAND_MISMATCH', `expected ${count}x${height}x${width}x${bands} = ${count * perTile} values, got ${tiles.length}`);
    }
    if (height % card.sizeMultiple !== 0 || width % card.sizeMultiple !== 0) {
      throw new CloudsegError('INTERNAL', `tile ${height}x${width} is not a multiple of ${card.sizeMultiple} (pad it first)`);
    }
    const out = new Float32Array(count * height * width);
    for (let first = 0; first < count; first += options.batchTiles) {
      const n = Math.min(options.batchTiles, count - first);
      const probability = tf.tidy(() => {
        const x = tf.tensor4d(tiles.subarray(first * perTile, (first + n) * perTile), [n, height, width, bands]);
        return cloudProbability(tf, net.predict(x) as tfTypes.Tensor, card);
      });
      try {
        out.set((await probability.data()) as Float32Array, first * height * width);
      } finally {
        probability.dispose();
      }
    }
    return out;
  };

  if (options.warmUp !== false) {
    const side = card.sizeMultiple * Math.max(1, Math.ceil(16 / card.sizeMultiple));
    await predict(new Float32Array(side * side * bands), 1, side, side);
  }
  const loadMs = performance.now() - started;
  const identity = { name: card.name, version: card.version, md5, rev: null, tag: null };
  options.logger?.info({ model: identity, backend, loadMs: Math.round(loadMs), batchTiles: options.batchTiles }, 'model loaded');

  return {
    identity,
    card,
    backend,
    batchTiles: options.batchTiles,
    loadMs,
    predict,
    numTensors: () => tf.memory().numTensors,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      net.dispose();
    },
  };
}

async function loadNetwork(tf: Tf, backend: string, dir: string, card: ModelCard): Promise<Runnable> {
  if (card.format === 'saved-model') {
    const node = (tf as unknown as { node?: { loadSavedModel(path: string): Promise<tfTypes.GraphModel> } }).node;
    if (!node) {
      throw new CloudsegError('BACKEND_UNAVAILABLE', `a SavedModel needs the tfjs-node backend, not ${backend}`, { details: { backend } });
    }
    return wrapLoad(dir, () => node.loadSavedModel(join(dir, card.modelFile)));
  }
  const handler = await readModelArtifacts(tf, dir, card.modelFile);
  return wrapLoad(dir, () => (card.format === 'tfjs-layers' ? tf.loadLayersModel(handler) : tf.loadGraphModel(handler)));
}

// The wasm backend in Node cannot fetch file:// URLs, so model.json and its shards are read here
// and handed over in memory; the same path serves tfjs-node.
async function readModelArtifacts(tf: Tf, dir: string, modelFile: string): Promise<tfTypes.io.IOHandler> {
  const modelPath = join(dir, modelFile);
  let json: { modelTopology?: unknown; weightsManifest?: { paths: string[]; weights: tfTypes.io.WeightsManifestEntry[] }[]; format?: string; generatedBy?: string; convertedBy?: string | null };
  try {
    json = JSON.parse(await readFile(modelPath, 'utf8')) as typeof json;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CloudsegError(missing ? 'MODEL_NOT_FOUND' : 'MODEL_LOAD_FAILED', `cannot read ${modelPath}: ${(err as Error).message}`, { cause: err });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new CloudsegError('MODEL_LOAD_FAILED', `${modelPath} is not a TF.js model.json (no modelTopology/weightsManifest)`);
  }
  const modelDir = join(modelPath, '..');
  const weightSpecs: tfTypes.io.WeightsManifestEntry[] = [];
  const shards: Buffer[] = [];
  for (const group of json.weightsManifest) {
    weightSpecs.push(...group.weights);
    for (const shard of group.paths) {
      try {
        shards.push(await readFile(join(modelDir, shard)));
      } catch (err) {
        throw new CloudsegError('MODEL_LOAD_FAILED', `cannot read weight shard ${shard}: ${(err as Error).message}`, { cause: err });
      }
    }
  }
  const all = Buffer.concat(shards);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  return tf.io.fromMemory({
    modelTopology: json.modelTopology as object,
    weightSpecs,
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy ?? null,
  });
}

async function wrapLoad(dir: string, load: () => Promise<Runnable>): Promise<Runnable> {
  try {
    return await load();
  } catch (err) {
    if (err instanceof CloudsegError) throw err;
    throw new CloudsegError('MODEL_LOAD_FAILED', `cannot load the model in ${dir}: ${(err as Error).message}`, { cause: err });
  }
}

function checkInputChannels(net: Runnable, card: ModelCard, dir: string): void {
  const shape = net.inputs[0]?.shape;
  const channels = shape?.[shape.length - 1];
  if (typeof channels === 'number' && channels > 0 && channels !== card.bands.length) {
    net.dispose();
    throw new CloudsegError('MODEL_CARD_INVALID', `bands: the card lists ${card.bands.length} bands but the model in ${dir} takes ${channels}`, {
      details: { fields: ['bands'] },
    });
  }
}

/** [n, h, w, c] model output -> [n, h, w] cloud probability, as the card says to read it. */
function cloudProbability(tf: Tf, y: tfTypes.Tensor, card: ModelCard): tfTypes.Tensor {
  const [n, h, w] = y.shape as [number, number, number, number?];
  const channels = y.rank === 4 ? y.shape[3]! : 1;
  if (card.output.cloudChannel >= channels) {
    throw new CloudsegError('MODEL_CARD_INVALID', `output.cloudChannel: ${card.output.cloudChannel} but the model has ${channels} output channels`);
  }
  const channel = y.rank === 4 ? tf.slice(y, [0, 0, 0, card.output.cloudChannel], [n, h, w, 1]).reshape([n, h, w]) : y;
  // A linear head emits logits: the sigmoid turns them into the probability the threshold expects.
  return card.output.activation === 'linear' ? tf.sigmoid(channel) : channel;
}
