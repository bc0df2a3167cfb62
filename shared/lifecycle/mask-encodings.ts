// The ground-truth mask encodings the evaluation understands, and how to tell them apart: 255 =
// cloud (38-Cloud), 1 = cloud (On Cloud N), class 4 = cloud with 0 = shadow (ukis-csmask).
import { CloudsegError } from '../errors.js';

export const TRUTH_ENCODINGS = ['cloud255', 'cloud1', 'class4'] as const;
export type TruthEncoding = (typeof TRUTH_ENCODINGS)[number];

/** The value that means "cloud" in each encoding; every other value is not cloud. */
export const CLOUD_VALUE: Readonly<Record<TruthEncoding, number>> = { cloud255: 255, cloud1: 1, class4: 4 };

/**
 * Guesses the encoding from the values present: {0,255} -> cloud255, {0,1} -> cloud1,
 * anything within 0..4 -> class4. A class-4 mask holding only shadow and class 1 looks like cloud1:
 * such scenes must name their encoding (manifest `truthEncoding`). TRUTH_INVALID otherwise.
 */
export function detectTruthEncoding(values: ArrayLike<number>, where = 'truth mask'): TruthEncoding {
  const seen = new Set<number>();
  for (let i = 0; i < values.length; i++) {
    seen.add(values[i]!);
    if (seen.size > 6) break;
  }
  const within = (allowed: number[]) => [...seen].every((v) => allowed.includes(v));
  if (within([0, 255])) return 'cloud255';
  if (within([0, 1])) return 'cloud1';
  if (within([0, 1, 2, 3, 4])) return 'class4';
  const shown = [...seen].sort((a, b) => a - b).slice(0, 6);
  throw new CloudsegError('TRUTH_INVALID', `${where}: cannot tell the mask encoding from its values ${shown.join(', ')}${seen.size > 6 ? ', ...' : ''}; expected {0,255}, {0,1} or classes 0..4 (set truthEncoding)`, {
    details: { values: shown },
  });
}

/** 1 where the truth says cloud, else 0. */
export function truthCloudMask(values: ArrayLike<number>, encoding: TruthEncoding): Uint8Array {
  const cloud = CLOUD_VALUE[encoding];
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i] === cloud ? 1 : 0;
  return out;
}

export function isTruthEncoding(value: unknown): value is TruthEncoding {
  return (TRUTH_ENCODINGS as readonly unknown[]).includes(value);
}
