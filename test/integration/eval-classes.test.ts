// `cloudseg eval` of a class model: a hand-checkable scene through a stand-in model (exact matrix),
// then the real 3-class ONNX U-Net (random weights) on the ukis-csmask Sentinel-2 scene: the N x N
// matrix adds up, every score is recomputed from it, the label map is applied, the CLI prints it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/config/project-root.js';
import { writeGeoTiff } from '../../shared/imaging/geotiff-write.js';
import { MODEL_CARD_FILE, parseModelCard } from '../../shared/model/card.js';
import type { ClassConfusion } from '../../shared/lifecycle/class-metrics.js';
import type { EvalScene } from '../../shared/lifecycle/eval-scenes.js';
import { evaluateModel, type EvaluationReport } from '../../shared/lifecycle/evaluate.js';
import { parseLabelMapText } from '../../shared/lifecycle/label-map.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import type { SegmentationModel } from '../../shared/model/types.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING the class-model evaluation tests on real fixtures: ${MISSING}`);

const ROOT = projectRoot();
const CLASSES = ['clear', 'cloud', 'shadow'];

// The card of the 3-class ONNX fixture (4 bands, logits [n, 3, h, w]); the stand-in uses it too.
const CARD_YAML = `name: seed-unet-3class
version: 0.0.1
format: onnx
modelFile: model.onnx
bands: [blue, green, red, nir]
presets:
  reflectance: { scale: 1, offset: 0, description: values already reflectance }
  sentinel2-l1c: { scale: 0.0001, offset: 0 }
defaultPreset: { integer: sentinel2-l1c, float: reflectance }
tile: { size: 256, overlap: 32 }
sizeMultiple: 4
output: { activation: linear }
classes:
  - { value: 0, name: clear, kind: clear }
  - { value: 1, name: cloud, kind: cloud }
  - { value: 2, name: shadow, kind: shadow }
`;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudseg-eval-classes-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every score of a report's class part, recomputed from its matrix. */
function assertScoresFromMatrix(scores: Pick<EvaluationReport['overall'], 'classes' | 'classConfusion' | 'classAccuracy' | 'meanClassIou' | 'confusion' | 'excludedPixels'>, label: string): number {
  const { matrix, labels } = scores.classConfusion as ClassConfusion;
  assert.deepEqual(labels, CLASSES, label);
  const n = labels.length;
  let sum = 0;
  let diagonal = 0;
  const ious: number[] = [];
  for (let k = 0; k < n; k++) {
    const truth = matrix[k]!.reduce((a, b) => a + b, 0);
    const predicted = matrix.reduce((a, row) => a + row[k]!, 0);
    const hit = matrix[k]![k]!;
    const c = scores.classes![k]!;
    assert.equal(c.name, CLASSES[k]);
    assert.deepEqual([c.truePixels, c.predictedPixels], [truth, predicted], `${label} ${c.name} pixels`);
    if (truth + predicted === 0) {
      assert.deepEqual([c.iou, c.precision, c.recall], [null, null, null], `${label} ${c.name} absent`);
    } else {
      const iou = hit / (truth + predicted - hit);
      ious.push(iou);
      assert.ok(Math.abs(c.iou! - iou) < 1e-12, `${label} ${c.name} IoU ${c.iou} vs ${iou}`);
      assert.ok(Math.abs(c.precision! - (predicted === 0 ? 0 : hit / predicted)) < 1e-12, `${label} ${c.name} precision`);
      assert.ok(Math.abs(c.recall! - (truth === 0 ? 0 : hit / truth)) < 1e-12, `${label} ${c.name} recall`);
    }
    sum += truth;
    diagonal += hit;
  }
  assert.ok(Math.abs(scores.classAccuracy! - diagonal / sum) < 1e-12, `${label} accuracy`);
  assert.ok(Math.abs(scores.meanClassIou! - ious.reduce((a, b) => a + b, 0) / ious.length) < 1e-12, `${label} mean IoU`);
  // Cloud vs not folds the matrix: class 1 (kind cloud) against clear + shadow.
  const { truePositive, falsePositive, falseNegative, trueNegative } = scores.confusion;
  assert.deepEqual(
    [truePositive, falseNegative, falsePositive, trueNegative],
    [matrix[1]![1]!, matrix[1]![0]! + matrix[1]![2]!, matrix[0]![1]! + matrix[2]![1]!, matrix[0]![0]! + matrix[0]![2]! + matrix[2]![0]! + matrix[2]![2]!],
    `${label} cloud fold`,
  );
  return sum;
}

// A stand-in class model: each pixel's class is whichever of its first three bands is largest.
function argmaxBandModel(): SegmentationModel {
  const card = parseModelCard(CARD_YAML.replace('sizeMultiple: 4', 'sizeMultiple: 1').replace('size: 256, overlap: 32', 'size: 8, overlap: 2'));
  return {
    identity: { name: card.name, version: card.version, md5: 'stand-in', rev: null, tag: null },
    card,
    backend: 'cpu',
    parallelism: 1,
    outputChannels: 3,
    predict: async (tiles, count, height, width) => {
      const out = new Float32Array(count * height * width * 3);
      for (let p = 0; p < count * height * width; p++) {
        const b = tiles.subarray(p * 4, p * 4 + 3);
        const best = b[0]! >= b[1]! && b[0]! >= b[2]! ? 0 : b[1]! >= b[2]! ? 1 : 2;
        out[p * 3 + best] = 1;
      }
      return out;
    },
    dispose: () => undefined,
  };
}

test('a class model on a hand-made scene: the exact N x N matrix, label map and nodata applied', async () => {
  // Predicted classes (the stand-in's argmax), X = every band NaN (mask nodata):
  //   0 0 1 1 / 1 1 2 2 / 2 0 0 0 / X 0 1 2
  // Truth codes (ukis-like, 9 = unlabelled -> nodata), as classes c(lear) C(loud) s(hadow):
  //   1 2 4 4 / 4 3 0 0 / 0 9 3 4 / 1 1 4 0  =  c c C C / C c s s / s - c C / c c C s
  const predicted = [0, 0, 1, 1, 1, 1, 2, 2, 2, 0, 0, 0, -1, 0, 1, 2];
  const codes = [1, 2, 4, 4, 4, 3, 0, 0, 0, 9, 3, 4, 1, 1, 4, 0];
  const image = new Float32Array(16 * 4);
  predicted.forEach((c, p) => {
    if (c < 0) image.fill(Number.NaN, p * 4, p * 4 + 4);
    else image.set([0.1, 0.1, 0.1, 0.3].map((v, b) => (b === c ? 0.5 : v)), p * 4);
  });
  const sceneDir = join(dir, 'hand');
  await mkdir(sceneDir, { recursive: true });
  await writeFile(join(sceneDir, 'image.tif'), writeGeoTiff({ width: 4, height: 4, bands: 4, dtype: 'float32', data: image, georef: null, noData: null, scaling: null }));
  await writeFile(join(sceneDir, 'truth.tif'), writeGeoTiff({ width: 4, height: 4, bands: 1, dtype: 'uint8', data: Uint8Array.from(codes), georef: null, noData: null, scaling: null }));
  const scene: EvalScene = {
    name: 'hand',
    image: join(sceneDir, 'image.tif'),
    truth: join(sceneDir, 'truth.tif'),
    imageKey: 'img',
    maskKey: 'msk',
    labelMap: parseLabelMapText('4:cloud,0:shadow,1-3:clear,9:nodata'),
  };
  const out = join(dir, 'hand-out');
  const report = await evaluateModel(argmaxBandModel(), [scene], { outDir: out });
  const s = report.scenes.hand!;
  assert.deepEqual(s.classConfusion, { labels: CLASSES, values: [0, 1, 2], matrix: [[4, 1, 0], [1, 4, 0], [0, 0, 4]] });
  assert.equal(s.excludedPixels, 2, 'the unlabelled code 9 and the NaN pixel');
  assert.deepEqual(s.classes!.map((c) => [c.name, c.iou, c.truePixels, c.predictedPixels]), [['clear', 4 / 6, 5, 5], ['cloud', 4 / 6, 5, 5], ['shadow', 1, 4, 4]]);
  assert.equal(s.classAccuracy, 12 / 14);
  assert.deepEqual(s.labelMap, { 0: 'shadow', 1: 'clear', 2: 'clear', 3: 'clear', 4: 'cloud', 9: 'nodata' });
  assert.equal(s.truthEncoding, null);
  assert.equal(assertScoresFromMatrix(s, 'hand'), 14);
  assert.deepEqual(report.cloudClasses, ['cloud']);
  assert.equal(s.iou, 4 / 6, 'cloud vs not: TP 4, FN 1, FP 1');
  // One scene: pooled equals the scene.
  assert.deepEqual(report.overall.classConfusion, s.classConfusion);
  assert.equal(report.overall.pixels, 14);

  const written = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as EvaluationReport;
  assert.deepEqual(written.scenes.hand!.classConfusion!.matrix, [[4, 1, 0], [1, 4, 0], [0, 0, 4]]);
  assert.equal(written.threshold, null, 'a class model has no threshold');
  const table = await readFile(join(out, 'confusion.txt'), 'utf8');
  assert.match(table, /^truth \\ predicted +clear +cloud +shadow$/m);
  assert.match(table, /^shadow +0 +0 +4$/m);
  assert.match(table, /^shadow +shadow +1\.000 +1\.000 +1\.000 +4 +4$/m);
  assert.match(table, /^hand +4 +1 +1 +8 +0\.667 /m, 'the cloud-vs-not row stays: TP FP FN TN');
  assert.deepEqual(await readdir(join(out, 'plots')), ['hand.png']);

  // The run's --label-map beats the scene's; a code it misses fails before inference, naming it.
  await assert.rejects(evaluateModel(argmaxBandModel(), [scene], { labelMap: parseLabelMapText('4:cloud,0:shadow,1-3:clear') }), {
    code: 'TRUTH_INVALID',
    message: /scene hand .*truth code 9 has no class in the label map/,
  });
  await assert.rejects(evaluateModel(argmaxBandModel(), [scene], { threshold: 0.3 }), { code: 'CONFIG_INVALID', message: /class model .*no threshold/ });
  await assert.rejects(evaluateModel(argmaxBandModel(), [scene], { labelMap: parseLabelMapText('4:clouds') }), {
    code: 'CONFIG_INVALID',
    message: /"clouds" is no class of the model \(classes: clear \(0\), cloud \(1\), shadow \(2\)/,
  });
});

test('cloudseg eval --label-map with a bad entry: one line, exit 2, before the model loads', async () => {
  const manifest = join(dir, 'scenes.yaml');
  await writeFile(manifest, 'scenes:\n  - { name: s, npz: s.npz }\n');
  const run = promisify(execFile)(process.execPath, ['--import', 'tsx', join(ROOT, 'functions', 'cli.ts'), 'eval', '--manifest', manifest, '--model', join(dir, 'no-model-needed'), '--out', join(dir, 'cli-bad'), '--label-map', '4:cloud,0shadow'], {
    cwd: ROOT,
  });
  await assert.rejects(run, (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    const lines = err.stderr.split('\n').filter((l) => l.startsWith('cloudseg'));
    assert.deepEqual(lines, ['cloudseg: CONFIG_INVALID: --label-map entry "0shadow" is not CODE:CLASS (e.g. 4:cloud,0:shadow,1-3:clear)']);
    return true;
  });
});

// The real model: /work/shared/fixtures/onnx/seed-unet-3class.onnx, random weights, so only the
// structure and consistency of the report are checked, not its scores.
let onnxModel: LoadedModel | undefined;
let onnxDir: string;
const ukis = (name: string, labelMap?: string): EvalScene => ({
  name,
  npz: fixture('ukis-csmask', 'sentinel2.npz'),
  bandNames: ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'],
  imageKey: 'img',
  maskKey: 'msk',
  truthEncoding: 'class4',
  preset: 'reflectance',
  ...(labelMap ? { labelMap: parseLabelMapText(labelMap) } : {}),
});
// np.unique(msk, return_counts=True) of the fixture: 0 shadow, 1 and 3 clear, 4 cloud.
const UKIS_TRUTH = { clear: 840 + 183124, cloud: 49597, shadow: 28583 };
const UKIS_PIXELS = 512 * 512;

test('the 3-class ONNX model on ukis-csmask: the matrix adds up, scores follow from it, the label map applies', { skip: MISSING }, async () => {
  onnxDir = join(dir, 'seed-unet-3class');
  await mkdir(onnxDir, { recursive: true });
  await copyFile(fixture('onnx', 'seed-unet-3class.onnx'), join(onnxDir, 'model.onnx'));
  await writeFile(join(onnxDir, MODEL_CARD_FILE), CARD_YAML);
  onnxModel = await loadModelFromDir(onnxDir, { backend: 'auto', batchTiles: 1 });
  const out = join(dir, 'onnx-out');
  // The encoding's map (class4), the same written out, and one leaving the clear codes out.
  const scenes = [ukis('by-encoding'), ukis('by-map', '4:cloud,0:shadow,1-3:clear'), ukis('clear-left-out', '4:cloud,0:shadow,1-3:nodata')];
  const report = await evaluateModel(onnxModel, scenes, { outDir: out });
  assert.deepEqual(Object.keys(report.scenes), scenes.map((s) => s.name));
  for (const [name, s] of Object.entries(report.scenes)) {
    const compared = assertScoresFromMatrix(s, name);
    assert.equal(compared + s.excludedPixels, UKIS_PIXELS, `${name}: every pixel compared or excluded`);
  }
  const [byEncoding, byMap, clearOut] = scenes.map((s) => report.scenes[s.name]!);
  assert.deepEqual(byEncoding!.classes!.map((c) => c.truePixels), [UKIS_TRUTH.clear, UKIS_TRUTH.cloud, UKIS_TRUTH.shadow]);
  assert.equal(byEncoding!.excludedPixels, 0);
  assert.deepEqual(byMap!.classConfusion, byEncoding!.classConfusion, 'the class4 default is the ukis map');
  assert.equal(byEncoding!.truthEncoding, 'class4');
  // Leaving clear out drops the clear row and changes no other: the prediction is the same.
  assert.equal(clearOut!.excludedPixels, UKIS_TRUTH.clear);
  assert.deepEqual(clearOut!.classConfusion!.matrix, [[0, 0, 0], byEncoding!.classConfusion!.matrix[1], byEncoding!.classConfusion!.matrix[2]]);
  assert.deepEqual(clearOut!.labelMap, { 0: 'shadow', 1: 'nodata', 2: 'nodata', 3: 'nodata', 4: 'cloud' });
  // Overall pools the three scenes.
  const pooled = report.overall.classConfusion!.matrix;
  for (let t = 0; t < 3; t++) for (let p = 0; p < 3; p++) assert.equal(pooled[t]![p], byEncoding!.classConfusion!.matrix[t]![p]! * 2 + clearOut!.classConfusion!.matrix[t]![p]!);
  assert.equal(assertScoresFromMatrix(report.overall, 'overall'), report.overall.pixels);
  console.log(`seed-unet-3class on ukis-sentinel2 (random weights): matrix ${JSON.stringify(byEncoding!.classConfusion!.matrix)}, mean IoU ${byEncoding!.meanClassIou?.toFixed(3)}`);

  const written = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')) as EvaluationReport;
  assert.deepEqual(written.overall.classConfusion, report.overall.classConfusion);
  assert.deepEqual(Object.keys(written.scenes['by-map']!.classes![0]!).sort(), ['iou', 'kind', 'name', 'precision', 'predictedPixels', 'recall', 'truePixels', 'value']);
  assert.deepEqual((await readdir(join(out, 'plots'))).sort(), ['by-encoding.png', 'by-map.png', 'clear-left-out.png']);
});

test('cloudseg eval --label-map on the 3-class ONNX model: the N x N matrix and per-class lines printed', { skip: MISSING }, async () => {
  assert.ok(onnxModel, 'the ONNX model loaded in the test before');
  const manifest = join(dir, 'ukis.yaml');
  await writeFile(manifest, `scenes:\n  - { name: ukis-s2, npz: ${fixture('ukis-csmask', 'sentinel2.npz')}, bandNames: [blue, green, red, nir, swir1, swir2], preset: reflectance }\n`);
  const exec = promisify(execFile);
  const cli = (...extra: string[]) =>
    exec(process.execPath, ['--import', 'tsx', join(ROOT, 'functions', 'cli.ts'), 'eval', '--manifest', manifest, '--model', onnxDir, '--no-plots', ...extra], { cwd: ROOT });
  const { stdout } = await cli('--out', join(dir, 'cli-onnx'), '--label-map', '4:cloud,0:shadow,1-3:clear');
  assert.match(stdout, /^truth \\ predicted +clear +cloud +shadow$/m);
  for (const name of CLASSES) assert.match(stdout, new RegExp(`^${name} +${name} +(\\d\\.\\d{3}|-) `, 'm'));
  const written = JSON.parse(await readFile(join(dir, 'cli-onnx', 'metrics.json'), 'utf8')) as EvaluationReport;
  assert.equal(assertScoresFromMatrix(written.scenes['ukis-s2']!, 'cli'), UKIS_PIXELS);
  // A class the card does not have: one line listing the card's classes.
  await assert.rejects(cli('--out', join(dir, 'cli-onnx-bad'), '--label-map', '4:clouds,0:shadow,1-3:clear'), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /^cloudseg: CONFIG_INVALID: --label-map entry "4:clouds": "clouds" is no class of the model \(classes: clear \(0\), cloud \(1\), shadow \(2\); or nodata to leave the code out\)$/m);
    return true;
  });
});

after(() => onnxModel?.dispose());
