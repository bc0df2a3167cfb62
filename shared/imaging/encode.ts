// Encodes what the pipeline hands back: the mask as PNG and as a Cloud-Optimized GeoTIFF lying on
// the input, and a true-colour quick-look with the clouds (or classes) tinted, for people to eyeball.
import { crc32 } from 'node:zlib';
import { encode as encodePng } from 'fast-png';
import sharp from 'sharp';
import { writeMaskCog } from './cog-write.js';
import { maskAtScale, maskOverviews, quickLookScale, type MaskLevel } from './mask-overviews.js';
import { CLOUD_LEGEND, MASK_VALUES, toMaskValue, type MaskLegend } from './mask-values.js';
import type { Georeference, Raster, Scaling } from './types.js';

const TINT_RGB = [255, 0, 255] as const; // magenta: rare in nature, visible on white cloud and dark land
const TINT_ALPHA = 0.45;
// Percentiles of the stretch: clip the darkest and brightest 2 % so a few hot pixels don't grey it out.
const STRETCH_LOW = 0.02;
const STRETCH_HIGH = 0.98;
const STRETCH_SAMPLE_MAX = 65_536;

/**
 * A mask as PNG. A cloud mask (0 clear, MASK_VALUES.nodata, anything else cloud): an 8-bit grey PNG
 * of MASK_VALUES. A class mask: an 8-bit palette PNG whose indices are the class values, palette
 * entry v the colour of class v, the legend's nodata transparent.
 */
export async function encodeMaskPng(mask: Uint8Array, width: number, height: number, legend: MaskLegend = CLOUD_LEGEND): Promise<Buffer> {
  checkMask(mask, width, height);
  if (legend.kind === 'classes') return classMaskPng(mask, width, height, legend);
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
  /** The mask's overviews when the caller already made them (maskOverviews with the same legend), else made here. */
  overviews?: MaskLevel[];
  /** What the mask's bytes mean. @default CLOUD_LEGEND */
  legend?: MaskLegend;
}

/**
 * A mask as a Cloud-Optimized GeoTIFF (uint8, 512 px deflate tiles, mode overviews, GDAL_NODATA =
 * the legend's nodata), carrying the input's georeference when it had one: MASK_VALUES for a cloud
 * mask, the class values with a colour table and the class names for a class mask.
 */
export async function encodeMaskCog(mask: Uint8Array, width: number, height: number, options: MaskCogOptions): Promise<Buffer> {
  checkMask(mask, width, height);
  const legend = options.legend ?? CLOUD_LEGEND;
  const full = { width, height, data: mask };
  const overviews = options.overviews ?? maskOverviews(full, legend);
  return writeMaskCog({ levels: [full, ...overviews], georef: options.georef, legend, ...(options.tags ? { tags: options.tags } : {}) });
}

export interface OverlayOptions {
  /** Band indexes shown as red, green, blue. @default [2, 1, 0] (blue, green, red, nir order) */
  rgbBands?: [number, number, number];
  /**
   * What the mask's bytes mean: a cloud mask tints cloud magenta, a class mask tints each class
   * with its colour except clear ones and nodata. @default CLOUD_LEGEND
   */
  legend?: MaskLegend;
}

/**
 * A true-colour RGB PNG of the scaled raster, stretched per band, with cloud pixels tinted (a class
 * mask's classes in their colours, see OverlayOptions.legend). Above QUICK_LOOK_MAX_SIDE it is a
 * quick-look 1/quickLookScale the size: each pixel the mean of its block's valid values, the tint
 * from the mask's mode (the same levels as the COG's overviews).
 * `mask` is the full mask, or already the quick-look's (the PNG mask of a big scene).
 */
export async function encodeOverlayPng(raster: Raster, scaling: Scaling, mask: Uint8Array, options: OverlayOptions = {}): Promise<Buffer> {
  const { bands, data } = raster;
  const scale = quickLookScale(raster.width, raster.height);
  const width = Math.ceil(raster.width / scale);
  const height = Math.ceil(raster.height / scale);
  const legend = options.legend ?? CLOUD_LEGEND;
  let shownMask: Uint8Array;
  if (mask.length === width * height) shownMask = mask;
  else {
    checkMask(mask, raster.width, raster.height);
    shownMask = maskAtScale({ width: raster.width, height: raster.height, data: mask }, scale, legend).data;
  }
  const tints = tintsOf(legend);
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
    // This channel's tint per mask byte, premultiplied; NaN where the byte is left untinted.
    const tint = Float64Array.from(tints, (rgb) => (rgb ? rgb[c]! * TINT_ALPHA : Number.NaN));
    for (let p = 0; p < pixels; p++) {
      const v = values[p]!;
      const byte = Number.isFinite(v) ? (v - low) * factor : 0;
      const shown = byte < 0 ? 0 : byte > 255 ? 255 : byte;
      const t = tint[shownMask[p]!]!;
      out[p * 3 + c] = Math.round(t === t ? shown * (1 - TINT_ALPHA) + t : shown);
    }
  }
  return sharp(out, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

// The tint colour of each mask byte (null: untinted). A cloud mask tints what toMaskValue calls
// cloud; a class mask each class in its own colour, except clear kinds and nodata, which stay as
// the image shows them so the tints mark only what the model found.
function tintsOf(legend: MaskLegend): (readonly [number, number, number] | null)[] {
  const tints = Array<readonly [number, number, number] | null>(256).fill(null);
  if (legend.kind === 'cloud') {
    for (let v = 0; v < 256; v++) if (toMaskValue(v) === MASK_VALUES.cloud) tints[v] = TINT_RGB;
    return tints;
  }
  for (const c of legend.classes) {
    if (c.kind !== 'clear' && c.kind !== 'nodata' && c.value !== legend.nodata) tints[c.value] = c.rgb;
  }
  return tints;
}

// The palette PNG of a class mask. fast-png writes IHDR, PLTE and IDAT, but not a usable tRNS: it
// keeps only the alpha values below 255 and packs them from index 0 (fast-png 8), while PNG reads
// tRNS by index, so nodata's transparency would land on class 0. The tRNS chunk (an alpha per
// index up to 255: opaque, then 0 for nodata) is spliced in after PLTE, where PNG wants it.
function classMaskPng(mask: Uint8Array, width: number, height: number, legend: MaskLegend): Buffer {
  const palette = Array.from({ length: 256 }, () => [0, 0, 0]);
  for (const c of legend.classes) palette[c.value] = [...c.rgb];
  const png = encodePng({ width, height, data: mask, depth: 8, channels: 1, palette }, { zlib: { level: PNG_ZLIB_LEVEL } });
  const alpha = new Uint8Array(256).fill(255);
  alpha[legend.nodata] = 0;
  const plteAt = PNG_SIGNATURE_BYTES + chunkBytes(IHDR_BYTES);
  if (Buffer.from(png.subarray(plteAt + 4, plteAt + 8)).toString('latin1') !== 'PLTE') {
    throw new Error('fast-png did not write PLTE right after IHDR'); // a fast-png upgrade changed its layout
  }
  const plteEnd = plteAt + chunkBytes(3 * 256);
  return Buffer.concat([png.subarray(0, plteEnd), pngChunk('tRNS', alpha), png.subarray(plteEnd)]);
}

const PNG_SIGNATURE_BYTES = 8;
const IHDR_BYTES = 13;
// What sharp's compressionLevel 9 is for the grey PNG: masks are long runs, level 9 is cheap on them.
const PNG_ZLIB_LEVEL = 9;

// A chunk's size in the file: length, type, data, CRC.
function chunkBytes(dataBytes: number): number {
  return 4 + 4 + dataBytes + 4;
}

function pngChunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(chunkBytes(data.length));
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  // The CRC covers the type and the data, not the length.
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
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
