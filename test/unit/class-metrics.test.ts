// The class metrics: the N x N confusion (rows truth, columns prediction) with nodata left out,
// per-class IoU/precision/recall (null for a class in neither mask), pooling, the cloud fold.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASS_MASK_NODATA, type MaskLegend } from '../../shared/imaging/mask-values.js';
import {
  classAgreement,
  classConfusion,
  cloudAgreementFromClasses,
  emptyClassConfusion,
  formatClassReport,
  poolClassConfusion,
  TRUTH_NODATA,
} from '../../shared/lifecycle/class-metrics.js';
import { compareMasks } from '../../shared/lifecycle/metrics.js';

const LEGEND: MaskLegend = {
  kind: 'classes',
  nodata: CLASS_MASK_NODATA,
  classes: [
    { value: 0, name: 'clear', kind: 'clear', rgb: [0, 0, 0] },
    { value: 1, name: 'cloud', kind: 'cloud', rgb: [255, 255, 255] },
    { value: 2, name: 'shadow', kind: 'shadow', rgb: [90, 90, 90] },
  ],
};
const X = CLASS_MASK_NODATA;
const T = TRUTH_NODATA;

const close = (a: number | null, b: number | null, label: string) => {
  if (a === null || b === null) return assert.equal(a, b, label);
  assert.ok(Math.abs(a - b) < 1e-12, `${label}: ${a} vs ${b}`);
};

test('classConfusion counts rows truth, columns prediction, and leaves nodata in either mask out', () => {
  // [predicted, truth, matrix, excluded]
  const cases: [number[], number[], number[][], number][] = [
    [[], [], [[0, 0, 0], [0, 0, 0], [0, 0, 0]], 0],
    [[1], [0], [[0, 1, 0], [0, 0, 0], [0, 0, 0]], 0], // cloud predicted on clear truth: row clear, column cloud
    [[X], [1], [[0, 0, 0], [0, 0, 0], [0, 0, 0]], 1], // nodata prediction: not a missed cloud
    [[2], [T], [[0, 0, 0], [0, 0, 0], [0, 0, 0]], 1], // unlabelled truth: not a false shadow
    [[0, 0, 1, 1, 2, 0, 1, X, 0, 2], [0, 1, 1, 1, 2, 2, 0, 0, T, 0], [[1, 1, 1], [1, 2, 0], [1, 0, 1]], 2],
  ];
  for (const [predicted, truth, matrix, excluded] of cases) {
    const got = classConfusion(Uint8Array.from(predicted), Uint8Array.from(truth), LEGEND);
    assert.deepEqual(got.confusion, { labels: ['clear', 'cloud', 'shadow'], values: [0, 1, 2], matrix }, `${predicted} vs ${truth}`);
    assert.equal(got.excludedPixels, excluded, `${predicted} vs ${truth}`);
  }
});

test('classAgreement: per-class IoU, precision, recall, accuracy and mean IoU by hand', () => {
  // The 10-pixel case above: 8 compared, diagonal 1 + 2 + 1.
  const { confusion, excludedPixels } = classConfusion(Uint8Array.from([0, 0, 1, 1, 2, 0, 1, X, 0, 2]), Uint8Array.from([0, 1, 1, 1, 2, 2, 0, 0, T, 0]), LEGEND);
  const a = classAgreement(confusion, LEGEND, excludedPixels);
  // [name, iou, precision, recall, true px, predicted px]
  const expected: [string, number, number, number, number, number][] = [
    ['clear', 1 / 5, 1 / 3, 1 / 3, 3, 3], // hit 1, union 3 + 3 - 1
    ['cloud', 2 / 4, 2 / 3, 2 / 3, 3, 3],
    ['shadow', 1 / 3, 1 / 2, 1 / 2, 2, 2],
  ];
  expected.forEach(([name, iou, precision, recall, truePixels, predictedPixels], i) => {
    const c = a.classes[i]!;
    assert.equal(c.name, name);
    close(c.iou, iou, `${name} IoU`);
    close(c.precision, precision, `${name} precision`);
    close(c.recall, recall, `${name} recall`);
    assert.deepEqual([c.truePixels, c.predictedPixels], [truePixels, predictedPixels], name);
  });
  assert.equal(a.classAccuracy, 4 / 8);
  close(a.meanClassIou, (1 / 5 + 1 / 2 + 1 / 3) / 3, 'mean IoU');
  assert.deepEqual([a.comparedPixels, a.excludedPixels], [8, 2]);
});

test('classAgreement at the edges: nothing compared, a class in neither mask, a class never predicted', () => {
  // [predicted, truth, [iou, precision, recall] per class, accuracy, mean IoU]
  type Scores = [number | null, number | null, number | null];
  const cases: [number[], number[], Scores[], number | null, number | null][] = [
    [[], [], [[null, null, null], [null, null, null], [null, null, null]], null, null],
    [[X, 1], [0, T], [[null, null, null], [null, null, null], [null, null, null]], null, null], // all excluded
    [[0, 0], [0, 0], [[1, 1, 1], [null, null, null], [null, null, null]], 1, 1], // absent classes do not drag the mean
    // Cloud in the truth never predicted (precision 0, not null); clear predicted but absent (recall 0).
    [[0], [1], [[0, 0, 0], [0, 0, 0], [null, null, null]], 0, 0],
  ];
  for (const [predicted, truth, scores, accuracy, meanIou] of cases) {
    const { confusion, excludedPixels } = classConfusion(Uint8Array.from(predicted), Uint8Array.from(truth), LEGEND);
    const a = classAgreement(confusion, LEGEND, excludedPixels);
    const label = `${predicted} vs ${truth}`;
    assert.deepEqual(a.classes.map((c) => [c.iou, c.precision, c.recall]), scores, label);
    assert.equal(a.classAccuracy, accuracy, label);
    assert.equal(a.meanClassIou, meanIou, label);
    assert.ok(!JSON.stringify(a).includes('NaN'), label);
  }
});

test('class values need not be 0..N-1: the legend says which byte is which row', () => {
  const legend: MaskLegend = { ...LEGEND, classes: [{ ...LEGEND.classes[0]!, value: 20 }, { ...LEGEND.classes[1]!, value: 7 }] };
  const { confusion } = classConfusion(Uint8Array.from([7, 20, 7]), Uint8Array.from([20, 20, 7]), legend);
  assert.deepEqual(confusion.values, [20, 7]);
  assert.deepEqual(confusion.matrix, [[1, 1], [0, 1]]);
});

test('a value no class has is an error, not a silently dropped pixel', () => {
  assert.throws(() => classConfusion(Uint8Array.from([0, 0]), Uint8Array.from([0, 9]), LEGEND), { code: 'TRUTH_INVALID', message: /truth value 9 .*0 clear, 1 cloud, 2 shadow/ });
  assert.throws(() => classConfusion(Uint8Array.from([0, 9]), Uint8Array.from([0, 0]), LEGEND), { code: 'INTERNAL', message: /predicted value 9/ });
  assert.throws(() => classConfusion(Uint8Array.from([0]), Uint8Array.from([0, 0]), LEGEND), RangeError);
});

test('pooling two scenes equals the confusion of their pixels together', () => {
  const a = classConfusion(Uint8Array.from([0, 1, 2, X]), Uint8Array.from([0, 0, 2, 1]), LEGEND);
  const b = classConfusion(Uint8Array.from([1, 1, 0]), Uint8Array.from([1, T, 2]), LEGEND);
  const pooled = poolClassConfusion(poolClassConfusion(emptyClassConfusion(LEGEND), a.confusion), b.confusion);
  const together = classConfusion(Uint8Array.from([0, 1, 2, X, 1, 1, 0]), Uint8Array.from([0, 0, 2, 1, 1, T, 2]), LEGEND);
  assert.deepEqual(pooled, together.confusion);
  assert.equal(a.excludedPixels + b.excludedPixels, together.excludedPixels);
  assert.throws(() => poolClassConfusion(emptyClassConfusion(LEGEND), { labels: ['a'], values: [5], matrix: [[1]] }), RangeError);
});

test('cloudAgreementFromClasses: cloud and thin-cloud against the rest, equal to compareMasks on the folded masks', () => {
  const legend: MaskLegend = { ...LEGEND, classes: [...LEGEND.classes, { value: 3, name: 'haze', kind: 'thin-cloud', rgb: [0, 0, 255] }] };
  const predicted = [0, 1, 3, 2, 1, 0, X, 3];
  const truth = [0, 3, 1, 1, 2, 2, 1, T];
  const { confusion, excludedPixels } = classConfusion(Uint8Array.from(predicted), Uint8Array.from(truth), legend);
  const folded = cloudAgreementFromClasses(confusion, legend, excludedPixels);
  // By hand, (predicted, truth): TP (1,3) (3,1); FN (2,1); FP (1,2); TN (0,0) (0,2); 2 excluded.
  assert.deepEqual(folded.confusion, { truePositive: 2, falsePositive: 1, falseNegative: 1, trueNegative: 2 });
  assert.equal(folded.excludedPixels, 2);
  const cloudy = (v: number) => v === 1 || v === 3;
  assert.deepEqual(folded, compareMasks(predicted, truth, { predicted: cloudy, truth: cloudy, predictedNodata: (v) => v === X, truthNodata: (v) => v === T }));
});

test('formatClassReport: the per-class lines, the N x N matrix and each scene', () => {
  const { confusion, excludedPixels } = classConfusion(Uint8Array.from([0, 0, 1, 1, 2, 0, 1, X, 0, 2]), Uint8Array.from([0, 1, 1, 1, 2, 2, 0, 0, T, 0]), LEGEND);
  const a = classAgreement(confusion, LEGEND, excludedPixels);
  const text = formatClassReport(a, [{ name: 's1', classes: a.classes, meanClassIou: a.meanClassIou, labelMap: { 0: 'shadow', 4: 'cloud' } }]);
  assert.match(text, /^clear +clear +0\.200 +0\.333 +0\.333 +3 +3$/m);
  assert.match(text, /^truth \\ predicted +clear +cloud +shadow$/m);
  assert.match(text, /^cloud +1 +2 +0$/m);
  assert.match(text, /^pixel accuracy 0\.500, mean IoU 0\.344 over the 3 classes present$/m);
  assert.match(text, /^s1 +0\.200 +0\.500 +0\.333 +0\.344$/m);
  assert.match(text, /^s1: 0:shadow,4:cloud$/m);
  const empty = classAgreement(emptyClassConfusion(LEGEND), LEGEND);
  assert.match(formatClassReport(empty, []), /^shadow +shadow +- +- +- +0 +0$/m);
});
