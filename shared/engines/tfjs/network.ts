// The TF.js engine: the registry's model on tfjs-node, wasm or cpu. Leak-free (tidy + dispose) and
// chunked into at most `batchTiles` tiles per tf call. TF.js computes on the event loop's thread,
// so it offers no parallelism.
import type * as tfTypes from '@tensorflow/tfjs';
import { CloudsegError } from '../../errors.js';
import type { EngineLoadRequest, EngineModel, EngineNetwork, TfjsModelSource } from '../types.js';
import { selectBackend, type BackendChoice, type Tf } from './backend.js';

type Runnable = Pick<tfTypes.LayersModel, 'predict' | 'dispose' | 'inputs'> | tfTypes.GraphModel;

/** Loads the model on a TF.js backend ('auto' here means tfjs-node, else wasm). */
export async function loadTfjsNetwork(request: EngineLoadRequest, backendChoice: BackendChoice): Promise<EngineNetwork> {
  const { model, logger } = request;
  if (!model.tfjs) {
    throw new CloudsegError('BACKEND_UNAVAILABLE', `TF.js cannot run a ${model.format} model; use onnxruntime or wasm (ONNX Runtime on WebAssembly)`, { details: { backend: backendChoice } });
  }
  const source = model.tfjs;
  const { tf, backend } = await selectBackend(backendChoice, logger);
  const net = await loadRunnable(tf, backend, source, model.dir);
  const shape = net.inputs[0]?.shape;
  const channels = shape?.[shape.length - 1];
  const { bands, output } = model;

  return {
    engine: backend,
    parallelism: 1,
    inputChannels: typeof channels === 'number' && channels > 0 ? channels : null,
    async run(tiles, count, height, width) {
      const out = new Float32Array(count * height * width);
      const perTile = height * width * bands;
      for (let first = 0; first < count; first += request.batchTiles) {
        const n = Math.min(request.batchTiles, count - first);
        const probability = tf.tidy(() => {
          const x = tf.tensor4d(tiles.subarray(first * perTile, (first + n) * perTile), [n, height, width, bands]);
          return cloudProbability(tf, net.predict(x) as tfTypes.Tensor, output);
        });
        try {
          out.set((await probability.data()) as Float32Array, first * height * width);
        } finally {
          probability.dispose();
        }
      }
      return out;
    },
    numTensors: () => tf.memory().numTensors,
    dispose: async () => {
      net.dispose();
    },
  };
}

async function loadRunnable(tf: Tf, backend: string, source: TfjsModelSource, dir: string): Promise<Runnable> {
  const node = (tf as unknown as { node?: { loadSavedModel(path: string, tags: string[], signature: string): Promise<tfTypes.GraphModel> } }).node;
  // Native TensorFlow runs a SavedModel itself where tfjs-node is installed.
  if (source.savedModel && node && backend === 'tfjs-node') {
    const { path, tags, signature } = source.savedModel;
    return wrapLoad(dir, () => node.loadSavedModel(path, tags, signature));
  }
  const artifacts = await source.artifacts();
  // The wasm backend in Node cannot fetch file:// URLs: the model is handed over in memory.
  return wrapLoad(dir, () => {
    const handler = tf.io.fromMemory(artifacts);
    return source.kind === 'layers' ? tf.loadLayersModel(handler) : tf.loadGraphModel(handler);
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

/** [n, h, w, c] model output -> [n, h, w] cloud probability, as the card says to read it. */
function cloudProbability(tf: Tf, y: tfTypes.Tensor, output: EngineModel['output']): tfTypes.Tensor {
  const [n, h, w] = y.shape as [number, number, number, number?];
  const channels = y.rank === 4 ? y.shape[3]! : 1;
  if (output.cloudChannel >= channels) {
    throw new CloudsegError('MODEL_CARD_INVALID', `output.cloudChannel: ${output.cloudChannel} but the model has ${channels} output channels`);
  }
  const channel = y.rank === 4 ? tf.slice(y, [0, 0, 0, output.cloudChannel], [n, h, w, 1]).reshape([n, h, w]) : y;
  // A linear head emits logits: the sigmoid turns them into the probability the threshold expects.
  return output.activation === 'linear' ? tf.sigmoid(channel) : channel;
}
