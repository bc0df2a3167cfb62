// One converter per Keras/TF.js layer class: it appends the ONNX nodes that compute the layer on
// NCHW tensors (the graph transposes the NHWC input once at the start) and returns the output name.
// Semantics follow what TF.js computes for the same config, since TF.js is the engine we must match.
import { CloudsegError } from '../../../errors.js';
import type { Weight } from './layers-weights.js';
import type { AttributeValue, OnnxGraphBuilder } from '../onnx-export/onnx-graph.js';

export interface LayerSpec {
  className: string;
  name: string;
  config: Record<string, unknown>;
}

export interface ConvertContext {
  g: OnnxGraphBuilder;
  layer: LayerSpec;
  inputs: string[];
  /** The layer's weight `<layer>/<suffix>`; throws when a required one is missing. */
  weight(suffix: string): Weight;
}

type Converter = (ctx: ConvertContext) => string;

/** Thrown for a layer (or a setting of one) the exporter does not cover; `auto` then falls back to TF.js. */
export function unsupported(layer: LayerSpec, what: string): CloudsegError {
  return new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `layer ${layer.name} (${layer.className}): ${what}`, {
    details: { layer: layer.name, className: layer.className },
  });
}

// NHWC axis of a rank-4 Keras tensor -> the same axis in NCHW.
function nchwAxis(layer: LayerSpec, axis: number): number {
  if (!Number.isInteger(axis) || axis < -4 || axis > 3) throw unsupported(layer, `axis ${axis} of a rank-4 tensor`);
  return [0, 2, 3, 1][(axis + 4) % 4]!;
}

function pair(layer: LayerSpec, key: string, fallback?: [number, number]): [number, number] {
  const v = layer.config[key] ?? fallback;
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => Number.isInteger(x))) return [v[0] as number, v[1] as number];
  if (v === undefined || v === null) {
    if (fallback) return fallback;
  }
  throw unsupported(layer, `${key} ${JSON.stringify(v)} is not one or two integers`);
}

function channelsLast(layer: LayerSpec): void {
  const format = layer.config.data_format;
  if (format !== undefined && format !== null && format !== 'channels_last') throw unsupported(layer, `data_format ${String(format)} (only channels_last)`);
}

function padding(layer: LayerSpec): 'same' | 'valid' {
  const p = layer.config.padding ?? 'valid';
  if (p !== 'same' && p !== 'valid') throw unsupported(layer, `padding ${String(p)}`);
  return p;
}

/**
 * Attributes for TF's SAME/VALID on a conv or pool window. With stride 1 SAME pads are known
 * without the input size ((k-1)*d split, the extra one at the end); with strides they depend on it
 * and ONNX's SAME_UPPER computes the same split at run time (ONNX Runtime refuses SAME_* with
 * dilation, but TF refuses strides with dilation, so that case never arises).
 */
function windowPads(layer: LayerSpec, kernel: [number, number], strides: [number, number], dilations: [number, number]): Record<string, AttributeValue> {
  if (padding(layer) === 'valid') return {};
  if (strides[0] === 1 && strides[1] === 1) {
    const total = kernel.map((k, i) => (k - 1) * dilations[i]!);
    const begin = total.map((t) => Math.floor(t / 2));
    return { pads: { ints: [begin[0]!, begin[1]!, total[0]! - begin[0]!, total[1]! - begin[1]!] } };
  }
  if (dilations[0] !== 1 || dilations[1] !== 1) throw unsupported(layer, 'strides > 1 together with dilation > 1');
  return { auto_pad: { string: 'SAME_UPPER' } };
}

// Keras kernel [kh, kw, cin, cout] -> ONNX Conv weight [cout, cin, kh, kw].
function convKernel(w: Weight): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, cout] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) out[((o * cin + i) * kh + y) * kw + x] = w.values[((y * kw + x) * cin + i) * cout + o]!;
  return { dims: [cout, cin, kh, kw], values: out };
}

// Keras depthwise kernel [kh, kw, cin, multiplier] -> grouped ONNX Conv weight [cin*multiplier, 1, kh, kw].
function depthwiseKernel(w: Weight): { dims: number[]; values: Float32Array } {
  const [kh, kw, cin, dm] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < cin; i++)
        for (let m = 0; m < dm; m++) out[((i * dm + m) * kh + y) * kw + x] = w.values[((y * kw + x) * cin + i) * dm + m]!;
  return { dims: [cin * dm, 1, kh, kw], values: out };
}

// Keras transposed-conv kernel [kh, kw, cout, cin] -> ONNX ConvTranspose weight [cin, cout, kh, kw].
function transposeKernel(w: Weight): { dims: number[]; values: Float32Array } {
  const [kh, kw, cout, cin] = w.shape as [number, number, number, number];
  const out = new Float32Array(w.values.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let o = 0; o < cout; o++)
        for (let i = 0; i < cin; i++) out[((i * cout + o) * kh + y) * kw + x] = w.values[((y * kw + x) * cout + o) * cin + i]!;
  return { dims: [cin, cout, kh, kw], values: out };
}

function checkRank(layer: LayerSpec, w: Weight, rank: number): void {
  if (w.shape.length !== rank) throw unsupported(layer, `weight ${w.name} has shape [${w.shape.join(', ')}], expected rank ${rank}`);
}

function bias(ctx: ConvertContext): string | null {
  if (ctx.layer.config.use_bias === false) return null;
  const b = ctx.weight('bias');
  return ctx.g.floatTensor(`${ctx.layer.name}/bias`, [b.values.length], b.values);
}

/** Applies a Keras activation by name (a layer's `activation` setting or an Activation layer). */
export function activation(g: OnnxGraphBuilder, layer: LayerSpec, x: string, name: unknown): string {
  const hint = `${layer.name}/act`;
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x], hint);
    case 'relu6':
      return g.op('Clip', [x, g.scalarFloat(`${hint}/min`, 0), g.scalarFloat(`${hint}/max`, 6)], hint);
    case 'sigmoid':
      return g.op('Sigmoid', [x], hint);
    case 'tanh':
      return g.op('Tanh', [x], hint);
    case 'softmax':
      return g.op('Softmax', [x], hint, { axis: { int: 1 } });
    case 'elu':
      return g.op('Elu', [x], hint, { alpha: { float: 1 } });
    case 'selu':
      return g.op('Selu', [x], hint, { alpha: { float: 1.6732632423543772 }, gamma: { float: 1.0507009873554805 } });
    case 'softplus':
      return g.op('Softplus', [x], hint);
    case 'softsign':
      return g.op('Softsign', [x], hint);
    case 'hard_sigmoid':
    case 'hardSigmoid':
      // TF.js: clip(0.2 x + 0.5, 0, 1), which is ONNX HardSigmoid with these constants.
      return g.op('HardSigmoid', [x], hint, { alpha: { float: 0.2 }, beta: { float: 0.5 } });
    case 'swish':
      return g.op('Mul', [x, g.op('Sigmoid', [x], `${hint}/sigmoid`)], hint);
    case 'exponential':
      return g.op('Exp', [x], hint);
    default:
      throw unsupported(layer, `activation ${JSON.stringify(name)}`);
  }
}

function conv2d(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  channelsLast(layer);
  if (layer.config.groups !== undefined && layer.config.groups !== 1) throw unsupported(layer, `groups ${String(layer.config.groups)}`);
  const kernel = ctx.weight('kernel');
  checkRank(layer, kernel, 4);
  const k = convKernel(kernel);
  const size: [number, number] = [kernel.shape[0]!, kernel.shape[1]!];
  const strides = pair(layer, 'strides', [1, 1]);
  const dilations = pair(layer, 'dilation_rate', [1, 1]);
  const inputs = [ctx.inputs[0]!, g.floatTensor(`${layer.name}/kernel`, k.dims, k.values)];
  const b = bias(ctx);
  if (b) inputs.push(b);
  const y = g.op('Conv', inputs, layer.name, {
    kernel_shape: { ints: size },
    strides: { ints: strides },
    dilations: { ints: dilations },
    ...windowPads(layer, size, strides, dilations),
  });
  return activation(g, layer, y, layer.config.activation);
}

function depthwise(ctx: ConvertContext, x: string, kernelWeight: Weight, withBias: boolean): string {
  const { g, layer } = ctx;
  checkRank(layer, kernelWeight, 4);
  const k = depthwiseKernel(kernelWeight);
  const size: [number, number] = [kernelWeight.shape[0]!, kernelWeight.shape[1]!];
  const strides = pair(layer, 'strides', [1, 1]);
  const dilations = pair(layer, 'dilation_rate', [1, 1]);
  const inputs = [x, g.floatTensor(`${layer.name}/depthwise_kernel`, k.dims, k.values)];
  const b = withBias ? bias(ctx) : null;
  if (b) inputs.push(b);
  return g.op('Conv', inputs, `${layer.name}/depthwise`, {
    group: { int: kernelWeight.shape[2]! },
    kernel_shape: { ints: size },
    strides: { ints: strides },
    dilations: { ints: dilations },
    ...windowPads(layer, size, strides, dilations),
  });
}

function depthwiseConv2d(ctx: ConvertContext): string {
  channelsLast(ctx.layer);
  // TF.js 4.x's DepthwiseConv2D serialises dilation_rate but computes without it (a TODO in its
  // call()), so a dilated graph would disagree with the TF.js engine: refuse, and `auto` stays on TF.js.
  const dilations = pair(ctx.layer, 'dilation_rate', [1, 1]);
  if (dilations[0] !== 1 || dilations[1] !== 1) throw unsupported(ctx.layer, `dilation_rate ${JSON.stringify(dilations)} (TF.js ignores it for DepthwiseConv2D)`);
  const y = depthwise(ctx, ctx.inputs[0]!, ctx.weight('depthwise_kernel'), true);
  return activation(ctx.g, ctx.layer, y, ctx.layer.config.activation);
}

// SeparableConv2D = depthwise (grouped Conv, no bias) then a 1x1 pointwise Conv carrying the bias.
function separableConv2d(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  channelsLast(layer);
  const d = depthwise(ctx, ctx.inputs[0]!, ctx.weight('depthwise_kernel'), false);
  const pointwise = ctx.weight('pointwise_kernel');
  checkRank(layer, pointwise, 4);
  const k = convKernel(pointwise);
  const inputs = [d, g.floatTensor(`${layer.name}/pointwise_kernel`, k.dims, k.values)];
  const b = bias(ctx);
  if (b) inputs.push(b);
  const y = g.op('Conv', inputs, `${layer.name}/pointwise`, { kernel_shape: { ints: [1, 1] } });
  return activation(g, layer, y, layer.config.activation);
}

/**
 * Conv2DTranspose as TF.js computes it: output size in*s ('same') or in*s + max(k-s, 0) ('valid'),
 * cropped by TF's SAME split of (k - s) (the extra pixel at the end); a negative crop becomes
 * output padding at the end.
 */
function conv2dTranspose(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  channelsLast(layer);
  if (layer.config.output_padding !== undefined && layer.config.output_padding !== null) throw unsupported(layer, 'output_padding');
  const dilations = pair(layer, 'dilation_rate', [1, 1]);
  if (dilations[0] !== 1 || dilations[1] !== 1) throw unsupported(layer, 'dilation_rate > 1');
  const kernel = ctx.weight('kernel');
  checkRank(layer, kernel, 4);
  const k = transposeKernel(kernel);
  const size: [number, number] = [kernel.shape[0]!, kernel.shape[1]!];
  const strides = pair(layer, 'strides', [1, 1]);
  const same = padding(layer) === 'same';
  const crop = size.map((kSize, i) => (same ? kSize - strides[i]! : Math.min(0, kSize - strides[i]!)));
  const begin = crop.map((c) => (c > 0 ? Math.floor(c / 2) : 0));
  const end = crop.map((c, i) => (c > 0 ? c - begin[i]! : 0));
  const outputPadding = crop.map((c) => (c < 0 ? -c : 0));
  const inputs = [ctx.inputs[0]!, g.floatTensor(`${layer.name}/kernel`, k.dims, k.values)];
  const b = bias(ctx);
  if (b) inputs.push(b);
  const y = g.op('ConvTranspose', inputs, layer.name, {
    kernel_shape: { ints: size },
    strides: { ints: strides },
    pads: { ints: [begin[0]!, begin[1]!, end[0]!, end[1]!] },
    output_padding: { ints: outputPadding },
  });
  return activation(g, layer, y, layer.config.activation);
}

// Dense on a rank-4 tensor acts on the channel axis: a 1x1 convolution.
function dense(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  const kernel = ctx.weight('kernel');
  checkRank(layer, kernel, 2);
  const [cin, cout] = kernel.shape as [number, number];
  const k = convKernel({ ...kernel, shape: [1, 1, cin, cout] });
  const inputs = [ctx.inputs[0]!, g.floatTensor(`${layer.name}/kernel`, k.dims, k.values)];
  const b = bias(ctx);
  if (b) inputs.push(b);
  const y = g.op('Conv', inputs, layer.name, { kernel_shape: { ints: [1, 1] } });
  return activation(g, layer, y, layer.config.activation);
}

function batchNormalization(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  const axisSetting = layer.config.axis ?? -1;
  const axes = Array.isArray(axisSetting) ? axisSetting : [axisSetting];
  if (axes.length !== 1 || nchwAxis(layer, axes[0] as number) !== 1) throw unsupported(layer, `axis ${JSON.stringify(axisSetting)} (only the channel axis)`);
  const mean = ctx.weight('moving_mean');
  const variance = ctx.weight('moving_variance');
  const channels = mean.values.length;
  const gamma = layer.config.scale === false ? new Float32Array(channels).fill(1) : ctx.weight('gamma').values;
  const beta = layer.config.center === false ? new Float32Array(channels) : ctx.weight('beta').values;
  const epsilon = typeof layer.config.epsilon === 'number' ? layer.config.epsilon : 1e-3;
  return g.op(
    'BatchNormalization',
    [
      ctx.inputs[0]!,
      g.floatTensor(`${layer.name}/gamma`, [channels], gamma),
      g.floatTensor(`${layer.name}/beta`, [channels], beta),
      g.floatTensor(`${layer.name}/moving_mean`, [channels], mean.values),
      g.floatTensor(`${layer.name}/moving_variance`, [channels], variance.values),
    ],
    layer.name,
    { epsilon: { float: epsilon } },
  );
}

function pooling(opType: 'MaxPool' | 'AveragePool'): Converter {
  return (ctx) => {
    const { layer } = ctx;
    channelsLast(layer);
    const size = pair(layer, 'pool_size', [2, 2]);
    const strides = layer.config.strides === null || layer.config.strides === undefined ? size : pair(layer, 'strides');
    // TF's average pool leaves the padding out of the count: ONNX count_include_pad = 0 (its default).
    return ctx.g.op(opType, [ctx.inputs[0]!], layer.name, {
      kernel_shape: { ints: size },
      strides: { ints: strides },
      ...windowPads(layer, size, strides, [1, 1]),
    });
  };
}

// TF.js resizes with align_corners = false and half_pixel_centers = false: ONNX 'asymmetric'.
function upSampling2d(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  channelsLast(layer);
  const [sh, sw] = pair(layer, 'size', [2, 2]);
  const interpolation = layer.config.interpolation ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') throw unsupported(layer, `interpolation ${String(interpolation)}`);
  const scales = g.floatTensor(`${layer.name}/scales`, [4], Float32Array.of(1, 1, sh, sw));
  return g.op('Resize', [ctx.inputs[0]!, '', scales], layer.name, {
    mode: { string: interpolation === 'nearest' ? 'nearest' : 'linear' },
    coordinate_transformation_mode: { string: 'asymmetric' },
    ...(interpolation === 'nearest' ? { nearest_mode: { string: 'floor' } } : {}),
  });
}

// ((top, bottom), (left, right)) from an int, a pair, or a pair of pairs.
function spatialAmounts(layer: LayerSpec, key: string): [number, number, number, number] {
  const v = layer.config[key];
  const bad = () => unsupported(layer, `${key} ${JSON.stringify(v)}`);
  if (typeof v === 'number') return [v, v, v, v];
  if (!Array.isArray(v) || v.length !== 2) throw bad();
  if (v.every((x) => typeof x === 'number')) return [v[0], v[0], v[1], v[1]] as [number, number, number, number];
  const [h, w] = v as unknown[];
  if (Array.isArray(h) && Array.isArray(w) && h.length === 2 && w.length === 2) return [h[0], h[1], w[0], w[1]] as [number, number, number, number];
  throw bad();
}

function zeroPadding2d(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  channelsLast(layer);
  const [top, bottom, left, right] = spatialAmounts(layer, 'padding');
  const pads = g.int64Tensor(`${layer.name}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
  return g.op('Pad', [ctx.inputs[0]!, pads], layer.name, { mode: { string: 'constant' } });
}

function cropping2d(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  channelsLast(layer);
  const [top, bottom, left, right] = spatialAmounts(layer, 'cropping');
  const open = 2 ** 31 - 1; // "to the end" for a Slice end
  const starts = g.int64Tensor(`${layer.name}/starts`, [top, left]);
  const ends = g.int64Tensor(`${layer.name}/ends`, [bottom ? -bottom : open, right ? -right : open]);
  const axes = g.int64Tensor(`${layer.name}/axes`, [2, 3]);
  return g.op('Slice', [ctx.inputs[0]!, starts, ends, axes], layer.name);
}

function concatenate(ctx: ConvertContext): string {
  const axis = nchwAxis(ctx.layer, typeof ctx.layer.config.axis === 'number' ? ctx.layer.config.axis : -1);
  return ctx.g.op('Concat', ctx.inputs, ctx.layer.name, { axis: { int: axis } });
}

// Keras merge layers take two or more inputs; ONNX Sum/Mean/Max/Min are variadic, Mul/Sub binary.
function merge(opType: 'Sum' | 'Mul' | 'Sub' | 'Mean' | 'Max' | 'Min'): Converter {
  return ({ g, layer, inputs }) => {
    if (inputs.length < 2) throw unsupported(layer, `needs at least two inputs, got ${inputs.length}`);
    if (opType === 'Sub' && inputs.length !== 2) throw unsupported(layer, 'Subtract takes exactly two inputs');
    if (opType === 'Mul' || opType === 'Sub') return inputs.slice(1).reduce((acc, x, i) => g.op(opType, [acc, x], `${layer.name}_${i}`), inputs[0]!);
    return g.op(opType, inputs, layer.name);
  };
}

function reluLayer(ctx: ConvertContext): string {
  const { g, layer } = ctx;
  for (const key of ['negative_slope', 'threshold'] as const) {
    const v = layer.config[key];
    if (v !== undefined && v !== null && v !== 0) throw unsupported(layer, `${key} ${String(v)}`);
  }
  const y = g.op('Relu', [ctx.inputs[0]!], layer.name);
  const max = layer.config.max_value;
  if (max === undefined || max === null) return y;
  if (typeof max !== 'number') throw unsupported(layer, `max_value ${JSON.stringify(max)}`);
  return g.op('Clip', [y, g.scalarFloat(`${layer.name}/min`, 0), g.scalarFloat(`${layer.name}/max`, max)], `${layer.name}/clip`);
}

function numberSetting(layer: LayerSpec, key: string, fallback: number): number {
  const v = layer.config[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw unsupported(layer, `${key} ${JSON.stringify(v)}`);
  return v;
}

// Training-time regularisers: identity at inference, no node at all.
const identity: Converter = (ctx) => ctx.inputs[0]!;

const CONVERTERS: Record<string, Converter> = {
  Conv2D: conv2d,
  Convolution2D: conv2d,
  SeparableConv2D: separableConv2d,
  SeparableConvolution2D: separableConv2d,
  DepthwiseConv2D: depthwiseConv2d,
  Conv2DTranspose: conv2dTranspose,
  Deconvolution2D: conv2dTranspose,
  Dense: dense,
  BatchNormalization: batchNormalization,
  Activation: (ctx) => activation(ctx.g, ctx.layer, ctx.inputs[0]!, ctx.layer.config.activation),
  ReLU: reluLayer,
  LeakyReLU: (ctx) => ctx.g.op('LeakyRelu', [ctx.inputs[0]!], ctx.layer.name, { alpha: { float: numberSetting(ctx.layer, 'alpha', 0.3) } }),
  ELU: (ctx) => ctx.g.op('Elu', [ctx.inputs[0]!], ctx.layer.name, { alpha: { float: numberSetting(ctx.layer, 'alpha', 1) } }),
  Softmax: (ctx) => ctx.g.op('Softmax', [ctx.inputs[0]!], ctx.layer.name, { axis: { int: nchwAxis(ctx.layer, numberSetting(ctx.layer, 'axis', -1)) } }),
  MaxPooling2D: pooling('MaxPool'),
  MaxPool2D: pooling('MaxPool'),
  AveragePooling2D: pooling('AveragePool'),
  AvgPool2D: pooling('AveragePool'),
  UpSampling2D: upSampling2d,
  ZeroPadding2D: zeroPadding2d,
  Cropping2D: cropping2d,
  Concatenate: concatenate,
  Add: merge('Sum'),
  Multiply: merge('Mul'),
  Subtract: merge('Sub'),
  Average: merge('Mean'),
  Maximum: merge('Max'),
  Minimum: merge('Min'),
  Dropout: identity,
  SpatialDropout2D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
};

/** The layer classes the exporter covers (besides InputLayer). */
export const EXPORTABLE_LAYERS = Object.keys(CONVERTERS).sort();

export function convertLayer(ctx: ConvertContext): string {
  const converter = CONVERTERS[ctx.layer.className];
  if (!converter) throw unsupported(ctx.layer, `no ONNX export for this layer class (exportable: ${EXPORTABLE_LAYERS.join(', ')})`);
  if (ctx.inputs.length !== 1 && !['Concatenate', 'Add', 'Multiply', 'Subtract', 'Average', 'Maximum', 'Minimum'].includes(ctx.layer.className)) {
    throw unsupported(ctx.layer, `takes one input, got ${ctx.inputs.length}`);
  }
  return converter(ctx);
}
