// The evaluation's pure parts and readers: truth encodings, pooled metrics, the confusion table,
// the .npz reader on the real ukis scenes, scene manifests and folder pairing, the plot's colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ERROR_COLOURS, renderEvalPlot } from '../../shared/lifecycle/eval-plot.js';
import { parseSceneManifest, scenesFromFolders } from '../../shared/lifecycle/eval-scenes.js';
import { formatConfusionTable, withInferenceSettings, type EvaluationReport } from '../../shared/lifecycle/evaluate.js';
import { agreementFromConfusion } from '../../shared/lifecycle/metrics.js';
import { detectTruthEncoding, truthCloudMask } from '../../shared/lifecycle/mask-encodings.js';
import { compareMasks } from '../../shared/lifecycle/metrics.js';
import { readNpy, readNpz } from '../../shared/lifecycle/npz.js';
import type { SegmentationModel } from '../../shared/model/types.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`SKIPPING evaluation fixture tests: ${MISSING}`);

test('detectTruthEncoding tells the three encodings apart by their values', () => {
  const cases: [number[], string][] = [
    [[0, 255, 0], 'cloud255'],
    [[0, 0], 'cloud255'], // nothing cloudy: every encoding agrees
    [[1, 0, 1], 'cloud1'],
    [[0, 1, 2, 3, 4], 'class4'],
    [[3, 4], 'class4'],
  ];
  for (const [values, expected] of cases) assert.equal(detectTruthEncoding(Uint8Array.from(values)), expected, values.join(','));
  assert.throws(() => detectTruthEncoding(Uint8Array.from([0, 7, 200])), { code: 'TRUTH_INVALID', message: /0, 7, 200/ });
});

test('truthCloudMask: only the cloud value is cloud (class 0 shadow is not)', () => {
  assert.deepEqual([...truthCloudMask(Uint8Array.from([0, 1, 2, 3, 4]), 'class4')], [0, 0, 0, 0, 1]);
  assert.deepEqual([...truthCloudMask(Uint8Array.from([0, 255, 1]), 'cloud255')], [0, 1, 0]);
  assert.deepEqual([...truthCloudMask(Uint8Array.from([0, 255, 1]), 'cloud1')], [0, 0, 1]);
});

test('agreementFromConfusion equals compareMasks on the same pixels, edges included', () => {
  const cases: [number[], number[]][] = [
    [[255, 0, 255, 0, 0], [1, 1, 0, 0, 0]],
    [[0, 0], [0, 0]],
    [[255], [0]],
    [[], []],
  ];
  for (const [predicted, truth] of cases) {
    const direct = compareMasks(predicted, truth);
    assert.deepEqual(agreementFromConfusion(direct.confusion), direct);
  }
});

test('formatConfusionTable: one row per scene, an overall row and the skipped scenes', () => {
  const a = compareMasks([255, 0, 255, 0], [1, 1, 0, 0]);
  const report: EvaluationReport = {
    schema: 'cloudseg.eval.v1',
    model: { name: 'm', version: '1', md5: 'abc', rev: null, tag: null },
    threshold: 0.5,
    tile: { size: 512, overlap: 64 },
    preset: null,
    overall: { ...a, scenes: 1, pixels: 4, meanIou: a.iou },
    scenes: { s1: { ...a, width: 2, height: 2, truthEncoding: 'cloud1', scaling: { source: 'default', scale: [1], offset: [0] }, inferMs: 1 } },
    skipped: { s2: 'no swir1 band' },
  };
  const text = formatConfusionTable(report);
  assert.match(text, /^s1 +1 +1 +1 +1 +0\.333/m);
  assert.match(text, /^overall \(pooled\)/m);
  assert.match(text, /skipped s2: no swir1 band/);
});

test('withInferenceSettings replaces threshold and tiling, keeps the model, refuses nonsense', () => {
  const card = { tile: { size: 512, overlap: 64 }, threshold: 0.5, sizeMultiple: 8 } as SegmentationModel['card'];
  const model = { identity: { name: 'm' }, card, backend: 'wasm', predict: async () => new Float32Array(0), dispose: () => undefined } as unknown as SegmentationModel;
  const tuned = withInferenceSettings(model, { threshold: 0.3, tileSize: 256 });
  assert.deepEqual([tuned.card.threshold, tuned.card.tile.size, tuned.card.tile.overlap], [0.3, 256, 64]);
  assert.equal(model.card.threshold, 0.5, 'the loaded model is not changed');
  assert.throws(() => withInferenceSettings(model, { threshold: 1 }), { code: 'CONFIG_INVALID' });
  assert.throws(() => withInferenceSettings(model, { overlap: 512 }), { code: 'CONFIG_INVALID' });
});

test('readNpz reads the ukis scenes: float32 image (512,512,6) and the class mask', { skip: MISSING }, async () => {
  const arrays = readNpz(await readFile(fixture('ukis-csmask', 'sentinel2.npz')));
  const img = arrays.get('img')!;
  const msk = arrays.get('msk')!;
  assert.deepEqual([img.dtype, img.shape], ['<f4', [512, 512, 6]]);
  assert.deepEqual([msk.dtype, msk.shape], ['|u1', [512, 512, 1]]);
  const counts = new Map<number, number>();
  for (const v of msk.data) counts.set(v, (counts.get(v) ?? 0) + 1);
  // From numpy: np.unique(msk, return_counts=True)
  assert.deepEqual(Object.fromEntries(counts), { 0: 28583, 1: 840, 3: 183124, 4: 49597 });
  assert.ok(img.data.every((v) => v >= 0 && v < 1.3));
});

test('readNpy: a hand-made v1 array, and a clear error on garbage', () => {
  const header = "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }";
  const padded = header.padEnd(64 - 10 - 1, ' ') + '\n';
  const head = Buffer.concat([Buffer.from([0x93]), Buffer.from('NUMPY'), Buffer.from([1, 0]), Buffer.from([padded.length, 0]), Buffer.from(padded, 'latin1')]);
  const body = Buffer.from(Uint16Array.of(1, 2, 3, 4, 5, 65535).buffer);
  const array = readNpy(Buffer.concat([head, body]));
  assert.deepEqual([array.dtype, array.shape, [...array.data]], ['<u2', [2, 3], [1, 2, 3, 4, 5, 65535]]);
  assert.throws(() => readNpy(Buffer.from('not numpy at all')), { code: 'CORRUPT_IMAGE' });
  assert.throws(() => readNpz(Buffer.from('PK but no directory here, long enough to scan')), { code: 'CORRUPT_IMAGE', message: /end-of-central-directory/ });
});

test('parseSceneManifest resolves paths against root and checks every scene', () => {
  const scenes = parseSceneManifest({ root: 'data', scenes: [{ name: 'a', image: 'a.tif', truth: 't/a.tif' }, { name: 'b', npz: 'b.npz', bandNames: ['blue'] }] }, '/m');
  assert.equal(scenes[0]!.image, '/m/data/a.tif');
  assert.equal(scenes[0]!.truth, '/m/data/t/a.tif');
  assert.equal(scenes[1]!.npz, '/m/data/b.npz');
  assert.equal(scenes[1]!.imageKey, 'img');
  assert.equal(parseSceneManifest({ scenes: [{ name: 'a', image: 'a.tif', truth: 't.tif' }] }, '/m', 'x', '/elsewhere')[0]!.image, '/elsewhere/a.tif');
  const bad: [unknown, RegExp][] = [
    [{ scenes: [{ name: 'a', image: 'a.tif', npz: 'b.npz', truth: 't' }] }, /exactly one of image, bands, npz/],
    [{ scenes: [{ name: 'a', image: 'a.tif' }] }, /truth: required/],
    [{ scenes: [{ name: 'a b', image: 'a.tif', truth: 't' }] }, /name/],
    [{ scenes: [{ name: 'a', image: 'a.tif', truth: 't', truthEncoding: 'cloud7' }] }, /truthEncoding/],
    [{ scenes: [{ name: 'a', image: 'a', truth: 't' }, { name: 'a', image: 'b', truth: 't' }] }, /appears twice/],
    [{ scenes: [] }, /scenes/],
  ];
  for (const [raw, message] of bad) assert.throws(() => parseSceneManifest(raw, '/m'), { code: 'CONFIG_INVALID', message });
});

test('scenesFromFolders pairs images and truth by name stem and names what is unmatched', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-eval-folders-'));
  try {
    await mkdir(join(dir, 'images'));
    await mkdir(join(dir, 'truth'));
    for (const f of ['images/s1.tif', 'images/s2.png', 'images/notes.txt', 'truth/s1.png', 'truth/s2.tif']) await writeFile(join(dir, f), '');
    const scenes = await scenesFromFolders(join(dir, 'images'), join(dir, 'truth'));
    assert.deepEqual(scenes.map((s) => [s.name, s.truth?.endsWith('s1.png') || s.truth?.endsWith('s2.tif')]), [['s1', true], ['s2', true]]);
    await writeFile(join(dir, 'images', 's3.tif'), '');
    await assert.rejects(scenesFromFolders(join(dir, 'images'), join(dir, 'truth')), { code: 'CONFIG_INVALID', message: /s3\.tif/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('renderEvalPlot: four panels, false positives red and false negatives blue', async () => {
  const width = 4;
  const height = 2;
  const raster = { width, height, bands: 4, dtype: 'float32' as const, data: new Float32Array(width * height * 4).map((_, i) => (i % 7) / 7), georef: null, fileScaling: null, noData: null };
  const truth = Uint8Array.from([1, 1, 0, 0, 1, 0, 0, 0]);
  const predicted = Uint8Array.from([255, 0, 255, 0, 255, 0, 0, 0]);
  const png = await renderEvalPlot({ raster, scaling: { scale: [1], offset: [0] }, rgbBands: [2, 1, 0], truth, predicted });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 4 * width + 3 * 4);
  assert.equal(info.height, height);
  const errorsLeft = 3 * (width + 4);
  const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
  assert.deepEqual(pixel(errorsLeft + 0, 0), [...ERROR_COLOURS.truePositive]);
  assert.deepEqual(pixel(errorsLeft + 1, 0), [...ERROR_COLOURS.falseNegative]);
  assert.deepEqual(pixel(errorsLeft + 2, 0), [...ERROR_COLOURS.falsePositive]);
  assert.deepEqual(pixel(errorsLeft + 3, 0), [...ERROR_COLOURS.trueNegative]);
  assert.deepEqual(pixel(width + 4 + 1, 0), [255, 255, 255], 'truth panel: cloud is white');
  assert.deepEqual(pixel(2 * (width + 4) + 1, 0), [0, 0, 0], 'prediction panel: clear is black');
});
