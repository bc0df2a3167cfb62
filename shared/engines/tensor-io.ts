// How a graph's tensors meet the pipeline's tiles, and the pure conversions between them. Tiles are
// NHWC float32 (what imaging cuts out); a graph may want NCHW (PyTorch) and may answer NCHW, NHWC
// or [n, h, w]; the pipeline wants, per pixel, the cloud probability or every class's probability,
// channels last. Run inside the inference threads, so the event loop never pays for it.

/** Where the band axis of an image tensor is: NCHW (PyTorch) or NHWC (TensorFlow). */
export const TENSOR_LAYOUTS = ['NCHW', 'NHWC'] as const;
export type TensorLayout = (typeof TENSOR_LAYOUTS)[number];

/** What happens to the graph's output per pixel. */
export type OutputHead =
  /** The output already is what the pipeline wants (cloudseg's own exported graphs). */
  | { kind: 'identity' }
  /** One channel: the cloud probability; logits go through a sigmoid. */
  | { kind: 'cloud'; channel: number; sigmoid: boolean }
  /** Every channel, one per class; logits go through a softmax over the channels. */
  | { kind: 'classes'; softmax: boolean };

export interface TensorIo {
  inputName: string;
  outputName: string;
  inputLayout: TensorLayout;
  /** 'NHW': a rank-3 output of one channel. */
  outputLayout: TensorLayout | 'NHW';
  head: OutputHead;
  /** The graph's batch axis is fixed at 1: tiles run one by one. */
  batchOne: boolean;
}

/** The graph contract of cloudseg's own exports (TF.js Layers, SavedModel): NHWC in, the head done in the graph. */
export function exportedGraphIo(inputName: string, outputName: string, channelsLast: boolean): TensorIo {
  return { inputName, outputName, inputLayout: 'NHWC', outputLayout: channelsLast ? 'NHWC' : 'NHW', head: { kind: 'identity' }, batchOne: false };
}

/** NHWC tiles as the graph's input layout (a copy for NCHW, the same array for NHWC). */
export function toInputLayout(tiles: Float32Array, count: number, height: number, width: number, bands: number, layout: TensorLayout): Float32Array {
  if (layout === 'NHWC') return tiles;
  const out = new Float32Array(tiles.length);
  const plane = height * width;
  for (let n = 0; n < count; n++) {
    const base = n * plane * bands;
    for (let p = 0; p < plane; p++) {
      const src = base + p * bands;
      for (let b = 0; b < bands; b++) out[base + b * plane + p] = tiles[src + b]!;
    }
  }
  return out;
}

/**
 * The graph's output for `count` tiles of height x width as the pipeline's values per pixel:
 * count x height x width (cloud) or count x height x width x classes (channels last). The output's
 * spatial size must be the tile's: a mask is made at the input's resolution.
 */
export function toPixelValues(raw: Float32Array, dims: readonly number[], io: TensorIo, count: number, height: number, width: number): Float32Array {
  const rank = io.outputLayout === 'NHW' ? 3 : 4;
  const [n, h, w, channels] = io.outputLayout === 'NCHW' ? [dims[0], dims[2], dims[3], dims[1]] : [dims[0], dims[1], dims[2], rank === 3 ? 1 : dims[3]];
  if (dims.length !== rank || n !== count || h !== height || w !== width) {
    throw new RangeError(`the model answered [${dims.join(', ')}] (${io.outputLayout}) for ${count} tile(s) of ${height}x${width}; a mask needs the input's height and width`);
  }
  if (io.head.kind === 'identity') return raw;
  const pixels = count * height * width;
  const plane = height * width;
  const c = channels!;
  // Index of channel k of pixel i (i counts over n, y, x) in the raw output.
  const at =
    io.outputLayout === 'NCHW'
      ? (i: number, k: number) => (Math.floor(i / plane) * c + k) * plane + (i % plane)
      : (i: number, k: number) => i * c + k;
  if (io.head.kind === 'cloud') {
    const { channel, sigmoid } = io.head;
    const out = new Float32Array(pixels);
    for (let i = 0; i < pixels; i++) {
      const v = raw[at(i, channel)]!;
      out[i] = sigmoid ? 1 / (1 + Math.exp(-v)) : v;
    }
    return out;
  }
  const out = new Float32Array(pixels * c);
  for (let i = 0; i < pixels; i++) {
    const o = i * c;
    for (let k = 0; k < c; k++) out[o + k] = raw[at(i, k)]!;
    if (io.head.softmax) softmaxInPlace(out, o, c);
  }
  return out;
}

// Shifted by the maximum so large logits do not overflow; a NaN stays NaN (the mask rule refuses it).
function softmaxInPlace(values: Float32Array, offset: number, count: number): void {
  let max = -Infinity;
  for (let k = 0; k < count; k++) max = Math.max(max, values[offset + k]!);
  let sum = 0;
  for (let k = 0; k < count; k++) {
    const e = Math.exp(values[offset + k]! - max);
    values[offset + k] = e;
    sum += e;
  }
  for (let k = 0; k < count; k++) values[offset + k] = values[offset + k]! / sum;
}
