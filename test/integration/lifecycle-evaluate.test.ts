// `cloudseg eval` on the fixture scenes: reproduces every row of the published table in
// ../shared/fixtures/README.md within 0.01 IoU (both models, the stated scalings), writes
// metrics.json / confusion.txt / one plot per scene, and a threshold sweep is monotone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { projectRoot } from '../../shared/config/project-root.js';
import { stackBands } from '../../shared/imaging/stack.js';
import { readSceneManifest, type EvalScene } from '../../shared/lifecycle/eval-scenes.js';
import { evaluateModel, type EvaluationReport } from '../../shared/lifecycle/evaluate.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { FIXTURES_DIR, fixture, fixturesMissing } from '../support/fixtures.js';
import { registeredModelDir } from '../support/model.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`SKIPPING lifecycle evaluation tests: ${MISSING}`);

const ROOT = projectRoot();
const IOU_TOLERANCE = 0.01;

// ../shared/fixtures/README.md, "Measured with an independent forward pass of the HDF5".
const PUBLISHED: { scene: string; model: 'rgbi' | 'rgbiswir'; iou: number; accuracy: number; predicted: number; truth: number }[] = [
  { scene: 'ukis-sentinel2', model: 'rgbiswir', iou: 0.832, accuracy: 0.964, predicted: 0.2, truth: 0.189 },
  { scene: 'ukis-sentinel2', model: 'rgbi', iou: 0.624, accuracy: 0.916, predicted: 0.171, truth: 0.189 },
  { scene: 'ukis-landsat7', model: 'rgbiswir', iou: 0.634, accuracy: 0.867, predicted: 0.234, truth: 0.36 },
  { scene: 'ukis-landsat7', model: 'rgbi', iou: 0.548, accuracy: 0.836, predicted: 0.2, truth: 0.36 },
  { scene: '38cloud-p192', model: 'rgbi', iou: 0.814, accuracy: 0.943, predicted: 0.253, truth: 0.307 },
  { scene: 'oncloudn-chip1', model: 'rgbi', iou: 0.481, accuracy: 0.69, predicted: 0.288, truth: 0.598 },
  { scene: 'oncloudn-chip2', model: 'rgbi', iou: 0.479, accuracy: 0.786, predicted: 0.197, truth: 0.41 },
  { scene: 'oncloudn-chip3', model: 'rgbi', iou: 0.589, accuracy: 0.821, predicted: 0.257, truth: 0.435 },
];

const MODEL_DIRS = { rgbi: 'models/landsatbiomeRGBI6', rgbiswir: 'models/landsatbiomeRGBISWIR7' } as const;

let out: string;
let scenes: EvalScene[];
const models = new Map<keyof typeof MODEL_DIRS, LoadedModel>();
const reports = new Map<keyof typeof MODEL_DIRS, EvaluationReport>();

before(async () => {
  out = await mkdtemp(join(tmpdir(), 'cloudseg-lifecycle-eval-'));
  if (MISSING) return;
  scenes = await readSceneManifest(join(ROOT, 'scripts', 'fixture-scenes.yaml'), { root: FIXTURES_DIR });
  for (const [key, path] of Object.entries(MODEL_DIRS) as [keyof typeof MODEL_DIRS, string][]) {
    // The registered models, pulled from this repo's registry as the worker would.
    const model = await loadModelFromDir(await registeredModelDir(path), { backend: 'auto', batchTiles: 1 });
    models.set(key, model);
    reports.set(key, await evaluateModel(model, scenes, { outDir: join(out, key) }));
  }
});

after(async () => {
  for (const model of models.values()) model.dispose();
  await rm(out, { recursive: true, force: true });
});

for (const row of PUBLISHED) {
  test(`eval reproduces the published ${row.model} row for ${row.scene}: IoU ${row.iou}`, { skip: MISSING }, () => {
    const got = reports.get(row.model)!.scenes[row.scene];
    assert.ok(got, `scene ${row.scene} was not evaluated`);
    console.log(`${row.model} ${row.scene}: IoU ${got.iou.toFixed(3)} (published ${row.iou}), accuracy ${got.accuracy.toFixed(3)} (${row.accuracy}), predicted/true ${got.predictedCloudFraction.toFixed(3)}/${got.trueCloudFraction.toFixed(3)} (${row.predicted}/${row.truth})`);
    assert.ok(Math.abs(got.iou - row.iou) <= IOU_TOLERANCE, `IoU ${got.iou} vs ${row.iou}`);
    assert.ok(Math.abs(got.accuracy - row.accuracy) <= IOU_TOLERANCE, `accuracy ${got.accuracy} vs ${row.accuracy}`);
    assert.ok(Math.abs(got.predictedCloudFraction - row.predicted) <= IOU_TOLERANCE, `predicted fraction ${got.predictedCloudFraction} vs ${row.predicted}`);
    assert.ok(Math.abs(got.trueCloudFraction - row.truth) <= 0.0005, `true fraction ${got.trueCloudFraction} vs ${row.truth}`);
  });
}

test('eval writes metrics.json (per scene and overall), confusion.txt and one plot per scene', { skip: MISSING }, async () => {
  for (const key of ['rgbi', 'rgbiswir'] as const) {
    const metrics = JSON.parse(await readFile(join(out, key, 'metrics.json'), 'utf8')) as EvaluationReport;
    const evaluated = Object.keys(metrics.scenes);
    assert.deepEqual(evaluated, key === 'rgbi' ? scenes.map((s) => s.name) : ['ukis-sentinel2', 'ukis-landsat7']);
    for (const field of ['iou', 'precision', 'recall', 'f1', 'accuracy', 'predictedCloudFraction', 'trueCloudFraction'] as const) {
      assert.equal(typeof metrics.overall[field], 'number', field);
      for (const name of evaluated) assert.equal(typeof metrics.scenes[name]![field], 'number', `${name}.${field}`);
    }
    assert.equal(metrics.overall.scenes, evaluated.length);
    // A 6-band model cannot run on 4-band scenes: skipped with the reason, not failed.
    if (key === 'rgbiswir') assert.match(metrics.skipped['38cloud-p192']!, /no swir1, swir2/);
    const table = await readFile(join(out, key, 'confusion.txt'), 'utf8');
    for (const name of evaluated) assert.match(table, new RegExp(`^${name} `, 'm'));
    const plots = (await readdir(join(out, key, 'plots'))).sort();
    assert.deepEqual(plots, evaluated.map((n) => `${n}.png`).sort());
    const meta = await sharp(join(out, key, 'plots', plots[0]!)).metadata();
    assert.equal(meta.format, 'png');
    assert.ok(meta.width! > 3 * meta.height!, 'four panels side by side');
  }
});

test('a threshold sweep is monotone: predicted cloud fraction never rises with the threshold', { skip: MISSING }, async () => {
  const model = models.get('rgbi')!;
  const sweep = scenes.filter((s) => s.name === '38cloud-p192');
  const fractions: number[][] = [];
  for (const threshold of [0.05, 0.25, 0.5, 0.75, 0.95]) {
    const report = await evaluateModel(model, sweep, { threshold });
    fractions.push([threshold, ...sweep.map((s) => report.scenes[s.name]!.predictedCloudFraction)]);
  }
  console.log(`threshold sweep (threshold, ${sweep.map((s) => s.name).join(', ')}): ${JSON.stringify(fractions.map((r) => r.map((v) => +v.toFixed(3))))}`);
  for (let i = 1; i < fractions.length; i++) {
    for (let s = 1; s <= sweep.length; s++) assert.ok(fractions[i]![s]! <= fractions[i - 1]![s]!, `threshold ${fractions[i]![0]} predicts more cloud than ${fractions[i - 1]![0]}`);
  }
  // The sweep spans something: the extremes differ.
  assert.ok(fractions[0]![1]! > fractions.at(-1)![1]!);
});

test('cloudseg eval --images DIR --truth DIR --preset: the CLI on a folder pair', { skip: MISSING }, async () => {
  const images = join(out, 'cli-images');
  const truth = join(out, 'cli-truth');
  await mkdir(images, { recursive: true });
  await mkdir(truth, { recursive: true });
  const PATCH = 'patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF';
  const bands = await Promise.all(['blue', 'green', 'red', 'nir'].map((b) => readFile(fixture('38cloud', `${b}_${PATCH}`))));
  await writeFile(join(images, 'p192.tif'), await stackBands(bands));
  await copyFile(fixture('38cloud', `gt_${PATCH}`), join(truth, 'p192.tif'));
  const cliOut = join(out, 'cli-out');
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'functions', 'cli.ts'), 'eval', '--images', images, '--truth', truth, '--preset', 'landsat8-l1', '--out', cliOut, '--model', await registeredModelDir(MODEL_DIRS.rgbi)],
    { cwd: ROOT, env: { ...process.env, CLOUDSEG_INFERENCE_BACKEND: 'wasm' } },
  );
  assert.match(stdout, /^p192 /m);
  const metrics = JSON.parse(await readFile(join(cliOut, 'metrics.json'), 'utf8')) as EvaluationReport;
  assert.equal(metrics.preset, 'landsat8-l1');
  assert.equal(metrics.scenes.p192!.scaling.source, 'override');
  assert.equal(metrics.scenes.p192!.truthEncoding, 'cloud255');
  assert.ok(Math.abs(metrics.scenes.p192!.iou - 0.814) <= IOU_TOLERANCE, `IoU ${metrics.scenes.p192!.iou}`);
  assert.deepEqual(await readdir(join(cliOut, 'plots')), ['p192.png']);
});
