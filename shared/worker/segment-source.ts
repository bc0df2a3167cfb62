// The per-image path over a RangeSource (a generation-pinned GCS object, a local file): a TIFF is
// read window by window and thresholded tile by tile, so memory depends on the tile size and the
// tiles in flight, never on the scene; a PNG (no windows in the format) is read whole, within the
// same budget. Both refuse from the header, before any pixel is read.
import { performance } from 'node:perf_hooks';
import { CloudsegError } from '../errors.js';
import { hexHead, sniffContainer } from '../imaging/decode.js';
import { checkMemoryBudget, wholeImageMaxPixels, windowedBytes } from '../imaging/memory-budget.js';
import { isSourceReadError, type RangeSource } from '../imaging/range-source.js';
import { resolveScaling, toModelInput, validPixels, type ScalingOverride } from '../imaging/scaling.js';
import { openTiffWindows, type TiffWindows } from '../imaging/tiff-windows.js';
import { segmentWindows } from '../model/segment-windows.js';
import { sceneTilePlan, type SegmentOptions } from '../model/segment.js';
import type { SegmentationModel } from '../model/types.js';
import { bytesPerSample, type RasterHeader } from '../imaging/types.js';
import { noValidPixels, segmentImage, type MaskResult } from './segment-image.js';

export interface SourceRequest {
  source: RangeSource;
  name: string;
  contentType?: string;
  /** Custom metadata of the object (cloudseg-preset, cloudseg-scale, cloudseg-offset). */
  objectMetadata?: Record<string, string> | null;
  scalingOverride?: ScalingOverride | null;
}

export interface SourceLimits {
  /** What one image may take (estimated from its header); more is IMAGE_TOO_LARGE. */
  memoryBudgetBytes: number;
  batchTiles?: number;
  /** Tile size and overlap other than the card's (tests, experiments). */
  tile?: { size?: number; overlap?: number };
  /** Tiles done / total after each group (windowed reads only): a terminal's progress bar. */
  onProgress?: SegmentOptions['onProgress'];
}

export interface SourceSegmentation extends MaskResult {
  /** How the image was read: window by window (TIFF) or whole (PNG). */
  read: 'windowed' | 'whole';
  tilesRun: number;
  tilesSkipped: number;
}

export async function segmentSource(model: SegmentationModel, request: SourceRequest, limits: SourceLimits): Promise<SourceSegmentation> {
  const { source, name } = request;
  if (source.size === 0) throw new CloudsegError('EMPTY_OBJECT', `${name} is empty (0 bytes)`);
  const head = await source.read(0, 16);
  const container = sniffContainer(head);
  if (container === null) {
    const declared = request.contentType ? ` (declared ${request.contentType})` : '';
    throw new CloudsegError('UNSUPPORTED_FORMAT', `${name}${declared} is neither a TIFF/GeoTIFF nor a PNG (starts with ${hexHead(head)})`, {
      details: { name, contentType: request.contentType },
    });
  }
  return container === 'png' ? segmentWholePng(model, request, limits) : segmentTiffWindows(model, request, limits);
}

async function segmentWholePng(model: SegmentationModel, request: SourceRequest, limits: SourceLimits): Promise<SourceSegmentation> {
  const maxPixels = wholeImageMaxPixels(limits.memoryBudgetBytes);
  // A compressed PNG never exceeds its raw size by much; one larger than the budget cannot fit.
  checkMemoryBudget(request.name, 1, 1, request.source.size, limits.memoryBudgetBytes);
  const bytes = await request.source.read(0, request.source.size);
  const { raster: _raster, ...result } = await segmentImage(
    model,
    {
      bytes,
      name: request.name,
      ...(request.contentType ? { contentType: request.contentType } : {}),
      objectMetadata: request.objectMetadata ?? null,
      scalingOverride: request.scalingOverride ?? null,
    },
    { maxPixels, ...tileOptions(limits) },
  );
  return { ...result, read: 'whole', tilesRun: 0, tilesSkipped: 0 };
}

async function segmentTiffWindows(model: SegmentationModel, request: SourceRequest, limits: SourceLimits): Promise<SourceSegmentation> {
  const { card } = model;
  const label = request.name;
  const bands = card.bands.length;
  const t0 = performance.now();
  const segmentOptions = tileOptions(limits);
  // Refused from the header, before the block tables or any pixel are read; the mask alone is
  // checked first, so a header claiming billions of pixels is refused before its tiles are planned.
  const admit = (header: RasterHeader, blockCacheBytes: number) => {
    checkMemoryBudget(label, header.width, header.height, 2 * header.width * header.height, limits.memoryBudgetBytes);
    const plan = sceneTilePlan(card, header.width, header.height, segmentOptions);
    const needed = windowedBytes({
      width: header.width,
      height: header.height,
      bands,
      bytesPerSample: bytesPerSample(header.dtype),
      tileSize: plan.tileSize,
      tilesInFlight: Math.max(1, model.parallelism) * plan.batchTiles,
      blockCacheBytes,
    });
    checkMemoryBudget(label, header.width, header.height, needed, limits.memoryBudgetBytes);
  };
  const tiff = await asDecodeError(label, () => openTiffWindows(request.source, { label, expectedBands: bands, admit }));
  const { header } = tiff;
  const { scaling, source } = resolveScaling({
    bands,
    raster: header,
    override: request.scalingOverride ?? null,
    objectMetadata: request.objectMetadata ?? null,
    presets: card.presets,
    defaults: card.defaultPreset,
  });
  const headerMs = performance.now() - t0;
  let windowReadMs = 0;
  const t1 = performance.now();
  const result = await segmentWindows(
    model,
    header.width,
    header.height,
    async (window) => {
      const t = performance.now();
      const raster = await readWindow(tiff, window, label);
      const input = toModelInput(raster, scaling, bands, card.bands);
      const { valid, count } = validPixels(raster);
      windowReadMs += performance.now() - t;
      return { input, valid, validCount: count };
    },
    segmentOptions,
  );
  if (result.validPixels === 0) throw noValidPixels(label);
  const total = performance.now() - t1;
  return {
    width: header.width,
    height: header.height,
    mask: result.mask,
    legend: result.legend,
    cloudFraction: result.cloudFraction,
    summary: result.summary,
    georef: header.georef,
    scaling,
    scalingSource: source,
    // Window reads overlap inference (tiles in flight): decode is their sum, infer the rest of the wall time.
    timingsMs: { decode: headerMs + windowReadMs, infer: Math.max(0, total - windowReadMs) },
    read: 'windowed',
    tilesRun: result.tilesRun,
    tilesSkipped: result.tilesSkipped,
  };
}

function readWindow(tiff: TiffWindows, window: Parameters<TiffWindows['readWindow']>[0], label: string) {
  return asDecodeError(label, () => tiff.readWindow(window));
}

/**
 * What geotiff throws on a malformed file becomes CORRUPT_IMAGE ("<what> could not be decoded as
 * TIFF"); the store's own errors (404 of the pinned generation, 503) pass unchanged so the worker
 * can tell superseded and retryable apart.
 */
export async function asDecodeError<T>(label: string, call: () => Promise<T>, what = label): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CloudsegError || isSourceReadError(err)) throw err;
    const reason = err instanceof Error ? err.message : String(err);
    throw new CloudsegError('CORRUPT_IMAGE', `${what} could not be decoded as TIFF: ${reason}`, { cause: err, details: { name: label, container: 'tiff' } });
  }
}

function tileOptions(limits: SourceLimits): SegmentOptions {
  return {
    ...(limits.batchTiles ? { batchTiles: limits.batchTiles } : {}),
    ...(limits.tile?.size ? { tileSize: limits.tile.size } : {}),
    ...(limits.tile?.overlap !== undefined ? { overlap: limits.tile.overlap } : {}),
    ...(limits.onProgress ? { onProgress: limits.onProgress } : {}),
  };
}
