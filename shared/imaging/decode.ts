// Turns uploaded bytes into a Raster: GeoTIFF (geotiff.js) or PNG (sharp), chosen by magic bytes,
// with every failure mapped to a permanent CloudsegError the worker reports as a `failed` result.
import { inflateSync } from 'node:zlib';
import { addDecoder, BaseDecoder, fromArrayBuffer, getDecoder, type GeoTIFFImage } from 'geotiff';
import sharp from 'sharp';
import { CloudsegError } from '../errors.js';
import type { Georeference, Raster, RasterArray, RasterDtype, Scaling } from './types.js';

// geotiff.js inflates deflate blocks with pako; Node's native zlib is ~3x faster on the same files
// (512x512x4 uint16: ~170 ms -> ~60 ms per decode). Registered once, for compression 8 and 32946.
// A block never inflates past what its header promises (a decompression bomb would: 1 MB of
// deflate can claim a 64x64 tile and inflate to 1 GiB): inflation stops at the block's size.
class NodeDeflateDecoder extends BaseDecoder {
  override decodeBlock(buffer: ArrayBufferLike): ArrayBufferLike {
    let out: Buffer;
    try {
      out = inflateSync(new Uint8Array(buffer), { maxOutputLength: Math.max(1, expectedBlockBytes(this.parameters)) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        throw new CloudsegError('CORRUPT_IMAGE', `a deflate block inflates past the ${expectedBlockBytes(this.parameters)} bytes its header promises (a decompression bomb?)`, { cause: err });
      }
      throw err;
    }
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
  }
}

// tileWidth x tileHeight x bytes per pixel (every sample for chunky data, one for planar).
function expectedBlockBytes(p: { tileWidth: number; tileHeight: number; bitsPerSample: number | ArrayLike<number>; planarConfiguration: number }): number {
  const bits = typeof p.bitsPerSample === 'number' ? [p.bitsPerSample] : Array.from(p.bitsPerSample);
  const bitsPerPixel = p.planarConfiguration === 2 ? bits[0]! : bits.reduce((a, b) => a + b, 0);
  return Math.ceil((p.tileWidth * bitsPerPixel) / 8) * p.tileHeight;
}
addDecoder([8, 32946], () => Promise.resolve(NodeDeflateDecoder));

export const IMAGE_CONTAINERS = ['tiff', 'png'] as const;
export type ImageContainer = (typeof IMAGE_CONTAINERS)[number];

export interface DecodeOptions {
  /** Object name, only for messages: the format comes from the bytes. */
  name?: string;
  /** Declared content type, only for messages. */
  contentType?: string;
  /** Refuse images with more pixels than this (checked from the header, before decoding). */
  maxPixels: number;
  /** When known, refuse another band count from the header, before any pixel is decoded. */
  expectedBands?: number;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The container format of the bytes by their magic number, or null when neither TIFF nor PNG. */
export function sniffContainer(bytes: Uint8Array): ImageContainer | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 4) {
    const [b0, b1, b2, b3] = [bytes[0], bytes[1], bytes[2], bytes[3]];
    // 42 is classic TIFF, 43 BigTIFF; the version number is in the file's own byte order.
    if (b0 === 0x49 && b1 === 0x49 && (b2 === 42 || b2 === 43) && b3 === 0) return 'tiff';
    if (b0 === 0x4d && b1 === 0x4d && b2 === 0 && (b3 === 42 || b3 === 43)) return 'tiff';
  }
  return null;
}

/**
 * Decodes a GeoTIFF or PNG into HWC samples in their stored type, with georeference, GDAL nodata
 * and GDAL scale/offset. Throws EMPTY_OBJECT, UNSUPPORTED_FORMAT, CORRUPT_IMAGE or IMAGE_TOO_LARGE.
 */
export async function decodeImage(bytes: Uint8Array, options: DecodeOptions): Promise<Raster> {
  const label = options.name ?? 'image';
  if (bytes.length === 0) throw new CloudsegError('EMPTY_OBJECT', `${label} is empty (0 bytes)`);
  const container = sniffContainer(bytes);
  if (container === null) {
    const declared = options.contentType ? ` (declared ${options.contentType})` : '';
    throw new CloudsegError(
      'UNSUPPORTED_FORMAT',
      `${label}${declared} is neither a TIFF/GeoTIFF nor a PNG (starts with ${hexHead(bytes)})`,
      { details: { name: options.name, contentType: options.contentType } },
    );
  }
  try {
    return container === 'tiff' ? await decodeTiff(bytes, options.maxPixels, label, options.expectedBands) : await decodePng(bytes, options.maxPixels, label);
  } catch (err) {
    if (err instanceof CloudsegError) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new CloudsegError('CORRUPT_IMAGE', `${label} could not be decoded as ${container.toUpperCase()}: ${reason}`, {
      cause: err,
      details: { name: options.name, container },
    });
  }
}

async function decodeTiff(bytes: Uint8Array, maxPixels: number, label: string, expectedBands?: number): Promise<Raster> {
  // geotiff wants an ArrayBuffer of exactly the file (a Buffer may be a view into a larger pool);
  // a download usually is one, and then needs no copy.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const buffer = whole ? (bytes.buffer as ArrayBuffer) : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const tiff = await fromArrayBuffer(buffer);
  const image = await tiff.getImage(0);
  const width = image.getWidth();
  const height = image.getHeight();
  checkPixels(width, height, maxPixels, label);
  const bands = image.getSamplesPerPixel();
  // A 200-band header costs seconds and GBs to decode before a band check could refuse it.
  if (expectedBands !== undefined && bands !== expectedBands) {
    throw new CloudsegError('BAND_MISMATCH', `${label}: image has ${bands} bands, model expects ${expectedBands}`, {
      details: { imageBands: bands, modelBands: expectedBands },
    });
  }
  await checkBlocksInside(image, bytes.byteLength, label);

  const read = (await readChunkyBlocks(image)) ?? (await image.readRasters({ interleave: true }));
  const data = normaliseArray(read as unknown as RasterArray | Int8Array);
  if (data.length !== width * height * bands) {
    throw new CloudsegError('CORRUPT_IMAGE', `${label}: decoded ${data.length} samples, expected ${width}x${height}x${bands}`);
  }
  const fd = image.getFileDirectory();
  const gdalMetadata = fd.hasTag('GDAL_METADATA') ? String(await fd.loadValue('GDAL_METADATA')) : null;
  return {
    width,
    height,
    bands,
    dtype: dtypeOf(data),
    data,
    georef: readGeoreference(image),
    fileScaling: gdalMetadata ? parseGdalScaling(gdalMetadata, bands) : null,
    noData: image.getGDALNoData(),
  };
}

// None, LZW, Deflate (both codes), PackBits: decoders built from the default parameters alone.
const DEFAULT_PARAMETER_COMPRESSIONS = new Set([1, 5, 8, 32946, 32773]);

/**
 * The decoder of a pixel-interleaved little-endian TIFF whose samples share one whole-byte type and
 * whose compression needs only the default parameters (its blocks can be copied as typed-array
 * rows); null for anything else, which goes through geotiff's general readRasters.
 */
export async function chunkyBlockDecoder(image: GeoTIFFImage): Promise<Awaited<ReturnType<typeof getDecoder>> | null> {
  const fd = image.getFileDirectory();
  const bits = fd.getValue('BitsPerSample') as ArrayLike<number> | number | undefined;
  const formats = fd.getValue('SampleFormat') as ArrayLike<number> | number | undefined;
  const same = (v: ArrayLike<number> | number | undefined) => v === undefined || typeof v === 'number' || Array.from(v).every((x) => x === v[0]);
  const bitsPerSample = image.getBitsPerSample(0);
  const compression = Number(fd.getValue('Compression') ?? 1);
  if (image.planarConfiguration !== 1 || !image.littleEndian || !same(bits) || !same(formats) || ![8, 16, 32, 64].includes(bitsPerSample)) return null;
  if (!DEFAULT_PARAMETER_COMPRESSIONS.has(compression)) return null;
  // What geotiff's default decoder-parameter function reads (it is not exported).
  return getDecoder(compression, {
    tileWidth: image.getTileWidth(),
    tileHeight: image.getTileHeight(),
    planarConfiguration: 1,
    bitsPerSample: bits as number,
    predictor: Number((fd.hasTag('Predictor') ? await fd.loadValue('Predictor') : 1) || 1),
  });
}

/**
 * The whole image of a pixel-interleaved (chunky) little-endian TIFF whose samples all share one
 * whole-byte type: its decoded blocks already hold the interleaved samples, so rows are copied as
 * typed-array slices. geotiff's general reader moves every sample through a DataView getter, about
 * 12 ms of event-loop time per 512x512x4 image; this is ~1 ms. Anything else (planar, big-endian,
 * mixed or odd bit depths, compressions whose decoders need more than the default parameters)
 * returns null and goes through readRasters.
 */
async function readChunkyBlocks(image: GeoTIFFImage): Promise<RasterArray | Int8Array | null> {
  const decoder = await chunkyBlockDecoder(image);
  if (decoder === null) return null;
  const bands = image.getSamplesPerPixel();
  const width = image.getWidth();
  const height = image.getHeight();
  const tileWidth = image.getTileWidth();
  const tileHeight = image.getTileHeight();
  const out = image.getArrayForSample(0, width * height * bands) as RasterArray | Int8Array;
  const blocks: Promise<void>[] = [];
  for (let ty = 0; ty * tileHeight < height; ty++) {
    for (let tx = 0; tx * tileWidth < width; tx++) {
      blocks.push(
        image.getTileOrStrip(tx, ty, 0, decoder).then(({ data }) => {
          const block = image.getArrayForSample(0, data) as RasterArray | Int8Array;
          const rows = Math.min(tileHeight, height - ty * tileHeight);
          const cols = Math.min(tileWidth, width - tx * tileWidth);
          for (let r = 0; r < rows; r++) {
            const from = r * tileWidth * bands;
            (out as Uint8Array).set((block as Uint8Array).subarray(from, from + cols * bands), ((ty * tileHeight + r) * width + tx * tileWidth) * bands);
          }
        }),
      );
    }
  }
  await Promise.all(blocks);
  return out;
}

// A truncated upload has strip/tile offsets past its end; geotiff.js would hand back short blocks
// (or zeros) instead of failing, so the layout is checked against the real length first.
export async function checkBlocksInside(image: GeoTIFFImage, fileBytes: number, label: string): Promise<void> {
  const fd = image.getFileDirectory();
  const offsetsTag = fd.hasTag('TileOffsets') ? 'TileOffsets' : 'StripOffsets';
  const countsTag = offsetsTag === 'TileOffsets' ? 'TileByteCounts' : 'StripByteCounts';
  if (!fd.hasTag(offsetsTag) || !fd.hasTag(countsTag)) {
    throw new CloudsegError('CORRUPT_IMAGE', `${label}: TIFF has no ${offsetsTag}/${countsTag}`);
  }
  const offsets = (await fd.loadValue(offsetsTag)) as ArrayLike<number | bigint>;
  const counts = (await fd.loadValue(countsTag)) as ArrayLike<number | bigint>;
  for (let i = 0; i < offsets.length; i++) {
    const end = Number(offsets[i]) + Number(counts[i] ?? 0);
    if (end > fileBytes) {
      throw new CloudsegError(
        'CORRUPT_IMAGE',
        `${label}: TIFF is truncated (block ${i} ends at byte ${end}, file has ${fileBytes} bytes)`,
      );
    }
  }
}

export function readGeoreference(image: GeoTIFFImage): Georeference | null {
  const fd = image.getFileDirectory();
  const keys = image.getGeoKeys();
  const tiepoint = toNumbers(fd.getValue('ModelTiepoint'));
  const pixelScale = toNumbers(fd.getValue('ModelPixelScale'));
  const transformation = toNumbers(fd.getValue('ModelTransformation'));
  if (!keys && !tiepoint && !pixelScale && !transformation) return null;
  const geoKeys: Georeference['geoKeys'] = {};
  for (const [name, value] of Object.entries(keys ?? {})) {
    if (name === 'undefined' || value === null || value === undefined) continue; // keys geotiff cannot name
    if (typeof value === 'number' || typeof value === 'string') geoKeys[name] = value;
    else geoKeys[name] = Array.from(value as ArrayLike<number>);
  }
  return { geoKeys, modelTiepoint: tiepoint, modelPixelScale: pixelScale, modelTransformation: transformation };
}

/**
 * Reads per-band SCALE/OFFSET from GDAL_METADATA XML (`<Item name="SCALE" sample="0"
 * role="scale">2e-05</Item>`). Null when the file records neither; a band without one gets 1/0.
 */
export function parseGdalScaling(xml: string, bands: number): Scaling | null {
  const scale = Array<number>(bands).fill(1);
  const offset = Array<number>(bands).fill(0);
  let found = false;
  for (const match of xml.matchAll(/<Item\b([^>]*)>([^<]*)<\/Item>/g)) {
    const attrs = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)\s*=\s*"([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const role = (attrs.role ?? attrs.name ?? '').toLowerCase();
    if (role !== 'scale' && role !== 'offset') continue;
    const sample = Number(attrs.sample);
    const value = Number((match[2] ?? '').trim());
    if (!Number.isInteger(sample) || sample < 0 || sample >= bands || !Number.isFinite(value)) continue;
    (role === 'scale' ? scale : offset)[sample] = value;
    found = true;
  }
  return found ? { scale, offset } : null;
}

async function decodePng(bytes: Uint8Array, maxPixels: number, label: string): Promise<Raster> {
  // limitInputPixels off: our own limit is checked from the header and gives the proper error code.
  const input = sharp(bytes, { limitInputPixels: false });
  const meta = await input.metadata();
  const width = meta.width;
  const height = meta.height;
  checkPixels(width, height, maxPixels, label);
  const bands = meta.channels;
  const sixteen = meta.depth === 'ushort';
  // sharp's raw output turns grey into sRGB and 16 bits into 8 unless both are pinned explicitly;
  // its grey colourspaces drop alpha, so grey+alpha goes through RGBA and is compacted after.
  const grey = bands === 1;
  const colourspace = sixteen ? (grey ? 'grey16' : 'rgb16') : grey ? 'b-w' : 'srgb';
  const decodedBands = bands === 2 ? 4 : bands;
  const { data, info } = await input
    .toColourspace(colourspace)
    .raw({ depth: sixteen ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  if (info.width !== width || info.height !== height || info.channels !== decodedBands) {
    throw new CloudsegError(
      'CORRUPT_IMAGE',
      `${label}: PNG decoded to ${info.width}x${info.height}x${info.channels}, header says ${width}x${height}x${bands}`,
    );
  }
  const copy = new Uint8Array(data); // own, aligned memory (sharp's Buffer may sit in a pool)
  let samples: RasterArray = sixteen ? new Uint16Array(copy.buffer, 0, copy.byteLength / 2) : copy;
  if (bands === 2) samples = greyAlphaFromRgba(samples as Uint8Array | Uint16Array);
  return { width, height, bands, dtype: sixteen ? 'uint16' : 'uint8', data: samples, georef: null, fileScaling: null, noData: null };
}

function greyAlphaFromRgba(rgba: Uint8Array | Uint16Array): Uint8Array | Uint16Array {
  const pixels = rgba.length / 4;
  const out = rgba instanceof Uint16Array ? new Uint16Array(pixels * 2) : new Uint8Array(pixels * 2);
  for (let p = 0; p < pixels; p++) {
    out[p * 2] = rgba[p * 4]!;
    out[p * 2 + 1] = rgba[p * 4 + 3]!;
  }
  return out;
}

function checkPixels(width: number, height: number, maxPixels: number, label: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CloudsegError('CORRUPT_IMAGE', `${label}: header gives an invalid size ${width}x${height}`);
  }
  if (width * height > maxPixels) {
    throw new CloudsegError(
      'IMAGE_TOO_LARGE',
      `${label} is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels}`,
      { details: { width, height, maxPixels } },
    );
  }
}

export function normaliseArray(array: RasterArray | Int8Array): RasterArray {
  // Raster has no int8; int16 holds every int8 value.
  return array instanceof Int8Array ? Int16Array.from(array) : array;
}

export function dtypeOf(data: RasterArray): RasterDtype {
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Float32Array) return 'float32';
  return 'float64';
}

function toNumbers(value: unknown): number[] | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number') return [value];
  return Array.from(value as ArrayLike<number>);
}

export function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}
