// What an ONNX file says about itself, read with onnx-proto before any runtime sees it: its inputs
// and outputs (names, element types, dims), its opset, the op that makes each output (a Softmax or
// Sigmoid says the output is already a probability) and the external data files its weights name.
// A file that is not ONNX, or is cut short, fails here with a typed error instead of a runtime trace.
import onnxProto from 'onnx-proto';
import { CloudsegError } from '../../../errors.js';

const { onnx } = onnxProto;

/** A dimension: a fixed size, a symbolic name (dynamic), or null when the file leaves it blank. */
export type GraphDim = number | string | null;

export interface GraphValue {
  name: string;
  /** ONNX element type name: float, int64, uint8, ... */
  elemType: string;
  /** null: the file declares no shape. */
  dims: GraphDim[] | null;
}

export interface ExternalDataRef {
  tensor: string;
  /** Path relative to the model file, as the file writes it. */
  location: string;
  offset: number;
  /** null: to the end of the file. */
  length: number | null;
}

export interface OnnxGraphDescription {
  irVersion: number;
  /** The default-domain opset, null when the file imports none. */
  opset: number | null;
  producer: string;
  /** Graph inputs that are real inputs (initializers listed as inputs by old exporters left out). */
  inputs: GraphValue[];
  outputs: GraphValue[];
  /** For each output, the op type of the node that writes it (null when an input or initializer does). */
  outputOps: Record<string, string | null>;
  externalData: ExternalDataRef[];
}

/** Reads the description of an ONNX ModelProto; `label` names the file in errors. */
export function describeOnnxGraph(bytes: Uint8Array, label: string): OnnxGraphDescription {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw notOnnx(label, `it does not decode as an ONNX ModelProto (${(err as Error).message}; truncated or another format?)`, err);
  }
  const graph = model.graph;
  const nodes = graph?.node ?? [];
  const outputs = graph?.output ?? [];
  // Protobuf decodes many byte strings without complaint: an ONNX model has an IR version and a graph with outputs.
  if (!graph || Number(model.irVersion) <= 0 || outputs.length === 0 || nodes.length === 0) {
    throw notOnnx(label, 'it holds no ONNX graph (no IR version, nodes or outputs)');
  }
  const tensors = graph.initializer ?? [];
  const initializers = new Set(tensors.map((t) => t.name));
  const writers = new Map<string, string>();
  for (const node of nodes) for (const out of node.output ?? []) writers.set(out, node.opType ?? '');
  const opset = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  return {
    irVersion: Number(model.irVersion),
    opset: opset ? Number(opset.version) : null,
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    inputs: (graph.input ?? []).filter((v) => !initializers.has(v.name)).map(graphValue),
    outputs: outputs.map(graphValue),
    outputOps: Object.fromEntries(outputs.map((v) => [v.name ?? '', writers.get(v.name ?? '') ?? null])),
    externalData: tensors.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL).map(externalRef),
  };
}

/** "[n, 4, h, w]" for messages. */
export function formatDims(dims: GraphDim[] | null): string {
  return dims ? `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]` : '(no shape)';
}

function graphValue(v: onnxProto.onnx.IValueInfoProto): GraphValue {
  const tensor = v.type?.tensorType;
  const elemType = tensor ? (onnx.TensorProto.DataType[tensor.elemType ?? 0] ?? String(tensor.elemType)).toLowerCase() : 'not-a-tensor';
  const dims = tensor?.shape
    ? (tensor.shape.dim ?? []).map((d): GraphDim => (d.dimParam ? d.dimParam : d.dimValue !== undefined && d.dimValue !== null && Number(d.dimValue) > 0 ? Number(d.dimValue) : null))
    : null;
  return { name: v.name ?? '', elemType, dims };
}

function externalRef(t: onnxProto.onnx.ITensorProto): ExternalDataRef {
  const entries = new Map((t.externalData ?? []).map((e) => [e.key, e.value ?? '']));
  return {
    tensor: t.name ?? '',
    location: entries.get('location') ?? '',
    offset: Number(entries.get('offset') ?? 0),
    length: entries.has('length') ? Number(entries.get('length')) : null,
  };
}

function notOnnx(label: string, why: string, cause?: unknown): CloudsegError {
  return new CloudsegError('MODEL_LOAD_FAILED', `${label} is not a usable ONNX model: ${why}`, cause ? { cause } : {});
}
