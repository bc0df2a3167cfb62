// The TF.js engine: the registry's model on tfjs-node, wasm or cpu. Leak-free (tidy + dispose) and
// chunked into at most `batchTiles` tiles per tf call. TF.js computes on the event loop's thread,
// so it offers no parallelism.
import { join } from 'node:path';
import type * as tfTypes from '@tensorflow/tfjs';
import { CloudsegError } from '../../errors.js';
import { graphModelArtifacts } from '../../model/saved-model/graph-model.js';
import { loadSavedModelGraph } from '../../model/saved-model/load-saved-model.js';
import type { ModelCard } from '../../model/types.js';
import type { EngineLoadRequest, EngineNetwork } from '../types.js';
import { selectBackend, type BackendChoice, type Tf } from './backend.js';

type Runnable = Pick<tfTypes.LayersModel, 'predict' | 'dispose' | 'inputs'> | tfTypes.GraphModel;

/** Loads the model on a TF.js backend ('auto' here means tfjs-node, else wasm). */
export async function loadTfjsNetwork(request: EngineLoadRequest, backendChoice: BackendChoice): Promise<EngineNetwork> {
  const { card, dir, logger } = request;
  const { tf, backend } = await selectBackend(backendChoice, logger);
  const net = await loadRunnable(tf, backend, request);
  const shape = net.inputs[0]?.shape;
  const channels = shape?.[shape.length - 1];
  const bands = card.bands.length;

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
          return cloudProbability(tf, net.predict(x) as tfTypes.Tensor, card);
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

  async function loadRunnable(tfModule: Tf, backendName: string, req: EngineLoadRequest): Promise<Runnable> {
    if (card.format === 'saved-model') {
      const savedModelDir = join(dir, card.modelFile);
      const node = (tfModule as unknown as { node?: { loadSavedModel(path: string, tags: string[], signature: string): Promise<tfTypes.GraphModel> } }).node;
      // Native TensorFlow runs the SavedModel itself where tfjs-node is installed.
      if (node && backendName === 'tfjs-node') return wrapLoad(dir, () => node.loadSavedModel(savedModelDir, ['serve'], card.signature?.name ?? 'serving_default'));
      // Elsewhere the signature is read and frozen in TypeScript and runs as a GraphModel.
      const graph = await loadSavedModelGraph(savedModelDir, card.signature ?? {});
      return wrapLoad(dir, () => tfModule.loadGraphModel(tfModule.io.fromMemory(graphModelArtifacts(graph))));
    }
    const artifacts = await req.artifacts();
    // The wasm backend in Node cannot fetch file:// URLs: the model is handed over in memory.
    const handler = tfModule.io.fromMemory({
      modelTopology: artifacts.modelTopology,
      weightSpecs: artifacts.weightSpecs as tfTypes.io.WeightsManifestEntry[],
      weightData: artifacts.weightData,
      ...(artifacts.format !== undefined ? { format: artifacts.format } : {}),
      ...(artifacts.generatedBy !== undefined ? { generatedBy: artifacts.generatedBy } : {}),
      convertedBy: artifacts.convertedBy ?? null,
    });
    return wrapLoad(dir, () => (card.format === 'tfjs-layers' ? tfModule.loadLayersModel(handler) : tfModule.loadGraphModel(handler)));
  }
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
