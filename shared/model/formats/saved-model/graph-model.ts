// Emits a FrozenGraph as TF.js GraphModel artifacts in memory (the JSON GraphDef of model.json
// plus one weight per Const node), so `tf.loadGraphModel(tf.io.fromMemory(...))` runs a SavedModel
// on any TF.js backend without tensorflowjs_converter.
import type { io } from '@tensorflow/tfjs';
import { TF_DTYPE_NUMBERS, dtypeName } from './dtypes.js';
import { refName, type FrozenGraph, type SignatureTensor } from './frozen-graph.js';
import type { AttrValue, TensorShape } from './tf-protos.js';

type JsonAttr = Record<string, unknown>;

export interface GraphModelOptions {
  /**
   * Keep the placeholders' declared shapes, which TF.js checks every feed against. libtensorflow's
   * C API (tfjs-node's loadSavedModel) does not check them: `false` reproduces that. @default true
   */
  checkInputShapes?: boolean;
}

export function graphModelArtifacts(graph: FrozenGraph, options: GraphModelOptions = {}): io.ModelArtifacts {
  const checkShapes = options.checkInputShapes ?? true;
  const weightSpecs: io.WeightsManifestEntry[] = [];
  const chunks: Uint8Array[] = [];
  const node = graph.nodes.map((n) => {
    const attr: Record<string, JsonAttr> = {};
    for (const [name, value] of Object.entries(n.attr)) {
      if (!checkShapes && n.op === 'Placeholder' && name === 'shape') continue;
      const json = attrJson(value);
      if (json) attr[name] = json;
    }
    const value = graph.consts.get(n.name);
    if (value) {
      weightSpecs.push({ name: n.name, shape: value.shape, dtype: value.data.dtype });
      const { values } = value.data;
      chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      // TF.js reads a Const's dtype from the weight; the attr keeps the graph self-describing.
      attr.dtype = { type: value.data.dtype === 'float32' ? 'DT_FLOAT' : value.data.dtype === 'int32' ? 'DT_INT32' : 'DT_BOOL' };
    }
    return { name: n.name, op: n.op, input: n.inputs.map(refName), attr };
  });
  const total = chunks.reduce((a, c) => a + c.byteLength, 0);
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    weightData.set(chunk, at);
    at += chunk.byteLength;
  }
  return {
    modelTopology: { node, library: {}, versions: { producer: 0 } },
    weightSpecs,
    weightData: weightData.buffer,
    format: 'graph-model',
    generatedBy: graph.producer,
    convertedBy: 'cloudseg saved-model reader',
    signature: {
      inputs: Object.fromEntries(graph.inputs.map((t) => [t.key, tensorInfo(t, checkShapes)])),
      outputs: Object.fromEntries(graph.outputs.map((t) => [t.key, tensorInfo(t, true)])),
    },
  };
}

function tensorInfo(t: SignatureTensor, withShape: boolean): JsonAttr {
  const shape = withShape ? { tensorShape: shapeJson({ dim: t.shape.map((size) => ({ size, name: '' })), unknown_rank: false }) } : {};
  return { name: `${t.tensor.node}:${t.tensor.index}`, dtype: dtypeName(t.dtype, t.key), ...shape };
}

function shapeJson(shape: TensorShape): JsonAttr {
  return shape.unknown_rank ? { unknownRank: true } : { dim: shape.dim.map((d) => ({ size: String(d.size) })) };
}

const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

// The protobuf JSON form TF.js's operation mapper reads (strings base64, dtypes by enum name).
function attrJson(value: AttrValue): JsonAttr | undefined {
  switch (value.value) {
    case 's':
      return { s: base64(value.s!) };
    case 'i':
      return { i: String(value.i) };
    case 'f':
      return { f: value.f };
    case 'b':
      return { b: value.b };
    case 'type':
      return { type: dtypeEnum(value.type!) };
    case 'shape':
      return { shape: shapeJson(value.shape!) };
    case 'list': {
      const list = value.list!;
      return {
        list: {
          ...(list.s.length ? { s: list.s.map(base64) } : {}),
          ...(list.i.length ? { i: list.i.map(String) } : {}),
          ...(list.f.length ? { f: list.f } : {}),
          ...(list.b.length ? { b: list.b } : {}),
          ...(list.type.length ? { type: list.type.map(dtypeEnum) } : {}),
          ...(list.shape.length ? { shape: list.shape.map(shapeJson) } : {}),
        },
      };
    }
    default:
      // Tensors live in the weights; functions are inlined; placeholders do not survive freezing.
      return undefined;
  }
}

function dtypeEnum(dtype: number): string | number {
  const name = Object.entries(TF_DTYPE_NUMBERS).find(([, n]) => n === dtype)?.[0];
  return name ?? dtype;
}
