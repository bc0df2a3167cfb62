// Smaller versions of a mask: the overview levels of the COG and the PNG quick-look of a big
// scene, each a factor 2 below the one before, by the mode of each 2x2 block (pure, no I/O).

import { CLOUD_LEGEND, toMaskValue, type MaskLegend } from './mask-values.js';

/** One resolution of a mask: row-major bytes, width x height. */
export interface MaskLevel {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * Longest side of a PNG mask or overlay written at full resolution. Above it the PNG is a quick-look
 * and the full mask lives only in the COG: 4096 keeps every chip and ordinary image whole, while a
 * Landsat scene (~7,800 px, 60 Mpx) or a Sentinel-2 tile (10,980 px, 120 Mpx) becomes a 3,900 /
 * 2,745 px picture that browsers and the Cloud Console preview open at once, instead of a PNG that
 * decodes to 240-480 MB of RGBA in the viewer (and costs seconds of zlib level 9 to write).
 */
export const QUICK_LOOK_MAX_SIDE = 4096;

/** The COG's tile side; overviews go on until a level fits one tile, as GDAL's COG driver does. */
export const COG_TILE_SIDE = 512;

/**
 * The next level: ceil(w/2) x ceil(h/2), each pixel the mode of its 2x2 block, a tie going to the
 * block's top-left pixel. Mode rather than nearest because nearest keeps one pixel in 4^k at level k,
 * so scattered small clouds come and go at random between levels, while the mode keeps each block's
 * majority and the overview's cloud fraction tracks the full mask; averaging would invent values
 * (a clear/cloud edge would become 128, i.e. nodata). Nodata is a class of its own, never a weight:
 * a block mostly nodata stays nodata, so the data's edge stays where it is at every level. Blocks cut
 * by an odd edge repeat their row/column, which gives the mode of the pixels that exist.
 * A cloud mask's stray bytes count as cloud (toMaskValue); a class mask's bytes count as they are,
 * since that folding would make every class but 0 and 128 a 255, which is a class mask's nodata.
 */
export function halveMask(level: MaskLevel, legend: MaskLegend = CLOUD_LEGEND): MaskLevel {
  const { width: w, height: h, data } = level;
  // Identity for a class mask; a function rather than a branch per pixel keeps one loop for both.
  const fold = legend.kind === 'cloud' ? toMaskValue : rawValue;
  const width = Math.ceil(w / 2);
  const height = Math.ceil(h / 2);
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const top = 2 * y * w;
    const bottom = Math.min(2 * y + 1, h - 1) * w;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const left = 2 * x;
      const right = Math.min(left + 1, w - 1);
      out[row + x] = mode4(
        fold(data[top + left]!),
        fold(data[top + right]!),
        fold(data[bottom + left]!),
        fold(data[bottom + right]!),
      );
    }
  }
  return { width, height, data: out };
}

/** The overview levels of a mask (factor 2, 4, 8, ...) until one fits a single COG tile; none if it already does. */
export function maskOverviews(full: MaskLevel, legend: MaskLegend = CLOUD_LEGEND, tileSide = COG_TILE_SIDE): MaskLevel[] {
  const levels: MaskLevel[] = [];
  let level = full;
  while (level.width > tileSide || level.height > tileSide) {
    level = halveMask(level, legend);
    levels.push(level);
  }
  return levels;
}

/** The power of two a mask of this size is shrunk by for its PNG: 1 up to QUICK_LOOK_MAX_SIDE. */
export function quickLookScale(width: number, height: number, maxSide = QUICK_LOOK_MAX_SIDE): number {
  let scale = 1;
  while (Math.ceil(Math.max(width, height) / scale) > maxSide) scale *= 2;
  return scale;
}

/** The level of a mask at 1/scale (scale a power of two), halving as often as it takes. */
export function maskAtScale(full: MaskLevel, scale: number, legend: MaskLegend = CLOUD_LEGEND): MaskLevel {
  let level = full;
  for (let s = 1; s < scale; s *= 2) level = halveMask(level, legend);
  return level;
}

// The mode of four class values, ties to the first (top-left). A cloud mask has three values, so
// one always repeats; four different classes (a class mask) keep the top-left one.
function mode4(a: number, b: number, c: number, d: number): number {
  if (a === b || a === c || a === d) return a;
  if (b === c || b === d) return b;
  if (c === d) return c;
  return a;
}

function rawValue(value: number): number {
  return value;
}
