// The per-image path shared by the worker and the CLI: bytes in, mask out, no cloud involved.
// decode -> scale to the model's input -> tiled inference -> threshold -> encode. segmentSource
// does the same through windows of a RangeSource (memory bounded by tiles, not the scene);
// segmentImage holds the whole image (evaluation and overlays need the raster).
import { performance } from 'node:perf_hooks';
import { decodeImage } from '../imaging/decode.js';
import { encodeMaskCog, encodeMaskPng } from '../imaging/encode.js';
import { maskOverviews, quickLookScale } from '../imaging/mask-overviews.js';
import { CloudsegError } from '../errors.js';
import { resolveScaling, toModelInput, validPixels, type ScalingOverride, type ScalingSource } from '../imaging/scaling.js';

export type { ScalingOverride } from '../imaging/scaling.js';
import type { Georeference, Raster, Scaling } from '../imaging/types.js';
import type { MaskLegend } from '../imaging/mask-values.js';
import { maskRule, type MaskSummary } from '../model/mask-rule.js';
import { applyMaskRule, segmentScene, type SegmentOptions } from '../model/segment.js';
import type { SegmentationModel } from '../model/types.js';

export interface SegmentRequest {
  bytes: Uint8Array;
  name: string;
  contentType?: string;
  /** Custom metadata of the object (cloudseg-preset, cloudseg-scale, cloudseg-offset). */
  objectMetadata?: Record<string, string> | null;
  scalingOverride?: ScalingOverride | null;
}

/** A mask and what it was made with. */
export interface MaskResult {
  width: number;
  height: number;
  /** The mask, row-major: MASK_VALUES (0 clear, 255 cloud, 128 nodata) or class values (see legend). */
  mask: Uint8Array;
  /** What the mask's bytes mean. */
  legend: MaskLegend;
  /** Cloud (and thin cloud) pixels over pixels with data. */
  cloudFraction: number;
  /** Every class's share (class models), the shadow share, the pixels with data. */
  summary: MaskSummary;
  georef: Georeference | null;
  scaling: Scaling;
  scalingSource: ScalingSource;
  timingsMs: { decode: number; infer: number };
  /**
   * Where the mask came from, as text key/values the georeferenced mask carries in its metadata
   * (GDAL_METADATA): e.g. the reflectance conversion applied and its source.
   */
  tags?: Record<string, string>;
}

export interface Segmentation extends MaskResult {
  raster: Raster;
}

export interface EncodedMasks {
  /** The PNG mask: full resolution, or above QUICK_LOOK_MAX_SIDE a quick-look (see pngScale). */
  png: Buffer;
  /**
   * 1 when the PNG is the whole mask; else n (a power of two): one PNG pixel per n x n mask pixels,
   * the mode of each block, equal to the COG's overview of that factor.
   */
  pngScale: number;
  /** The mask as a Cloud-Optimized GeoTIFF (`.mask.tif`), full resolution, with overviews. */
  geotiff: Buffer | null;
  encodeMs: number;
}

export async function segmentImage(
  model: SegmentationModel,
  request: SegmentRequest,
  limits: { maxPixels: number } & SegmentOptions,
): Promise<Segmentation> {
  const t0 = performance.now();
  const raster = await decodeImage(request.bytes, {
    name: request.name,
    ...(request.contentType ? { contentType: request.contentType } : {}),
    maxPixels: limits.maxPixels,
    expectedBands: model.card.bands.length,
  });
  // A scene with no real value would come back a confident all-clear mask: say so instead.
  const { valid, count } = validPixels(raster);
  if (count === 0) throw noValidPixels(request.name);
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
  const { maxPixels: _maxPixels, ...segmentOptions } = limits;
  const values = await segmentScene(model, input, raster.width, raster.height, segmentOptions);
  const rule = maskRule(card);
  const { mask, summary } = applyMaskRule(values, rule, valid);
  const t2 = performance.now();
  return {
    width: raster.width,
    height: raster.height,
    mask,
    legend: rule.legend,
    cloudFraction: summary.cloudFraction,
    summary,
    georef: raster.georef,
    raster,
    scaling,
    scalingSource: source,
    timingsMs: { decode: t1 - t0, infer: t2 - t1 },
  };
}

/**
 * The PNG mask always; the COG mask when the input was georeferenced and it is wanted, and always
 * when the PNG has to be a quick-look (the COG is then the only full-resolution copy). The COG's
 * overviews are made once and the quick-look is one of them.
 */
export async function encodeMasks(segmentation: MaskResult, options: { geotiff: boolean }): Promise<EncodedMasks> {
  const t0 = performance.now();
  const { mask, width, height, georef, tags, legend } = segmentation;
  const pngScale = quickLookScale(width, height);
  const wantCog = pngScale > 1 || (options.geotiff && georef !== null);
  const overviews = wantCog ? maskOverviews({ width, height, data: mask }, legend) : [];
  // overviews[k - 1] is the level 2^k below the mask; quickLookScale stops at or above one tile.
  const shown = pngScale === 1 ? { width, height, data: mask } : overviews[Math.log2(pngScale) - 1]!;
  const [png, geotiff] = await Promise.all([
    encodeMaskPng(shown.data, shown.width, shown.height, legend),
    wantCog ? encodeMaskCog(mask, width, height, { georef, overviews, legend, ...(tags ? { tags } : {}) }) : Promise.resolve(null),
  ]);
  return { png, pngScale, geotiff, encodeMs: performance.now() - t0 };
}

export function noValidPixels(name: string): CloudsegError {
  return new CloudsegError('NO_VALID_PIXELS', `${name}: every sample is nodata, NaN or infinite; there is nothing to segment`);
}
