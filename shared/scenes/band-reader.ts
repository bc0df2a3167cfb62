// One band object read window by window, whatever it is stored as: a TIFF/GeoTIFF or JPEG 2000
// (a JP2 or a bare codestream), told apart by its first bytes. When the scene states its own grid
// (a SAFE granule's MTD_TL.xml) every band is placed on it: a band file's own CRS is checked against it.
import { CloudsegError } from '../errors.js';
import { hexHead, sniffContainer } from '../imaging/decode.js';
import { openJp2Windows, sniffJp2 } from '../imaging/jp2/index.js';
import { isSourceReadError, type RangeSource } from '../imaging/range-source.js';
import { openTiffWindows } from '../imaging/tiff-windows.js';
import type { Tile } from '../imaging/tiling.js';
import type { Georeference, Raster, RasterHeader } from '../imaging/types.js';
import { checkGranuleCrs, epsgOfGeoreference, gridResolutionFor } from './safe/granule-metadata.js';
import type { SceneGrid } from './types.js';

export const BAND_FORMATS = ['tiff', 'jp2'] as const;
export type BandFormat = (typeof BAND_FORMATS)[number];

export interface BandReader {
  format: BandFormat;
  /** The file's header; its georeference the scene grid's when there is one (see placeOnGrid). */
  header: RasterHeader;
  /** HWC samples of `window`, in their stored type. */
  readWindow(window: Tile): Promise<Raster>;
}

export interface BandReaderOptions {
  /** Only for messages (the band and its href). */
  label: string;
  /** Decoded blocks (TIFF) or tiles (JPEG 2000) kept between windows. */
  blockCacheBytes?: number;
  /** The scene's own grid: the georeference of every band, by its size. */
  grid?: SceneGrid;
  /**
   * Called with the header (already placed on the grid) and the cache size before any block table
   * or pixel is read; throw to refuse.
   */
  admit?: (header: RasterHeader, blockCacheBytes: number) => void;
}

/** Which reader a band object takes, from its first bytes (16 are plenty); null for neither. */
export function sniffBandFormat(head: Uint8Array): BandFormat | null {
  if (sniffContainer(head) === 'tiff') return 'tiff';
  return sniffJp2(head) === null ? null : 'jp2';
}

/**
 * Opens a band object for windowed reading. UNSUPPORTED_FORMAT when it is neither TIFF nor JPEG
 * 2000 (said plainly, not as whatever a parser makes of its first bytes); SCENE_INVALID when the
 * scene has a grid and the band's CRS or size is not the grid's; the readers' own errors otherwise.
 */
export async function openBandReader(source: RangeSource, options: BandReaderOptions): Promise<BandReader> {
  const { label, grid } = options;
  const head = await source.read(0, 16);
  const format = sniffBandFormat(head);
  if (format === null) {
    throw new CloudsegError('UNSUPPORTED_FORMAT', `${label} is neither a TIFF/GeoTIFF nor JPEG 2000 (starts with ${hexHead(head)}); scene bands are read as either`);
  }
  const place = (header: RasterHeader): RasterHeader => (grid ? { ...header, georef: placeOnGrid(label, format, header, grid) } : header);
  const readerOptions = {
    label,
    ...(options.blockCacheBytes !== undefined ? { blockCacheBytes: options.blockCacheBytes } : {}),
    admit: (header: RasterHeader, blockCacheBytes: number) => options.admit?.(place(header), blockCacheBytes),
  };
  const windows = await decoding(label, format, () => (format === 'tiff' ? openTiffWindows(source, readerOptions) : openJp2Windows(source, readerOptions)));
  return { format, header: place(windows.header), readWindow: (window) => decoding(label, format, () => windows.readWindow(window)) };
}

// A parser's own exception (geotiff.js on a cut-short strip) becomes CORRUPT_IMAGE naming the band;
// cloudseg's errors and the store's (a 404, a 503: the worker decides) pass unchanged.
async function decoding<T>(label: string, format: BandFormat, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CloudsegError || isSourceReadError(err)) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new CloudsegError('CORRUPT_IMAGE', `${label} could not be decoded as ${format === 'tiff' ? 'TIFF' : 'JPEG 2000'}: ${reason}`, { cause: err, details: { name: label, container: format } });
  }
}

/**
 * The georeference of a band file on the scene's grid: the grid's at the band's size. A file that
 * carries a georeference of its own (GeoTIFF keys, a GeoJP2 or GMLJP2 box) must name the grid's CRS
 * (checkGranuleCrs); its placement is still taken from the grid, so every band of the product,
 * with or without boxes, compares equal. SCENE_INVALID when the grid has no resolution of that size.
 */
export function placeOnGrid(label: string, format: BandFormat, header: Pick<RasterHeader, 'width' | 'height' | 'georef'>, grid: SceneGrid): Georeference {
  if (header.georef) {
    const own = epsgOfGeoreference(header.georef);
    const where = format === 'jp2' ? 'its GeoJP2/GMLJP2 box' : 'its GeoTIFF keys';
    checkGranuleCrs(grid.source, grid.crs, own ?? String(header.georef.geoKeys.GTCitationGeoKey ?? 'a CRS without an EPSG code'), `${label} (${where})`);
  }
  const resolution = gridResolutionFor(grid, header.width, header.height);
  if (!resolution) {
    const sizes = grid.resolutions.map((r) => `${r.width}x${r.height} at ${r.resolutionM} m`).join(', ');
    throw new CloudsegError('SCENE_INVALID', `${label} is ${header.width}x${header.height} pixels; ${grid.source} gives the tile as ${sizes}: the band is not of this product's grid`, {
      details: { width: header.width, height: header.height, grid: grid.resolutions.map((r) => ({ resolutionM: r.resolutionM, width: r.width, height: r.height })) },
    });
  }
  return resolution.georef;
}
