// How well a predicted cloud mask agrees with a ground-truth mask (cloud vs not cloud), on the
// pixels both know about: nodata in either mask is neither cloud nor clear, so it is left out.
import { MASK_VALUES } from '../imaging/mask-values.js';

export interface MaskAgreement {
  iou: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  predictedCloudFraction: number;
  trueCloudFraction: number;
  /** Counts over the compared pixels only (excludedPixels are in none of them). */
  confusion: { truePositive: number; falsePositive: number; falseNegative: number; trueNegative: number };
  /** Pixels left out of the comparison: nodata in the prediction or in the truth. */
  excludedPixels: number;
}

/** How to read the two masks' values. */
export interface MaskReading {
  /** @default non-zero is cloud */
  predicted?: (v: number) => boolean;
  /** @default non-zero is cloud */
  truth?: (v: number) => boolean;
  /** @default MASK_VALUES.nodata (128, the worker's mask) */
  predictedNodata?: (v: number) => boolean;
  /** @default MASK_VALUES.nodata (what loadScene writes where the truth has no data) */
  truthNodata?: (v: number) => boolean;
}

const isNodataValue = (v: number) => v === MASK_VALUES.nodata;

/**
 * Compares two masks of equal length pixel by pixel. A pixel that is nodata in either mask is
 * counted in `excludedPixels` and nowhere else: counting it as "not cloud" would reward a model
 * for the scene's fill and dilute every ratio with pixels nobody labelled.
 */
export function compareMasks(predicted: ArrayLike<number>, truth: ArrayLike<number>, reading: MaskReading = {}): MaskAgreement {
  if (predicted.length !== truth.length) {
    throw new RangeError(`mask sizes differ: ${predicted.length} predicted vs ${truth.length} true pixels`);
  }
  const p = reading.predicted ?? ((v: number) => v !== 0);
  const t = reading.truth ?? ((v: number) => v !== 0);
  const pNodata = reading.predictedNodata ?? isNodataValue;
  const tNodata = reading.truthNodata ?? isNodataValue;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  let excluded = 0;
  for (let i = 0; i < predicted.length; i++) {
    const pv = predicted[i]!;
    const tv = truth[i]!;
    if (pNodata(pv) || tNodata(tv)) {
      excluded++;
      continue;
    }
    const a = p(pv);
    const b = t(tv);
    if (a && b) tp++;
    else if (a) fp++;
    else if (b) fn++;
    else tn++;
  }
  return agreementFromConfusion({ truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn }, excluded);
}

/**
 * The ratios from confusion counts (one scene's, or several pooled). Ratios with an empty
 * denominator are 1 when both masks agree there is nothing to find, else 0.
 */
export function agreementFromConfusion(confusion: MaskAgreement['confusion'], excludedPixels = 0): MaskAgreement {
  const { truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn } = confusion;
  const n = tp + fp + fn + tn;
  const ratio = (num: number, den: number) => (den === 0 ? (num === 0 ? 1 : 0) : num / den);
  const precision = ratio(tp, tp + fp);
  const recall = ratio(tp, tp + fn);
  return {
    iou: ratio(tp, tp + fp + fn),
    precision,
    recall,
    f1: precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall),
    accuracy: n === 0 ? 1 : (tp + tn) / n,
    predictedCloudFraction: n === 0 ? 0 : (tp + fp) / n,
    trueCloudFraction: n === 0 ? 0 : (tp + fn) / n,
    confusion: { ...confusion },
    excludedPixels,
  };
}
