// The TF.js Layers -> ONNX exporter: walks a Keras functional (or Sequential) topology as TF.js
// serialises it, converts each layer with its weights, and adds the model card's output head, so
// the registry keeps the TF.js model and ONNX Runtime runs the same network.
// Graph contract: input `input` NHWC float32 [n, h, w, bands] (what the pipeline's tiles are),
// output `probability` [n, h, w] (the card's cloud channel, through a sigmoid for a linear head),
// or for a class model [n, h, w, classes] (through a softmax for a linear head).
import { CloudsegError } from '../../../errors.js';
import type { ModelArtifacts } from './layers-artifacts.js';
import { convertLayer, unsupported, type LayerSpec } from './layer-converters.js';
import { decodeWeights, type Weight } from './layers-weights.js';
import { OnnxGraphBuilder } from '../onnx-export/onnx-graph.js';
import { INPUT_NAME, OUTPUT_NAME, type ExportedGraph } from '../onnx-export/exported-graph.js';
import { addOutputHead, type HeadCard } from '../onnx-export/output-head.js';

/** Bumped whenever the exporter's output changes, so cached graphs of older exporters are not reused. */
export const EXPORTER_VERSION = 2;

type NodeRef = [string, number, number, ...unknown[]];

interface TopologyLayer extends LayerSpec {
  inboundNodes: NodeRef[][];
}

interface Topology {
  name: string;
  layers: TopologyLayer[];
  inputs: NodeRef[];
  outputs: NodeRef[];
}

export function exportLayersModel(artifacts: ModelArtifacts, head: HeadCard): ExportedGraph {
  const topology = readTopology(artifacts.modelTopology);
  const weights = decodeWeights(artifacts.weightSpecs, artifacts.weightData);
  const g = new OnnxGraphBuilder();
  const layerCounts: Record<string, number> = {};

  if (topology.inputs.length !== 1) throw invalid(`the model has ${topology.inputs.length} inputs; a segmentation model takes one image`);
  if (topology.outputs.length < 1) throw invalid('the model declares no output');
  const byName = new Map(topology.layers.map((l) => [l.name, l]));
  const inputLayer = byName.get(topology.inputs[0]![0]);
  if (!inputLayer || inputLayer.className !== 'InputLayer') throw invalid(`input ${topology.inputs[0]![0]} is not an InputLayer`);
  const inputShape = inputLayer.config.batch_input_shape ?? inputLayer.config.batch_shape;
  if (!Array.isArray(inputShape) || inputShape.length !== 4) {
    throw unsupported(inputLayer, `input shape ${JSON.stringify(inputShape)}: an image model takes [batch, height, width, bands]`);
  }
  const channels = typeof inputShape[3] === 'number' ? inputShape[3] : null;

  const inputName = g.reserve(INPUT_NAME);
  const nchwInput = g.op('Transpose', [inputName], 'input_nchw', { perm: { ints: [0, 3, 1, 2] } });

  // Tensors already built, by "<layer>#<node index>"; a layer called twice (shared) has two nodes.
  const built = new Map<string, string>();
  const visiting = new Set<string>();
  const tensorOf = (ref: NodeRef): string => {
    const [layerName, nodeIndex, tensorIndex] = ref;
    const layer = byName.get(layerName);
    if (!layer) throw invalid(`a node refers to layer ${layerName}, which the topology does not define`);
    if (tensorIndex !== 0) throw unsupported(layer, `output ${tensorIndex} (only single-output layers)`);
    if (layer.className === 'InputLayer') {
      if (layer !== inputLayer) throw invalid(`layer ${layerName} is a second input`);
      return nchwInput;
    }
    const key = `${layerName}#${nodeIndex}`;
    const done = built.get(key);
    if (done) return done;
    if (visiting.has(key)) throw invalid(`the topology has a cycle through ${layerName}`);
    visiting.add(key);
    const node = layer.inboundNodes[nodeIndex];
    if (!node) throw invalid(`layer ${layerName} has no inbound node ${nodeIndex}`);
    const inputs = node.map((r) => tensorOf(r));
    const out = convertLayer({ g, layer, inputs, weight: (suffix) => findWeight(weights, layer, suffix) });
    visiting.delete(key);
    built.set(key, out);
    layerCounts[layer.className] = (layerCounts[layer.className] ?? 0) + 1;
    return out;
  };

  const modelOutput = tensorOf(topology.outputs[0]!);
  const { tensor, dims } = addOutputHead(g, modelOutput, 1, head);
  let probability = tensor;
  // An identity model (input straight to output) still needs a node that writes the public name.
  if (probability === nchwInput) probability = g.op('Identity', [probability], 'output');
  g.rename(probability, g.reserve(OUTPUT_NAME));

  const onnx = g.encode({
    graphName: topology.name || 'cloudseg',
    docString: 'exported by cloudseg from a TF.js Layers model',
    input: { name: INPUT_NAME, dims: ['n', 'h', 'w', channels ?? 'c'] },
    output: { name: OUTPUT_NAME, dims },
  });
  return { onnx, inputChannels: channels, layerCounts };
}

// TF.js model.json holds {model_config: {class_name, config}} (Keras' to_json) or the bare config.
function readTopology(raw: Record<string, unknown>): Topology {
  const modelConfig = (raw.model_config ?? raw) as { class_name?: string; config?: unknown };
  const className = modelConfig.class_name;
  if (className === 'Sequential') return sequentialTopology(modelConfig.config);
  if (className === 'Model' || className === 'Functional') return functionalTopology(modelConfig.config);
  throw invalid(`model class ${String(className)} (expected Model, Functional or Sequential)`);
}

function functionalTopology(config: unknown): Topology {
  const c = config as { name?: string; layers?: unknown[]; input_layers?: NodeRef[]; output_layers?: NodeRef[] };
  if (!Array.isArray(c.layers) || !Array.isArray(c.input_layers) || !Array.isArray(c.output_layers)) {
    throw invalid('the functional model config lacks layers, input_layers or output_layers');
  }
  const layers = c.layers.map((entry) => {
    const l = entry as { class_name?: string; name?: string; config?: Record<string, unknown>; inbound_nodes?: unknown[] };
    const spec = layerSpec(l);
    const inboundNodes = (l.inbound_nodes ?? []).map((node) => {
      if (!Array.isArray(node) || !node.every((r) => Array.isArray(r) && typeof r[0] === 'string')) {
        throw unsupported(spec, 'inbound nodes in a format other than Keras 2 / TF.js ([layer, node, tensor] lists)');
      }
      return node as NodeRef[];
    });
    return { ...spec, inboundNodes };
  });
  return { name: c.name ?? '', layers, inputs: c.input_layers, outputs: c.output_layers };
}

// A Sequential model is a chain: give each layer one inbound node on the layer before it.
function sequentialTopology(config: unknown): Topology {
  const entries = (Array.isArray(config) ? config : (config as { layers?: unknown[] })?.layers) ?? [];
  const name = Array.isArray(config) ? '' : ((config as { name?: string })?.name ?? '');
  if (entries.length === 0) throw invalid('the Sequential model has no layers');
  const specs = entries.map((e) => layerSpec(e as { class_name?: string; name?: string; config?: Record<string, unknown> }));
  const layers: TopologyLayer[] = [];
  let previous: string;
  if (specs[0]!.className === 'InputLayer') {
    layers.push({ ...specs[0]!, inboundNodes: [] });
    previous = specs[0]!.name;
  } else {
    const shape = specs[0]!.config.batch_input_shape;
    previous = `${specs[0]!.name}_input`;
    layers.push({ className: 'InputLayer', name: previous, config: { batch_input_shape: shape }, inboundNodes: [] });
  }
  for (const spec of specs.slice(layers[0]!.name === specs[0]!.name ? 1 : 0)) {
    layers.push({ ...spec, inboundNodes: [[[previous, 0, 0]]] });
    previous = spec.name;
  }
  return { name, layers, inputs: [[layers[0]!.name, 0, 0]], outputs: [[previous, 0, 0]] };
}

function layerSpec(l: { class_name?: string; name?: string; config?: Record<string, unknown> }): LayerSpec {
  const config = l.config ?? {};
  const name = l.name ?? (typeof config.name === 'string' ? config.name : undefined);
  if (typeof l.class_name !== 'string' || !name) throw invalid(`a layer without class_name or name: ${JSON.stringify(l).slice(0, 200)}`);
  if (['Model', 'Functional', 'Sequential'].includes(l.class_name)) {
    throw unsupported({ className: l.class_name, name, config }, 'a nested model (flatten it into one functional model first)');
  }
  return { className: l.class_name, name, config };
}

// Weights are named "<layer>/<weight>" (possibly under an outer scope or with a ":0" suffix).
function findWeight(weights: Map<string, Weight>, layer: LayerSpec, suffix: string): Weight {
  const wanted = `${layer.name}/${suffix}`;
  const exact = weights.get(wanted) ?? weights.get(`${wanted}:0`);
  if (exact) return exact;
  for (const [name, w] of weights) {
    const bare = name.replace(/:0$/, '');
    if (bare.endsWith(`/${wanted}`)) return w;
  }
  throw new CloudsegError('MODEL_LOAD_FAILED', `layer ${layer.name} (${layer.className}): weight ${wanted} is not in the weights manifest`);
}

function invalid(message: string): CloudsegError {
  return new CloudsegError('MODEL_LOAD_FAILED', `cannot export the model to ONNX: ${message}`);
}
