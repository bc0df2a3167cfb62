// The in-memory shapes images take between decoding and inference.

export const RASTER_DTYPES = ['uint8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as const;
export type RasterDtype = (typeof RASTER_DTYPES)[number];

/** Bytes one stored sample of `dtype` takes. */
export function bytesPerSample(dtype: RasterDtype): number {
  return dtype === 'uint8' ? 1 : dtype === 'uint16' || dtype === 'int16' ? 2 : dtype === 'float64' ? 8 : 4;
}

export type RasterArray = Uint8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/**
 * Everything needed to write a mask as a GeoTIFF that lies exactly on the input: the GeoTIFF
 * geo keys and the affine placement, copied from the input as they were.
 */
export interface Georeference {
  /** GeoKeyDirectory entries by key name (e.g. GTModelTypeGeoKey, ProjectedCSTypeGeoKey). */
  geoKeys: Record<string, number | string | number[]>;
  modelTiepoint: number[] | null;
  modelPixelScale: number[] | null;
  modelTransformation: number[] | null;
}

/** Per-band linear conversion of stored values to model input: value * scale + offset. */
export interface Scaling {
  scale: number[];
  offset: number[];
}

/** What an image's header says, before any pixel is read. */
export interface RasterHeader {
  width: number;
  height: number;
  bands: number;
  dtype: RasterDtype;
  georef: Georeference | null;
  /** The GDAL scale/offset recorded in the file (GDAL_METADATA), when present. */
  fileScaling: Scaling | null;
  noData: number | null;
}

/** A decoded image (or a window of one): pixel-interleaved (HWC) samples in their stored type. */
export interface Raster extends RasterHeader {
  /** length width * height * bands, index (y * width + x) * bands + band */
  data: RasterArray;
}
