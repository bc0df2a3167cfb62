// Loads a model directory (model card + the files of its format) once into a SegmentationModel on
// the chosen engine: the identity is the directory's DVC md5, predict() validates its input and runs
// the engine, and a tiny warm-up prediction keeps the first request from paying for initialisation.
import { loadEngineNetwork, type EngineChoice, type OnnxLayout } from '../engines/index.js';
import { CloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { dirManifestMd5, directoryManifest } from '../registry/dir-manifest.js';
import { outputChannels, readModelCard } from './card.js';
import { modelFormat } from './formats/index.js';
import type { SegmentationModel } from './types.js';

export interface LoadModelOptions {
  backend: EngineChoice;
  /** Most tiles per engine call: batching buys no speed on wasm but costs ~150 MB per extra 512x512 tile. */
  batchTiles: number;
  /** Cores inference may use (ONNX Runtime). @default os.availableParallelism() */
  threads?: number;
  /** How ONNX Runtime uses those cores. @default 'intra-op' */
  onnxLayout?: OnnxLayout;
  logger?: Logger;
  /** Run one tiny prediction at load so the first real request does not pay for initialisation. @default true */
  warmUp?: boolean;
}

/** What loadModelFromDir returns: the seam plus what tests and benchmarks want to see. */
export interface LoadedModel extends SegmentationModel {
  readonly batchTiles: number;
  readonly loadMs: number;
  /** Live tensors in the engine (for leak checks; 0 on engines without tensors to leak). */
  numTensors(): number;
}

export async function loadModelFromDir(dir: string, options: LoadModelOptions): Promise<LoadedModel> {
  const started = performance.now();
  if (!Number.isInteger(options.batchTiles) || options.batchTiles < 1) {
    throw new CloudsegError('CONFIG_INVALID', `batchTiles must be a positive integer, got ${options.batchTiles}`);
  }
  const written = await readModelCard(dir);
  const md5 = dirManifestMd5(await directoryManifest(dir));
  // The format reads its files into what the engines run (and may refine the card, e.g. a fixed tile size).
  const model = await modelFormat(written.format).load({ dir, card: written, md5, ...(options.logger ? { logger: options.logger } : {}) });
  const { card } = model;
  const network = await loadEngineNetwork(
    { model, batchTiles: options.batchTiles, ...(options.logger ? { logger: options.logger } : {}) },
    { choice: options.backend, ...(options.threads ? { threads: options.threads } : {}), ...(options.onnxLayout ? { onnxLayout: options.onnxLayout } : {}) },
  );
  const bands = card.bands.length;
  if (network.inputChannels !== null && network.inputChannels !== bands) {
    await network.dispose();
    throw new CloudsegError('MODEL_CARD_INVALID', `bands: the card lists ${bands} bands but the model in ${dir} takes ${network.inputChannels}`, {
      details: { fields: ['bands'] },
    });
  }

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
    try {
      return await network.run(tiles, count, height, width);
    } catch (err) {
      if (err instanceof CloudsegError) throw err;
      // An engine's own error (out of memory, a wasm abort) says nothing about the image: retry.
      throw new CloudsegError('INFERENCE_FAILED', `${network.engine} inference failed: ${(err as Error).message}`, { retryable: true, cause: err });
    }
  };

  if (options.warmUp !== false) {
    const side = card.sizeMultiple * Math.max(1, Math.ceil(16 / card.sizeMultiple));
    try {
      await predict(new Float32Array(side * side * bands), 1, side, side);
    } catch (err) {
      await network.dispose();
      if (err instanceof CloudsegError && err.code !== 'INTERNAL' && err.code !== 'INFERENCE_FAILED') throw err;
      throw new CloudsegError('MODEL_LOAD_FAILED', `the model in ${dir} fails its warm-up prediction on ${network.engine}: ${(err as Error).message}`, { cause: err });
    }
  }
  const loadMs = performance.now() - started;
  const identity = { name: card.name, version: card.version, md5, rev: null, tag: null };
  options.logger?.info({ model: identity, backend: network.engine, loadMs: Math.round(loadMs), batchTiles: options.batchTiles }, 'model loaded');

  return {
    identity,
    card,
    backend: network.engine,
    parallelism: network.parallelism,
    outputChannels: outputChannels(card),
    batchTiles: options.batchTiles,
    loadMs,
    predict,
    numTensors: () => network.numTensors(),
    dispose: () => {
      if (disposed) return;
      disposed = true;
      void network.dispose();
    },
  };
}
