// Turns a TF.js weights manifest + its concatenated shards into named float32 arrays, undoing the
// converter's optional quantisation (uint8/uint16 affine, float16) the way tfjs-core's decodeWeights does.
import { CloudsegError } from '../../../errors.js';
import type { WeightSpec } from './layers-artifacts.js';

export interface Weight {
  name: string;
  shape: number[];
  values: Float32Array;
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, uint8: 1, uint16: 2, float16: 2 };

export function decodeWeights(specs: WeightSpec[], data: ArrayBuffer): Map<string, Weight> {
  const weights = new Map<string, Weight>();
  const view = new DataView(data);
  let offset = 0;
  for (const spec of specs) {
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const stored = spec.quantization?.dtype ?? spec.dtype;
    const size = BYTES[stored];
    if (size === undefined || (spec.quantization === undefined && stored !== 'float32' && stored !== 'int32')) {
      throw new CloudsegError('MODEL_LOAD_FAILED', `weight ${spec.name}: dtype ${stored} cannot be exported to ONNX`);
    }
    if (offset + count * size > data.byteLength) {
      throw new CloudsegError('MODEL_LOAD_FAILED', `weight ${spec.name} runs past the end of the weight shards (${data.byteLength} bytes)`);
    }
    const values = new Float32Array(count);
    const q = spec.quantization;
    const scale = q?.scale ?? 1;
    const min = q?.min ?? 0;
    for (let i = 0; i < count; i++) {
      const at = offset + i * size;
      switch (stored) {
        case 'float32':
          values[i] = view.getFloat32(at, true);
          break;
        case 'int32':
          values[i] = view.getInt32(at, true);
          break;
        case 'uint8':
          values[i] = view.getUint8(at) * scale + min;
          break;
        case 'uint16':
          values[i] = view.getUint16(at, true) * scale + min;
          break;
        case 'float16':
          values[i] = halfToFloat(view.getUint16(at, true));
          break;
      }
    }
    offset += count * size;
    weights.set(spec.name, { name: spec.name, shape: spec.shape, values });
  }
  return weights;
}

// IEEE 754 binary16 -> number (subnormals, infinities and NaN included).
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
