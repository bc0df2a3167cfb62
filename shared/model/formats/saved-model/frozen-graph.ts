// The frozen form of one SavedModel signature: a flat list of TensorFlow nodes without functions,
// variables or control edges, whose constants hold their values. Both the TF.js GraphModel emitter
// and the ONNX converter start from it.
import type { ConstValues } from './dtypes.js';
import type { AttrValue } from './tf-protos.js';

/** A tensor reference: node name and output index. */
export interface TensorRef {
  node: string;
  index: number;
}

export interface FrozenNode {
  name: string;
  op: string;
  inputs: TensorRef[];
  attr: Record<string, AttrValue>;
}

export interface FrozenConst {
  shape: number[];
  data: ConstValues;
}

export interface SignatureTensor {
  /** The signature's key for it (e.g. `input_3`, `output_0`). */
  key: string;
  /** TensorFlow dtype number. */
  dtype: number;
  /** Dimensions, -1 where unknown. */
  shape: number[];
  tensor: TensorRef;
}

export interface FrozenGraph {
  /** Nodes in an order where every input comes first. */
  nodes: FrozenNode[];
  /** Values of the Const nodes, by node name. */
  consts: Map<string, FrozenConst>;
  inputs: SignatureTensor[];
  outputs: SignatureTensor[];
  /** Which signature and producer this came from (for messages and logs). */
  signature: string;
  producer: string;
}

export function refName(ref: TensorRef): string {
  return ref.index === 0 ? ref.node : `${ref.node}:${ref.index}`;
}
