// The TensorFlow graph -> ONNX converter: turns a frozen SavedModel signature (this folder's
// reader) into an ONNX graph (opset 13) with the same contract as the Layers exporter — input
// `input` NHWC float32, output `probability` [n, h, w] — so ONNX Runtime runs a registered
// SavedModel. Tensors stay NHWC as in TensorFlow; convolutions and pools are wrapped in transposes
// to ONNX's NCHW, which ONNX Runtime's transpose optimizer cancels between neighbours. TF's int32
// shape arithmetic runs in int64, ONNX's shape type. An op without a converter is
// MODEL_EXPORT_UNSUPPORTED naming it.
import { addOutputHead, type HeadCard } from '../onnx-export/output-head.js';
import { CloudsegError } from '../../../errors.js';
import type { FrozenGraph, FrozenNode, TensorRef } from './frozen-graph.js';
import type { AttrValue } from './tf-protos.js';
import { INPUT_NAME, OUTPUT_NAME, type ExportedGraph } from '../onnx-export/exported-graph.js';
import { OnnxGraphBuilder, type AttributeValue } from '../onnx-export/onnx-graph.js';

/** Bumped whenever the converter's output changes, so cached graphs of older converters are not reused. */
export const CONVERTER_VERSION = 1;

const DT_FLOAT = 1;
const ONNX_FLOAT = 1;
const ONNX_INT64 = 7;
const INT64_MAX = Number.MAX_SAFE_INTEGER; // Slice clamps: "to the end" needs no more than this
const TO_NCHW = { perm: { ints: [0, 3, 1, 2] } };
const TO_NHWC = { perm: { ints: [0, 2, 3, 1] } };

type Kind = 'float' | 'int64';
interface Value {
  name: string;
  kind: Kind;
}

interface Context {
  g: OnnxGraphBuilder;
  node: FrozenNode;
  /** Input i, converted on first use (an input read only as a constant attribute never becomes an initializer). */
  input(i: number): Value;
  /** How many inputs the node has. */
  count: number;
  /** The values of a constant input (TF int32 constants as numbers), or null when it is computed. */
  constInput(i: number): { shape: number[]; values: ArrayLike<number> } | null;
}

type Converter = (c: Context) => Value;

const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Exp: 'Exp', Neg: 'Neg', Abs: 'Abs', Sqrt: 'Sqrt', Elu: 'Elu', Softplus: 'Softplus', Floor: 'Floor' };
const BINARY: Record<string, string> = { AddV2: 'Add', Add: 'Add', BiasAdd: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min', Pow: 'Pow' };

const CONVERTERS: Record<string, Converter> = {
  ...Object.fromEntries(Object.entries(UNARY).map(([tf, onnx]) => [tf, (c: Context) => float(c.g.op(onnx, [c.input(0).name], c.node.name))])),
  ...Object.fromEntries(
    Object.entries(BINARY).map(([tf, onnx]) => [
      tf,
      (c: Context) => {
        if (tf === 'BiasAdd') nhwcOnly(c);
        return { name: c.g.op(onnx, [c.input(0).name, c.input(1).name], c.node.name), kind: c.input(0).kind };
      },
    ]),
  ),
  Rsqrt: (c) => float(c.g.op('Reciprocal', [c.g.op('Sqrt', [c.input(0).name], `${c.node.name}/sqrt`)], c.node.name)),
  Square: (c) => float(c.g.op('Mul', [c.input(0).name, c.input(0).name], c.node.name)),
  Relu6: (c) => float(c.g.op('Clip', [c.input(0).name, c.g.scalarFloat(`${c.node.name}/min`, 0), c.g.scalarFloat(`${c.node.name}/max`, 6)], c.node.name)),
  LeakyRelu: (c) => float(c.g.op('LeakyRelu', [c.input(0).name], c.node.name, { alpha: { float: attrFloat(c.node, 'alpha', 0.2) } })),
  Softmax: (c) => float(c.g.op('Softmax', [c.input(0).name], c.node.name, { axis: { int: -1 } })),
  Conv2D: (c) => {
    nhwcOnly(c);
    const weights = c.g.op('Transpose', [c.input(1).name], `${c.node.name}/filter_oihw`, { perm: { ints: [3, 2, 0, 1] } });
    return nchwOp(c, 'Conv', [weights], convAttributes(c));
  },
  DepthwiseConv2dNative: (c) => {
    nhwcOnly(c);
    const filter = c.constInput(1);
    if (!filter || filter.shape.length !== 4) throw unsupported(c.node, 'a depthwise filter that is not a constant of rank 4');
    const [kh, kw, channels, multiplier] = filter.shape as [number, number, number, number];
    // [kh, kw, c, m] -> [kh, kw, 1, c*m] -> ONNX's grouped [c*m, 1, kh, kw]
    const flat = c.g.op('Reshape', [c.input(1).name, c.g.int64Tensor(`${c.node.name}/filter_shape`, [kh, kw, 1, channels * multiplier])], `${c.node.name}/filter_flat`);
    const weights = c.g.op('Transpose', [flat], `${c.node.name}/filter_oihw`, { perm: { ints: [3, 2, 0, 1] } });
    return nchwOp(c, 'Conv', [weights], { ...convAttributes(c), group: { int: channels } });
  },
  Conv2DBackpropInput: (c) => {
    nhwcOnly(c);
    const padding = attrString(c.node, 'padding');
    if (padding !== 'SAME' && padding !== 'VALID') throw unsupported(c.node, `padding ${padding}`);
    const [sizes, filter, dy] = [c.input(0), c.input(1), c.input(2)];
    // TF [kh, kw, out_channels, in_channels] -> ONNX ConvTranspose [in_channels, out_channels, kh, kw]
    const weights = c.g.op('Transpose', [filter.name], `${c.node.name}/filter_iohw`, { perm: { ints: [3, 2, 0, 1] } });
    const { strides, dilations } = convAttributes(c);
    const x = c.g.op('Transpose', [dy.name], `${c.node.name}/nchw`, TO_NCHW);
    const full = c.g.op('Transpose', [c.g.op('ConvTranspose', [x, weights], `${c.node.name}/full`, { strides: strides!, dilations: dilations! })], `${c.node.name}/full_nhwc`, TO_NHWC);
    // The full (unpadded) result cropped to input_sizes as TF pads: SAME drops floor(excess/2)
    // in front, VALID nothing (an output larger than the full result would need zero padding: refused below).
    const fullShape = c.g.op('Shape', [full], `${c.node.name}/full_shape`);
    const excess = c.g.op('Sub', [fullShape, sizes.name], `${c.node.name}/excess`);
    const begin = padding === 'SAME' ? c.g.op('Div', [excess, c.g.int64Tensor(`${c.node.name}/two`, [2], [])], `${c.node.name}/begin`) : c.g.op('Mul', [excess, c.g.int64Tensor(`${c.node.name}/zero`, [0], [])], `${c.node.name}/begin`);
    const end = c.g.op('Add', [begin, sizes.name], `${c.node.name}/end`);
    const kernel = c.constInput(1)?.shape;
    const s = strides as { ints: number[] };
    if (kernel && (kernel[0]! < s.ints[0]! || kernel[1]! < s.ints[1]!)) throw unsupported(c.node, `a ${kernel[0]}x${kernel[1]} kernel smaller than its stride`);
    return float(c.g.op('Slice', [full, begin, end], c.node.name));
  },
  MaxPool: (c) => pool(c, 'MaxPool'),
  AvgPool: (c) => pool(c, 'AveragePool'),
  FusedBatchNormV3: (c) => fusedBatchNorm(c),
  FusedBatchNorm: (c) => fusedBatchNorm(c),
  ConcatV2: (c) => {
    const axis = c.constInput(c.count - 1);
    if (!axis) throw unsupported(c.node, 'a computed axis');
    const values = Array.from({ length: c.count - 1 }, (_, i) => c.input(i));
    return { name: c.g.op('Concat', values.map((v) => v.name), c.node.name, { axis: { int: Number(axis.values[0]) } }), kind: values[0]!.kind };
  },
  Reshape: (c) => ({ name: c.g.op('Reshape', [c.input(0).name, c.input(1).name], c.node.name), kind: c.input(0).kind }),
  Squeeze: (c) => {
    const dims = c.node.attr.squeeze_dims?.list?.i ?? [];
    const inputs = dims.length > 0 ? [c.input(0).name, c.g.int64Tensor(`${c.node.name}/axes`, dims)] : [c.input(0).name];
    return { name: c.g.op('Squeeze', inputs, c.node.name), kind: c.input(0).kind };
  },
  ExpandDims: (c) => ({ name: c.g.op('Unsqueeze', [c.input(0).name, c.input(1).name], c.node.name), kind: c.input(0).kind }),
  Shape: (c) => ({ name: c.g.op('Shape', [c.input(0).name], c.node.name), kind: 'int64' }),
  StridedSlice: (c) => stridedSlice(c),
  Pack: (c) => {
    const axis = attrInt(c.node, 'axis', 0);
    const values = Array.from({ length: c.count }, (_, i) => c.input(i));
    const parts = values.map((v, i) => c.g.op('Unsqueeze', [v.name, c.g.int64Tensor(`${c.node.name}/axis${i}`, [axis])], `${c.node.name}/item${i}`));
    return { name: c.g.op('Concat', parts, c.node.name, { axis: { int: axis } }), kind: values[0]!.kind };
  },
  Cast: (c) => {
    const to = c.node.attr.DstT?.type;
    const kind: Kind = to === DT_FLOAT ? 'float' : 'int64';
    return { name: c.g.op('Cast', [c.input(0).name], c.node.name, { to: { int: kind === 'float' ? ONNX_FLOAT : ONNX_INT64 } }), kind };
  },
};

/** The TensorFlow ops the converter handles (besides Placeholder and Const). */
export const CONVERTIBLE_OPS: readonly string[] = Object.keys(CONVERTERS);

/** The ONNX graph of a frozen signature with the card's output head. */
export function convertFrozenGraph(graph: FrozenGraph, head: HeadCard): ExportedGraph {
  const [input] = graph.inputs;
  const [output] = graph.outputs;
  if (graph.inputs.length !== 1 || graph.outputs.length !== 1 || !input || !output) {
    throw new CloudsegError('INTERNAL', `convertFrozenGraph wants one input and one output, got ${graph.inputs.length} and ${graph.outputs.length}`);
  }
  if (input.dtype !== DT_FLOAT) throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `input ${input.key} is not float32 (TensorFlow dtype ${input.dtype})`);
  if (input.shape.length !== 4) {
    throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `input ${input.key} has shape [${input.shape.join(', ')}]; an image model takes [batch, height, width, bands]`);
  }
  const g = new OnnxGraphBuilder();
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const built = new Map<string, Value>();
  const opCounts: Record<string, number> = {};
  const inputName = g.reserve(INPUT_NAME);

  const constOf = (ref: TensorRef) => {
    const c = graph.consts.get(ref.node);
    return c && ref.index === 0 ? { shape: c.shape, values: c.data.values } : null;
  };

  // Converts what the output needs, inputs first (depth-first from the output).
  const valueOf = (ref: TensorRef): Value => {
    const key = `${ref.node}:${ref.index}`;
    const done = built.get(key);
    if (done) return done;
    const node = byName.get(ref.node);
    if (!node) throw new CloudsegError('MODEL_LOAD_FAILED', `the frozen graph has no node ${ref.node}`);
    if (ref.index !== 0) throw unsupported(node, `output ${ref.index} (only the first output of an op is converted)`);
    let value: Value;
    if (node.op === 'Placeholder') {
      if (node.name !== input.tensor.node) throw unsupported(node, 'a second input');
      value = float(inputName);
    } else if (node.op === 'Const') {
      const c = graph.consts.get(node.name)!;
      if (c.data.dtype === 'float32') value = float(g.floatTensor(node.name, c.shape, c.data.values));
      else if (c.data.dtype === 'int32') value = { name: g.int64Tensor(node.name, Array.from(c.data.values), c.shape), kind: 'int64' };
      else throw unsupported(node, `a ${c.data.dtype} constant`);
    } else {
      const convert = CONVERTERS[node.op];
      if (!convert) throw unsupported(node, 'no ONNX conversion for this op');
      const input = (i: number): Value => {
        const ref = node.inputs[i];
        if (!ref) throw unsupported(node, `input ${i} is missing`);
        return valueOf(ref);
      };
      value = convert({ g, node, input, count: node.inputs.length, constInput: (i) => (node.inputs[i] ? constOf(node.inputs[i]) : null) });
      opCounts[node.op] = (opCounts[node.op] ?? 0) + 1;
    }
    built.set(key, value);
    return value;
  };

  const modelOutput = valueOf(output.tensor);
  const { tensor: probability, dims } = addOutputHead(g, modelOutput.name, 3, head);
  g.rename(probability, g.reserve(OUTPUT_NAME));
  const channels = input.shape[3]! > 0 ? input.shape[3]! : null;
  const onnx = g.encode({
    graphName: `${graph.signature}`,
    docString: `converted by cloudseg from a SavedModel signature (${graph.producer})`,
    input: { name: INPUT_NAME, dims: ['n', 'h', 'w', channels ?? 'c'] },
    output: { name: OUTPUT_NAME, dims },
  });
  return { onnx, inputChannels: channels, layerCounts: opCounts };
}

function float(name: string): Value {
  return { name, kind: 'float' };
}

function unsupported(node: FrozenNode, what: string): CloudsegError {
  return new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `op ${node.op} (node ${node.name}): ${what}`, { details: { op: node.op, node: node.name } });
}

function attrString(node: FrozenNode, name: string): string | undefined {
  const v: AttrValue | undefined = node.attr[name];
  return v?.s ? Buffer.from(v.s).toString('latin1') : undefined;
}

function attrInt(node: FrozenNode, name: string, fallback: number): number {
  return node.attr[name]?.value === 'i' ? Number(node.attr[name]!.i) : fallback;
}

function attrFloat(node: FrozenNode, name: string, fallback: number): number {
  return node.attr[name]?.value === 'f' ? node.attr[name]!.f! : fallback;
}

function attrInts(node: FrozenNode, name: string): number[] | undefined {
  const v = node.attr[name];
  return v?.value === 'list' ? v.list!.i.map(Number) : undefined;
}

function nhwcOnly(c: Context): void {
  const format = attrString(c.node, 'data_format') ?? 'NHWC';
  if (format !== 'NHWC') throw unsupported(c.node, `data_format ${format} (only NHWC)`);
}

// Strides and dilations of a rank-4 NHWC op, and its padding as ONNX auto_pad / pads.
function convAttributes(c: Context): Record<string, AttributeValue> {
  const strides = attrInts(c.node, 'strides') ?? [1, 1, 1, 1];
  const dilations = attrInts(c.node, 'dilations') ?? [1, 1, 1, 1];
  if (strides[0] !== 1 || strides[3] !== 1) throw unsupported(c.node, `strides ${JSON.stringify(strides)} over batch or channels`);
  return { strides: { ints: [strides[1]!, strides[2]!] }, dilations: { ints: [dilations[1]!, dilations[2]!] }, ...paddingAttributes(c) };
}

function paddingAttributes(c: Context): Record<string, AttributeValue> {
  const padding = attrString(c.node, 'padding');
  // TF's SAME puts the odd padding pixel at the end, as ONNX's SAME_UPPER does.
  if (padding === 'SAME') return { auto_pad: { string: 'SAME_UPPER' } };
  if (padding === 'VALID') return { auto_pad: { string: 'VALID' } };
  if (padding === 'EXPLICIT') {
    const p = attrInts(c.node, 'explicit_paddings') ?? [];
    if (p.length !== 8) throw unsupported(c.node, 'explicit paddings that are not 4 pairs');
    return { pads: { ints: [p[2]!, p[4]!, p[3]!, p[5]!] } };
  }
  throw unsupported(c.node, `padding ${padding}`);
}

function nchwOp(c: Context, op: string, extraInputs: string[], attributes: Record<string, AttributeValue>): Value {
  const x = c.g.op('Transpose', [c.input(0).name], `${c.node.name}/nchw`, TO_NCHW);
  const y = c.g.op(op, [x, ...extraInputs], `${c.node.name}/${op}`, attributes);
  return float(c.g.op('Transpose', [y], c.node.name, TO_NHWC));
}

function pool(c: Context, op: 'MaxPool' | 'AveragePool'): Value {
  nhwcOnly(c);
  const ksize = attrInts(c.node, 'ksize') ?? [];
  if (ksize.length !== 4 || ksize[0] !== 1 || ksize[3] !== 1) throw unsupported(c.node, `ksize ${JSON.stringify(ksize)}`);
  const { strides, ...padding } = convAttributes(c);
  delete padding.dilations;
  // TF averages over the valid pixels only.
  const extra: Record<string, AttributeValue> = op === 'AveragePool' ? { count_include_pad: { int: 0 } } : {};
  return nchwOp(c, op, [], { kernel_shape: { ints: [ksize[1]!, ksize[2]!] }, strides: strides!, ...padding, ...extra });
}

// Inference batch norm on the channel axis of NHWC: y = x * a + b, a = scale / sqrt(var + eps),
// b = offset - mean * a (what TF computes, in its order of operations up to float rounding).
function fusedBatchNorm(c: Context): Value {
  nhwcOnly(c);
  const training = c.node.attr.is_training;
  if (training?.value === 'b' && training.b) throw unsupported(c.node, 'is_training=true');
  const [x, scale, offset, mean, variance] = [0, 1, 2, 3, 4].map((i) => c.input(i)) as [Value, Value, Value, Value, Value];
  const n = c.node.name;
  const eps = c.g.scalarFloat(`${n}/epsilon`, attrFloat(c.node, 'epsilon', 1e-4));
  const a = c.g.op('Mul', [scale.name, c.g.op('Reciprocal', [c.g.op('Sqrt', [c.g.op('Add', [variance.name, eps], `${n}/var_eps`)], `${n}/std`)], `${n}/inv_std`)], `${n}/a`);
  const b = c.g.op('Sub', [offset.name, c.g.op('Mul', [mean.name, a], `${n}/mean_a`)], `${n}/b`);
  return float(c.g.op('Add', [c.g.op('Mul', [x.name, a], `${n}/xa`), b], n));
}

// StridedSlice with constant begin/end/strides (what Keras emits to pick dims out of a Shape):
// begin/end masks open a range, shrink_axis drops the axis; ellipsis and new-axis masks are refused.
function stridedSlice(c: Context): Value {
  const [begin, end, strides] = [c.constInput(1), c.constInput(2), c.constInput(3)];
  if (!begin || !end || !strides) throw unsupported(c.node, 'computed begin, end or strides');
  for (const mask of ['ellipsis_mask', 'new_axis_mask']) {
    if (attrInt(c.node, mask, 0) !== 0) throw unsupported(c.node, `${mask}`);
  }
  const beginMask = attrInt(c.node, 'begin_mask', 0);
  const endMask = attrInt(c.node, 'end_mask', 0);
  const shrinkMask = attrInt(c.node, 'shrink_axis_mask', 0);
  const axes: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const steps: number[] = [];
  const shrink: number[] = [];
  for (let i = 0; i < begin.values.length; i++) {
    const step = Number(strides.values[i]);
    const bit = 1 << i;
    axes.push(i);
    steps.push(step);
    let start = beginMask & bit ? (step > 0 ? 0 : INT64_MAX) : Number(begin.values[i]);
    let stop = endMask & bit ? (step > 0 ? INT64_MAX : -INT64_MAX) : Number(end.values[i]);
    if (shrinkMask & bit) {
      // A shrunk axis takes exactly element `begin`.
      start = Number(begin.values[i]);
      stop = start === -1 ? INT64_MAX : start + 1;
      shrink.push(i);
    }
    starts.push(start);
    ends.push(stop);
  }
  const n = c.node.name;
  let y = c.g.op('Slice', [c.input(0).name, c.g.int64Tensor(`${n}/starts`, starts), c.g.int64Tensor(`${n}/ends`, ends), c.g.int64Tensor(`${n}/axes`, axes), c.g.int64Tensor(`${n}/steps`, steps)], shrink.length ? `${n}/slice` : n);
  if (shrink.length) y = c.g.op('Squeeze', [y, c.g.int64Tensor(`${n}/shrink`, shrink)], n);
  return { name: y, kind: c.input(0).kind };
}
