// The SavedModel format (`format: saved-model`): saved_model.pb + variables read in TypeScript and
// the card's signature frozen into one graph (this folder's reader), which runs as a TF.js
// GraphModel on any backend or, converted here, on ONNX Runtime; tfjs-node loads the directory natively.
import { join } from 'node:path';
import { exportedOnnxGraph } from '../onnx-export/exported-graph.js';
import { cardFacts, type ModelFormat } from '../types.js';
import { CONVERTER_VERSION, convertFrozenGraph } from './convert-frozen-graph.js';
import { DEFAULT_SIGNATURE } from './freeze.js';
import { graphModelArtifacts } from './graph-model.js';
import { loadSavedModelGraph } from './load-saved-model.js';

export const savedModelFormat = {
  name: 'saved-model',
  async load(request) {
    const { card } = request;
    const path = join(request.dir, card.modelFile);
    const signature = card.signature ?? {};
    return {
      ...cardFacts(request),
      onnxGraph: () =>
        exportedOnnxGraph(request, `sm${CONVERTER_VERSION}:${JSON.stringify(signature)}`, async () => convertFrozenGraph(await loadSavedModelGraph(path, signature), card)),
      tfjs: {
        kind: 'graph',
        artifacts: async () => graphModelArtifacts(await loadSavedModelGraph(path, signature)),
        savedModel: { path, tags: ['serve'], signature: card.signature?.name ?? DEFAULT_SIGNATURE },
      },
    };
  },
} as const satisfies ModelFormat;
