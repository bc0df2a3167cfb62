// The TF.js Layers -> ONNX exporter against TF.js itself: one tiny model per exportable layer class
// and setting (random weights, random odd-sized inputs, every output channel compared), the layers
// and settings it must refuse, and a check that every exportable class has a case here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CloudsegError } from '../../shared/errors.js';
import { exportLayersModel } from '../../shared/model/formats/tfjs-layers/export-layers-model.js';
import { EXPORTABLE_LAYERS } from '../../shared/model/formats/tfjs-layers/layer-converters.js';
import type { ModelArtifacts } from '../../shared/model/formats/tfjs-layers/layers-artifacts.js';
import { QUANTISED_DTYPES, quantiseArtifacts, randomiseWeights, runOnnx, saveArtifacts, seededRandom, uniform } from '../support/layers-models.js';

await tf.setBackend('cpu');

const L = tf.layers;
type Sym = tf.SymbolicTensor;
type Shape = [n: number, h: number, w: number, c: number];
type LayerJson = { class_name: string; config: Record<string, unknown> };

/** |onnx - tfjs| <= TOLERANCE, relative to the value once it exceeds 1. */
const TOLERANCE = 1e-5;

interface ExportCase {
  name: string;
  /** The comparison batch, NHWC; the model's input leaves height and width open unless `fixedSize`. */
  input: Shape;
  fixedSize?: boolean;
  /** The network on the symbolic input (functional API)... */
  net?: (x: Sym) => Sym;
  /** ...or a whole model (Sequential). */
  model?: (input: Shape) => tf.LayersModel;
  /**
   * Edits the serialised layers before export: Keras class aliases and layers or settings a Keras
   * import can carry but TF.js cannot build. `expected` then computes what the edited model does from
   * TF.js's output `y` and, where needed, TF.js's value of an intermediate tensor of the same model.
   */
  rewrite?: (layers: LayerJson[]) => void;
  expected?: (y: tf.Tensor, valueOf: (t: Sym) => tf.Tensor) => tf.Tensor;
}

const on = (layer: tf.layers.Layer, ...xs: Sym[]): Sym => layer.apply(xs.length === 1 ? xs[0]! : xs) as Sym;
const conv = (x: Sym, filters: number, extra: Record<string, unknown> = {}): Sym =>
  on(L.conv2d({ filters, kernelSize: 3, padding: 'same', ...extra }), x);

/** Renames every layer of class `from` (there must be one) and merges `config` into its settings. */
function renameClass(from: string, to: string, config: Record<string, unknown> = {}): (layers: LayerJson[]) => void {
  return (layers) => {
    const hits = layers.filter((l) => l.class_name === from);
    assert.ok(hits.length > 0, `no ${from} layer to rename`);
    for (const l of hits) {
      l.class_name = to;
      Object.assign(l.config, config);
    }
  };
}

const ONE: Shape = [1, 13, 15, 3];
const TWO: Shape = [2, 15, 13, 3];

// TF.js's identifiers; hardSigmoid is serialised as Keras' hard_sigmoid.
const ACTIVATIONS = ['relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish', 'linear'] as const;

const CASES: ExportCase[] = [
  // Conv2D
  { name: 'Conv2D 3x3 valid, bias', input: TWO, net: (x) => on(L.conv2d({ filters: 4, kernelSize: 3 }), x) },
  { name: 'Conv2D 3x3 same, relu', input: ONE, net: (x) => conv(x, 4, { activation: 'relu' }) },
  { name: 'Conv2D 4x4 same (even kernel)', input: ONE, net: (x) => conv(x, 3, { kernelSize: 4 }) },
  { name: 'Conv2D 3x3 same stride 2, odd input, sigmoid', input: [1, 13, 17, 3], net: (x) => conv(x, 4, { strides: 2, activation: 'sigmoid' }) },
  { name: 'Conv2D 3x3 same stride 2, even input (padding 0 before, 1 after)', input: [1, 14, 16, 3], net: (x) => conv(x, 4, { strides: 2 }) },
  { name: 'Conv2D 4x4 same stride 2, odd input (padding 1 before, 2 after)', input: [1, 13, 15, 3], net: (x) => conv(x, 3, { kernelSize: 4, strides: 2 }) },
  { name: 'Conv2D 3x3 valid stride 2, tanh', input: TWO, net: (x) => on(L.conv2d({ filters: 4, kernelSize: 3, strides: 2, activation: 'tanh' }), x) },
  { name: 'Conv2D 3x5 strides (2, 1) same', input: ONE, net: (x) => conv(x, 3, { kernelSize: [3, 5], strides: [2, 1] }) },
  { name: 'Conv2D dilation 2 same, no bias, elu', input: ONE, net: (x) => conv(x, 4, { dilationRate: 2, useBias: false, activation: 'elu' }) },
  { name: 'Conv2D dilation (2, 3) valid, swish', input: [1, 16, 17, 3], net: (x) => on(L.conv2d({ filters: 3, kernelSize: 3, dilationRate: [2, 3], activation: 'swish' }), x) },
  { name: 'Conv2D 1x1 no bias, softmax', input: ONE, net: (x) => on(L.conv2d({ filters: 3, kernelSize: 1, useBias: false, activation: 'softmax' }), x) },
  { name: 'Convolution2D (Keras alias)', input: ONE, net: (x) => conv(x, 3), rewrite: renameClass('Conv2D', 'Convolution2D') },

  // SeparableConv2D
  { name: 'SeparableConv2D multiplier 1 same, relu', input: ONE, net: (x) => on(L.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), x) },
  { name: 'SeparableConv2D multiplier 2 valid', input: TWO, net: (x) => on(L.separableConv2d({ filters: 4, kernelSize: 3, depthMultiplier: 2 }), x) },
  { name: 'SeparableConv2D multiplier 1 same stride 2', input: [1, 14, 17, 3], net: (x) => on(L.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), x) },
  { name: 'SeparableConv2D multiplier 2 valid stride 2, no bias', input: ONE, net: (x) => on(L.separableConv2d({ filters: 3, kernelSize: 3, depthMultiplier: 2, strides: 2, useBias: false }), x) },
  { name: 'SeparableConv2D dilation 2 same', input: ONE, net: (x) => on(L.separableConv2d({ filters: 3, kernelSize: 3, dilationRate: 2, padding: 'same' }), x) },
  { name: 'SeparableConvolution2D (Keras alias)', input: ONE, net: (x) => on(L.separableConv2d({ filters: 3, kernelSize: 3, padding: 'same' }), x), rewrite: renameClass('SeparableConv2D', 'SeparableConvolution2D') },

  // DepthwiseConv2D
  { name: 'DepthwiseConv2D same, relu6', input: ONE, net: (x) => on(L.depthwiseConv2d({ kernelSize: 3, padding: 'same', activation: 'relu6' }), x) },
  { name: 'DepthwiseConv2D multiplier 2 valid stride 2', input: TWO, net: (x) => on(L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2 }), x) },
  { name: 'DepthwiseConv2D same stride 2, no bias', input: [1, 16, 13, 3], net: (x) => on(L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x) },

  // Conv2DTranspose
  ...([2, 3, 1, 4] as const).flatMap((k) =>
    (['same', 'valid'] as const).map(
      (padding): ExportCase => ({
        name: `Conv2DTranspose kernel ${k} stride 2 ${padding}`,
        input: [1, 7, 9, 3],
        net: (x) => on(L.conv2dTranspose({ filters: 3, kernelSize: k, strides: 2, padding }), x),
      }),
    ),
  ),
  { name: 'Conv2DTranspose kernel 3 stride 1 same, no bias, relu', input: ONE, net: (x) => on(L.conv2dTranspose({ filters: 4, kernelSize: 3, padding: 'same', useBias: false, activation: 'relu' }), x) },
  { name: 'Conv2DTranspose kernel (3, 2) strides (2, 3) valid', input: TWO, net: (x) => on(L.conv2dTranspose({ filters: 2, kernelSize: [3, 2], strides: [2, 3] }), x) },
  { name: 'Deconvolution2D (Keras alias)', input: [1, 7, 9, 3], net: (x) => on(L.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 'same' }), x), rewrite: renameClass('Conv2DTranspose', 'Deconvolution2D') },

  // BatchNormalization (random moving statistics, gamma and beta)
  { name: 'BatchNormalization', input: TWO, net: (x) => on(L.batchNormalization({}), conv(x, 4)) },
  { name: 'BatchNormalization center false', input: ONE, net: (x) => on(L.batchNormalization({ center: false }), x) },
  { name: 'BatchNormalization scale false, epsilon 0.01', input: ONE, net: (x) => on(L.batchNormalization({ scale: false, epsilon: 0.01 }), x) },
  { name: 'BatchNormalization center and scale false', input: ONE, net: (x) => on(L.batchNormalization({ center: false, scale: false }), x) },

  // Activations
  ...ACTIVATIONS.map((activation): ExportCase => ({ name: `Activation ${activation}`, input: ONE, net: (x) => on(L.activation({ activation }), x) })),
  {
    name: 'Activation exponential (not in TF.js: tf.exp of a linear model)',
    input: ONE,
    net: (x) => on(L.activation({ activation: 'linear' }), x),
    rewrite: (layers) => Object.assign(layers.find((l) => l.class_name === 'Activation')!.config, { activation: 'exponential' }),
    expected: (y) => tf.exp(y),
  },
  { name: 'ReLU', input: ONE, net: (x) => on(L.reLU({}), x) },
  { name: 'ReLU max_value 0.3', input: ONE, net: (x) => on(L.reLU({ maxValue: 0.3 }), x) },
  { name: 'LeakyReLU (alpha 0.3)', input: ONE, net: (x) => on(L.leakyReLU({}), x) },
  { name: 'LeakyReLU alpha 0.05', input: ONE, net: (x) => on(L.leakyReLU({ alpha: 0.05 }), x) },
  { name: 'ELU', input: ONE, net: (x) => on(L.elu({}), x) },
  // TF.js's Softmax layer defaults to axis 1, which its softmax op cannot compute on rank 4.
  { name: 'Softmax layer axis -1', input: TWO, net: (x) => on(L.softmax({ axis: -1 }), conv(x, 4)) },

  // Pooling
  ...(['MaxPooling2D', 'AveragePooling2D'] as const).flatMap((cls) => {
    const pool = (args: Parameters<typeof L.maxPooling2d>[0]) => (cls === 'MaxPooling2D' ? L.maxPooling2d(args) : L.averagePooling2d(args));
    const cases: [string, Parameters<typeof L.maxPooling2d>[0], Shape][] = [
      ['pool 2 (strides = pool) valid, odd input', { poolSize: 2 }, TWO],
      ['pool 2 same, odd input', { poolSize: 2, padding: 'same' }, ONE],
      ['pool 3 stride 2 same, odd input', { poolSize: 3, strides: 2, padding: 'same' }, ONE],
      ['pool 3 stride 2 same, even input', { poolSize: 3, strides: 2, padding: 'same' }, [2, 14, 16, 3]],
      ['pool 3 stride 2 valid', { poolSize: 3, strides: 2 }, ONE],
      ['pool 3 stride 1 same', { poolSize: 3, strides: 1, padding: 'same' }, ONE],
      ['pool 2 stride 1 same (padding 0 before, 1 after)', { poolSize: 2, strides: 1, padding: 'same' }, ONE],
      ['pool (2, 3) strides (1, 2) same', { poolSize: [2, 3], strides: [1, 2], padding: 'same' }, [1, 14, 15, 3]],
    ];
    return cases.map(([what, args, input]): ExportCase => ({ name: `${cls} ${what}`, input, net: (x) => on(pool(args), x) }));
  }),
  { name: 'MaxPool2D (Keras alias)', input: ONE, net: (x) => on(L.maxPooling2d({ poolSize: 2 }), x), rewrite: renameClass('MaxPooling2D', 'MaxPool2D') },
  { name: 'AvgPool2D (Keras alias)', input: ONE, net: (x) => on(L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x), rewrite: renameClass('AveragePooling2D', 'AvgPool2D') },

  // UpSampling2D
  ...(['nearest', 'bilinear'] as const).flatMap((interpolation) =>
    ([2, [2, 3]] as const).map(
      (size): ExportCase => ({
        name: `UpSampling2D ${interpolation} size ${JSON.stringify(size)}`,
        input: [1, 7, 9, 3],
        net: (x) => on(L.upSampling2d({ size: typeof size === 'number' ? [size, size] : [...size], interpolation }), x),
      }),
    ),
  ),

  // Padding and cropping
  { name: 'ZeroPadding2D 1', input: ONE, net: (x) => on(L.zeroPadding2d({ padding: 1 }), x) },
  { name: 'ZeroPadding2D (1, 2)', input: ONE, net: (x) => on(L.zeroPadding2d({ padding: [1, 2] }), x) },
  { name: 'ZeroPadding2D ((0, 1), (2, 3))', input: ONE, net: (x) => on(L.zeroPadding2d({ padding: [[0, 1], [2, 3]] }), x) },
  { name: 'Cropping2D 1', input: ONE, net: (x) => on(L.cropping2D({ cropping: 1 }), x) },
  { name: 'Cropping2D (1, 2)', input: ONE, net: (x) => on(L.cropping2D({ cropping: [1, 2] }), x) },
  { name: 'Cropping2D ((0, 1), (2, 0))', input: ONE, net: (x) => on(L.cropping2D({ cropping: [[0, 1], [2, 0]] }), x) },

  // Merges: three inputs where Keras allows more than two, the raw input among them
  { name: 'Concatenate channels', input: ONE, net: (x) => on(L.concatenate({}), x, conv(x, 2), conv(x, 1)) },
  { name: 'Concatenate height (axis 1)', input: ONE, net: (x) => on(L.concatenate({ axis: 1 }), x, conv(x, 3)) },
  { name: 'Concatenate width (axis 2)', input: ONE, net: (x) => on(L.concatenate({ axis: 2 }), conv(x, 3), x) },
  { name: 'Add', input: TWO, net: (x) => on(L.add(), x, conv(x, 3), conv(x, 3)) },
  { name: 'Multiply', input: ONE, net: (x) => on(L.multiply(), x, conv(x, 3), conv(x, 3)) },
  subtractCase(),
  { name: 'Average', input: ONE, net: (x) => on(L.average(), x, conv(x, 3), conv(x, 3)) },
  { name: 'Maximum', input: ONE, net: (x) => on(L.maximum(), x, conv(x, 3)) },
  { name: 'Minimum', input: ONE, net: (x) => on(L.minimum(), x, conv(x, 3), conv(x, 3)) },

  // Dense on a rank-4 tensor (the channel axis)
  { name: 'Dense on 4-D input, relu', input: TWO, net: (x) => on(L.dense({ units: 4, activation: 'relu' }), x) },
  { name: 'Dense on 4-D input, no bias, softmax', input: ONE, net: (x) => on(L.dense({ units: 3, useBias: false, activation: 'softmax' }), x) },

  // Training-time layers: identity at inference
  { name: 'Dropout', input: ONE, net: (x) => on(L.dropout({ rate: 0.5 }), conv(x, 3)) },
  { name: 'SpatialDropout2D (not in TF.js: a renamed Dropout)', input: ONE, net: (x) => on(L.dropout({ rate: 0.5 }), conv(x, 3)), rewrite: renameClass('Dropout', 'SpatialDropout2D', { data_format: 'channels_last' }) },
  { name: 'GaussianNoise', input: ONE, net: (x) => on(L.gaussianNoise({ stddev: 1 }), conv(x, 3)) },
  { name: 'GaussianDropout', input: ONE, net: (x) => on(L.gaussianDropout({ rate: 0.5 }), conv(x, 3)) },
  { name: 'AlphaDropout', input: ONE, net: (x) => on(L.alphaDropout({ rate: 0.5 }), conv(x, 3)) },
  { name: 'ActivityRegularization (not in TF.js: a renamed Dropout)', input: ONE, net: (x) => on(L.dropout({ rate: 0.5 }), conv(x, 3)), rewrite: renameClass('Dropout', 'ActivityRegularization', { l1: 0.01, l2: 0.01 }) },

  // Whole models
  {
    name: 'Sequential (no InputLayer entry)',
    input: [2, 13, 15, 3],
    fixedSize: true,
    model: ([, h, w, c]) =>
      tf.sequential({
        layers: [
          L.conv2d({ inputShape: [h, w, c], filters: 4, kernelSize: 3, padding: 'same' }),
          L.batchNormalization({}),
          L.activation({ activation: 'relu' }),
          L.maxPooling2d({ poolSize: 2, padding: 'same' }),
          L.upSampling2d({ size: [2, 2] }),
          L.cropping2D({ cropping: [[0, 1], [0, 1]] }),
          L.conv2d({ filters: 2, kernelSize: 1, activation: 'sigmoid' }),
        ],
      }),
  },
  {
    name: 'Sequential with an InputLayer, open size',
    input: ONE,
    model: ([, , , c]) =>
      tf.sequential({
        layers: [L.inputLayer({ inputShape: [null, null, c] }), L.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), L.conv2d({ filters: 2, kernelSize: 1 })],
      }),
  },
  {
    name: 'a shared layer called twice',
    input: ONE,
    net: (x) => {
      const shared = L.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'tanh' });
      const once = on(shared, x);
      return on(L.add(), once, on(shared, on(L.batchNormalization({}), once)));
    },
  },
  { name: 'small U-Net (even size)', input: [2, 16, 16, 3], net: (x) => uNet(x, 'transpose') },
  { name: 'small U-Net (odd size: bilinear up-sampling, zero padding)', input: [1, 15, 17, 3], net: (x) => uNet(x, 'bilinear') },
];

// TF.js has no Subtract layer: an Add renamed, its reference the difference of the Add's inputs.
function subtractCase(): ExportCase {
  let parts: [Sym, Sym] | undefined;
  return {
    name: 'Subtract (not in TF.js: a renamed Add)',
    input: ONE,
    net: (x) => {
      parts = [conv(x, 3), x];
      return on(L.add(), ...parts);
    },
    rewrite: renameClass('Add', 'Subtract'),
    expected: (_y, valueOf) => tf.sub(valueOf(parts![0]), valueOf(parts![1])),
  };
}

/** Two levels: conv-BN-relu blocks, a max-pool, up again, the skip concatenated, a softmax head. */
function uNet(x: Sym, up: 'transpose' | 'bilinear'): Sym {
  const block = (t: Sym, filters: number) => on(L.activation({ activation: 'relu' }), on(L.batchNormalization({}), conv(t, filters, { useBias: false })));
  const skip = block(x, 6);
  let deep = on(L.maxPooling2d({ poolSize: 2 }), skip);
  deep = on(L.dropout({ rate: 0.2 }), block(deep, 8));
  let upped: Sym;
  if (up === 'transpose') {
    upped = on(L.conv2dTranspose({ filters: 6, kernelSize: 2, strides: 2, padding: 'same' }), deep);
  } else {
    // 15 x 17 -> 7 x 8 -> 14 x 16: pad back to the skip's size.
    upped = on(L.zeroPadding2d({ padding: [[0, 1], [0, 1]] }), on(L.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }), deep));
  }
  const merged = on(L.concatenate({}), skip, upped);
  const features = on(L.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }), merged);
  return on(L.conv2d({ filters: 2, kernelSize: 1, activation: 'softmax' }), features);
}

interface Prepared {
  artifacts: ModelArtifacts;
  input: Float32Array;
  /** TF.js's output, NHWC. */
  reference: Float32Array;
  referenceShape: number[];
  layerCounts: Record<string, number>;
}

const prepared = new Map<string, Promise<Prepared>>();

/** Builds, randomises and serialises a case's model, with TF.js's output on its input (once per case). */
function prepare(c: ExportCase): Promise<Prepared> {
  let p = prepared.get(c.name);
  if (!p) {
    p = build(c);
    prepared.set(c.name, p);
  }
  return p;
}

async function build(c: ExportCase): Promise<Prepared> {
  const rnd = seededRandom(c.name);
  const [n, h, w, channels] = c.input;
  let model: tf.LayersModel;
  if (c.model) {
    model = c.model(c.input);
  } else {
    const x = tf.input({ shape: c.fixedSize ? [h, w, channels] : [null, null, channels] });
    model = tf.model({ inputs: x, outputs: c.net!(x) });
  }
  randomiseWeights(model, rnd);
  const artifacts = await saveArtifacts(model);
  if (c.rewrite) {
    const topology = artifacts.modelTopology as { config: { layers: LayerJson[] } };
    c.rewrite(topology.config.layers);
  }
  const input = uniform(rnd, n * h * w * channels, -1, 1);
  const y = tf.tidy(() => {
    const batch = tf.tensor(input, c.input);
    const out = model.predict(batch) as tf.Tensor;
    const valueOf = (t: Sym) => tf.model({ inputs: model.inputs, outputs: t }).predict(batch) as tf.Tensor;
    return c.expected ? c.expected(out, valueOf) : out;
  });
  const reference = y.dataSync() as Float32Array;
  const referenceShape = y.shape;
  y.dispose();
  model.dispose();
  const { layerCounts } = exportLayersModel(artifacts, { output: { activation: 'sigmoid', cloudChannel: 0 } });
  return { artifacts, input, reference, referenceShape, layerCounts };
}

/** Exports with `cloudChannel` = channel and compares the graph's output with TF.js's (through a sigmoid for a linear head). */
async function compareChannel(p: Prepared, c: ExportCase, channel: number, activation: 'sigmoid' | 'linear'): Promise<void> {
  const { onnx } = exportLayersModel(p.artifacts, { output: { activation, cloudChannel: channel } });
  const { data, dims } = await runOnnx(onnx, p.input, c.input);
  const [n, h, w, channels] = p.referenceShape as Shape;
  assert.deepEqual(dims, [n, h, w], `channel ${channel}: output shape`);
  for (let i = 0; i < n * h * w; i++) {
    const raw = p.reference[i * channels + channel]!;
    const want = activation === 'linear' ? 1 / (1 + Math.exp(-raw)) : raw;
    const got = data[i]!;
    const error = Math.abs(got - want) / Math.max(1, Math.abs(want));
    if (!(error <= TOLERANCE)) {
      const [b, y, x] = [Math.floor(i / (h * w)), Math.floor(i / w) % h, i % w];
      assert.fail(`channel ${channel} (${activation} head) at [${b}, ${y}, ${x}]: onnx ${got}, tfjs ${want} (error ${error})`);
    }
  }
}

for (const c of CASES) {
  test(`exports ${c.name} as TF.js computes it`, async () => {
    const p = await prepare(c);
    const channels = p.referenceShape[3]!;
    assert.equal(p.referenceShape.length, 4);
    // A reference that is constant would let a wrong graph pass.
    assert.ok(Math.max(...p.reference) - Math.min(...p.reference) > 1e-3, 'the reference output is (nearly) constant');
    for (let channel = 0; channel < channels; channel++) await compareChannel(p, c, channel, 'sigmoid');
    await compareChannel(p, c, channels - 1, 'linear');
  });
}

test('every exportable layer class has a case above', async () => {
  const exercised = new Set<string>();
  for (const c of CASES) for (const cls of Object.keys((await prepare(c)).layerCounts)) exercised.add(cls);
  assert.deepEqual(
    EXPORTABLE_LAYERS.filter((cls) => !exercised.has(cls)),
    [],
    'exportable layer classes without a comparison case',
  );
});

// Registry models may be converted with --quantize_uint8/uint16/float16: the exporter must decode
// the shards to the values TF.js dequantises, so both engines run the same network.
for (const dtype of QUANTISED_DTYPES) {
  test(`exports a U-Net with ${dtype}-quantised weights as TF.js computes it`, async () => {
    const c = CASES.find((k) => k.name.startsWith('small U-Net (odd size'))!;
    const { artifacts: float32, input, reference: float32Reference } = await prepare(c);
    const artifacts = quantiseArtifacts(float32, dtype);
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    const y = tf.tidy(() => model.predict(tf.tensor(input, c.input)) as tf.Tensor);
    const p: Prepared = { artifacts, input, reference: y.dataSync() as Float32Array, referenceShape: y.shape, layerCounts: {} };
    y.dispose();
    model.dispose();
    assert.ok(p.reference.some((v, i) => v !== float32Reference[i]), 'quantising changed no output: the case would not test decoding');
    for (let channel = 0; channel < p.referenceShape[3]!; channel++) await compareChannel(p, c, channel, 'sigmoid');
  });
}

interface RefusedCase {
  name: string;
  /** The network on a [13, 15, 3] input (height and width fixed so Flatten/Reshape can be built). */
  net: (x: Sym) => Sym;
  rewrite?: (layers: LayerJson[]) => void;
  /** The layer the message must name, as `layer <name> (<class>)`, and what it must say. */
  layer: string;
  className: string;
  says?: RegExp;
}

const REFUSED: RefusedCase[] = [
  { name: 'Flatten', net: (x) => on(L.dense({ units: 2 }), on(L.flatten({ name: 'flat' }), x)), layer: 'flat', className: 'Flatten', says: /no ONNX export for this layer class/ },
  { name: 'Reshape', net: (x) => on(L.reshape({ targetShape: [15, 13, 3], name: 'reshape' }), x), layer: 'reshape', className: 'Reshape' },
  { name: 'Permute', net: (x) => on(L.permute({ dims: [2, 1, 3], name: 'permute' }), x), layer: 'permute', className: 'Permute' },
  { name: 'GlobalAveragePooling2D', net: (x) => on(L.globalAveragePooling2d({ name: 'gap' }), x), layer: 'gap', className: 'GlobalAveragePooling2D' },
  { name: 'LayerNormalization', net: (x) => on(L.layerNormalization({ name: 'ln' }), x), layer: 'ln', className: 'LayerNormalization' },
  { name: 'PReLU', net: (x) => on(L.prelu({ name: 'prelu' }), x), layer: 'prelu', className: 'PReLU' },
  { name: 'ThresholdedReLU', net: (x) => on(L.thresholdedReLU({ name: 'trelu' }), x), layer: 'trelu', className: 'ThresholdedReLU' },
  {
    name: 'Conv2D channels_first',
    net: (x) => on(L.conv2d({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst', name: 'cf' }), x),
    layer: 'cf',
    className: 'Conv2D',
    says: /data_format channels_first/,
  },
  {
    name: 'MaxPooling2D channels_first',
    net: (x) => on(L.maxPooling2d({ poolSize: 2, dataFormat: 'channelsFirst', name: 'pool_cf' }), x),
    layer: 'pool_cf',
    className: 'MaxPooling2D',
    says: /data_format channels_first/,
  },
  {
    name: 'DepthwiseConv2D dilation 2 (serialised, but TF.js computes without it)',
    net: (x) => on(L.depthwiseConv2d({ kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dw_dilated' }), x),
    layer: 'dw_dilated',
    className: 'DepthwiseConv2D',
    says: /dilation_rate \[2,2\]/,
  },
  { name: 'BatchNormalization over height', net: (x) => on(L.batchNormalization({ axis: 1, name: 'bn_h' }), x), layer: 'bn_h', className: 'BatchNormalization', says: /axis/ },
  { name: 'Softmax over two axes', net: (x) => on(L.softmax({ axis: [1, 2] as unknown as number, name: 'sm2' }), x), layer: 'sm2', className: 'Softmax', says: /axis/ },
  ...(['gelu', 'gelu_new', 'mish', 'logSoftmax'] as const).map(
    (activation): RefusedCase => ({
      name: `Activation ${activation}`,
      // logSoftmax is registered in TF.js but missing from its ActivationIdentifier type.
      net: (x) => on(L.activation({ activation: activation as 'gelu', name: 'act' }), x),
      layer: 'act',
      className: 'Activation',
      says: /activation "(gelu|gelu_new|mish|log_softmax)"/,
    }),
  ),
  { name: 'Conv2D with activation mish', net: (x) => conv(x, 2, { activation: 'mish', name: 'conv_mish' }), layer: 'conv_mish', className: 'Conv2D', says: /activation "mish"/ },
  {
    name: 'ReLU negative_slope (Keras setting TF.js lacks)',
    net: (x) => on(L.reLU({ name: 'leaky' }), x),
    rewrite: (layers) => Object.assign(layers.find((l) => l.class_name === 'ReLU')!.config, { negative_slope: 0.1 }),
    layer: 'leaky',
    className: 'ReLU',
    says: /negative_slope/,
  },
  {
    name: 'a nested model',
    net: (x) => {
      const inner = tf.input({ shape: [13, 15, 3] });
      return on(tf.model({ inputs: inner, outputs: conv(inner, 2), name: 'inner' }), x);
    },
    layer: 'inner',
    className: 'Model',
    says: /nested model/,
  },
];

for (const r of REFUSED) {
  test(`refuses ${r.name} with MODEL_EXPORT_UNSUPPORTED naming the layer`, async () => {
    const x = tf.input({ shape: [13, 15, 3] });
    const model = tf.model({ inputs: x, outputs: r.net(x) });
    const artifacts = await saveArtifacts(model);
    model.dispose();
    r.rewrite?.((artifacts.modelTopology as { config: { layers: LayerJson[] } }).config.layers);
    assert.throws(
      () => exportLayersModel(artifacts, { output: { activation: 'sigmoid', cloudChannel: 0 } }),
      (err: unknown) => {
        assert.ok(err instanceof CloudsegError, `not a CloudsegError: ${String(err)}`);
        assert.equal(err.code, 'MODEL_EXPORT_UNSUPPORTED');
        assert.match(err.message, new RegExp(`layer ${r.layer} \\(${r.className}\\)`));
        if (r.says) assert.match(err.message, r.says);
        return true;
      },
    );
  });
}
