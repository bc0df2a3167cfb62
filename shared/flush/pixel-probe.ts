// How many pixels each accepted upload holds, from a ranged read of its header (a few KB of the
// generation-pinned object, never the whole object); an estimate from its size when that fails.
// A scene descriptor counts as its first band's header (PNG, TIFF or JPEG 2000).
import pLimit from 'p-limit';
import type { ObjectDownloader } from '../cloud/object-download.js';
import type { BatchItem } from '../contracts/batch.js';
import { CloudsegError, describeError } from '../errors.js';
import type { Logger } from '../logging.js';
// The box sniffer alone: flush never decodes, so the codec module stays unloaded.
import { sniffJp2 } from '../imaging/jp2/boxes.js';
import { FIRST_READ_BYTES, NEXT_READ_BYTES, probeImageSize, type ByteWindow } from '../imaging/probe-size.js';
import { granuleMetadataOf, sceneDescriptorKind } from '../scenes/describe-scene.js';
import { parseGranuleMetadata } from '../scenes/safe/granule-metadata.js';
import { descendantNamed, descendantsNamed, parseSafeXml } from '../scenes/safe/safe-xml.js';
import { MAX_FLUSH_ITEM_BYTES, stacAssetObjects } from './scene-members.js';

/**
 * Pixels assumed per stored byte when the header cannot be read or parsed. Scenes here are 4-band
 * 16-bit (8 bytes a pixel raw, about 2-4 after deflate); 2 errs on the side of more pixels, so
 * an unreadable upload makes its batch smaller, never one that overruns the worker's timeout.
 */
export const ESTIMATED_BYTES_PER_PIXEL = 2;
/**
 * Pixels assumed for a Sentinel-2 SAFE product XML when neither a band's header nor the granule's
 * MTD_TL.xml can be read (a folder copy still landing): a whole MSI tile at 10 m, 10980 x 10980,
 * what nearly every product is; its few-KB size would say almost nothing.
 */
export const SENTINEL2_TILE_PIXELS = 10980 * 10980;
/** Header reads in flight at once: small requests, so many, but not one per upload of a backlog. */
export const PROBE_CONCURRENCY = 16;
// PNG needs one read; a TIFF whose IFD lies beyond the first bytes (the project's writer puts it
// last) needs one more, and a third only for an IFD larger than that read.
const MAX_READS = 3;

export interface PixelCount {
  pixels: number;
  /**
   * `header` when read from the file (or a SAFE product's granule grid, which states the size exactly);
   * `estimate` from the object size (see ESTIMATED_BYTES_PER_PIXEL) or SENTINEL2_TILE_PIXELS.
   */
  source: 'header' | 'estimate';
}

export interface PixelProbeOptions {
  downloader: ObjectDownloader;
  logger: Logger;
  /** A header read that takes longer is given up (the estimate stands in). @default 5000 */
  readTimeoutMs?: number;
  /** After this moment (ms since epoch, `now()`'s clock) no new header read starts. */
  deadline: number;
  now?: () => number;
  concurrency?: number;
  /**
   * The current generation and size of an object (a scene's band); without it a scene descriptor's
   * pixels are estimated from its size.
   */
  objectInfo?: (bucket: string, name: string) => Promise<{ generation: string; size: number }>;
}

export function estimatedPixels(size: number): number {
  return Math.ceil(size / ESTIMATED_BYTES_PER_PIXEL);
}

// What an item counts as when nothing better can be read: its size, or a SAFE product's tile.
function fallbackPixels(item: BatchItem): number {
  return item.size > 0 && sceneDescriptorKind(item.name) === 'sentinel2-safe' ? SENTINEL2_TILE_PIXELS : estimatedPixels(item.size);
}

/**
 * The pixel count of each item, in the order given. Never throws for an item: an unreadable or
 * unparsable header, a read past the deadline or its timeout, gets the size estimate (the worker
 * reports a bad input itself, and a read error here must not hold up the whole flush).
 */
export async function probePixels(items: readonly BatchItem[], options: PixelProbeOptions): Promise<PixelCount[]> {
  const now = options.now ?? Date.now;
  const readTimeoutMs = options.readTimeoutMs ?? 5000;
  const limit = pLimit(options.concurrency ?? PROBE_CONCURRENCY);
  let fallbacks = 0;
  const counts = await Promise.all(
    items.map((item) =>
      limit(async (): Promise<PixelCount> => {
        const estimate: PixelCount = { pixels: fallbackPixels(item), source: 'estimate' };
        if (item.size === 0 || now() >= options.deadline) {
          if (item.size > 0) fallbacks += 1;
          return estimate;
        }
        try {
          const pixels = await withTimeout(
            sceneDescriptorKind(item.name) ? readScenePixels(item, options) : readPixels(item, options.downloader),
            readTimeoutMs,
          );
          if (pixels !== undefined) return { pixels, source: 'header' };
        } catch (err) {
          options.logger.debug({ err: describeError(err), object: `${item.bucket}/${item.name}#${item.generation}` }, 'flush: header read failed; estimating pixels from the size');
        }
        fallbacks += 1;
        return estimate;
      }),
    ),
  );
  if (fallbacks > 0) options.logger.info({ count: fallbacks, of: items.length }, 'flush: pixels estimated from object size (header not read or not an image)');
  return counts;
}

/**
 * A scene descriptor (STAC item, MTL, SAFE product XML) is a few KB but stands for a scene: its
 * work is the pixels of its first band object's header (every band the model reads has that size,
 * or a 10 m band's, else the worker refuses it). A SAFE product whose band is not readable yet
 * counts as its granule's 10 m grid (MTD_TL.xml), else as SENTINEL2_TILE_PIXELS.
 */
async function readScenePixels(item: BatchItem, options: PixelProbeOptions): Promise<number | undefined> {
  if (!options.objectInfo || item.size > MAX_FLUSH_ITEM_BYTES) return undefined;
  const bytes = await options.downloader.download(item);
  const band = firstBandObject(item, new TextDecoder().decode(bytes));
  const safe = sceneDescriptorKind(item.name) === 'sentinel2-safe';
  if (band !== null) {
    try {
      const info = await options.objectInfo(item.bucket, band);
      const pixels = await readPixels({ ...item, name: band, generation: info.generation, size: info.size }, options.downloader);
      if (pixels !== undefined || !safe) return pixels;
    } catch (err) {
      if (!safe) throw err;
      options.logger.debug({ err: describeError(err), object: `${item.bucket}/${band}` }, 'flush: a SAFE band header is not readable (yet); reading the granule grid');
    }
  }
  return safe ? readGranulePixels(item, bytes, options) : undefined;
}

// The finest resolution of the granule's Tile_Geocoding: the size the product's 10 m bands have.
async function readGranulePixels(item: BatchItem, bytes: Uint8Array, options: PixelProbeOptions): Promise<number | undefined> {
  const [granule] = granuleMetadataOf({ bytes, location: { kind: 'gcs', bucket: item.bucket, name: item.name } });
  if (granule?.kind !== 'gcs' || granule.bucket !== item.bucket) return undefined;
  const info = await options.objectInfo!(granule.bucket, granule.name);
  if (info.size > MAX_FLUSH_ITEM_BYTES) return undefined;
  const metadata = await options.downloader.download({ bucket: granule.bucket, name: granule.name, generation: info.generation });
  const finest = parseGranuleMetadata(metadata, `gs://${granule.bucket}/${granule.name}`).grid.resolutions[0]!;
  return finest.width * finest.height;
}

/**
 * The object name of a descriptor's first band file, beside it or where its STAC asset points; for
 * a SAFE product XML its first 10 m band file (B02, B03, B04, B08) in Product_Organisation.
 */
export function firstBandObject(item: { bucket: string; name: string }, text: string): string | null {
  const dir = item.name.includes('/') ? item.name.slice(0, item.name.lastIndexOf('/') + 1) : '';
  if (text.trimStart().startsWith('<')) return safeBandObject(dir, text);
  // Landsat MTL, JSON or ODL text: PRODUCT_CONTENTS' FILE_NAME_BAND_n are file names beside it.
  const mtl = /"?FILE_NAME_BAND_\d+"?\s*[:=]\s*"([^"/]+)"/.exec(text);
  if (mtl) return dir + mtl[1]!;
  const tiff = stacAssetObjects(item.bucket, item.name, new TextEncoder().encode(text)).find((name) => /\.tiff?$/i.test(name));
  return tiff ?? null;
}

// IMAGE_FILEs are paths inside the product without extension: .jp2 unless the granule says GeoTIFF.
const SAFE_10M_BAND_FILE = /^GRANULE\/[A-Za-z0-9_.-]+\/IMG_DATA\/(?:R10m\/)?[A-Za-z0-9_.-]+_B0[2348](?:_10m)?$/;

function safeBandObject(dir: string, text: string): string | null {
  let root;
  try {
    root = parseSafeXml(new TextEncoder().encode(text), 'product XML');
  } catch {
    return null;
  }
  const format = (descendantNamed(root, 'Granule')?.attributes.imageFormat ?? 'JPEG2000').trim().toUpperCase();
  const extension = format === 'GEOTIFF' || format === 'TIFF' ? '.tif' : '.jp2';
  const file = descendantsNamed(root, 'IMAGE_FILE')
    .map((e) => e.text.replace(/\.(jp2|tiff?)$/i, ''))
    .find((name) => SAFE_10M_BAND_FILE.test(name));
  return file === undefined ? null : `${dir}${file}${extension}`;
}

/** Width x height from the header, or undefined when it is not a PNG/TIFF/JPEG 2000 header this can read. */
async function readPixels(item: BatchItem, downloader: ObjectDownloader): Promise<number | undefined> {
  const windows: ByteWindow[] = [];
  const read = async (start: number, length: number) => {
    const end = Math.min(item.size, start + length) - 1;
    const bytes = await downloader.download(item, { start, end });
    windows.push({ start, bytes });
    return bytes;
  };
  const head = await read(0, FIRST_READ_BYTES);
  if (sniffJp2(head) !== null) return jp2Pixels(windows, item.size, read);
  for (let reads = 1; ; reads++) {
    const probe = probeImageSize(windows, item.size);
    if (probe.kind === 'size') return probe.width * probe.height;
    if (probe.kind === 'unknown' || reads >= MAX_READS) return undefined;
    await read(probe.start, probe.length);
  }
}

// Top-level boxes walked before giving up on finding jp2h (a JP2 has about five before it).
const MAX_JP2_BOXES = 16;

/**
 * The image size of a JPEG 2000 file: the jp2h box's ihdr (HEIGHT, WIDTH), or a bare codestream's
 * SIZ (Xsiz - XOsiz by Ysiz - YOsiz). Both sit in the first few hundred bytes of what GDAL and ESA
 * write; a box header beyond the first window costs one more read, at most MAX_READS in all.
 */
async function jp2Pixels(windows: ByteWindow[], size: number, read: (start: number, length: number) => Promise<Uint8Array>): Promise<number | undefined> {
  let reads = 1;
  const view = async (start: number, length: number): Promise<DataView | undefined> => {
    if (start + length > size) return undefined;
    let hit = windows.find((w) => start >= w.start && start + length <= w.start + w.bytes.length);
    if (!hit) {
      if (reads >= MAX_READS) return undefined;
      reads += 1;
      await read(start, Math.max(length, NEXT_READ_BYTES));
      hit = windows.at(-1)!;
      if (start + length > hit.start + hit.bytes.length) return undefined;
    }
    return new DataView(hit.bytes.buffer, hit.bytes.byteOffset + (start - hit.start), length);
  };
  const siz = async (at: number): Promise<number | undefined> => {
    const v = await view(at, 24);
    // SOC (FF4F) then SIZ (FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz.
    if (!v || v.getUint16(0) !== 0xff4f || v.getUint16(2) !== 0xff51) return undefined;
    const width = v.getUint32(8) - v.getUint32(16);
    const height = v.getUint32(12) - v.getUint32(20);
    return width > 0 && height > 0 ? width * height : undefined;
  };
  if (sniffJp2(windows[0]!.bytes) === 'j2k') return siz(0);
  for (let at = 0, boxes = 0; at < size && boxes < MAX_JP2_BOXES; boxes++) {
    const header = await view(at, 16);
    if (!header) return undefined;
    const lbox = header.getUint32(0);
    const type = String.fromCharCode(header.getUint8(4), header.getUint8(5), header.getUint8(6), header.getUint8(7));
    const headerBytes = lbox === 1 ? 16 : 8;
    const length = lbox === 1 ? Number(header.getBigUint64(8)) : lbox === 0 ? size - at : lbox;
    if (length < headerBytes) return undefined;
    if (type === 'jp2h') {
      // ihdr is the first box of jp2h (T.800 I.5.3.1): LBox, 'ihdr', HEIGHT, WIDTH.
      const ihdr = await view(at + headerBytes, 16);
      if (!ihdr || ihdr.getUint32(4) !== 0x69686472) return undefined;
      const pixels = ihdr.getUint32(8) * ihdr.getUint32(12);
      return pixels > 0 ? pixels : undefined;
    }
    if (type === 'jp2c') return siz(at + headerBytes);
    at += length;
  }
  return undefined;
}

// The download cannot be cancelled; its late answer is simply ignored.
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // Retryable in kind, but here the answer to a slow read is the estimate, not a retry.
    timer = setTimeout(() => reject(new CloudsegError('TIMEOUT', `header read took longer than ${ms} ms`, { retryable: true })), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
