// Windows of a JPEG 2000 image (JP2 or bare codestream) read through a RangeSource, the shape of
// openTiffWindows: the header first (size, bands, type, georeference, checked before any pixel is
// read), then any rectangle on demand, decoding only the JPEG 2000 tiles under it, each cut out
// of the codestream and decoded alone in the process's decode threads (decode-pool.ts), a bounded
// cache of decoded tiles absorbing the overlap.
import pLimit from 'p-limit';
import { CloudsegError } from '../../errors.js';
import { MAX_MASK_PIXELS } from '../memory-budget.js';
import type { RangeSource } from '../range-source.js';
import type { Tile } from '../tiling.js';
import type { Raster, RasterArray, RasterDtype, RasterHeader } from '../types.js';
import { readJp2Layout, type ReadBytes } from './boxes.js';
import { parseMainHeader, parseSot, reduceCoordinate, reducedImageSize, singleTileCodestream, singleTileMainHeader, tileGrid, type Jp2MainHeader } from './codestream.js';
import { readJp2Georeference, reduceGeoreference } from './georeference.js';
import { defaultDecodeThreads, sharedDecodePool } from './decode-pool.js';
import { DECODABLE_COMPONENTS, decodeTileCodestream, type TileDecodeRequest } from './openjpeg-codec.js';
import { indexTileParts, type TileIndex } from './tile-index.js';

export interface Jp2WindowsOptions {
  /** Only for messages. */
  label: string;
  /** When known, refuse another band count from the header, before any pixel is read. */
  expectedBands?: number;
  /**
   * Resolution levels to drop: 0 reads full resolution, 1 half (a 10 m band read at 20 m), 2 a
   * quarter, ...; at most the codestream's decomposition levels. @default 0
   */
  reduce?: number;
  /** Refuse images (at the requested resolution) with more pixels than this. @default MAX_MASK_PIXELS */
  maxPixels?: number;
  /** Refuse codestreams whose tiles hold more samples than this: a tile is decoded whole. @default 2^24 */
  maxTileSamples?: number;
  /** Refuse codestreams with more tile-parts than this. @default 65536 */
  maxTileParts?: number;
  /** Upper bound of decoded tiles kept between windows. @default 64 MiB */
  blockCacheBytes?: number;
  /**
   * Tiles of this image decoding at once, each in a thread of the process's shared decode pool
   * (which grows to the largest count any reader asks for); 0 decodes on the calling thread,
   * blocking its event loop for each tile. @default min(os.availableParallelism(), 4)
   */
  decodeThreads?: number;
  /**
   * Called with the header and the tile cache size before anything else is read (the tile-part
   * index included), to refuse an image from its header alone; throw to refuse.
   */
  admit?: (header: RasterHeader, blockCacheBytes: number) => void;
}

export interface Jp2Windows {
  header: RasterHeader;
  /** Width and height of the codestream's tiles at the requested resolution. */
  block: { width: number; height: number };
  /** The bytes of decoded tiles the cache may hold. */
  blockCacheBytes: number;
  /** Wavelet decomposition levels of the codestream: the largest `reduce` it allows. */
  decompositionLevels: number;
  /** HWC samples of `window` (inside the image), in their stored type, with the header's metadata. */
  readWindow(window: Tile): Promise<Raster>;
}

const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_TILE_SAMPLES = 2 ** 24;
// Main headers are a few hundred bytes; TLM of a 65535-tile codestream with several parts each is
// a few MB. Read in growing chunks up to this.
const FIRST_HEADER_READ_BYTES = 64 * 1024;
const MAX_MAIN_HEADER_BYTES = 16 * 1024 * 1024;

/**
 * Opens a JPEG 2000 image for windowed reading. Throws UNSUPPORTED_FORMAT (not JPEG 2000, or a
 * layout this reader does not take: sub-sampled or mixed components, more than 16 bits, PPM),
 * CORRUPT_IMAGE (truncated, marker garbage, tiles not covering the image), IMAGE_TOO_LARGE (from the
 * header, before any pixel is allocated) and BAND_MISMATCH.
 */
export async function openJp2Windows(source: RangeSource, options: Jp2WindowsOptions): Promise<Jp2Windows> {
  const { label } = options;
  const reduce = options.reduce ?? 0;
  const decode = tileDecoder(options.decodeThreads ?? defaultDecodeThreads(), label);
  const read: ReadBytes = (start, end) => source.read(start, end);
  const layout = await readJp2Layout(read, source.size, label);
  const { parsed, bytes: mainHeader } = await readMainHeader(read, layout.codestream, label);
  const { siz } = parsed;
  const first = siz.components[0]!;
  const bands = siz.components.length;
  const sampleType = sampleTypeOf(siz.components, label);
  if (!Number.isInteger(reduce) || reduce < 0 || reduce > parsed.decompositionLevels) {
    throw new CloudsegError('UNSUPPORTED_FORMAT', `${label}: cannot read at ${reduce} resolution levels down; the codestream has ${parsed.decompositionLevels}`, {
      details: { reduce, decompositionLevels: parsed.decompositionLevels },
    });
  }
  const { width, height } = reducedImageSize(siz, reduce);
  const maxPixels = options.maxPixels ?? MAX_MASK_PIXELS;
  if (width * height > maxPixels) {
    throw new CloudsegError('IMAGE_TOO_LARGE', `${label} is ${width}x${height} = ${width * height} pixels, more than the limit of ${maxPixels}`, {
      details: { width, height, maxPixels },
    });
  }
  const block = { width: Math.min(width, Math.ceil(siz.tileWidth / 2 ** reduce)), height: Math.min(height, Math.ceil(siz.tileHeight / 2 ** reduce)) };
  const maxTileSamples = options.maxTileSamples ?? DEFAULT_MAX_TILE_SAMPLES;
  if (block.width * block.height * bands > maxTileSamples) {
    throw new CloudsegError('IMAGE_TOO_LARGE', `${label}: its JPEG 2000 tiles are ${block.width}x${block.height}x${bands} samples, more than the ${maxTileSamples} one tile may decode to`, {
      details: { tileWidth: block.width, tileHeight: block.height, bands, maxTileSamples },
    });
  }
  if (options.expectedBands !== undefined && bands !== options.expectedBands) {
    throw new CloudsegError('BAND_MISMATCH', `${label}: image has ${bands} bands, model expects ${options.expectedBands}`, {
      details: { imageBands: bands, modelBands: options.expectedBands },
    });
  }
  const geo = await readJp2Georeference(layout.geoJp2, layout.gmlXml, label);
  const dtype: RasterDtype = sampleType;
  const header: RasterHeader = { width, height, bands, dtype, georef: reduceGeoreference(geo.georef, reduce), fileScaling: null, noData: geo.noData };
  const bytesPerSample = first.precision <= 8 ? 1 : 2;
  const tileBytes = block.width * block.height * bands * bytesPerSample;
  // At least one row of tiles across the image: the next row of windows re-reads the bottom of
  // this one (the overlap), and those tiles should still be here.
  const grid = tileGrid(siz);
  const blockCacheBytes = Math.max(options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES, 2 * grid.columns * tileBytes);
  options.admit?.(header, blockCacheBytes);

  // Tile-parts are fetched one tile at a time, rarely in file order: read-ahead would only waste.
  source.exactReads();
  const index = await indexTileParts(read, layout.codestream, parsed, { label, maxTileParts: options.maxTileParts });
  const columns = axisBounds(siz.tileX0, siz.tileWidth, siz.x0, siz.x1, grid.columns, reduce);
  const rows = axisBounds(siz.tileY0, siz.tileHeight, siz.y0, siz.y1, grid.rows, reduce);
  const cache = new TileCache(Math.max(1, Math.floor(blockCacheBytes / tileBytes)));

  const loadTile = async (tile: number, w: number, h: number): Promise<RasterArray> => {
    const parts = await readTileParts(read, index, tile, label);
    const codestream = singleTileCodestream(singleTileMainHeader(mainHeader, parsed, tile), parts);
    return decode({ codestream, reduce, width: w, height: h, components: bands, sampleType, label });
  };

  const readWindow = async (window: Tile): Promise<Raster> => {
    const x1 = window.x + window.width;
    const y1 = window.y + window.height;
    if (window.x < 0 || window.y < 0 || window.width <= 0 || window.height <= 0 || x1 > width || y1 > height) {
      throw new CloudsegError('INTERNAL', `${label}: window ${window.width}x${window.height} at ${window.x},${window.y} is not inside the ${width}x${height} image`);
    }
    const data = newArray(sampleType, window.width * window.height * bands);
    const copies: Promise<void>[] = [];
    for (let q = 0; q < rows.length; q++) {
      const row = rows[q]!;
      if (row.end <= window.y || row.start >= y1 || row.end === row.start) continue;
      for (let p = 0; p < columns.length; p++) {
        const col = columns[p]!;
        if (col.end <= window.x || col.start >= x1 || col.end === col.start) continue;
        const tile = q * grid.columns + p;
        const tileWidth = col.end - col.start;
        copies.push(
          cache.get(tile, () => loadTile(tile, tileWidth, row.end - row.start)).then((samples) => {
            const fromX = Math.max(window.x, col.start);
            const toX = Math.min(x1, col.end);
            for (let y = Math.max(window.y, row.start); y < Math.min(y1, row.end); y++) {
              const src = ((y - row.start) * tileWidth + (fromX - col.start)) * bands;
              (data as Uint16Array).set((samples as Uint16Array).subarray(src, src + (toX - fromX) * bands), ((y - window.y) * window.width + (fromX - window.x)) * bands);
            }
          }),
        );
      }
    }
    await Promise.all(copies);
    return { ...header, width: window.width, height: window.height, data };
  };
  return { header, block, blockCacheBytes, decompositionLevels: parsed.decompositionLevels, readWindow };
}

// Decodes in the shared pool, at most `threads` of this reader's tiles at once (the tile-parts of
// the others are read meanwhile), or inline when `threads` is 0.
function tileDecoder(threads: number, label: string): (request: TileDecodeRequest) => Promise<RasterArray> {
  if (!Number.isInteger(threads) || threads < 0) throw new CloudsegError('INTERNAL', `${label}: decodeThreads must be a whole number >= 0, not ${threads}`);
  if (threads === 0) return decodeTileCodestream;
  const limit = pLimit(threads);
  return (request) => limit(() => sharedDecodePool(threads).decode(request));
}

// The main header grows until its first SOT is in view, within MAX_MAIN_HEADER_BYTES.
async function readMainHeader(read: ReadBytes, codestream: { offset: number; length: number }, label: string): Promise<{ parsed: Jp2MainHeader; bytes: Uint8Array }> {
  for (let want = FIRST_HEADER_READ_BYTES; ; want *= 4) {
    const bytes = await read(codestream.offset, codestream.offset + Math.min(want, codestream.length));
    const parsed = parseMainHeader(bytes, label);
    if (parsed) return { parsed, bytes: bytes.subarray(0, parsed.length) };
    if (bytes.length >= codestream.length || bytes.length < Math.min(want, codestream.length)) {
      throw new CloudsegError('CORRUPT_IMAGE', `${label}: JPEG 2000 codestream is truncated (it ends within its main header, ${bytes.length} bytes)`);
    }
    if (want >= MAX_MAIN_HEADER_BYTES) throw new CloudsegError('CORRUPT_IMAGE', `${label}: JPEG 2000 main header is longer than ${MAX_MAIN_HEADER_BYTES} bytes`);
  }
}

// One sample type for every band, unsampled: what a Raster holds and the codec hands back.
function sampleTypeOf(components: Jp2MainHeader['siz']['components'], label: string): 'uint8' | 'uint16' | 'int16' {
  const first = components[0]!;
  const unsupported = (why: string) => new CloudsegError('UNSUPPORTED_FORMAT', `${label}: JPEG 2000 ${why}; windowed reading takes 1..16-bit components of one type at full sampling`);
  if (components.some((c) => c.precision !== first.precision || c.signed !== first.signed)) throw unsupported('components differ in precision or sign');
  if (components.some((c) => c.dx !== 1 || c.dy !== 1)) throw unsupported('components are sub-sampled');
  if (first.precision > 16) throw unsupported(`samples have ${first.precision} bits`);
  if (first.signed && first.precision <= 8) throw unsupported('samples are signed 8-bit');
  if (!DECODABLE_COMPONENTS.includes(components.length)) {
    throw new CloudsegError('UNSUPPORTED_FORMAT', `${label}: JPEG 2000 has ${components.length} components; the decoder takes ${DECODABLE_COMPONENTS.join(' or ')} (one file per band, as Sentinel-2 has, or RGB)`);
  }
  return first.precision <= 8 ? 'uint8' : first.signed ? 'int16' : 'uint16';
}

// Where each tile column (or row) lies in the image at the requested resolution (B.5: reduced
// coordinates are ceil(x / 2^reduce) on the reference grid, minus the image origin's).
function axisBounds(tileOrigin: number, tileSize: number, imageStart: number, imageEnd: number, count: number, reduce: number): { start: number; end: number }[] {
  const origin = reduceCoordinate(imageStart, reduce);
  return Array.from({ length: count }, (_, i) => ({
    start: reduceCoordinate(Math.max(tileOrigin + i * tileSize, imageStart), reduce) - origin,
    end: reduceCoordinate(Math.min(tileOrigin + (i + 1) * tileSize, imageEnd), reduce) - origin,
  }));
}

async function readTileParts(read: ReadBytes, index: TileIndex, tile: number, label: string): Promise<Uint8Array[]> {
  const ranges = index[tile]!;
  const parts = await Promise.all(ranges.map((r) => read(r.offset, r.offset + r.length)));
  parts.forEach((bytes, i) => {
    const range = ranges[i]!;
    const sot = parseSot(bytes);
    // TLM offsets are only trusted once the SOT they point at agrees.
    if (bytes.length !== range.length || !sot || sot.tile !== tile || (sot.length !== 0 && sot.length !== range.length)) {
      throw new CloudsegError('CORRUPT_IMAGE', `${label}: JPEG 2000 tile-part ${i} of tile ${tile} (byte ${range.offset}, ${range.length} bytes) is not where the index says; truncated or a wrong TLM`);
    }
  });
  return parts;
}

function newArray(type: 'uint8' | 'uint16' | 'int16', length: number): RasterArray {
  return type === 'uint8' ? new Uint8Array(length) : type === 'uint16' ? new Uint16Array(length) : new Int16Array(length);
}

// Least recently used decoded tiles, by count. Promises are kept, so two windows in flight asking
// for one tile decode it once.
class TileCache {
  private readonly tiles = new Map<number, Promise<RasterArray>>();
  constructor(private readonly capacity: number) {}

  get(key: number, load: () => Promise<RasterArray>): Promise<RasterArray> {
    let tile = this.tiles.get(key);
    if (tile) {
      this.tiles.delete(key);
    } else {
      tile = load();
      // A failed decode must not stay cached: the next window tries again (or fails the same way).
      tile.catch(() => this.tiles.get(key) === tile && this.tiles.delete(key));
    }
    this.tiles.set(key, tile);
    while (this.tiles.size > this.capacity) this.tiles.delete(this.tiles.keys().next().value!);
    return tile;
  }
}
