// The per-image path shared by the worker and the CLI: bytes in, mask out, no cloud involved.
// decode -> scale to the model's input -> tiled inference -> threshold -> encode.
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../imaging/decode.js';
import { encodeMaskGeoTiff, encodeMaskPng } from '../imaging/encode.js';
import { CloudsegError } from '../errors.js';
import { hasValidSample, resolveScaling, toModelInput, type ScalingOverride, type ScalingSource } from '../imaging/scaling.js';

export type { ScalingOverride } from '../imaging/scaling.js';
import type { Georeference, Raster, Scaling } from '../imaging/types.js';
import { segmentScene, thresholdMask } from '../model/segment.js';
import type { SegmentationModel } from '../model/types.js';

export interface SegmentRequest {
  bytes: Uint8Array;
  name: string;
  contentType?: string;
  /** Custom metadata of the object (cloudseg-preset, cloudseg-scale, cloudseg-offset). */
  objectMetadata?: Record<string, string> | null;
  scalingOverride?: ScalingOverride | null;
}

export interface Segmentation {
  width: number;
  height: number;
  /** 0 = clear, 255 = cloud, row-major. */
  mask: Uint8Array;
  cloudFraction: number;
  georef: Georeference | null;
  raster: Raster;
  scaling: Scaling;
  scalingSource: ScalingSource;
  timingsMs: { decode: number; infer: number };
}

export interface EncodedMasks {
  png: Buffer;
  geotiff: Buffer | null;
  encodeMs: number;
}

export async function segmentImage(
  model: SegmentationModel,
  request: SegmentRequest,
  limits: { maxPixels: number; batchTiles?: number },
): Promise<Segmentation> {
  const t0 = performance.now();
  const raster = await decodeImage(request.bytes, {
    name: request.name,
    ...(request.contentType ? { contentType: request.contentType } : {}),
    maxPixels: limits.maxPixels,
    expectedBands: model.card.bands.length,
  });
  // A scene with no real value would come back a confident all-clear mask: say so instead.
  if (!hasValidSample(raster)) {
    throw new CloudsegError('NO_VALID_PIXELS', `${request.name}: every sample is nodata, NaN or infinite; there is nothing to segment`);
  }
  const { card } = model;
  const { scaling, source } = resolveScaling({
    bands: card.bands.length,
    raster,
    override: request.scalingOverride ?? null,
    objectMetadata: request.objectMetadata ?? null,
    presets: card.presets,
    defaults: card.defaultPreset,
  });
  const input = toModelInput(raster, scaling, card.bands.length);
  const t1 = performance.now();
  const probability = await segmentScene(model, input, raster.width, raster.height, {
    ...(limits.batchTiles ? { batchTiles: limits.batchTiles } : {}),
  });
  const { mask, cloudFraction } = thresholdMask(probability, card.threshold);
  const t2 = performance.now();
  return {
    width: raster.width,
    height: raster.height,
    mask,
    cloudFraction,
    georef: raster.georef,
    raster,
    scaling,
    scalingSource: source,
    timingsMs: { decode: t1 - t0, infer: t2 - t1 },
  };
}

/** The PNG mask always; the GeoTIFF mask when the input was georeferenced and it is wanted. */
export async function encodeMasks(segmentation: Segmentation, options: { geotiff: boolean }): Promise<EncodedMasks> {
  const t0 = performance.now();
  const { mask, width, height, georef } = segmentation;
  const [png, geotiff] = await Promise.all([
    encodeMaskPng(mask, width, height),
    options.geotiff && georef ? encodeMaskGeoTiff(mask, width, height, georef) : Promise.resolve(null),
  ]);
  return { png, geotiff, encodeMs: performance.now() - t0 };
}
