// From the model's values per pixel to the mask byte: the cloud mask thresholds the cloud
// probability (0 clear, 255 cloud), a class model takes its most probable class (the card's value).
// One rule for the whole-image and the windowed paths, so their masks are equal.
import { CloudsegError } from '../errors.js';
import { CLOUD_KINDS, MASK_VALUES, type ClassKind, type MaskLegend } from '../imaging/mask-values.js';
import { cardLegend, outputChannels } from './card.js';
import type { ModelCard } from './types.js';

export interface MaskRule {
  readonly legend: MaskLegend;
  /** Values per pixel the rule reads. */
  readonly channels: number;
  /**
   * The mask byte of the pixel whose values start at `values[offset]`. A NaN is INFERENCE_FAILED:
   * a model that computes nothing must not pass for a clear (or class 0) sky.
   */
  classify(values: Float32Array, offset: number): number;
}

/** The rule of a card; `threshold` overrides the card's (evaluation). */
export function maskRule(card: Pick<ModelCard, 'classes' | 'threshold' | 'name'>, threshold = card.threshold): MaskRule {
  const legend = cardLegend(card);
  const channels = outputChannels(card);
  if (legend.kind === 'cloud') {
    return {
      legend,
      channels,
      classify(values, offset) {
        const p = values[offset]!;
        if (p !== p) throw nanOutput(card.name);
        return p > threshold ? MASK_VALUES.cloud : MASK_VALUES.clear;
      },
    };
  }
  const classValues = legend.classes.map((c) => c.value);
  return {
    legend,
    channels,
    classify(values, offset) {
      let best = 0;
      let top = values[offset]!;
      if (top !== top) throw nanOutput(card.name);
      for (let c = 1; c < channels; c++) {
        const v = values[offset + c]!;
        if (v !== v) throw nanOutput(card.name);
        // Ties go to the first class, as numpy's and torch's argmax do.
        if (v > top) {
          top = v;
          best = c;
        }
      }
      return classValues[best]!;
    },
  };
}

function nanOutput(model: string): CloudsegError {
  // The same input gives the same NaN: a failed event, not a retry.
  return new CloudsegError('INFERENCE_FAILED', `model ${model} returned NaN for a pixel with data (its weights or input scaling are broken)`);
}

/** One class's share of a mask, as the result event reports it. */
export interface ClassFraction {
  value: number;
  name: string;
  kind: ClassKind;
  /** Pixels of the class over pixels with data. */
  fraction: number;
}

export interface MaskSummary {
  validPixels: number;
  /** cloud + thin-cloud pixels over pixels with data (the cloud mask's cloud pixels). */
  cloudFraction: number;
  /** shadow pixels over pixels with data; null for a cloud mask (its model sees no shadow). */
  shadowFraction: number | null;
  /** Every class with its share; null for a cloud mask. */
  classes: ClassFraction[] | null;
}

/** Counts a finished mask: the fractions the event and the mask's metadata report. */
export function summarizeMask(mask: Uint8Array, legend: MaskLegend): MaskSummary {
  const histogram = new Float64Array(256);
  for (let i = 0; i < mask.length; i++) histogram[mask[i]!]!++;
  const validPixels = mask.length - histogram[legend.nodata]!;
  const share = (count: number) => (validPixels === 0 ? 0 : count / validPixels);
  if (legend.kind === 'cloud') {
    return { validPixels, cloudFraction: share(histogram[MASK_VALUES.cloud]!), shadowFraction: null, classes: null };
  }
  let cloudy = 0;
  let shadow = 0;
  const classes = legend.classes.map((c) => {
    const count = histogram[c.value]!;
    if (CLOUD_KINDS.includes(c.kind)) cloudy += count;
    if (c.kind === 'shadow') shadow += count;
    return { value: c.value, name: c.name, kind: c.kind, fraction: share(count) };
  });
  return { validPixels, cloudFraction: share(cloudy), shadowFraction: share(shadow), classes };
}
