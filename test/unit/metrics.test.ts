import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareMasks } from '../../shared/lifecycle/metrics.js';

test('perfect agreement', () => {
  const m = compareMasks([0, 255, 255, 0], [0, 1, 1, 0]);
  assert.equal(m.iou, 1);
  assert.equal(m.accuracy, 1);
  assert.equal(m.predictedCloudFraction, 0.5);
});

test('counts each cell of the confusion table', () => {
  // tp, fp, fn, tn, tn
  const m = compareMasks([255, 255, 0, 0, 0], [1, 0, 1, 0, 0]);
  assert.deepEqual(m.confusion, { truePositive: 1, falsePositive: 1, falseNegative: 1, trueNegative: 2 });
  assert.equal(m.iou, 1 / 3);
  assert.equal(m.precision, 0.5);
  assert.equal(m.recall, 0.5);
  assert.equal(m.f1, 0.5);
  assert.equal(m.accuracy, 0.6);
  assert.equal(m.trueCloudFraction, 0.4);
});

test('no cloud anywhere counts as agreement; cloud only in one mask does not', () => {
  assert.equal(compareMasks([0, 0], [0, 0]).iou, 1);
  assert.equal(compareMasks([0, 0], [1, 0]).iou, 0);
  assert.equal(compareMasks([255, 0], [0, 0]).precision, 0);
});

test('custom truth encodings (class 4 = cloud)', () => {
  const m = compareMasks([255, 0, 0], [4, 0, 1], { truth: (v) => v === 4 });
  assert.equal(m.iou, 1);
});

test('sizes must match', () => {
  assert.throws(() => compareMasks([0], [0, 0]), RangeError);
});
