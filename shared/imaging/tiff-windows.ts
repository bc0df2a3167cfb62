// Windows of a TIFF/GeoTIFF read through a RangeSource: the header first (size, bands, type,
// georeference, nodata, scale/offset, checked before any pixel is read), then any rectangle on
// demand, fetching and decoding only the tiles or strips under it, a bounded cache of decoded
// blocks absorbing the overlap between neighbouring windows.
import { GeoTIFF, type GeoTIFFImage } from 'geotiff';
import { CloudsegError } from '../errors.js';
import { checkBlocksInside, chunkyBlockDecoder, dtypeOf, normaliseArray, parseGdalScaling, readGeoreference } from './decode.js';
import type { RangeSource } from './range-source.js';
import type { Tile } from './tiling.js';
import type { Raster, RasterArray, RasterHeader } from './types.js';

export interface TiffWindowsOptions {
  /** Only for messages. */
  label: string;
  /** When known, refuse another band count from the header, before any pixel is read. */
  expectedBands?: number;
  /** Upper bound of decoded blocks kept between windows. @default 64 MiB */
  blockCacheBytes?: number;
  /**
   * Called with the header and the block cache size before anything else is read (block tables
   * included), to refuse an image from its header alone; throw to refuse.
   */
  admit?: (header: RasterHeader, blockCacheBytes: number) => void;
}

export interface TiffWindows {
  header: RasterHeader;
  /** Width and height of the file's tiles or strips. */
  block: { width: number; height: number };
  /** The bytes of decoded blocks the cache may hold. */
  blockCacheBytes: number;
  /** HWC samples of `window` (inside the image), in their stored type, with the header's metadata. */
  readWindow(window: Tile): Promise<Raster>;
}

const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;

export async function openTiffWindows(source: RangeSource, options: TiffWindowsOptions): Promise<TiffWindows> {
  const { label } = options;
  // geotiff's own types want its BaseSource class; RangeSource has the same fetch/fileSize/close.
  const tiff = await GeoTIFF.fromSource(source as unknown as Parameters<typeof GeoTIFF.fromSource>[0]);
  const image = await tiff.getImage(0);
  const width = image.getWidth();
  const height = image.getHeight();
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new CloudsegError('CORRUPT_IMAGE', `${label}: header gives an invalid size ${width}x${height}`);
  }
  const bands = image.getSamplesPerPixel();
  if (options.expectedBands !== undefined && bands !== options.expectedBands) {
    throw new CloudsegError('BAND_MISMATCH', `${label}: image has ${bands} bands, model expects ${options.expectedBands}`, {
      details: { imageBands: bands, modelBands: options.expectedBands },
    });
  }
  const fd = image.getFileDirectory();
  const gdalMetadata = fd.hasTag('GDAL_METADATA') ? String(await fd.loadValue('GDAL_METADATA')) : null;
  // The array type geotiff decodes into says the sample type without reading a pixel.
  const dtype = dtypeOf(normaliseArray(image.getArrayForSample(0, 1) as RasterArray | Int8Array));
  const header: RasterHeader = {
    width,
    height,
    bands,
    dtype,
    georef: readGeoreference(image),
    fileScaling: gdalMetadata ? parseGdalScaling(gdalMetadata, bands) : null,
    noData: image.getGDALNoData(),
  };
  const block = { width: image.getTileWidth(), height: image.getTileHeight() };
  const decoder = await chunkyBlockDecoder(image);
  // Decoded blocks hold every sample of their pixels (chunky) in the decoded type.
  const blockBytes = block.width * block.height * bands * image.getArrayForSample(0, 1).BYTES_PER_ELEMENT;
  // At least one row of blocks across the image: the next row of windows re-reads the bottom of
  // this one (the overlap), and those blocks should still be here.
  const blockRowBytes = Math.ceil(width / block.width) * blockBytes;
  const blockCacheBytes = Math.max(options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES, 2 * blockRowBytes);
  options.admit?.(header, blockCacheBytes);
  // Strips are small and read in file order (read-ahead groups them); tiles are not.
  if (image.isTiled) source.exactReads();
  await checkBlocksInside(image, source.size, label);
  const cache = new BlockCache(Math.max(1, Math.floor(blockCacheBytes / blockBytes)));

  const readWindow = async (window: Tile): Promise<Raster> => {
    const data =
      decoder === null
        ? normaliseArray((await image.readRasters({ window: [window.x, window.y, window.x + window.width, window.y + window.height], interleave: true })) as unknown as RasterArray | Int8Array)
        : normaliseArray(await readChunkyWindow(image, decoder, cache, window));
    if (data.length !== window.width * window.height * bands) {
      throw new CloudsegError('CORRUPT_IMAGE', `${label}: window ${window.width}x${window.height} at ${window.x},${window.y} decoded to ${data.length} samples`);
    }
    return { ...header, width: window.width, height: window.height, data };
  };
  return { header, block, blockCacheBytes, readWindow };
}

type Decoder = NonNullable<Awaited<ReturnType<typeof chunkyBlockDecoder>>>;
type Block = RasterArray | Int8Array;

// Least recently used decoded blocks, by count (all blocks of a file have one size). Promises are
// kept, so two windows in flight asking for one block fetch it once.
class BlockCache {
  private readonly blocks = new Map<string, Promise<Block>>();
  constructor(private readonly capacity: number) {}

  get(key: string, load: () => Promise<Block>): Promise<Block> {
    let block = this.blocks.get(key);
    if (block) {
      this.blocks.delete(key);
    } else {
      block = load();
      // A failed read must not stay cached: the next window tries again (or fails the same way).
      block.catch(() => this.blocks.get(key) === block && this.blocks.delete(key));
    }
    this.blocks.set(key, block);
    while (this.blocks.size > this.capacity) this.blocks.delete(this.blocks.keys().next().value!);
    return block;
  }
}

// Copies the rows of every block under the window; blocks hold interleaved samples already.
async function readChunkyWindow(image: GeoTIFFImage, decoder: Decoder, cache: BlockCache, window: Tile): Promise<Block> {
  const bands = image.getSamplesPerPixel();
  const tileWidth = image.getTileWidth();
  const tileHeight = image.getTileHeight();
  const out = image.getArrayForSample(0, window.width * window.height * bands) as Block;
  const x1 = window.x + window.width;
  const y1 = window.y + window.height;
  const copies: Promise<void>[] = [];
  for (let ty = Math.floor(window.y / tileHeight); ty * tileHeight < y1; ty++) {
    for (let tx = Math.floor(window.x / tileWidth); tx * tileWidth < x1; tx++) {
      const load = () => image.getTileOrStrip(tx, ty, 0, decoder).then(({ data }) => image.getArrayForSample(0, data) as Block);
      copies.push(
        cache.get(`${tx},${ty}`, load).then((block) => {
          const fromX = Math.max(window.x, tx * tileWidth);
          const toX = Math.min(x1, (tx + 1) * tileWidth);
          const fromY = Math.max(window.y, ty * tileHeight);
          const toY = Math.min(y1, (ty + 1) * tileHeight);
          for (let y = fromY; y < toY; y++) {
            const src = ((y - ty * tileHeight) * tileWidth + (fromX - tx * tileWidth)) * bands;
            (out as Uint8Array).set((block as Uint8Array).subarray(src, src + (toX - fromX) * bands), ((y - window.y) * window.width + (fromX - window.x)) * bands);
          }
        }),
      );
    }
  }
  await Promise.all(copies);
  return out;
}
