// TensorFlow's DataType numbers (tensorflow/core/framework/types.proto) for the dtypes a frozen
// cloudseg graph can hold, and how TensorProto and bundle bytes become typed arrays.
import { CloudsegError } from '../../../errors.js';
import type { TensorProtoMsg, TensorShape } from './tf-protos.js';

const DTYPES = {
  1: 'DT_FLOAT',
  2: 'DT_DOUBLE',
  3: 'DT_INT32',
  4: 'DT_UINT8',
  5: 'DT_INT16',
  6: 'DT_INT8',
  7: 'DT_STRING',
  9: 'DT_INT64',
  10: 'DT_BOOL',
  19: 'DT_HALF',
  20: 'DT_RESOURCE',
  22: 'DT_UINT32',
} as const;

export type TfDtypeName = (typeof DTYPES)[keyof typeof DTYPES];

export const TF_DTYPE_NUMBERS: Record<TfDtypeName, number> = Object.fromEntries(Object.entries(DTYPES).map(([n, name]) => [name, Number(n)])) as Record<
  TfDtypeName,
  number
>;

export function dtypeName(dtype: number, where: string): TfDtypeName {
  const name = (DTYPES as Record<number, TfDtypeName>)[dtype];
  if (!name) throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: TensorFlow dtype ${dtype} is not supported`, { details: { dtype } });
  return name;
}

/** Dimensions of a TensorShapeProto (-1 for unknown); an unknown rank is []. */
export function shapeOf(shape: TensorShape | undefined): number[] {
  return shape ? shape.dim.map((d) => d.size) : [];
}

/**
 * A constant's values as the numeric array TF.js and ONNX hold: float32 stays float32; the
 * integer types up to 32 bits and int64 (whose values must fit) become int32, as tensorflowjs
 * converts them; bool stays bool. Anything else is refused by name.
 */
export type ConstValues = { dtype: 'float32'; values: Float32Array } | { dtype: 'int32'; values: Int32Array } | { dtype: 'bool'; values: Uint8Array };

export function valuesFromBytes(dtype: TfDtypeName, bytes: Uint8Array, count: number, where: string): ConstValues {
  const copy = new Uint8Array(bytes); // aligned, and detached from the file buffer
  const view = new DataView(copy.buffer);
  switch (dtype) {
    case 'DT_FLOAT':
      expectBytes(bytes, count * 4, where);
      return { dtype: 'float32', values: new Float32Array(copy.buffer, 0, count) };
    case 'DT_DOUBLE':
      expectBytes(bytes, count * 8, where);
      return { dtype: 'float32', values: Float32Array.from({ length: count }, (_, i) => view.getFloat64(i * 8, true)) };
    case 'DT_INT32':
      expectBytes(bytes, count * 4, where);
      return { dtype: 'int32', values: new Int32Array(copy.buffer, 0, count) };
    case 'DT_UINT8':
      expectBytes(bytes, count, where);
      return { dtype: 'int32', values: Int32Array.from(copy.subarray(0, count)) };
    case 'DT_INT8':
      expectBytes(bytes, count, where);
      return { dtype: 'int32', values: Int32Array.from(new Int8Array(copy.buffer, 0, count)) };
    case 'DT_INT16':
      expectBytes(bytes, count * 2, where);
      return { dtype: 'int32', values: Int32Array.from({ length: count }, (_, i) => view.getInt16(i * 2, true)) };
    case 'DT_INT64':
      expectBytes(bytes, count * 8, where);
      return { dtype: 'int32', values: Int32Array.from({ length: count }, (_, i) => int64ToInt32(view.getBigInt64(i * 8, true), where)) };
    case 'DT_BOOL':
      expectBytes(bytes, count, where);
      return { dtype: 'bool', values: copy.subarray(0, count) };
    default:
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: constants of dtype ${dtype} are not supported`, { details: { dtype } });
  }
}

/** A TensorProto's values: tensor_content when present, else the typed *_val list (one value broadcasts). */
export function valuesFromTensorProto(tensor: TensorProtoMsg, where: string): { shape: number[]; data: ConstValues } {
  const dtype = dtypeName(tensor.dtype, where);
  const shape = shapeOf(tensor.tensor_shape);
  const count = shape.reduce((a, b) => a * b, 1);
  if (tensor.tensor_content.length > 0) return { shape, data: valuesFromBytes(dtype, tensor.tensor_content, count, where) };
  const list = listFor(dtype, tensor, where);
  if (list.length !== count && list.length !== 1 && count !== 0) {
    throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: constant holds ${list.length} values for shape [${shape.join(',')}]`);
  }
  const at = (i: number) => (list.length === 1 ? list[0]! : list[i]!);
  switch (dtype) {
    case 'DT_FLOAT':
    case 'DT_DOUBLE':
      return { shape, data: { dtype: 'float32', values: Float32Array.from({ length: count }, (_, i) => Number(at(i))) } };
    case 'DT_BOOL':
      return { shape, data: { dtype: 'bool', values: Uint8Array.from({ length: count }, (_, i) => (at(i) ? 1 : 0)) } };
    case 'DT_INT64':
      return { shape, data: { dtype: 'int32', values: Int32Array.from({ length: count }, (_, i) => int64ToInt32(BigInt(Number(at(i))), where)) } };
    default:
      return { shape, data: { dtype: 'int32', values: Int32Array.from({ length: count }, (_, i) => Number(at(i))) } };
  }
}

function listFor(dtype: TfDtypeName, t: TensorProtoMsg, where: string): (number | boolean)[] {
  switch (dtype) {
    case 'DT_FLOAT':
      return t.float_val;
    case 'DT_DOUBLE':
      return t.double_val;
    case 'DT_INT32':
    case 'DT_UINT8':
    case 'DT_INT8':
    case 'DT_INT16':
      return t.int_val;
    case 'DT_INT64':
      return t.int64_val;
    case 'DT_BOOL':
      return t.bool_val;
    case 'DT_UINT32':
      return t.uint32_val;
    default:
      throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: constants of dtype ${dtype} are not supported`, { details: { dtype } });
  }
}

function int64ToInt32(value: bigint, where: string): number {
  if (value > 2147483647n || value < -2147483648n) {
    throw new CloudsegError('MODEL_EXPORT_UNSUPPORTED', `${where}: int64 value ${value} does not fit the int32 TF.js and the engines compute with`);
  }
  return Number(value);
}

function expectBytes(bytes: Uint8Array, expected: number, where: string): void {
  if (bytes.length !== expected) throw new CloudsegError('MODEL_LOAD_FAILED', `${where}: ${bytes.length} bytes where ${expected} were expected`);
}
