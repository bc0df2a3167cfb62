// Writes a Raster as a little-endian baseline GeoTIFF (chunky strips, optional deflate), with its
// geo keys, affine placement, GDAL nodata and GDAL scale/offset, so GDAL and geotiff.js read it back.
import { deflateSync } from 'node:zlib';
import { globals } from 'geotiff';
import type { Georeference, RasterArray, RasterDtype, Scaling } from './types.js';

export const TIFF_COMPRESSIONS = ['none', 'deflate'] as const;
export type TiffCompression = (typeof TIFF_COMPRESSIONS)[number];

export interface GeoTiffImage {
  width: number;
  height: number;
  bands: number;
  dtype: RasterDtype;
  /** HWC samples, length width * height * bands. */
  data: RasterArray;
  georef?: Georeference | null;
  noData?: number | null;
  /** Written as GDAL_METADATA SCALE/OFFSET items per band. */
  scaling?: Scaling | null;
  /** @default 'deflate' */
  compression?: TiffCompression;
}

// TIFF field types used here.
export const TYPE = { ASCII: 2, SHORT: 3, LONG: 4, DOUBLE: 12 } as const;
const TYPE_SIZE: Record<number, number> = { 2: 1, 3: 2, 4: 4, 12: 8 };

export const SAMPLE_FORMAT: Record<RasterDtype, number> = {
  uint8: 1,
  uint16: 1,
  uint32: 1,
  int16: 2,
  int32: 2,
  float32: 3,
  float64: 3,
};

// GeoTIFF 1.0 keys whose values live in GeoDoubleParams (units sizes, ellipsoid and projection
// parameters); every other numeric key is a SHORT stored in the directory itself.
const DOUBLE_GEO_KEYS = new Set([2053, 2055, 2057, 2058, 2059, 2061, 3077, ...range(3078, 3095)]);

// About 64 KiB of raw samples per strip: small enough for readers that fetch strips lazily.
const TARGET_STRIP_BYTES = 64 * 1024;

export interface IfdEntry {
  tag: number;
  type: number;
  values: number[] | string;
}

/** Encodes the image as a GeoTIFF file. */
export function writeGeoTiff(image: GeoTiffImage): Uint8Array {
  const { width, height, bands, dtype, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0 || bands <= 0) {
    throw new RangeError(`cannot write a ${width}x${height}x${bands} image`);
  }
  if (data.length !== width * height * bands) {
    throw new RangeError(`data has ${data.length} samples, expected ${width}*${height}*${bands}`);
  }
  const compression = image.compression ?? 'deflate';
  const bytesPerSample = data.BYTES_PER_ELEMENT;
  const rowBytes = width * bands * bytesPerSample;
  const rowsPerStrip = Math.max(1, Math.min(height, Math.floor(TARGET_STRIP_BYTES / rowBytes)));
  // Horizontal differencing makes integer rasters compress 2-3x better; readers undo it.
  const predictor = compression === 'deflate' && SAMPLE_FORMAT[dtype] !== 3 ? 2 : 1;

  const strips: Uint8Array[] = [];
  for (let y0 = 0; y0 < height; y0 += rowsPerStrip) {
    const rows = Math.min(rowsPerStrip, height - y0);
    const raw = littleEndianBytes(data, y0 * width * bands, rows * width * bands);
    if (predictor === 2) applyHorizontalPredictor(raw, rows, width, bands, bytesPerSample);
    strips.push(compression === 'deflate' ? deflateSync(raw) : raw);
  }

  const entries: IfdEntry[] = [
    { tag: 256, type: TYPE.LONG, values: [width] },
    { tag: 257, type: TYPE.LONG, values: [height] },
    { tag: 258, type: TYPE.SHORT, values: Array<number>(bands).fill(bytesPerSample * 8) },
    { tag: 259, type: TYPE.SHORT, values: [compression === 'deflate' ? 8 : 1] },
    { tag: 262, type: TYPE.SHORT, values: [1] }, // BlackIsZero: bands are data, not colours
    { tag: 273, type: TYPE.LONG, values: [] }, // StripOffsets, filled in below
    { tag: 277, type: TYPE.SHORT, values: [bands] },
    { tag: 278, type: TYPE.LONG, values: [rowsPerStrip] },
    { tag: 279, type: TYPE.LONG, values: strips.map((s) => s.length) },
    { tag: 284, type: TYPE.SHORT, values: [1] },
    { tag: 339, type: TYPE.SHORT, values: Array<number>(bands).fill(SAMPLE_FORMAT[dtype]) },
  ];
  if (predictor !== 1) entries.push({ tag: 317, type: TYPE.SHORT, values: [predictor] });
  if (bands > 1) entries.push({ tag: 338, type: TYPE.SHORT, values: Array<number>(bands - 1).fill(0) });
  if (image.georef) entries.push(...georefEntries(image.georef));
  if (image.scaling) entries.push({ tag: 42112, type: TYPE.ASCII, values: gdalMetadataXml(image.scaling, bands) });
  if (image.noData !== null && image.noData !== undefined) {
    entries.push({ tag: 42113, type: TYPE.ASCII, values: formatNoData(image.noData) });
  }
  entries.sort((a, b) => a.tag - b.tag);

  // Layout: header, strips, then the IFD and its out-of-line values.
  const stripsBytes = strips.reduce((n, s) => n + s.length, 0);
  const ifdOffset = align(8 + stripsBytes, 2);
  const stripOffsets: number[] = [];
  let at = 8;
  for (const s of strips) {
    stripOffsets.push(at);
    at += s.length;
  }
  entries.find((e) => e.tag === 273)!.values = stripOffsets;
  const { bytes: ifd } = encodeIfd(entries, ifdOffset);
  const total = ifdOffset + ifd.length;
  if (total > 0xffffffff) throw new RangeError('image too large for a classic TIFF (4 GiB)');

  const out = new Uint8Array(total);
  out.set(tiffHeader(ifdOffset), 0);
  for (let i = 0; i < strips.length; i++) out.set(strips[i]!, stripOffsets[i]!);
  out.set(ifd, ifdOffset);
  return out;
}

/** The 8-byte little-endian classic TIFF header pointing at the first IFD. */
export function tiffHeader(ifdOffset: number): Uint8Array {
  const out = new Uint8Array(8);
  const view = new DataView(out.buffer);
  out[0] = 0x49; // "II": little-endian
  out[1] = 0x49;
  view.setUint16(2, 42, true);
  view.setUint32(4, ifdOffset, true);
  return out;
}

export interface IfdLayout {
  /** Offset of the IFD that follows this one (an overview's); 0 ends the chain. @default 0 */
  nextIfdOffset?: number;
  /**
   * Tags whose out-of-line values the caller writes elsewhere, at the absolute offset given (a
   * COG keeps the tile offset and byte count arrays of every IFD together after the last IFD).
   * Values that fit in the entry itself stay there.
   */
  valuesAt?: ReadonlyMap<number, number>;
}

/**
 * One IFD (entries sorted by tag) and its out-of-line values, to be placed at `ifdOffset`;
 * `valueOffsets` says where each tag's values landed (absolute), for values patched in later.
 */
export function encodeIfd(
  entries: IfdEntry[],
  ifdOffset: number,
  layout: IfdLayout = {},
): { bytes: Uint8Array; valueOffsets: Map<number, number> } {
  const ifdSize = 2 + entries.length * 12 + 4;
  let extraOffset = ifdOffset + ifdSize;
  const extras = new Map<IfdEntry, number>();
  for (const entry of entries) {
    const size = byteLength(entry);
    if (size <= 4) continue;
    const elsewhere = layout.valuesAt?.get(entry.tag);
    if (elsewhere !== undefined) {
      extras.set(entry, elsewhere);
    } else {
      extras.set(entry, extraOffset);
      extraOffset = align(extraOffset + size, 2);
    }
  }
  const out = new Uint8Array(extraOffset - ifdOffset);
  const view = new DataView(out.buffer);
  const valueOffsets = new Map<number, number>();
  view.setUint16(0, entries.length, true);
  let p = 2;
  for (const entry of entries) {
    view.setUint16(p, entry.tag, true);
    view.setUint16(p + 2, entry.type, true);
    view.setUint32(p + 4, valueCount(entry), true);
    const extra = extras.get(entry);
    if (extra !== undefined) {
      view.setUint32(p + 8, extra, true);
      if (!layout.valuesAt?.has(entry.tag)) writeValues(view, extra - ifdOffset, entry);
      valueOffsets.set(entry.tag, extra);
    } else {
      writeValues(view, p + 8, entry);
      valueOffsets.set(entry.tag, ifdOffset + p + 8);
    }
    p += 12;
  }
  view.setUint32(p, layout.nextIfdOffset ?? 0, true);
  return { bytes: out, valueOffsets };
}

/** An entry's values as they are stored in the file (for values the caller places itself). */
export function encodeValues(entry: IfdEntry): Uint8Array {
  const out = new Uint8Array(byteLength(entry));
  writeValues(new DataView(out.buffer), 0, entry);
  return out;
}

/** Bytes of an entry's values: those over 4 are stored out of line. */
export function byteLength(entry: IfdEntry): number {
  if (typeof entry.values === 'string') return utf8(entry.values).length + 1;
  return entry.values.length * TYPE_SIZE[entry.type]!;
}

/** The GDAL_METADATA XML GDAL itself writes for per-band scale and offset. */
export function gdalMetadataXml(scaling: Scaling, bands: number): string {
  const items: string[] = [];
  for (let b = 0; b < bands; b++) {
    const scale = scaling.scale[scaling.scale.length === 1 ? 0 : b] ?? 1;
    const offset = scaling.offset[scaling.offset.length === 1 ? 0 : b] ?? 0;
    items.push(`  <Item name="OFFSET" sample="${b}" role="offset">${offset}</Item>`);
    items.push(`  <Item name="SCALE" sample="${b}" role="scale">${scale}</Item>`);
  }
  return `<GDALMetadata>\n${items.join('\n')}\n</GDALMetadata>`;
}

/** One GDAL_METADATA item: dataset-wide without `sample`, else of that band (0-based). */
export interface GdalMetadataItem {
  name: string;
  value: string;
  sample?: number;
  role?: string;
}

/**
 * GDAL_METADATA XML of free items, in the form GDAL writes and `gdalinfo` lists. GDAL escapes an
 * item's value twice (once as a value, once as XML text) and its name once, and reads it back
 * the same way; non-ASCII text stays UTF-8 (checked against files GDAL 3.6 wrote).
 */
export function gdalMetadataItemsXml(items: GdalMetadataItem[]): string {
  const lines = items.map((item) => {
    const attrs = [`name="${escapeXml(item.name)}"`];
    if (item.sample !== undefined) attrs.push(`sample="${item.sample}"`);
    if (item.role !== undefined) attrs.push(`role="${escapeXml(item.role)}"`);
    return `  <Item ${attrs.join(' ')}>${escapeXml(escapeXml(item.value))}</Item>`;
  });
  return `<GDALMetadata>\n${lines.join('\n')}\n</GDALMetadata>`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function georefEntries(georef: Georeference): IfdEntry[] {
  const entries: IfdEntry[] = [];
  if (georef.modelPixelScale) entries.push({ tag: 33550, type: TYPE.DOUBLE, values: [...georef.modelPixelScale] });
  if (georef.modelTiepoint) entries.push({ tag: 33922, type: TYPE.DOUBLE, values: [...georef.modelTiepoint] });
  if (georef.modelTransformation) {
    entries.push({ tag: 34264, type: TYPE.DOUBLE, values: [...georef.modelTransformation] });
  }
  const keys: { code: number; value: number | string | number[] }[] = [];
  for (const [name, value] of Object.entries(georef.geoKeys)) {
    const code = (globals.geoKeys as Record<string, number | undefined>)[name];
    if (code !== undefined) keys.push({ code, value });
  }
  if (keys.length === 0) return entries;
  keys.sort((a, b) => a.code - b.code);

  const directory = [1, 1, 0, keys.length];
  const doubles: number[] = [];
  let ascii = '';
  for (const { code, value } of keys) {
    if (typeof value === 'string') {
      const text = `${value}|`; // GeoTIFF ends each string in GeoAsciiParams with '|'
      directory.push(code, 34737, text.length, ascii.length);
      ascii += text;
    } else if (Array.isArray(value) || DOUBLE_GEO_KEYS.has(code) || !isShort(value)) {
      const list = Array.isArray(value) ? value : [value];
      directory.push(code, 34736, list.length, doubles.length);
      doubles.push(...list);
    } else {
      directory.push(code, 0, 1, value);
    }
  }
  entries.push({ tag: 34735, type: TYPE.SHORT, values: directory });
  if (doubles.length > 0) entries.push({ tag: 34736, type: TYPE.DOUBLE, values: doubles });
  if (ascii.length > 0) entries.push({ tag: 34737, type: TYPE.ASCII, values: ascii });
  return entries;
}

function writeValues(view: DataView, at: number, entry: IfdEntry): void {
  if (typeof entry.values === 'string') {
    const bytes = utf8(entry.values);
    for (let i = 0; i < bytes.length; i++) view.setUint8(at + i, bytes[i]!);
    view.setUint8(at + bytes.length, 0);
    return;
  }
  const size = TYPE_SIZE[entry.type]!;
  entry.values.forEach((v, i) => {
    const o = at + i * size;
    if (entry.type === TYPE.SHORT) view.setUint16(o, v, true);
    else if (entry.type === TYPE.LONG) view.setUint32(o, v, true);
    else view.setFloat64(o, v, true);
  });
}

function valueCount(entry: IfdEntry): number {
  return typeof entry.values === 'string' ? utf8(entry.values).length + 1 : entry.values.length;
}

// TIFF ASCII is meant to be 7-bit, but GDAL stores and reads GDAL_METADATA as UTF-8: text other
// than ASCII (a place name in a tag) survives instead of being cut to 7 bits.
function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

// Typed arrays are host-endian; TIFF here is little-endian, which every Node platform is too, but
// copying through a DataView keeps the file right on any host.
export function littleEndianBytes(data: RasterArray, start: number, count: number): Uint8Array {
  const size = data.BYTES_PER_ELEMENT;
  const out = new Uint8Array(count * size);
  if (size === 1) {
    out.set(new Uint8Array(data.buffer, data.byteOffset + start, count));
    return out;
  }
  const view = new DataView(out.buffer);
  const write = writerFor(data);
  for (let i = 0; i < count; i++) write(view, i * size, data[start + i]!);
  return out;
}

function writerFor(data: RasterArray): (view: DataView, at: number, v: number) => void {
  if (data instanceof Uint16Array) return (v, at, x) => v.setUint16(at, x, true);
  if (data instanceof Int16Array) return (v, at, x) => v.setInt16(at, x, true);
  if (data instanceof Uint32Array) return (v, at, x) => v.setUint32(at, x, true);
  if (data instanceof Int32Array) return (v, at, x) => v.setInt32(at, x, true);
  if (data instanceof Float32Array) return (v, at, x) => v.setFloat32(at, x, true);
  return (v, at, x) => v.setFloat64(at, x, true);
}

// TIFF predictor 2 on little-endian samples: each sample minus the same band of the previous pixel,
// wrapping at the sample width (integers only).
export function applyHorizontalPredictor(raw: Uint8Array, rows: number, width: number, bands: number, size: number): void {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const rowSamples = width * bands;
  for (let r = 0; r < rows; r++) {
    const base = r * rowSamples;
    for (let i = rowSamples - 1; i >= bands; i--) {
      const at = (base + i) * size;
      const prev = (base + i - bands) * size;
      if (size === 1) raw[at] = (raw[at]! - raw[prev]!) & 0xff;
      else if (size === 2) view.setUint16(at, (view.getUint16(at, true) - view.getUint16(prev, true)) & 0xffff, true);
      else view.setUint32(at, (view.getUint32(at, true) - view.getUint32(prev, true)) >>> 0, true);
    }
  }
}

export function formatNoData(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  return String(value);
}

function isShort(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}
