// How well a predicted class mask agrees with a ground truth already mapped onto the same classes:
// the N x N confusion matrix (rows truth, columns prediction), per-class IoU/precision/recall.
import { CloudsegError } from '../errors.js';
import { CLASS_MASK_NODATA, CLOUD_KINDS, type MaskLegend } from '../imaging/mask-values.js';
import { agreementFromConfusion, type MaskAgreement } from './metrics.js';

/** The marker of a mapped truth pixel nobody labelled (or labelled "nodata"): outside every class value. */
export const TRUTH_NODATA = CLASS_MASK_NODATA;

export interface ClassConfusion {
  /** Class names, in the legend's order: the rows and the columns. */
  labels: string[];
  /** Class values (mask bytes), same order. */
  values: number[];
  /** matrix[t][p]: pixels of true class t predicted as class p. */
  matrix: number[][];
}

export interface ClassScore {
  value: number;
  name: string;
  kind: string;
  /** null when the class is in neither mask: there is nothing to score, and 0 or 1 would both lie. */
  iou: number | null;
  precision: number | null;
  recall: number | null;
  truePixels: number;
  predictedPixels: number;
}

export interface ClassAgreement {
  classes: ClassScore[];
  classConfusion: ClassConfusion;
  /** Pixels on the matrix's diagonal over compared pixels; null when nothing was compared. */
  classAccuracy: number | null;
  /** Mean IoU over the classes present in either mask; null when none is. */
  meanClassIou: number | null;
  /** Pixels compared (the matrix's sum). */
  comparedPixels: number;
  /** Pixels left out: nodata in the prediction or in the truth. */
  excludedPixels: number;
}

/**
 * Counts the confusion of two masks of equal length. A pixel that is `legend.nodata` in the
 * prediction or `truthNodata` in the truth is only counted as excluded. Any other value outside
 * the legend is a bug upstream (the label map lets none through): TRUTH_INVALID / INTERNAL.
 */
export function classConfusion(
  predicted: ArrayLike<number>,
  truth: ArrayLike<number>,
  legend: MaskLegend,
  truthNodata: number = TRUTH_NODATA,
): { confusion: ClassConfusion; excludedPixels: number } {
  if (predicted.length !== truth.length) {
    throw new RangeError(`mask sizes differ: ${predicted.length} predicted vs ${truth.length} true pixels`);
  }
  const n = legend.classes.length;
  // Mask byte -> row/column; -1 for bytes the legend does not name.
  const index = new Int16Array(256).fill(-1);
  legend.classes.forEach((c, i) => (index[c.value] = i));
  const counts = new Float64Array(n * n);
  let excluded = 0;
  for (let i = 0; i < predicted.length; i++) {
    const pv = predicted[i]!;
    const tv = truth[i]!;
    if (pv === legend.nodata || tv === truthNodata) {
      excluded++;
      continue;
    }
    const p = pv >= 0 && pv < 256 ? index[pv]! : -1;
    const t = tv >= 0 && tv < 256 ? index[tv]! : -1;
    if (t < 0) throw new CloudsegError('TRUTH_INVALID', `truth value ${tv} at pixel ${i} is no class of the model (${legendNames(legend)})`);
    if (p < 0) throw new CloudsegError('INTERNAL', `predicted value ${pv} at pixel ${i} is no class of the model (${legendNames(legend)})`);
    counts[t * n + p]!++;
  }
  const matrix = Array.from({ length: n }, (_, t) => Array.from(counts.subarray(t * n, (t + 1) * n)));
  return { confusion: { labels: legend.classes.map((c) => c.name), values: legend.classes.map((c) => c.value), matrix }, excludedPixels: excluded };
}

/**
 * The scores of a confusion matrix (one scene's, or several pooled). A class in either mask scores
 * 0 where a denominator is empty (never predicted: precision 0; predicted but absent: recall 0).
 */
export function classAgreement(confusion: ClassConfusion, legend: MaskLegend, excludedPixels = 0): ClassAgreement {
  const { matrix } = confusion;
  const n = matrix.length;
  if (n !== legend.classes.length || matrix.some((row) => row.length !== n)) {
    throw new RangeError(`a confusion matrix of ${legend.classes.length} classes must be ${legend.classes.length}x${legend.classes.length}`);
  }
  let compared = 0;
  let diagonal = 0;
  const truePixels = new Array<number>(n).fill(0);
  const predictedPixels = new Array<number>(n).fill(0);
  for (let t = 0; t < n; t++) {
    for (let p = 0; p < n; p++) {
      const count = matrix[t]![p]!;
      truePixels[t]! += count;
      predictedPixels[p]! += count;
      compared += count;
      if (t === p) diagonal += count;
    }
  }
  const classes = legend.classes.map((c, i): ClassScore => {
    const hit = matrix[i]![i]!;
    const truth = truePixels[i]!;
    const predictedCount = predictedPixels[i]!;
    const present = truth + predictedCount > 0;
    const ratio = (den: number) => (!present ? null : den === 0 ? 0 : hit / den);
    return {
      value: c.value,
      name: c.name,
      kind: c.kind,
      iou: ratio(truth + predictedCount - hit),
      precision: ratio(predictedCount),
      recall: ratio(truth),
      truePixels: truth,
      predictedPixels: predictedCount,
    };
  });
  const ious = classes.map((c) => c.iou).filter((v): v is number => v !== null);
  return {
    classes,
    classConfusion: { labels: [...confusion.labels], values: [...confusion.values], matrix: matrix.map((row) => [...row]) },
    classAccuracy: compared === 0 ? null : diagonal / compared,
    meanClassIou: ious.length === 0 ? null : ious.reduce((a, b) => a + b, 0) / ious.length,
    comparedPixels: compared,
    excludedPixels,
  };
}

/** An all-zero matrix over the legend's classes (to pool scenes into). */
export function emptyClassConfusion(legend: MaskLegend): ClassConfusion {
  const n = legend.classes.length;
  return { labels: legend.classes.map((c) => c.name), values: legend.classes.map((c) => c.value), matrix: Array.from({ length: n }, () => new Array<number>(n).fill(0)) };
}

/** Adds `add` into `into` (same classes) and returns `into`. */
export function poolClassConfusion(into: ClassConfusion, add: ClassConfusion): ClassConfusion {
  if (into.values.join() !== add.values.join()) throw new RangeError(`cannot pool confusion over classes ${add.values} into ${into.values}`);
  into.matrix.forEach((row, t) => row.forEach((_, p) => (row[p]! += add.matrix[t]![p]!)));
  return into;
}

/**
 * Cloud vs not cloud from the class matrix, cloud being the classes of a cloud kind (cloud,
 * thin-cloud) in both truth and prediction: the numbers a one-channel model reports, so both compare.
 */
export function cloudAgreementFromClasses(confusion: ClassConfusion, legend: MaskLegend, excludedPixels = 0): MaskAgreement {
  const cloudy = legend.classes.map((c) => CLOUD_KINDS.includes(c.kind));
  const counts = { truePositive: 0, falsePositive: 0, falseNegative: 0, trueNegative: 0 };
  confusion.matrix.forEach((row, t) =>
    row.forEach((count, p) => {
      const key = cloudy[t] ? (cloudy[p] ? 'truePositive' : 'falseNegative') : cloudy[p] ? 'falsePositive' : 'trueNegative';
      counts[key] += count;
    }),
  );
  return agreementFromConfusion(counts, excludedPixels);
}

/** One scene's line in the per-scene class IoU table. */
export interface ClassSceneLine {
  name: string;
  classes: readonly ClassScore[];
  meanClassIou: number | null;
  /** Truth code -> class name, as applied. */
  labelMap: Readonly<Record<string, string>>;
}

/**
 * The class part of confusion.txt: per-class scores and the N x N matrix (pooled), each scene's
 * class IoUs, and the label maps applied. A score of a class in neither mask shows as "-".
 */
export function formatClassReport(overall: Pick<ClassAgreement, 'classes' | 'classConfusion' | 'classAccuracy' | 'meanClassIou'>, scenes: readonly ClassSceneLine[]): string {
  const fixed = (v: number | null) => (v === null ? '-' : v.toFixed(3));
  const { labels, matrix } = overall.classConfusion;
  const present = overall.classes.filter((c) => c.iou !== null).length;
  const maps = new Map<string, string[]>();
  for (const s of scenes) {
    const text = Object.entries(s.labelMap).map(([code, name]) => `${code}:${name}`).join(',');
    maps.set(text, [...(maps.get(text) ?? []), s.name]);
  }
  const lines = [
    'per class (all scenes pooled; IoU, precision and recall "-" for a class in neither mask):',
    ...table([
      ['class', 'kind', 'IoU', 'precision', 'recall', 'true px', 'predicted px'],
      ...overall.classes.map((c) => [c.name, c.kind, fixed(c.iou), fixed(c.precision), fixed(c.recall), String(c.truePixels), String(c.predictedPixels)]),
    ]),
    '',
    'confusion (all scenes pooled; rows truth, columns prediction; pixels):',
    ...table([['truth \\ predicted', ...labels], ...labels.map((name, t) => [name, ...matrix[t]!.map(String)])]),
    `pixel accuracy ${fixed(overall.classAccuracy)}, mean IoU ${fixed(overall.meanClassIou)} over the ${present} class${present === 1 ? '' : 'es'} present`,
  ];
  if (scenes.length > 0) {
    lines.push(
      '',
      'class IoU per scene:',
      ...table([['scene', ...labels, 'mean IoU'], ...scenes.map((s) => [s.name, ...labels.map((l) => fixed(s.classes.find((c) => c.name === l)?.iou ?? null)), fixed(s.meanClassIou)])]),
      '',
      'label maps (truth code:class):',
      ...[...maps].map(([text, names]) => `${names.join(', ')}: ${text}`),
    );
  }
  return `${lines.join('\n')}\n`;
}

// Columns aligned, the first left and the rest right, a rule under the header.
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)];
}

function legendNames(legend: MaskLegend): string {
  return legend.classes.map((c) => `${c.value} ${c.name}`).join(', ');
}
