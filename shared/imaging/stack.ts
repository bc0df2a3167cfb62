// Builds the multi-band GeoTIFFs the model reads from the one-file-per-band form satellite data
// ships in (Landsat, Sentinel-2 chips), and writes any Raster back out as a GeoTIFF.
import { CloudsegError } from '../errors.js';
import { decodeImage } from './decode.js';
import { writeGeoTiff } from './geotiff-write.js';
import type { Raster, RasterArray, Scaling } from './types.js';

export interface StackOptions {
  /** GDAL scale/offset to record in the file (GDAL_METADATA); none when null or absent. */
  scaling?: Scaling | null;
}

// Stacking is an offline step on trusted files; the limit only guards against absurd headers.
const STACK_MAX_PIXELS = 1 << 30;

/**
 * Single-band rasters of one size and type -> one band-interleaved GeoTIFF, bands in the given
 * order, keeping the first band's georeference and nodata.
 */
export async function stackBands(bands: Uint8Array[], options: StackOptions = {}): Promise<Uint8Array> {
  if (bands.length === 0) throw new CloudsegError('BAND_MISMATCH', 'stackBands needs at least one band');
  const rasters: Raster[] = [];
  for (const [i, bytes] of bands.entries()) {
    rasters.push(await decodeImage(bytes, { name: `band ${i}`, maxPixels: STACK_MAX_PIXELS }));
  }
  const first = rasters[0]!;
  for (const [i, r] of rasters.entries()) {
    if (r.bands !== 1) throw new CloudsegError('BAND_MISMATCH', `band ${i} has ${r.bands} bands; stack single-band files`);
    if (r.width !== first.width || r.height !== first.height || r.dtype !== first.dtype) {
      throw new CloudsegError(
        'BAND_MISMATCH',
        `band ${i} is ${r.width}x${r.height} ${r.dtype}, band 0 is ${first.width}x${first.height} ${first.dtype}`,
      );
    }
  }
  const pixels = first.width * first.height;
  const count = rasters.length;
  const data = newArrayLike(first.data, pixels * count);
  rasters.forEach((r, b) => {
    for (let p = 0; p < pixels; p++) data[p * count + b] = r.data[p]!;
  });
  return encodeRasterGeoTiff(
    { ...first, bands: count, data, fileScaling: null },
    { scaling: options.scaling ?? null },
  );
}

/**
 * A Raster as a GeoTIFF (deflate). `scaling` undefined keeps the raster's own file scaling, null
 * writes none.
 */
export async function encodeRasterGeoTiff(raster: Raster, options: StackOptions = {}): Promise<Uint8Array> {
  const scaling = options.scaling === undefined ? raster.fileScaling : options.scaling;
  return writeGeoTiff({
    width: raster.width,
    height: raster.height,
    bands: raster.bands,
    dtype: raster.dtype,
    data: raster.data,
    georef: raster.georef,
    noData: raster.noData,
    scaling,
  });
}

function newArrayLike(like: RasterArray, length: number): RasterArray {
  const Ctor = like.constructor as new (length: number) => RasterArray;
  return new Ctor(length);
}
