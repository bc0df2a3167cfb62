// Tiny TF.js Layers models for the ONNX exporter's tests: seeded random weights (biases and batch-norm
// statistics too, so no layer is an accidental identity), serialised exactly as model.save writes
// them, and the exported graph run the way the engine runs it (onnxruntime-node, all optimisations).
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import type { ModelArtifacts, WeightSpec } from '../../shared/model/formats/tfjs-layers/layers-artifacts.js';

/** A reproducible uniform [0, 1) generator (mulberry32) seeded from a string, e.g. a test case's name. */
export function seededRandom(seed: string): () => number {
  let s = 0;
  for (const ch of seed) s = (Math.imul(s, 31) + ch.charCodeAt(0)) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function uniform(rnd: () => number, count: number, low: number, high: number): Float32Array {
  return Float32Array.from({ length: count }, () => low + (high - low) * rnd());
}

/**
 * Replaces every weight with random values: kernels, biases and moving means in [-0.5, 0.5),
 * gammas and moving variances in [0.5, 1.5) (positive, away from the initialisers' ones and zeros).
 */
export function randomiseWeights(model: tf.LayersModel, rnd: () => number): void {
  const values = model.weights.map((w) => {
    const positive = /(gamma|moving_variance)$/.test(w.name);
    const shape = w.shape as number[]; // a weight's shape is always known
    const count = shape.reduce((a, b) => a * b, 1);
    return tf.tensor(uniform(rnd, count, positive ? 0.5 : -0.5, positive ? 1.5 : 0.5), shape);
  });
  model.setWeights(values);
  tf.dispose(values);
}

/** What `model.save` hands a save handler, in the form the engine reads from model.json + shards. */
export async function saveArtifacts(model: tf.LayersModel): Promise<ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!saved?.modelTopology || !saved.weightSpecs || saved.weightData === undefined) throw new Error('model.save gave no topology or weights');
  const parts = Array.isArray(saved.weightData) ? saved.weightData : [saved.weightData];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    bytes.set(new Uint8Array(p), at);
    at += p.byteLength;
  }
  return {
    modelTopology: saved.modelTopology as Record<string, unknown>,
    weightSpecs: saved.weightSpecs as WeightSpec[],
    weightData: bytes.buffer,
  };
}

export const QUANTISED_DTYPES = ['uint8', 'uint16', 'float16'] as const;
export type QuantisedDtype = (typeof QUANTISED_DTYPES)[number];

/**
 * The same artifacts with every float32 weight stored as tfjs-converter's --quantize_* options
 * store it: uint8/uint16 affine (value = q * scale + min) or IEEE float16.
 */
export function quantiseArtifacts(artifacts: ModelArtifacts, dtype: QuantisedDtype): ModelArtifacts {
  const source = new DataView(artifacts.weightData);
  const bytesPer = dtype === 'uint8' ? 1 : 2;
  const total = artifacts.weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
  const out = new DataView(new ArrayBuffer(total * bytesPer));
  const weightSpecs: WeightSpec[] = [];
  let from = 0;
  let to = 0;
  for (const spec of artifacts.weightSpecs) {
    if (spec.dtype !== 'float32' || spec.quantization) throw new Error(`weight ${spec.name} is not plain float32`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: count }, (_, i) => source.getFloat32(from + 4 * i, true));
    from += 4 * count;
    if (dtype === 'float16') {
      values.forEach((v, i) => out.setUint16(to + 2 * i, floatToHalf(v), true));
      weightSpecs.push({ ...spec, quantization: { dtype, original_dtype: 'float32' } });
    } else {
      const levels = dtype === 'uint8' ? 255 : 65535;
      const min = Math.min(...values);
      const scale = (Math.max(...values) - min) / levels || 1;
      values.forEach((v, i) => {
        const q = Math.round((v - min) / scale);
        if (dtype === 'uint8') out.setUint8(to + i, q);
        else out.setUint16(to + 2 * i, q, true);
      });
      weightSpecs.push({ ...spec, quantization: { dtype, min, scale, original_dtype: 'float32' } });
    }
    to += bytesPer * count;
  }
  return { ...artifacts, weightSpecs, weightData: out.buffer };
}

// number -> IEEE 754 binary16 bits, rounding to nearest (subnormals included; no NaN in weights).
function floatToHalf(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a < 2 ** -14) return sign | Math.round(a / 2 ** -24);
  let e = Math.floor(Math.log2(a));
  while (a / 2 ** e < 1) e--;
  while (a / 2 ** e >= 2) e++;
  let m = Math.round((a / 2 ** e - 1) * 1024);
  if (m === 1024) {
    m = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

/** Runs an exported graph on one NHWC batch and returns its `probability` output. */
export async function runOnnx(onnx: Uint8Array, input: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(onnx, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  try {
    const outputs = await session.run({ input: new ort.Tensor('float32', input, shape) });
    const out = outputs.probability!;
    return { data: out.data as Float32Array, dims: [...out.dims] };
  } finally {
    await session.release();
  }
}
