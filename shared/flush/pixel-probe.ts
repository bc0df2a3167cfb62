// How many pixels each accepted upload holds, from a ranged read of its header (a few KB of the
// generation-pinned object, never the whole object); an estimate from its size when that fails.
import pLimit from 'p-limit';
import type { ObjectDownloader } from '../cloud/object-download.js';
import type { BatchItem } from '../contracts/batch.js';
import { CloudsegError, describeError } from '../errors.js';
import type { Logger } from '../logging.js';
import { FIRST_READ_BYTES, probeImageSize, type ByteWindow } from '../imaging/probe-size.js';
import { sceneDescriptorKind } from '../scenes/describe-scene.js';
import { MAX_FLUSH_ITEM_BYTES, stacAssetObjects } from './scene-members.js';

/**
 * Pixels assumed per stored byte when the header cannot be read or parsed. Scenes here are 4-band
 * 16-bit (8 bytes a pixel raw, about 2-4 after deflate); 2 errs on the side of more pixels, so
 * an unreadable upload makes its batch smaller, never one that overruns the worker's timeout.
 */
export const ESTIMATED_BYTES_PER_PIXEL = 2;
/** Header reads in flight at once: small requests, so many, but not one per upload of a backlog. */
export const PROBE_CONCURRENCY = 16;
// PNG needs one read; a TIFF whose IFD lies beyond the first bytes (the project's writer puts it
// last) needs one more, and a third only for an IFD larger than that read.
const MAX_READS = 3;

export interface PixelCount {
  pixels: number;
  /** `header` when read from the file; `estimate` from the object size (see ESTIMATED_BYTES_PER_PIXEL). */
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
        const estimate: PixelCount = { pixels: estimatedPixels(item.size), source: 'estimate' };
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
 * A scene descriptor (STAC item, MTL) is a few KB but stands for a scene: its work is the pixels of
 * its first band object's header (every band the model reads has that size, else the worker refuses it).
 */
async function readScenePixels(item: BatchItem, options: PixelProbeOptions): Promise<number | undefined> {
  if (!options.objectInfo || item.size > MAX_FLUSH_ITEM_BYTES) return undefined;
  const text = new TextDecoder().decode(await options.downloader.download(item));
  const band = firstBandObject(item, text);
  if (band === null) return undefined;
  const info = await options.objectInfo(item.bucket, band);
  return readPixels({ ...item, name: band, generation: info.generation, size: info.size }, options.downloader);
}

/** The object name of a descriptor's first band file, beside it or where its STAC asset points. */
export function firstBandObject(item: { bucket: string; name: string }, text: string): string | null {
  const dir = item.name.includes('/') ? item.name.slice(0, item.name.lastIndexOf('/') + 1) : '';
  // Landsat MTL, JSON or ODL text: PRODUCT_CONTENTS' FILE_NAME_BAND_n are file names beside it.
  const mtl = /"?FILE_NAME_BAND_\d+"?\s*[:=]\s*"([^"/]+)"/.exec(text);
  if (mtl) return dir + mtl[1]!;
  const tiff = stacAssetObjects(item.bucket, item.name, new TextEncoder().encode(text)).find((name) => /\.tiff?$/i.test(name));
  return tiff ?? null;
}

/** Width x height from the header, or undefined when it is not a PNG/TIFF header this can read. */
async function readPixels(item: BatchItem, downloader: ObjectDownloader): Promise<number | undefined> {
  const windows: ByteWindow[] = [];
  const read = async (start: number, length: number) => {
    const end = Math.min(item.size, start + length) - 1;
    windows.push({ start, bytes: await downloader.download(item, { start, end }) });
  };
  await read(0, FIRST_READ_BYTES);
  for (let reads = 1; ; reads++) {
    const probe = probeImageSize(windows, item.size);
    if (probe.kind === 'size') return probe.width * probe.height;
    if (probe.kind === 'unknown' || reads >= MAX_READS) return undefined;
    await read(probe.start, probe.length);
  }
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
