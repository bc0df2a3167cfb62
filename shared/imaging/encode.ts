// Encodes what the pipeline hands back: the cloud mask as PNG and as a Cloud-Optimized GeoTIFF
// lying on the input, and a true-colour quick-look with the clouds tinted, for people to eyeball.
import sharp from 'sharp';
import { writeMaskCog } from './cog-write.js';
import { maskAtScale, maskOverviews, quickLookScale, type MaskLevel } from './mask-overviews.js';
import { MASK_VALUES, toMaskValue } from './mask-values.js';
import type { Georeference, Raster, Scaling } from './types.js';

const TINT_RGB = [255, 0, 255] as const; // magenta: rare in nature, visible on white cloud and dark land
const TINT_ALPHA = 0.45;
// Percentiles of the stretch: clip the darkest and brightest 2 % so a few hot pixels don't grey it out.
const STRETCH_LOW = 0.02;
const STRETCH_HIGH = 0.98;
const STRETCH_SAMPLE_MAX = 65_536;

/** A mask (one byte per pixel: 0 clear, MASK_VALUES.nodata, anything else cloud) as an 8-bit grey PNG of MASK_VALUES. */
export async function encodeMaskPng(mask: Uint8Array, width: number, height: number): Promise<Buffer> {
  checkMask(mask, width, height);
  // Without b-w sharp writes a one-channel raw input as an RGB PNG.
  // limitInputPixels off: the size was checked against the memory budget and MAX_MASK_PIXELS.
  return sharp(toMaskValues(mask), { raw: { width, height, channels: 1 }, limitInputPixels: false })
    .toColourspace('b-w')
    .png({ compressionLevel: 9 })
    .toBuffer();
}

export interface MaskCogOptions {
  georef: Georeference | null;
  /** Provenance key/values written as GDAL_METADATA items. */
  tags?: Record<string, string>;
  /** The mask's overviews when the caller already made them (maskOverviews), else made here. */
  overviews?: MaskLevel[];
}

/**
 * A mask as a Cloud-Optimized GeoTIFF of MASK_VALUES (uint8, 512 px deflate tiles, mode overviews,
 * GDAL_NODATA = MASK_VALUES.nodata), carrying the input's georeference when it had one.
 */
export async function encodeMaskCog(mask: Uint8Array, width: number, height: number, options: MaskCogOptions): Promise<Buffer> {
  checkMask(mask, width, height);
  const full = { width, height, data: mask };
  const overviews = options.overviews ?? maskOverviews(full);
  return writeMaskCog({ levels: [full, ...overviews], georef: options.georef, ...(options.tags ? { tags: options.tags } : {}) });
}

export interface OverlayOptions {
  /** Band indexes shown as red, green, blue. @default [2, 1, 0] (blue, green, red, nir order) */
  rgbBands?: [number, number, number];
}

/**
 * A true-colour RGB PNG of the scaled raster, stretched per band, with cloud pixels tinted. Above
 * QUICK_LOOK_MAX_SIDE it is a quick-look 1/quickLookScale the size: each pixel the mean of its
 * block's valid values, the tint from the mask's mode (the same levels as the COG's overviews).
 * `mask` is the full mask, or already the quick-look's (the PNG mask of a big scene).
 */
export async function encodeOverlayPng(raster: Raster, scaling: Scaling, mask: Uint8Array, options: OverlayOptions = {}): Promise<Buffer> {
  const { bands, data } = raster;
  const scale = quickLookScale(raster.width, raster.height);
  const width = Math.ceil(raster.width / scale);
  const height = Math.ceil(raster.height / scale);
  let shownMask: Uint8Array;
  if (mask.length === width * height) shownMask = mask;
  else {
    checkMask(mask, raster.width, raster.height);
    shownMask = maskAtScale({ width: raster.width, height: raster.height, data: mask }, scale).data;
  }
  const wanted = options.rgbBands ?? [2, 1, 0];
  // A single-band (or two-band) image is shown grey rather than refused.
  const rgb = wanted.map((b) => (b < bands ? b : 0)) as [number, number, number];
  const pixels = width * height;
  const out = new Uint8Array(pixels * 3);
  const values = new Float32Array(pixels);
  for (let c = 0; c < 3; c++) {
    const band = rgb[c]!;
    const bandScale = scaling.scale[scaling.scale.length === 1 ? 0 : band] ?? 1;
    const offset = scaling.offset[scaling.offset.length === 1 ? 0 : band] ?? 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // The mean of the block's samples that hold data (one sample when scale is 1).
        let sum = 0;
        let n = 0;
        const yEnd = Math.min(raster.height, (y + 1) * scale);
        const xEnd = Math.min(raster.width, (x + 1) * scale);
        for (let sy = y * scale; sy < yEnd; sy++) {
          for (let sx = x * scale; sx < xEnd; sx++) {
            const raw = data[(sy * raster.width + sx) * bands + band]!;
            if (raw === raster.noData || !Number.isFinite(raw)) continue;
            sum += raw;
            n++;
          }
        }
        values[y * width + x] = n === 0 ? Number.NaN : (sum / n) * bandScale + offset;
      }
    }
    const [low, high] = stretchRange(values);
    const factor = 255 / (high > low ? high - low : 1);
    const tint = TINT_RGB[c]! * TINT_ALPHA;
    for (let p = 0; p < pixels; p++) {
      const v = values[p]!;
      const byte = Number.isFinite(v) ? (v - low) * factor : 0;
      const shown = byte < 0 ? 0 : byte > 255 ? 255 : byte;
      const cloud = toMaskValue(shownMask[p]!) === MASK_VALUES.cloud;
      out[p * 3 + c] = Math.round(cloud ? shown * (1 - TINT_ALPHA) + tint : shown);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

// Percentiles of a strided sample (NaN = nodata, skipped); a typed sort is numeric and fast.
function stretchRange(values: Float32Array): [number, number] {
  const step = Math.max(1, Math.floor(values.length / STRETCH_SAMPLE_MAX));
  const sample = new Float32Array(Math.ceil(values.length / step));
  let n = 0;
  for (let p = 0; p < values.length; p += step) {
    const v = values[p]!;
    if (Number.isFinite(v)) sample[n++] = v;
  }
  if (n === 0) return [0, 1];
  const sorted = sample.subarray(0, n).sort();
  const at = (q: number): number => sorted[Math.min(n - 1, Math.floor(q * (n - 1)))]!;
  return [at(STRETCH_LOW), at(STRETCH_HIGH)];
}

function toMaskValues(mask: Uint8Array): Uint8Array {
  const out = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) out[i] = toMaskValue(mask[i]!);
  return out;
}

function checkMask(mask: Uint8Array, width: number, height: number): void {
  if (mask.length !== width * height) {
    throw new RangeError(`mask has ${mask.length} pixels, expected ${width}x${height} = ${width * height}`);
  }
}
