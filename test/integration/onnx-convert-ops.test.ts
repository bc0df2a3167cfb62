// The TensorFlow graph -> ONNX converter against TF.js's GraphModel executor: one small frozen graph
// per convertible op and setting (random constants, random odd-sized input, first and last output
// channel compared), and a check that every convertible op has a case here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { CONVERTIBLE_OPS, convertFrozenGraph } from '../../shared/model/formats/saved-model/convert-frozen-graph.js';
import type { ConstValues } from '../../shared/model/formats/saved-model/dtypes.js';
import type { FrozenConst, FrozenGraph, FrozenNode, TensorRef } from '../../shared/model/formats/saved-model/frozen-graph.js';
import { graphModelArtifacts } from '../../shared/model/formats/saved-model/graph-model.js';
import type { AttrValue } from '../../shared/model/formats/saved-model/tf-protos.js';
import { runOnnx, seededRandom, uniform } from '../support/layers-models.js';

await tf.setBackend('cpu');

const TOLERANCE = 1e-5;
const DT_FLOAT = 1;
const DT_INT32 = 3;
const INPUT: [number, number, number, number] = [1, 7, 9, 3];

// AttrValues in the decoded-proto form the frozen graph carries.
const emptyList = { s: [], i: [], f: [], b: [], type: [], shape: [], tensor: [], func: [] };
const ints = (...i: number[]): AttrValue => ({ value: 'list', list: { ...emptyList, i } });
const str = (s: string): AttrValue => ({ value: 's', s: new TextEncoder().encode(s) });
const int = (i: number): AttrValue => ({ value: 'i', i });
const flt = (f: number): AttrValue => ({ value: 'f', f });
const bool = (b: boolean): AttrValue => ({ value: 'b', b });
const dtype = (type: number): AttrValue => ({ value: 'type', type });
const T = { T: dtype(DT_FLOAT) };

class GraphBuilder {
  readonly nodes: FrozenNode[] = [{ name: 'x', op: 'Placeholder', inputs: [], attr: { dtype: dtype(DT_FLOAT) } }];
  readonly consts = new Map<string, FrozenConst>();
  readonly used = new Set<string>();
  private readonly rnd: () => number;
  constructor(seed: string) {
    this.rnd = seededRandom(seed);
  }
  private ref(name: string): TensorRef {
    const [node, index] = name.split(':');
    return { node: node!, index: Number(index ?? 0) };
  }
  const(name: string, shape: number[], data: ConstValues): string {
    this.nodes.push({ name, op: 'Const', inputs: [], attr: {} });
    this.consts.set(name, { shape, data });
    return name;
  }
  floats(name: string, shape: number[], low = -0.5, high = 0.5): string {
    return this.const(name, shape, { dtype: 'float32', values: uniform(this.rnd, shape.reduce((a, b) => a * b, 1), low, high) });
  }
  int32(name: string, values: number[], shape = [values.length]): string {
    return this.const(name, shape, { dtype: 'int32', values: Int32Array.from(values) });
  }
  op(op: string, inputs: string[], attr: Record<string, AttrValue> = {}): string {
    const name = `${op.toLowerCase()}_${this.nodes.length}`;
    this.nodes.push({ name, op, inputs: inputs.map((i) => this.ref(i)), attr });
    this.used.add(op);
    return name;
  }
  graph(output: string): FrozenGraph {
    return {
      nodes: this.nodes,
      consts: this.consts,
      inputs: [{ key: 'x', dtype: DT_FLOAT, shape: [-1, -1, -1, INPUT[3]], tensor: { node: 'x', index: 0 } }],
      outputs: [{ key: 'y', dtype: DT_FLOAT, shape: [-1, -1, -1, -1], tensor: this.ref(output) }],
      signature: 'serving_default',
      producer: 'test',
    };
  }
}

// As TensorFlow writes them after the OpDef defaults are restored (dilations included).
const conv = (strides: number[], padding: string, extra: Record<string, AttrValue> = {}) => ({ ...T, strides: ints(...strides), padding: str(padding), data_format: str('NHWC'), dilations: ints(1, 1, 1, 1), ...extra });

const CASES: { name: string; build: (b: GraphBuilder) => string }[] = [
  { name: 'Conv2D SAME stride 2 (odd sizes pad at the end)', build: (b) => b.op('Conv2D', ['x', b.floats('w', [3, 3, 3, 4])], conv([1, 2, 2, 1], 'SAME')) },
  { name: 'Conv2D VALID dilation 2 + BiasAdd', build: (b) => b.op('BiasAdd', [b.op('Conv2D', ['x', b.floats('w', [3, 3, 3, 4])], conv([1, 1, 1, 1], 'VALID', { dilations: ints(1, 2, 2, 1) })), b.floats('bias', [4])], { ...T, data_format: str('NHWC') }) },
  { name: 'DepthwiseConv2dNative SAME stride 2, multiplier 2', build: (b) => b.op('DepthwiseConv2dNative', ['x', b.floats('w', [3, 3, 3, 2])], conv([1, 2, 2, 1], 'SAME')) },
  { name: 'Conv2DBackpropInput SAME stride 2 kernel 3', build: (b) => b.op('Conv2DBackpropInput', [b.int32('sizes', [1, 14, 18, 4]), b.floats('w', [3, 3, 4, 3]), 'x'], conv([1, 2, 2, 1], 'SAME')) },
  { name: 'Conv2DBackpropInput VALID stride 2 kernel 2', build: (b) => b.op('Conv2DBackpropInput', [b.int32('sizes', [1, 14, 18, 4]), b.floats('w', [2, 2, 4, 3]), 'x'], conv([1, 2, 2, 1], 'VALID')) },
  {
    // Keras' transposed convolution: input_sizes computed from the input's shape.
    name: 'Conv2DBackpropInput with Shape/StridedSlice/Pack sizes',
    build: (b) => {
      const shape = b.op('Shape', ['x'], { T: dtype(DT_FLOAT), out_type: dtype(DT_INT32) });
      const dim = (i: number) => b.op('StridedSlice', [shape, b.int32(`b${i}`, [i]), b.int32(`e${i}`, [i + 1]), b.int32(`s${i}`, [1])], { T: dtype(DT_INT32), Index: dtype(DT_INT32), shrink_axis_mask: int(1) });
      const two = b.int32('two', [2], []);
      const sizes = b.op('Pack', [dim(0), b.op('Mul', [dim(1), two], { T: dtype(DT_INT32) }), b.op('Mul', [dim(2), two], { T: dtype(DT_INT32) }), b.int32('c', [5], [])], { T: dtype(DT_INT32), N: int(4), axis: int(0) });
      return b.op('Conv2DBackpropInput', [sizes, b.floats('w', [3, 3, 5, 3]), 'x'], conv([1, 2, 2, 1], 'SAME'));
    },
  },
  { name: 'MaxPool SAME 3x3 stride 2', build: (b) => b.op('MaxPool', ['x'], { ...T, ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') }) },
  { name: 'AvgPool SAME 3x3 stride 2 (padding not counted)', build: (b) => b.op('AvgPool', ['x'], { ...T, ksize: ints(1, 3, 3, 1), strides: ints(1, 2, 2, 1), padding: str('SAME'), data_format: str('NHWC') }) },
  { name: 'AvgPool VALID 2x2', build: (b) => b.op('AvgPool', ['x'], { ...T, ksize: ints(1, 2, 2, 1), strides: ints(1, 2, 2, 1), padding: str('VALID'), data_format: str('NHWC') }) },
  ...(['FusedBatchNormV3', 'FusedBatchNorm'] as const).map((op) => ({
    name: `${op} (inference)`,
    build: (b: GraphBuilder) =>
      b.op(op, ['x', b.floats('scale', [3], 0.5, 1.5), b.floats('offset', [3]), b.floats('mean', [3]), b.floats('var', [3], 0.5, 1.5)], { ...T, U: dtype(DT_FLOAT), epsilon: flt(0.001), is_training: bool(false), data_format: str('NHWC') }),
  })),
  { name: 'decomposed batch norm (Rsqrt, Mul, Sub, AddV2)', build: (b) => b.op('AddV2', [b.op('Mul', ['x', b.op('Rsqrt', [b.op('AddV2', [b.floats('var', [3], 0.5, 1.5), b.floats('eps', [], 0.001, 0.001)], T)], T)], T), b.op('Sub', [b.floats('beta', [3]), b.floats('m', [3])], T)], T) },
  ...['Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Exp', 'Neg', 'Abs', 'Elu', 'Softplus', 'Floor', 'Square', 'Softmax'].map((op) => ({ name: op, build: (b: GraphBuilder) => b.op(op, [b.op('Mul', ['x', b.floats('k', [], 7, 7)], T)], T) })),
  { name: 'LeakyRelu alpha 0.3', build: (b) => b.op('LeakyRelu', ['x'], { ...T, alpha: flt(0.3) }) },
  { name: 'Sqrt of Abs', build: (b) => b.op('Sqrt', [b.op('Abs', ['x'], T)], T) },
  ...['Add', 'AddV2', 'Sub', 'Mul', 'RealDiv', 'Maximum', 'Minimum'].map((op) => ({ name: `${op} with a broadcast constant`, build: (b: GraphBuilder) => b.op(op, ['x', b.floats('k', [3], 0.5, 1.5)], T) })),
  { name: 'Pow', build: (b) => b.op('Pow', [b.op('Abs', ['x'], T), b.floats('k', [3], 1, 3)], T) },
  { name: 'ConcatV2 on channels', build: (b) => b.op('ConcatV2', ['x', b.op('Relu', ['x'], T), b.int32('axis', [-1], [])], { ...T, N: int(2), Tidx: dtype(DT_INT32) }) },
  {
    name: 'StridedSlice with begin/end masks and a negative end',
    build: (b) => b.op('StridedSlice', ['x', b.int32('b', [0, 1, 0, 0]), b.int32('e', [0, 0, -1, 0]), b.int32('s', [1, 1, 1, 1])], { ...T, Index: dtype(DT_INT32), begin_mask: int(0b1101), end_mask: int(0b1011) }),
  },
  { name: 'Reshape, ExpandDims and Squeeze', build: (b) => b.op('Squeeze', [b.op('ExpandDims', [b.op('Reshape', ['x', b.int32('shape', [-1, 9, 7, 3])], T), b.int32('axis', [4], [])], T)], { ...T, squeeze_dims: ints(4) }) },
  { name: 'Cast float -> int32 (truncating) -> float', build: (b) => b.op('Cast', [b.op('Cast', [b.op('Mul', ['x', b.floats('k', [], 5, 5)], T)], { SrcT: dtype(DT_FLOAT), DstT: dtype(DT_INT32) })], { SrcT: dtype(DT_INT32), DstT: dtype(DT_FLOAT) }) },
];

const covered = new Set<string>();

for (const c of CASES) {
  test(`converted to ONNX, ${c.name} matches TF.js`, async () => {
    const b = new GraphBuilder(c.name);
    const graph = b.graph(c.build(b));
    for (const op of b.used) covered.add(op);
    const x = uniform(seededRandom(`${c.name}/x`), INPUT.reduce((a, v) => a * v, 1), -1, 1);
    const model = await tf.loadGraphModel(tf.io.fromMemory(graphModelArtifacts(graph)));
    const y = model.predict(tf.tensor4d(x, INPUT)) as tf.Tensor4D;
    const [n, h, w, channels] = y.shape;
    const expected = (await y.data()) as Float32Array;
    tf.dispose(y);
    model.dispose();
    for (const channel of new Set([0, channels - 1])) {
      const onnx = convertFrozenGraph(graph, { output: { activation: 'sigmoid', cloudChannel: channel } });
      const out = await runOnnx(onnx.onnx, x, [...INPUT]);
      assert.deepEqual(out.dims, [n, h, w], `channel ${channel}: output shape`);
      let worst = 0;
      for (let i = 0; i < n * h * w; i++) {
        const ref = expected[i * channels + channel]!;
        worst = Math.max(worst, Math.abs(out.data[i]! - ref) / Math.max(1, Math.abs(ref)));
      }
      assert.ok(worst <= TOLERANCE, `channel ${channel}: worst relative difference ${worst}`);
    }
  });
}

test('every convertible op has a case here', () => {
  const missing = CONVERTIBLE_OPS.filter((op) => !covered.has(op));
  assert.deepEqual(missing, []);
});
