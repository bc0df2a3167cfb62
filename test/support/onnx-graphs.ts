// Small ONNX graphs written with onnx-proto for the refusals the pipeline must make: two inputs, an
// integer input, a fixed tile size, a NaN output, weights in an external data file. Each is a real
// ModelProto that ONNX Runtime loads, so a refusal is cloudseg's own check, not a runtime accident.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type Dim = number | string;

interface GraphSpec {
  inputs: { name: string; elemType?: number; dims: Dim[] }[];
  outputs: { name: string; dims: Dim[] }[];
  nodes: onnxProto.onnx.INodeProto[];
  initializers?: onnxProto.onnx.ITensorProto[];
}

export function encodeGraph(spec: GraphSpec): Uint8Array {
  const valueInfo = (name: string, dims: Dim[], elemType: number = onnx.TensorProto.DataType.FLOAT) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'cloudseg-test',
      opsetImport: [{ domain: '', version: 17 }],
      graph: {
        name: 'test',
        node: spec.nodes,
        initializer: spec.initializers ?? [],
        input: spec.inputs.map((i) => valueInfo(i.name, i.dims, i.elemType)),
        output: spec.outputs.map((o) => valueInfo(o.name, o.dims)),
      },
    }),
  ).finish();
}

const node = (opType: string, input: string[], output: string[], attribute: onnxProto.onnx.IAttributeProto[] = []): onnxProto.onnx.INodeProto => ({
  opType,
  input,
  output,
  name: `${opType}_${output[0]}`,
  attribute,
});

/** image [n, 4, h, w] -> mean over bands [n, 1, h, w] (a one-channel "model" with real arithmetic). */
export function meanOfBands(dims: Dim[] = ['n', 4, 'h', 'w']): Uint8Array {
  return encodeGraph({
    inputs: [{ name: 'image', dims }],
    outputs: [{ name: 'score', dims: [dims[0]!, 1, dims[2]!, dims[3]!] }],
    nodes: [node('ReduceMean', ['image'], ['score'], [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }, { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 }])],
  });
}

/** Two image inputs added together. */
export function twoInputs(): Uint8Array {
  return encodeGraph({
    inputs: [
      { name: 'image', dims: ['n', 4, 'h', 'w'] },
      { name: 'mask', dims: ['n', 4, 'h', 'w'] },
    ],
    outputs: [{ name: 'score', dims: ['n', 4, 'h', 'w'] }],
    nodes: [node('Add', ['image', 'mask'], ['score'])],
  });
}

/** An int64 input cast to float. */
export function integerInput(): Uint8Array {
  return encodeGraph({
    inputs: [{ name: 'image', elemType: onnx.TensorProto.DataType.INT64, dims: ['n', 4, 'h', 'w'] }],
    outputs: [{ name: 'score', dims: ['n', 4, 'h', 'w'] }],
    nodes: [node('Cast', ['image'], ['score'], [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: onnx.TensorProto.DataType.FLOAT }])],
  });
}

/** 0/0 for every pixel: NaN out of a graph that loads and runs. */
export function nanOutput(): Uint8Array {
  return encodeGraph({
    inputs: [{ name: 'image', dims: ['n', 4, 'h', 'w'] }],
    outputs: [{ name: 'score', dims: ['n', 1, 'h', 'w'] }],
    nodes: [
      node('ReduceMean', ['image'], ['m'], [{ name: 'axes', type: onnx.AttributeProto.AttributeType.INTS, ints: [1] }, { name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 1 }]),
      node('Sub', ['m', 'm'], ['zero']),
      node('Div', ['zero', 'zero'], ['score']),
    ],
  });
}

/**
 * image [n, 4, h, w] -> a 1x1 convolution to `classes` channels whose weights live in an external
 * data file (`location`), as torch.onnx.export writes a model over 2 GB. Returns the graph and the
 * weight bytes to write beside it.
 */
export function externalWeights(location: string, classes = 3, length?: number): { onnx: Uint8Array; weights: Uint8Array } {
  const weights = new Float32Array(classes * 4).map((_, i) => ((i % 5) - 2) / 3);
  const bytes = new Uint8Array(weights.buffer);
  const onnxBytes = encodeGraph({
    inputs: [{ name: 'image', dims: ['n', 4, 'h', 'w'] }],
    outputs: [{ name: 'logits', dims: ['n', classes, 'h', 'w'] }],
    nodes: [node('Conv', ['image', 'w'], ['logits'])],
    initializers: [
      {
        name: 'w',
        dims: [classes, 4, 1, 1],
        dataType: onnx.TensorProto.DataType.FLOAT,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: 'location', value: location },
          { key: 'offset', value: '0' },
          { key: 'length', value: String(length ?? bytes.byteLength) },
        ],
      },
    ],
  });
  return { onnx: onnxBytes, weights: bytes };
}
