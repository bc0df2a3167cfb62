// A small builder for ONNX graphs (opset 13) on top of onnx-proto's generated messages: unique
// tensor names, float32/int64 initializers as raw little-endian bytes, typed attributes, and the
// serialised ModelProto that onnxruntime loads from memory.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** The opset every exported graph declares; ONNX Runtime 1.30 runs it on its CPU provider. */
export const ONNX_OPSET = 13;
// IR version 7 is the one that goes with opset 13 (ONNX 1.8).
const IR_VERSION = 7;

export type AttributeValue =
  | { int: number }
  | { ints: number[] }
  | { float: number }
  | { floats: number[] }
  | { string: string };

/** A symbolic or fixed dimension of a graph input or output. */
export type Dim = number | string;

export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly taken = new Set<string>();

  /** A tensor name not used yet, derived from `base`. */
  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 't';
    let name = clean;
    for (let i = 1; this.taken.has(name); i++) name = `${clean}_${i}`;
    this.taken.add(name);
    return name;
  }

  /** Reserves a name exactly as given (graph inputs and outputs). */
  reserve(name: string): string {
    if (this.taken.has(name)) throw new Error(`tensor name ${name} is already used`);
    this.taken.add(name);
    return name;
  }

  floatTensor(base: string, dims: number[], values: Float32Array): string {
    const expected = dims.reduce((a, b) => a * b, 1);
    if (values.length !== expected) throw new Error(`initializer ${base}: ${values.length} values for shape [${dims.join(', ')}]`);
    const name = this.unique(base);
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength),
    });
    return name;
  }

  int64Tensor(base: string, values: number[], dims: number[] = [values.length]): string {
    const name = this.unique(base);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.initializers.push({ name, dims, dataType: onnx.TensorProto.DataType.INT64, rawData: new Uint8Array(data.buffer) });
    return name;
  }

  scalarFloat(base: string, value: number): string {
    return this.floatTensor(base, [], Float32Array.of(value));
  }

  /** Adds one node and returns the names of its outputs. */
  node(opType: string, inputs: string[], nameHint: string, attributes: Record<string, AttributeValue> = {}, outputCount = 1): string[] {
    const outputs = Array.from({ length: outputCount }, (_, i) => this.unique(outputCount === 1 ? nameHint : `${nameHint}_${i}`));
    this.nodes.push({
      opType,
      name: this.unique(`${nameHint}/${opType}`),
      input: inputs,
      output: outputs,
      attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
    });
    return outputs;
  }

  /** Adds one node with a single output and returns its name. */
  op(opType: string, inputs: string[], nameHint: string, attributes: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, nameHint, attributes)[0]!;
  }

  /** Renames the tensor `from` to `to` everywhere (used to give the final output its public name). */
  rename(from: string, to: string): void {
    for (const node of this.nodes) {
      node.input = node.input!.map((n) => (n === from ? to : n));
      node.output = node.output!.map((n) => (n === from ? to : n));
    }
  }

  /** The serialised ModelProto with one float32 input and one float32 output. */
  encode(spec: { input: { name: string; dims: Dim[] }; output: { name: string; dims: Dim[] }; graphName: string; docString?: string }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'cloudseg',
      producerVersion: '1',
      docString: spec.docString ?? '',
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: {
        name: spec.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: [valueInfo(spec.input.name, spec.input.dims)],
        output: [valueInfo(spec.output.name, spec.output.dims)],
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const type = onnx.AttributeProto.AttributeType;
  if ('int' in value) return { name, type: type.INT, i: value.int };
  if ('ints' in value) return { name, type: type.INTS, ints: value.ints };
  if ('float' in value) return { name, type: type.FLOAT, f: value.float };
  if ('floats' in value) return { name, type: type.FLOATS, floats: value.floats };
  return { name, type: type.STRING, s: new TextEncoder().encode(value.string) };
}
