// How much memory segmenting one image takes, estimated from its header alone, and the refusal
// (IMAGE_TOO_LARGE) when that is over the budget or the masks cannot be written: the check runs
// before any pixel is read.
import { CloudsegError } from '../errors.js';

/**
 * The largest mask the outputs can hold: the GeoTIFF writer uses 32-bit offsets (classic TIFF)
 * and the uint8 mask lives in one array.
 */
export const MAX_MASK_PIXELS = 2 ** 32 - 1;

// Per pixel of a whole image in memory: at most 4 bands of 16-bit PNG (8 bytes), their float32
// model input (16), the float32 probability (4) and the mask (1), plus its encoded copy (1).
const WHOLE_IMAGE_BYTES_PER_PIXEL = 30;

export interface WindowedFootprint {
  width: number;
  height: number;
  bands: number;
  bytesPerSample: number;
  /** Model tile edge (pixels). */
  tileSize: number;
  /** Tiles whose inputs are alive at once (parallelism x batch tiles). */
  tilesInFlight: number;
  /** Decoded blocks the reader may cache. */
  blockCacheBytes: number;
}

/**
 * Bytes a windowed run holds: the mask (and the copy encoding makes) plus, per tile in flight, its
 * raw samples, float32 input, padded batch and probability, plus the block cache.
 */
export function windowedBytes(f: WindowedFootprint): number {
  const tilePixels = f.tileSize * f.tileSize;
  const perTile = tilePixels * (f.bands * (f.bytesPerSample + 4 + 4) + 4 + 1);
  return 2 * f.width * f.height + f.tilesInFlight * perTile + f.blockCacheBytes;
}

/** The most pixels a whole-image decode (PNG) may have within `budgetBytes`. */
export function wholeImageMaxPixels(budgetBytes: number): number {
  return Math.min(MAX_MASK_PIXELS, Math.floor(budgetBytes / WHOLE_IMAGE_BYTES_PER_PIXEL));
}

/** Throws IMAGE_TOO_LARGE when the image needs more than the budget or its mask cannot be written. */
export function checkMemoryBudget(label: string, width: number, height: number, neededBytes: number, budgetBytes: number): void {
  const pixels = width * height;
  if (pixels > MAX_MASK_PIXELS) {
    throw new CloudsegError('IMAGE_TOO_LARGE', `${label} is ${width}x${height} = ${pixels} pixels; its mask cannot be written (at most ${MAX_MASK_PIXELS} pixels)`, {
      details: { width, height, maxMaskPixels: MAX_MASK_PIXELS },
    });
  }
  if (neededBytes > budgetBytes) {
    const mb = (n: number) => Math.ceil(n / 2 ** 20);
    throw new CloudsegError(
      'IMAGE_TOO_LARGE',
      `${label} is ${width}x${height} = ${pixels} pixels and needs about ${mb(neededBytes)} MiB, more than the memory budget of ${mb(budgetBytes)} MiB`,
      { details: { width, height, neededBytes, budgetBytes } },
    );
  }
}
