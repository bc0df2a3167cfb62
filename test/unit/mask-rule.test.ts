// The mask rule and its summary: the cloud threshold, the argmax of a class model (ties to the
// first class, class values from the card, nodata 255), NaN refused, fractions per kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudsegError } from '../../shared/errors.js';
import { CLOUD_LEGEND } from '../../shared/imaging/mask-values.js';
import { maskRule, summarizeMask } from '../../shared/model/mask-rule.js';
import { applyMaskRule } from '../../shared/model/segment.js';
import type { CardClass } from '../../shared/model/types.js';

const CLASSES: CardClass[] = [
  { value: 0, name: 'clear', kind: 'clear' },
  { value: 10, name: 'thick', kind: 'cloud' },
  { value: 20, name: 'thin', kind: 'thin-cloud' },
  { value: 30, name: 'shadow', kind: 'shadow' },
];
const classModel = { name: 'm', threshold: Number.NaN, classes: CLASSES };

test('a class model writes the value of its most probable class; ties go to the first', () => {
  const rule = maskRule(classModel);
  assert.equal(rule.channels, 4);
  // Pixel by pixel: clear, thick, thin, shadow, a tie between thin and shadow, all equal.
  const values = Float32Array.from([0.7, 0.1, 0.1, 0.1, 0.1, 0.6, 0.2, 0.1, 0, 0, 0.9, 0.1, -5, -4, -3, 2, 0, 0, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]);
  const { mask, summary } = applyMaskRule(values, rule, Uint8Array.from([1, 1, 1, 1, 1, 1]));
  assert.deepEqual([...mask], [0, 10, 20, 30, 20, 0]);
  assert.deepEqual(summary.classes?.map((c) => [c.name, c.fraction]), [
    ['clear', 2 / 6],
    ['thick', 1 / 6],
    ['thin', 2 / 6],
    ['shadow', 1 / 6],
  ]);
  assert.equal(summary.cloudFraction, 3 / 6, 'thick and thin cloud both count as cloud');
  assert.equal(summary.shadowFraction, 1 / 6);
});

test('a class mask: nodata is 255 and left out of every fraction', () => {
  const rule = maskRule(classModel);
  const values = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 1, Number.NaN, 0, 0, 0]);
  const { mask, summary } = applyMaskRule(values, rule, Uint8Array.from([1, 1, 0]));
  assert.deepEqual([...mask], [0, 30, 255], 'a NaN under nodata is never read');
  assert.equal(summary.validPixels, 2);
  assert.equal(summary.shadowFraction, 0.5);
  assert.equal(summary.cloudFraction, 0);
});

test('NaN from a class model is INFERENCE_FAILED (permanent), in any channel', () => {
  const rule = maskRule(classModel);
  for (const at of [0, 2]) {
    const values = Float32Array.from([0.2, 0.3, 0.1, 0.4]);
    values[at] = Number.NaN;
    assert.throws(() => applyMaskRule(values, rule), (err: unknown) => err instanceof CloudsegError && err.code === 'INFERENCE_FAILED' && !err.retryable);
  }
});

test('the cloud mask summary: cloud fraction only, no classes', () => {
  const summary = summarizeMask(Uint8Array.from([0, 255, 255, 128]), CLOUD_LEGEND);
  assert.deepEqual(summary, { validPixels: 3, cloudFraction: 2 / 3, shadowFraction: null, classes: null });
  assert.deepEqual(summarizeMask(Uint8Array.from([128]), CLOUD_LEGEND), { validPixels: 0, cloudFraction: 0, shadowFraction: null, classes: null });
});
