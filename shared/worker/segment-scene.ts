// The per-scene path shared by the worker and the CLI: a described scene (one object per band) is
// opened band by band, admitted from the band headers against the memory budget, and segmented
// window by window like a single image; the mask carries which reflectance conversion was applied.
import { performance } from 'node:perf_hooks';
import { CloudsegError } from '../errors.js';
import { MASK_GDAL_TAGS } from '../contracts/mask-metadata.js';
import { checkMemoryBudget, windowedBytes } from '../imaging/memory-budget.js';
import type { RangeSource } from '../imaging/range-source.js';
import { segmentWindows } from '../model/segment-windows.js';
import { sceneTilePlan, type SegmentOptions } from '../model/segment.js';
import type { SegmentationModel } from '../model/types.js';
import { openBandStack, type StackBand } from '../scenes/band-stack.js';
import { formatLocation } from '../scenes/scene-members.js';
import type { Reflectance, SceneRef } from '../contracts/result-event.js';
import type { ScalingSource } from '../imaging/scaling.js';
import type { Scaling } from '../imaging/types.js';
import type { ModelCard } from '../model/types.js';
import type { ObjectLocation, ReflectanceRecord, SceneBand, SceneDescription } from '../scenes/types.js';
import { noValidPixels } from './segment-image.js';
import { asDecodeError, type SourceLimits, type SourceSegmentation } from './segment-source.js';

/** A descriptor larger than this is not a scene description (a STAC item, an MTL or a SAFE product XML is a few KB). */
export const MAX_DESCRIPTOR_BYTES = 4 * 1024 * 1024;

export interface SceneSegmentation extends SourceSegmentation {
  scene: SceneDescription;
  tags: Record<string, string>;
}

/** Refuses a descriptor too large to be one, before it is read. */
export function checkDescriptorSize(name: string, size: number): void {
  if (size > MAX_DESCRIPTOR_BYTES) {
    throw new CloudsegError('SCENE_INVALID', `${name} is ${size} bytes; a scene descriptor (STAC item, MTL) is at most ${MAX_DESCRIPTOR_BYTES} bytes`, {
      details: { name, size, maxBytes: MAX_DESCRIPTOR_BYTES },
    });
  }
}

/** A band object that could not be found, as the BANDS_MISSING error names it. */
export interface MissingBand {
  band: string;
  href: string;
  object: string;
}

export function bandsMissing(label: string, missing: readonly MissingBand[]): CloudsegError {
  const list = missing.map((m) => `${m.band} (${m.object})`).join(', ');
  return new CloudsegError('BANDS_MISSING', `${label}: ${missing.length === 1 ? 'band' : 'bands'} ${list} not found`, {
    details: { missing: missing.map((m) => ({ ...m })) },
  });
}

/** One band object found: its reader and the generation that reader is pinned to. */
export interface OpenedBandObject {
  source: RangeSource;
  ref: { bucket: string; name: string; generation: string };
}

/**
 * Opens the object of every band (an object holding several bands is opened once). Objects that
 * do not exist are collected and refused together (BANDS_MISSING names them all); any other
 * error of `open` passes unchanged (a retryable store error stays retryable).
 */
export async function openSceneBands(
  label: string,
  scene: SceneDescription,
  open: (location: ObjectLocation) => Promise<OpenedBandObject | 'missing'>,
): Promise<{ sources: RangeSource[]; inputs: SceneRef['inputs'] }> {
  const byObject = new Map<string, Promise<OpenedBandObject | 'missing'>>();
  const opened = await Promise.all(
    scene.bands.map((band) => {
      const key = formatLocation(band.location);
      let found = byObject.get(key);
      if (!found) byObject.set(key, (found = open(band.location)));
      return found;
    }),
  );
  const missing: MissingBand[] = [];
  scene.bands.forEach((band, i) => {
    if (opened[i] === 'missing') missing.push({ band: band.band, href: band.href, object: formatLocation(band.location) });
  });
  if (missing.length > 0) throw bandsMissing(label, missing);
  const found = opened as OpenedBandObject[];
  return {
    sources: found.map((o) => o.source),
    inputs: found.map((o, i) => ({ band: scene.bands[i]!.band, ...o.ref })),
  };
}

/**
 * Refuses a scene whose objects lie outside the buckets it may read: the descriptor's own and the
 * configured others. The worker's identity reads buckets its uploaders may not; an uploaded item
 * naming one must not turn into a mask of it.
 */
export function checkSceneBuckets(label: string, descriptorBucket: string, allowed: readonly string[], locations: readonly ObjectLocation[]): void {
  const outside = locations.filter((l) => l.kind === 'gcs' && l.bucket !== descriptorBucket && !allowed.includes(l.bucket)).map(formatLocation);
  if (outside.length === 0) return;
  const others = allowed.length > 0 ? `, ${allowed.join(', ')}` : '';
  throw new CloudsegError('SCENE_INVALID', `${label} names ${[...new Set(outside)].join(', ')}, outside the buckets a scene may read (${descriptorBucket}${others}; see CLOUDSEG_SCENE_BAND_BUCKETS)`, {
    details: { outside, allowed: [descriptorBucket, ...allowed] },
  });
}

/**
 * The reflectance record of a bare image: the scaling it was read with and where that came from;
 * 'preset' when it is exactly one of the card's presets (the default, or one named), else 'linear'.
 */
export function bareImageReflectance(scaling: Scaling, source: ScalingSource, card: Pick<ModelCard, 'presets'>): Reflectance {
  const preset =
    source === 'file'
      ? null
      : (Object.entries(card.presets).find(([, p]) => scaling.scale.every((v) => v === p.scale) && scaling.offset.every((v) => v === p.offset))?.[0] ?? null);
  return {
    conversion: preset === null ? 'linear' : 'preset',
    source,
    sunElevation: null,
    processingBaseline: null,
    preset,
    scale: [...scaling.scale],
    offset: [...scaling.offset],
  };
}

/**
 * Segments the scene whose bands `bands` holds (in the scene's order). Like segmentSource for one
 * TIFF: refused from the headers (IMAGE_TOO_LARGE) before any pixel; a store error passes unchanged.
 */
export async function segmentSceneBands(
  model: SegmentationModel,
  request: { label: string; scene: SceneDescription; sources: readonly RangeSource[] },
  limits: SourceLimits,
): Promise<SceneSegmentation> {
  const { card } = model;
  const { label, scene } = request;
  if (scene.bands.length !== card.bands.length) {
    throw new CloudsegError('BAND_MISMATCH', `${label}: the scene gives ${scene.bands.length} bands, the model reads ${card.bands.length} (${card.bands.join(', ')})`);
  }
  const t0 = performance.now();
  const segmentOptions = tileOptions(limits);
  const bands: StackBand[] = scene.bands.map((band, i) => ({ band, source: request.sources[i]! }));
  const stack = await asDecodeError(label, () =>
    openBandStack(bands, {
      label,
      // A SAFE product's JP2s are placed by its granule's grid (some carry no GeoJP2/GMLJP2 box).
      ...(scene.grid ? { grid: scene.grid } : {}),
      admit: (header, blockCacheBytes) => {
        checkMemoryBudget(label, header.width, header.height, 2 * header.width * header.height, limits.memoryBudgetBytes);
        const plan = sceneTilePlan(card, header.width, header.height, segmentOptions);
        const needed = windowedBytes({
          width: header.width,
          height: header.height,
          bands: header.bands,
          // Each band's window is read whole (every sample of a multi-sample asset) before its one sample is taken.
          bytesPerSample: header.bytesPerPixelRead,
          tileSize: plan.tileSize,
          tilesInFlight: Math.max(1, model.parallelism) * plan.batchTiles,
          blockCacheBytes,
        });
        checkMemoryBudget(label, header.width, header.height, needed, limits.memoryBudgetBytes);
      },
    }),
    `${label}: a band`,
  );
  const { width, height } = stack.header;
  const headerMs = performance.now() - t0;
  let windowReadMs = 0;
  const t1 = performance.now();
  const result = await segmentWindows(
    model,
    width,
    height,
    async (window) => {
      const t = performance.now();
      const read = await asDecodeError(label, () => stack.readWindow(window), `${label}: a band`);
      windowReadMs += performance.now() - t;
      return read;
    },
    segmentOptions,
  );
  if (result.validPixels === 0) throw noValidPixels(label);
  const total = performance.now() - t1;
  return {
    width,
    height,
    mask: result.mask,
    legend: result.legend,
    cloudFraction: result.cloudFraction,
    summary: result.summary,
    georef: stack.georef,
    scaling: { scale: [...scene.reflectance.scale], offset: [...scene.reflectance.offset] },
    // The scene's own conversion is neither an override nor a file's; the event's `reflectance` says which.
    scalingSource: 'file',
    timingsMs: { decode: headerMs + windowReadMs, infer: Math.max(0, total - windowReadMs) },
    read: 'windowed',
    tilesRun: result.tilesRun,
    tilesSkipped: result.tilesSkipped,
    scene,
    tags: reflectanceTags(scene.reflectance, { kind: scene.kind, id: scene.id, bands: scene.bands }),
  };
}

/** The mask's GDAL metadata items: the conversion applied and where its numbers came from. */
export function reflectanceTags(record: ReflectanceRecord | Reflectance, scene?: { kind: string; id: string; bands: readonly SceneBand[] }): Record<string, string> {
  const tags: Record<string, string> = {
    [MASK_GDAL_TAGS.reflectanceConversion]: record.conversion,
    [MASK_GDAL_TAGS.reflectanceSource]: record.source,
    [MASK_GDAL_TAGS.reflectanceScale]: record.scale.join(','),
    [MASK_GDAL_TAGS.reflectanceOffset]: record.offset.join(','),
  };
  if (record.sunElevation !== null) tags[MASK_GDAL_TAGS.sunElevation] = String(record.sunElevation);
  if (record.processingBaseline !== null) tags[MASK_GDAL_TAGS.processingBaseline] = record.processingBaseline;
  if (record.preset !== null) tags[MASK_GDAL_TAGS.preset] = record.preset;
  if (scene) {
    tags[MASK_GDAL_TAGS.sceneKind] = scene.kind;
    tags[MASK_GDAL_TAGS.sceneId] = scene.id;
    tags[MASK_GDAL_TAGS.sceneBands] = scene.bands.map((b) => `${b.band}=${b.href}`).join(';');
  }
  return tags;
}

function tileOptions(limits: SourceLimits): SegmentOptions {
  return {
    ...(limits.batchTiles ? { batchTiles: limits.batchTiles } : {}),
    ...(limits.tile?.size ? { tileSize: limits.tile.size } : {}),
    ...(limits.tile?.overlap !== undefined ? { overlap: limits.tile.overlap } : {}),
    ...(limits.onProgress ? { onProgress: limits.onProgress } : {}),
  };
}
