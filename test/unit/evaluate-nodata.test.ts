// Evaluation leaves nodata out: a pixel that is nodata in the prediction (mask value 128) or in the
// truth (its declared nodata) is in no confusion cell and no ratio, and is counted as excluded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../shared/imaging/decode.js';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';
import { isMaskCloud, MASK_VALUES } from '../../shared/imaging/mask-values.js';
import { ERROR_COLOURS, renderEvalPlot } from '../../shared/lifecycle/eval-plot.js';
import { readTruth, type EvalScene } from '../../shared/lifecycle/eval-scenes.js';
import { evaluateModel, formatConfusionTable } from '../../shared/lifecycle/evaluate.js';
import { loadModelFromDir } from '../../shared/model/load.js';
import { agreementFromConfusion, compareMasks } from '../../shared/lifecycle/metrics.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';
import { registeredModelDir } from '../support/model.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING the evaluation-with-nodata scene test: ${MISSING}`);

const N = MASK_VALUES.nodata;

test('compareMasks leaves nodata in either mask out of every count', () => {
  // [predicted, truth, expected confusion, expected excluded]
  const cases: [number[], number[], [number, number, number, number], number][] = [
    [[], [], [0, 0, 0, 0], 0],
    [[N], [0], [0, 0, 0, 0], 1], // nodata prediction on clear truth: not a true negative
    [[N], [1], [0, 0, 0, 0], 1], // nodata prediction on cloud truth: not a missed cloud
    [[255], [N], [0, 0, 0, 0], 1], // cloud predicted where nobody labelled: not a false positive
    [[N], [N], [0, 0, 0, 0], 1],
    [[255, 255, 0, 0, N, 0, 255], [1, 0, 1, 0, 1, N, N], [1, 1, 1, 1], 3],
  ];
  for (const [predicted, truth, [tp, fp, fn, tn], excluded] of cases) {
    const m = compareMasks(predicted, truth, { predicted: isMaskCloud });
    const label = `${predicted} vs ${truth}`;
    assert.deepEqual(m.confusion, { truePositive: tp, falsePositive: fp, falseNegative: fn, trueNegative: tn }, label);
    assert.equal(m.excludedPixels, excluded, label);
  }
  // Half the scene is fill: the ratios are those of the labelled half alone.
  const m = compareMasks([255, 0, N, N], [1, 0, 0, 0], { predicted: isMaskCloud });
  assert.deepEqual([m.accuracy, m.iou, m.predictedCloudFraction, m.trueCloudFraction], [1, 1, 0.5, 0.5]);
});

test('agreementFromConfusion carries the excluded count; pooled equals per-pixel', () => {
  const a = compareMasks([255, N, 0], [1, 1, N]);
  const b = compareMasks([0, 255], [1, 1]);
  const pooled = agreementFromConfusion(
    {
      truePositive: a.confusion.truePositive + b.confusion.truePositive,
      falsePositive: a.confusion.falsePositive + b.confusion.falsePositive,
      falseNegative: a.confusion.falseNegative + b.confusion.falseNegative,
      trueNegative: a.confusion.trueNegative + b.confusion.trueNegative,
    },
    a.excludedPixels + b.excludedPixels,
  );
  assert.deepEqual(pooled, compareMasks([255, N, 0, 0, 255], [1, 1, N, 1, 1]));
  assert.equal(pooled.excludedPixels, 2);
});

test('readTruth marks the declared nodata and tells the encoding from the other values', () => {
  const cases: [number[], number | null, string, number[], number][] = [
    [[0, 1, 255, 1], 255, 'cloud1', [0, 1, N, 1], 1], // On Cloud N labels declare nodata 255
    [[0, 255, 0], null, 'cloud255', [0, 1, 0], 0],
    [[0, 255, 7, 7], 7, 'cloud255', [0, 1, N, N], 2],
    [[3, 4, 0, 9], 9, 'class4', [0, 1, 0, N], 1],
    [[9, 9], 9, 'cloud255', [N, N], 2], // all nodata: nothing to tell the encoding by, nothing to score
  ];
  for (const [values, nodata, encoding, truth, count] of cases) {
    const read = readTruth(Uint8Array.from(values), nodata, undefined, 'test');
    assert.deepEqual([read.truthEncoding, [...read.truth], read.truthNodataPixels], [encoding, truth, count], `${values} nodata ${nodata}`);
  }
  assert.throws(() => readTruth(Uint8Array.from([0, 1, 7]), null, undefined, 'test'), { code: 'TRUTH_INVALID' });
});

test('evaluateModel on a real scene with fill in the image and unlabelled truth: both left out and reported', { skip: MISSING }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-eval-nodata-'));
  const model = await loadModelFromDir(await registeredModelDir('models/landsatbiomeRGBI6'), { backend: 'auto', batchTiles: 1 });
  try {
    // The 38-Cloud patch (384x384, Landsat-8 DN) stacked blue, green, red, nir, with nodata 0.
    const patch = 'patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF';
    const bands = await Promise.all(['blue', 'green', 'red', 'nir'].map(async (b) => decodeImage(new Uint8Array(await readFile(fixture('38cloud', `${b}_${patch}`))), { maxPixels: 1e6 })));
    const { width, height } = bands[0]!;
    const pixels = width * height;
    const data = new Uint16Array(pixels * 4);
    for (let p = 0; p < pixels; p++) for (let k = 0; k < 4; k++) data[p * 4 + k] = bands[k]!.data[p]!;
    const truthRaster = await decodeImage(new Uint8Array(await readFile(fixture('38cloud', `gt_${patch}`))), { maxPixels: 1e6 });
    const truth = Uint8Array.from(truthRaster.data);
    // Image fill: rows 0..99 (every band 0 = nodata). Unlabelled truth: columns 0..49 (value 7).
    const fillRows = 100;
    const unlabelledColumns = 50;
    data.fill(0, 0, fillRows * width * 4);
    for (let y = 0; y < height; y++) truth.fill(7, y * width, y * width + unlabelledColumns);
    const imagePath = join(dir, 'scene.tif');
    const truthPath = join(dir, 'truth.tif');
    await writeFile(imagePath, writeGeoTiff({ width, height, bands: 4, dtype: 'uint16', data, georef: null, noData: 0, scaling: null }));
    await writeFile(truthPath, writeGeoTiff({ width, height, bands: 1, dtype: 'uint8', data: truth, georef: null, noData: 7, scaling: null }));
    const scene: EvalScene = { name: 'p192-with-fill', image: imagePath, truth: truthPath, imageKey: 'img', maskKey: 'msk', preset: 'landsat8-l1' };
    const report = await evaluateModel(model, [scene], { outDir: join(dir, 'out'), plots: false });

    const s = report.scenes['p192-with-fill']!;
    const expectedExcluded = fillRows * width + (height - fillRows) * unlabelledColumns;
    assert.equal(s.excludedPixels, expectedExcluded);
    const compared = s.confusion.truePositive + s.confusion.falsePositive + s.confusion.falseNegative + s.confusion.trueNegative;
    assert.equal(compared, pixels - expectedExcluded, 'every pixel is either compared or excluded');
    assert.equal(report.overall.excludedPixels, expectedExcluded);
    assert.equal(report.overall.pixels, compared);
    assert.ok(s.iou > 0.5, `the labelled part still scores like the published patch (IoU ${s.iou})`);
    const table = formatConfusionTable(report);
    assert.match(table, new RegExp(`^p192-with-fill .* ${expectedExcluded}$`, 'm'));
    const written = JSON.parse(await readFile(join(dir, 'out', 'metrics.json'), 'utf8')) as typeof report;
    assert.equal(written.scenes['p192-with-fill']!.excludedPixels, expectedExcluded);
  } finally {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});

test('renderEvalPlot shows nodata (either mask) grey, not as cloud', async () => {
  const width = 4;
  const height = 1;
  const raster = { width, height, bands: 4, dtype: 'float32' as const, data: new Float32Array(width * height * 4).fill(0.2), georef: null, fileScaling: null, noData: null };
  const truth = Uint8Array.from([1, N, 1, 0]);
  const predicted = Uint8Array.from([N, 255, 255, 0]);
  const png = await renderEvalPlot({ raster, scaling: { scale: [1], offset: [0] }, rgbBands: [2, 1, 0], truth, predicted });
  const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  const pixel = (x: number) => [...data.subarray(x * info.channels, x * info.channels + 3)];
  const panel = (i: number) => i * (width + 4);
  assert.deepEqual([0, 1, 2, 3].map((x) => pixel(panel(3) + x)), [ERROR_COLOURS.excluded, ERROR_COLOURS.excluded, ERROR_COLOURS.truePositive, ERROR_COLOURS.trueNegative].map((c) => [...c]));
  assert.deepEqual(pixel(panel(1) + 1), [...ERROR_COLOURS.excluded], 'truth panel: nodata grey');
  assert.deepEqual(pixel(panel(1) + 0), [255, 255, 255], 'truth panel: cloud white');
  assert.deepEqual(pixel(panel(2) + 0), [...ERROR_COLOURS.excluded], 'prediction panel: nodata grey');
});
