// Where a graph's tensors meet the tiles: NHWC -> NCHW input, NCHW / NHWC / NHW outputs to the
// pipeline's channels-last values, the cloud channel with its sigmoid, the class softmax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toInputLayout, toPixelValues, type TensorIo } from '../../shared/engines/tensor-io.js';

const io = (over: Partial<TensorIo>): TensorIo => ({ inputName: 'x', outputName: 'y', inputLayout: 'NCHW', outputLayout: 'NCHW', head: { kind: 'identity' }, batchOne: false, ...over });

test('NHWC tiles become NCHW (and NHWC stays the same array)', () => {
  // 2 tiles of 1x2 pixels, 3 bands: value = tile*100 + pixel*10 + band.
  const nhwc = Float32Array.from([0, 1, 2, 10, 11, 12, 100, 101, 102, 110, 111, 112]);
  assert.deepEqual([...toInputLayout(nhwc, 2, 1, 2, 3, 'NCHW')], [0, 10, 1, 11, 2, 12, 100, 110, 101, 111, 102, 112]);
  assert.equal(toInputLayout(nhwc, 2, 1, 2, 3, 'NHWC'), nhwc);
});

test('NCHW class logits become channels-last probabilities by a softmax', () => {
  // 1 tile, 1x2 pixels, 2 classes: logits [[0, ln 3], [0, 0]] per class plane.
  const raw = Float32Array.from([0, 0, Math.log(3), 0]);
  const out = toPixelValues(raw, [1, 2, 1, 2], io({ head: { kind: 'classes', softmax: true } }), 1, 1, 2);
  assert.deepEqual([...out].map((v) => Number(v.toFixed(6))), [0.25, 0.75, 0.5, 0.5]);
  const plain = toPixelValues(raw, [1, 2, 1, 2], io({ head: { kind: 'classes', softmax: false } }), 1, 1, 2);
  assert.deepEqual([...plain].map((v) => Number(v.toFixed(6))), [0, Number(Math.log(3).toFixed(6)), 0, 0]);
});

test('the cloud channel of an NHWC output, through a sigmoid for logits; an NHW output as it is', () => {
  const raw = Float32Array.from([9, 0, 9, 2]); // 1x2 pixels, 2 channels, channel 1 is cloud
  const out = toPixelValues(raw, [1, 1, 2, 2], io({ outputLayout: 'NHWC', head: { kind: 'cloud', channel: 1, sigmoid: true } }), 1, 1, 2);
  assert.deepEqual([...out].map((v) => Number(v.toFixed(6))), [0.5, Number((1 / (1 + Math.exp(-2))).toFixed(6))]);
  const nhw = Float32Array.from([0.1, 0.9]);
  assert.deepEqual([...toPixelValues(nhw, [1, 1, 2], io({ outputLayout: 'NHW', head: { kind: 'cloud', channel: 0, sigmoid: false } }), 1, 1, 2)].map((v) => Number(v.toFixed(6))), [0.1, 0.9]);
});

test('an output not at the tile\'s size or count is refused', () => {
  assert.throws(() => toPixelValues(new Float32Array(4), [1, 1, 2, 2], io({}), 1, 4, 4), /\[1, 1, 2, 2\].*4x4/);
  assert.throws(() => toPixelValues(new Float32Array(8), [2, 1, 2, 2], io({}), 1, 2, 2), /for 1 tile/);
});
