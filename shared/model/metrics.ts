// How well a predicted cloud mask agrees with a ground-truth mask (cloud vs not cloud).

export interface MaskAgreement {
  iou: number;
  precision: number;
  recall: number;
  f1: number;
  accuracy: number;
  predictedCloudFraction: number;
  trueCloudFraction: number;
  confusion: { truePositive: number; falsePositive: number; falseNegative: number; trueNegative: number };
}

/**
 * Compares two masks of equal length, each "cloud" where `isCloud` says so (by default non-zero).
 */
export function compareMasks(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  isCloud: { predicted?: (v: number) => boolean; truth?: (v: number) => boolean } = {},
): MaskAgreement {
  if (predicted.length !== truth.length) {
    throw new RangeError(`mask sizes differ: ${predicted.length} predicted vs ${truth.length} true pixels`);
  }
  const p = isCloud.predicted ?? ((v: number) => v !== 0);
  const t = isCloud.truth ?? ((v: number) => v !== 0);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let i = 0; i < predicted.length; i++) {
    const a = p(predicted[i]!);
    const b = t(truth[i]!);
    if (a && b) tp++;
    else if (a) fp++;
    else if (b) fn++;
    else tn++;
  }
  return agreementFromConfusion({ truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn });
}

/**
 * The ratios from confusion counts (one scene's, or several pooled). Ratios with an empty
 * denominator are 1 when both masks agree there is nothing to find, else 0.
 */
export function agreementFromConfusion(confusion: MaskAgreement['confusion']): MaskAgreement {
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
  };
}
