// The TF.js GraphModel format (`format: tfjs-graph`, tensorflowjs_converter's model.json + shards):
// TF.js engines only, since no exporter turns a TF.js graph into ONNX; `auto` skips ONNX Runtime.
import { tfjsArtifacts } from '../tfjs-layers/index.js';
import { readModelArtifacts } from '../tfjs-layers/layers-artifacts.js';
import { cardFacts, type ModelFormat } from '../types.js';

export const tfjsGraphFormat = {
  name: 'tfjs-graph',
  async load(request) {
    return {
      ...cardFacts(request),
      tfjs: { kind: 'graph', artifacts: async () => tfjsArtifacts(await readModelArtifacts(request.dir, request.card.modelFile)) },
    };
  },
} as const satisfies ModelFormat;
