// Decides how stored samples become model input (value * scale + offset per band) and applies it:
// CLI override > object metadata > the file's GDAL scale/offset > the model card's default preset.
import { CloudsegError } from '../errors.js';
import type { Raster, RasterHeader, Scaling } from './types.js';

export interface ScalingPresetTable {
  [preset: string]: { scale: number; offset: number };
}

export const SCALING_SOURCES = ['override', 'object-metadata', 'file', 'default'] as const;
export type ScalingSource = (typeof SCALING_SOURCES)[number];

/** GCS custom metadata keys a user can set on an upload. */
export const SCALING_METADATA_KEYS = {
  preset: 'cloudseg-preset',
  scale: 'cloudseg-scale',
  offset: 'cloudseg-offset',
} as const;

export interface ScalingOverride {
  scale?: number | number[];
  offset?: number | number[];
  preset?: string;
}

export interface ResolveScalingArgs {
  /** The model's band count. */
  bands: number;
  /** Only the header is read (dtype, fileScaling): scaling is decided before any pixel is. */
  raster: RasterHeader;
  override?: ScalingOverride | null;
  objectMetadata?: Record<string, string> | null;
  presets: ScalingPresetTable;
  defaults: { integer: string; float: string };
}

export interface ResolvedScaling {
  scaling: Scaling;
  source: ScalingSource;
  /** The preset used, when one was. */
  preset: string | null;
}

/**
 * Picks the scaling for one image. Within one source a preset is the base and an explicit scale or
 * offset replaces its part; without a preset a missing scale is 1 and a missing offset 0.
 */
export function resolveScaling(args: ResolveScalingArgs): ResolvedScaling {
  const { bands, raster, presets } = args;
  const override = args.override ?? null;
  if (override && (override.preset !== undefined || override.scale !== undefined || override.offset !== undefined)) {
    return fromParts('override', bands, presets, override.preset, override.scale, override.offset);
  }

  const meta = args.objectMetadata ?? {};
  const metaPreset = meta[SCALING_METADATA_KEYS.preset];
  const metaScale = meta[SCALING_METADATA_KEYS.scale];
  const metaOffset = meta[SCALING_METADATA_KEYS.offset];
  if (metaPreset !== undefined || metaScale !== undefined || metaOffset !== undefined) {
    return fromParts(
      'object-metadata',
      bands,
      presets,
      metaPreset?.trim(),
      metaScale === undefined ? undefined : parseNumberList(metaScale, SCALING_METADATA_KEYS.scale),
      metaOffset === undefined ? undefined : parseNumberList(metaOffset, SCALING_METADATA_KEYS.offset),
    );
  }

  if (raster.fileScaling) {
    // A file whose band count differs from the model's is left for toModelInput to refuse with
    // BAND_MISMATCH, the error that tells the user what is actually wrong.
    const fits = raster.fileScaling.scale.length === bands && raster.fileScaling.offset.length === bands;
    const scaling = fits
      ? {
          scale: broadcast(raster.fileScaling.scale, bands, 'file scale'),
          offset: broadcast(raster.fileScaling.offset, bands, 'file offset'),
        }
      : { scale: [...raster.fileScaling.scale], offset: [...raster.fileScaling.offset] };
    validate(scaling, 'file GDAL_METADATA');
    return { scaling, source: 'file', preset: null };
  }

  const isFloat = raster.dtype === 'float32' || raster.dtype === 'float64';
  const name = isFloat ? args.defaults.float : args.defaults.integer;
  return fromParts('default', bands, presets, name, undefined, undefined);
}

function fromParts(
  source: ScalingSource,
  bands: number,
  presets: ScalingPresetTable,
  presetName: string | undefined,
  scale: number | number[] | undefined,
  offset: number | number[] | undefined,
): ResolvedScaling {
  let base = { scale: 1, offset: 0 };
  if (presetName !== undefined) {
    const preset = Object.hasOwn(presets, presetName) ? presets[presetName] : undefined;
    if (!preset) {
      const known = Object.keys(presets).join(', ') || 'none';
      throw new CloudsegError('INVALID_SCALING', `unknown scaling preset "${presetName}" (${source}); known: ${known}`, {
        details: { source, preset: presetName },
      });
    }
    base = preset;
  }
  const scaling: Scaling = {
    scale: broadcast(scale ?? base.scale, bands, `${source} scale`),
    offset: broadcast(offset ?? base.offset, bands, `${source} offset`),
  };
  validate(scaling, source);
  return { scaling, source, preset: presetName ?? null };
}

function broadcast(value: number | number[], bands: number, what: string): number[] {
  if (typeof value === 'number') return Array<number>(bands).fill(value);
  if (value.length === 1) return Array<number>(bands).fill(value[0]!);
  if (value.length !== bands) {
    throw new CloudsegError('INVALID_SCALING', `${what} has ${value.length} values; give 1 or one per band (${bands})`);
  }
  return [...value];
}

function validate(scaling: Scaling, source: string): void {
  for (const [part, values] of [['scale', scaling.scale], ['offset', scaling.offset]] as const) {
    values.forEach((v, i) => {
      if (!Number.isFinite(v)) throw new CloudsegError('INVALID_SCALING', `${source} ${part} of band ${i} is not a finite number (${v})`);
    });
  }
  scaling.scale.forEach((v, i) => {
    if (v === 0) throw new CloudsegError('INVALID_SCALING', `${source} scale of band ${i} is 0: every pixel would look the same`);
  });
}

/** "2e-5" or "1e-4, 1e-4, 2e-4" -> numbers; anything else is INVALID_SCALING. */
export function parseNumberList(text: string, what: string): number[] {
  const parts = text.split(',').map((p) => p.trim());
  const values = parts.map((p) => (p === '' ? Number.NaN : Number(p)));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) {
    throw new CloudsegError('INVALID_SCALING', `${what} must be a number or a comma-separated list of numbers, got "${text}"`);
  }
  return values;
}

/**
 * The model input for a whole raster, HWC float32: value * scale + offset per band. Nodata samples
 * (and NaN/Infinity, which would poison every output they touch) become 0.
 */
export function toModelInput(raster: Raster, scaling: Scaling, expectedBands: number, bandNames?: readonly string[]): Float32Array {
  if (raster.bands !== expectedBands) {
    const names = bandNames && bandNames.length > 0 ? ` (${bandNames.join(', ')})` : '';
    throw new CloudsegError('BAND_MISMATCH', `image has ${raster.bands} bands, model expects ${expectedBands}${names}`, {
      details: { imageBands: raster.bands, modelBands: expectedBands },
    });
  }
  const bands = expectedBands;
  const scale = broadcast(scaling.scale, bands, 'scale');
  const offset = broadcast(scaling.offset, bands, 'offset');
  const { data, noData } = raster;
  const out = new Float32Array(data.length);
  // Integer samples are always finite: only the nodata value needs a check (none without one).
  if (!(data instanceof Float32Array) && !(data instanceof Float64Array)) {
    for (let p = 0; p < data.length; p += bands) {
      for (let b = 0; b < bands; b++) {
        const v = data[p + b]!;
        out[p + b] = v === noData ? 0 : v * scale[b]! + offset[b]!;
      }
    }
    return out;
  }
  const noDataIsNaN = noData !== null && Number.isNaN(noData);
  for (let i = 0, b = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v === noData || (noDataIsNaN && Number.isNaN(v)) || !Number.isFinite(v)) {
      out[i] = 0;
    } else {
      out[i] = v * scale[b]! + offset[b]!;
    }
    if (++b === bands) b = 0;
  }
  return out;
}

/** Whether any sample is a real value (finite, not nodata): an all-NaN or all-nodata scene has none. */
export function hasValidSample(raster: Raster): boolean {
  const { data, noData } = raster;
  const noDataIsNaN = noData !== null && Number.isNaN(noData);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v) && v !== noData && !(noDataIsNaN && Number.isNaN(v))) return true;
  }
  return false;
}

/**
 * Which pixels hold data: 1 where at least one band is a real value, 0 where every band is nodata,
 * NaN or infinite (the fill around a Landsat scene). Such pixels are nodata in the mask.
 */
export function validPixels(raster: Raster): { valid: Uint8Array; count: number } {
  const { data, noData, bands } = raster;
  const noDataIsNaN = noData !== null && Number.isNaN(noData);
  const pixels = data.length / bands;
  const valid = new Uint8Array(pixels);
  let count = 0;
  for (let p = 0, i = 0; p < pixels; p++, i += bands) {
    for (let b = 0; b < bands; b++) {
      const v = data[i + b]!;
      if (v !== noData && Number.isFinite(v) && !(noDataIsNaN && Number.isNaN(v))) {
        valid[p] = 1;
        count++;
        break;
      }
    }
  }
  return { valid, count };
}
