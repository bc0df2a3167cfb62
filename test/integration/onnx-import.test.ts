// `cloudseg model import-onnx` as users run it: the PyTorch-exported fixtures become model
// directories whose cards are read off the graph, load on ONNX Runtime and reproduce the exporter's
// golden predictions; every disagreement is refused in one line with nothing written; and an
// imported model registers, is promoted and is hot-swapped in by the worker like any other.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import onnxProto from 'onnx-proto';
import { createStorage } from '../../shared/cloud/storage.js';
import { loadConfig } from '../../shared/config/index.js';
import { projectRoot } from '../../shared/config/project-root.js';
import { CloudsegError } from '../../shared/errors.js';
import { createLogger } from '../../shared/logging.js';
import { MODEL_CARD_FILE, readModelCard } from '../../shared/model/card.js';
import type { OnnxGraphDescription } from '../../shared/model/formats/onnx/index.js';
import { readLifecycleParams, type LifecycleParams } from '../../shared/lifecycle/lifecycle-params.js';
import { loadModelFromDir } from '../../shared/model/load.js';
import { cardFromGraph, importOnnxModel, kindFromName, parseClassList, parseSeedParams, type OnnxCardRequest } from '../../shared/lifecycle/onnx-import/index.js';
import type { ModelCard, SegmentationModel } from '../../shared/model/types.js';
import { addOutput, promote, pushOutputs } from '../../shared/registry/index.js';
import { modelDirFromConfig, modelSourceFromConfig } from '../../shared/worker/model-source-from-config.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';
import { nchwToHwc, onnxGolden, type OnnxFixture } from '../support/onnx-models.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING ONNX import tests: ${MISSING}`);

const run = promisify(execFile);
const CLI = join(projectRoot(), 'functions', 'cli.ts');
// Resolved here so the CLI also runs with its cwd in a registry repo outside the project.
const TSX_LOADER = import.meta.resolve('tsx');
const BANDS = 'blue,green,red,nir';
const SEED_PARAMS = () => fixture('onnx', 'seed-unet-3class.params.yaml');
const onnxFile = (name: OnnxFixture) => fixture('onnx', `${name}.onnx`);
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

async function cloudseg(args: string[], cwd = projectRoot()): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', TSX_LOADER, CLI, ...args], { cwd, maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** stderr without npm's own notices (npx may add them). */
const stderrLines = (stderr: string) => stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'));

let root: string;
let params: LifecycleParams;
let seq = 0;
const freshDir = (tag: string) => join(root, `${tag}-${seq++}`);

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cloudseg-onnx-import-'));
  params = await readLifecycleParams(join(projectRoot(), 'params.yaml'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Runs the model on the golden 64x64 input and checks it against the exporter's probabilities
 * (PyTorch vs ONNX Runtime differ by < 4e-6 there) and, away from near-ties, its classes.
 */
async function assertReproducesGolden(model: SegmentationModel, name: OnnxFixture): Promise<void> {
  const golden = onnxGolden(name);
  const [, bands, height, width] = golden.input.shape as [number, number, number, number];
  const channels = golden.probabilities.shape[1]!;
  const out = await model.predict(nchwToHwc(golden.input.data, bands, height, width), 1, height, width);
  assert.equal(out.length, height * width * model.outputChannels);
  // A cloud card hands back the cloud probability; a class card every class's, channels last.
  const expected = model.outputChannels === 1 ? Float32Array.from(golden.probabilities.data) : nchwToHwc(golden.probabilities.data, channels, height, width);
  let maxDiff = 0;
  for (let i = 0; i < out.length; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - expected[i]!));
  assert.ok(maxDiff < 1e-4, `${name}: max |diff| vs golden ${maxDiff}`);
  let disagree = 0;
  const seen = new Set<number>();
  for (let p = 0; p < height * width; p++) {
    const probs = Array.from({ length: model.outputChannels }, (_, c) => out[p * model.outputChannels + c]!);
    const cls = model.outputChannels === 1 ? Number(probs[0]! > model.card.threshold) : probs.indexOf(Math.max(...probs));
    const sorted = [...probs].sort((a, b) => b - a);
    const nearTie = model.outputChannels > 1 && sorted[0]! - sorted[1]! < 1e-4;
    if (!nearTie && cls !== golden.classes.data[p]) disagree++;
    seen.add(cls);
  }
  assert.equal(disagree, 0, `${name}: pixels classed differently from the golden classes`);
  assert.equal(seen.size, channels === 1 ? 2 : channels, `${name}: not a degenerate agreement: every class occurs`);
}

describe('import-onnx through the CLI', { skip: MISSING }, () => {
  test('ipluv-rgbi-torch: a cloud mask card (sigmoid, threshold) that loads on onnxruntime and reproduces the golden output', async () => {
    const out = freshDir('ipluv');
    const { code, stdout, stderr } = await cloudseg(['model', 'import-onnx', onnxFile('ipluv-rgbi-torch'), '--bands', BANDS, '-o', out]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'one JSON line');
    const printed = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.deepEqual(printed.files, ['model.onnx', 'model-card.yaml']);
    assert.equal(printed.activation, 'sigmoid');
    assert.equal(printed.layout, 'NCHW');
    assert.deepEqual((await readdir(out)).sort(), ['model-card.yaml', 'model.onnx']);
    assert.equal(md5(await readFile(join(out, 'model.onnx'))), md5(await readFile(onnxFile('ipluv-rgbi-torch'))), 'the graph is copied byte for byte');
    assert.equal(printed.sourceMd5, md5(await readFile(onnxFile('ipluv-rgbi-torch'))));

    const card = await readModelCard(out);
    assert.equal(card.name, 'ipluv-rgbi-torch');
    assert.equal(card.version, '1.0.0');
    assert.equal(card.format, 'onnx');
    assert.equal(card.modelFile, 'model.onnx');
    assert.deepEqual(card.bands, ['blue', 'green', 'red', 'nir']);
    assert.deepEqual(card.output, { activation: 'sigmoid', cloudChannel: 0 });
    assert.equal(card.threshold, params.model.threshold);
    assert.equal(card.classes, undefined);
    assert.deepEqual(card.input, { layout: 'NCHW' });
    assert.deepEqual(card.tile, { size: params.model.tile, overlap: params.model.overlap });
    assert.equal(card.sizeMultiple, params.model.sizeMultiple);
    assert.deepEqual(card.presets, params.presets);
    assert.deepEqual(card.defaultPreset, params.defaultPreset);

    const model = await loadModelFromDir(out, { backend: 'onnxruntime', batchTiles: 1 });
    try {
      assert.equal(model.backend, 'onnxruntime');
      assert.equal(model.outputChannels, 1);
      await assertReproducesGolden(model, 'ipluv-rgbi-torch');
    } finally {
      model.dispose();
    }
  });

  test('seed-unet-3class with --params and --classes: a class card (values 0..2, kinds, linear) that segments like the exporter', async () => {
    const out = freshDir('seed');
    const { code, stdout, stderr } = await cloudseg([
      'model', 'import-onnx', onnxFile('seed-unet-3class'), '--bands', BANDS, '--params', SEED_PARAMS(), '--classes', 'clear,cloud,shadow:shadow', '--version', '0.1.0', '-o', out,
    ]);
    assert.equal(code, 0, stderr);
    const printed = JSON.parse(stdout.trim()) as { activation: string; threshold?: number; classes: unknown[] };
    assert.equal(printed.activation, 'linear');
    assert.equal(printed.threshold, undefined, 'a class card has no threshold');
    const card = await readModelCard(out);
    assert.equal(card.version, '0.1.0');
    assert.deepEqual(card.classes, [
      { value: 0, name: 'clear', kind: 'clear' },
      { value: 1, name: 'cloud', kind: 'cloud' },
      { value: 2, name: 'shadow', kind: 'shadow' },
    ]);
    assert.equal(card.output.activation, 'linear', 'the graph ends in a Conv: logits');
    assert.ok(Number.isNaN(card.threshold), 'no threshold written');
    assert.doesNotMatch(await readFile(join(out, MODEL_CARD_FILE), 'utf8'), /^threshold:/m);

    const model = await loadModelFromDir(out, { backend: 'onnxruntime', batchTiles: 1 });
    try {
      assert.equal(model.outputChannels, 3);
      await assertReproducesGolden(model, 'seed-unet-3class');
    } finally {
      model.dispose();
    }
  });

  const refusals: { what: string; args: (out: string) => Promise<string[]>; stderr: RegExp }[] = [
    {
      what: 'three bands for a four-band input',
      args: async (out) => ['model', 'import-onnx', onnxFile('ipluv-rgbi-torch'), '--bands', 'blue,green,red', '-o', out],
      stderr: /^cloudseg: MODEL_CARD_INVALID: bands: --bands lists 3 bands \(blue, green, red\) but input image \[n, 4, h, w\] takes 4/,
    },
    {
      what: 'four class names for a three-channel output',
      args: async (out) => ['model', 'import-onnx', onnxFile('seed-unet-3class'), '--bands', BANDS, '--classes', 'clear,cloud,shadow,snow', '-o', out],
      stderr: /^cloudseg: MODEL_CARD_INVALID: classes: --classes names 4 classes \(clear, cloud, shadow, snow\) but output logits \[n, 3, h, w\] has 3 channels/,
    },
    {
      what: 'seed params with in_channels 6',
      args: async (out) => {
        const seed = join(root, `params-in6-${seq++}.yaml`);
        await writeFile(seed, 'model:\n  n_classes: 3\n  in_channels: 6\ntrain: { epochs: 3 }\n');
        return ['model', 'import-onnx', onnxFile('seed-unet-3class'), '--bands', BANDS, '--params', seed, '--classes', 'clear,cloud,shadow', '-o', out];
      },
      stderr: /^cloudseg: CONFIG_INVALID: .*params-in6-\d+\.yaml says model\.in_channels 6 but input image \[n, 4, h, w\] takes 4/,
    },
    {
      what: 'seed params with n_classes 3 and no class names',
      args: async (out) => ['model', 'import-onnx', onnxFile('seed-unet-3class'), '--bands', BANDS, '--params', SEED_PARAMS(), '-o', out],
      stderr: /^cloudseg: CONFIG_INVALID: .*says model\.n_classes 3: name the classes in channel order with --classes/,
    },
    {
      what: 'a file that is not ONNX (random bytes)',
      args: async (out) => {
        const bytes = new Uint8Array(4096);
        let x = 0x9e3779b9; // xorshift32, seeded: the same "random" file every run
        for (let i = 0; i < bytes.length; i++) bytes[i] = ((x ^= x << 13), (x ^= x >>> 17), (x ^= x << 5)) & 0xff;
        const path = join(root, `random-${seq++}.onnx`);
        await writeFile(path, bytes);
        return ['model', 'import-onnx', path, '--bands', BANDS, '-o', out];
      },
      stderr: /^cloudseg: MODEL_LOAD_FAILED: .*random-\d+\.onnx is not a usable ONNX model/,
    },
    {
      what: 'a truncated ONNX file (its first half)',
      args: async (out) => {
        const whole = await readFile(onnxFile('seed-unet-3class'));
        const path = join(root, `truncated-${seq++}.onnx`);
        await writeFile(path, whole.subarray(0, whole.length >> 1));
        return ['model', 'import-onnx', path, '--bands', BANDS, '--classes', 'clear,cloud,shadow', '-o', out];
      },
      stderr: /^cloudseg: MODEL_LOAD_FAILED: .*truncated-\d+\.onnx is not a usable ONNX model/,
    },
  ];

  for (const refusal of refusals) {
    test(`refuses ${refusal.what}: one line, no stack, nothing written`, async () => {
      // One refusal into a directory that does not exist yet, one into an existing empty one.
      const fresh = freshDir('refused');
      const existing = freshDir('refused-existing');
      await mkdir(existing);
      const runs = await Promise.all([fresh, existing].map(async (out) => cloudseg(await refusal.args(out))));
      for (const { code, stdout, stderr } of runs) {
        // cli.ts exits 2 for a permanent CloudsegError (a user's mistake), 1 for a failed item.
        assert.equal(code, 2, stderr);
        assert.equal(stdout, '');
        const lines = stderrLines(stderr);
        assert.equal(lines.length, 1, stderr);
        assert.match(lines[0]!, refusal.stderr);
        assert.doesNotMatch(stderr, /\n\s+at /, 'no stack frames');
      }
      assert.equal(existsSync(fresh), false, 'no directory created');
      assert.deepEqual(await readdir(existing), [], 'nothing written into the existing directory');
    });
  }
});

describe('import-onnx in process', { skip: MISSING }, () => {
  const identity = (overrides: Partial<OnnxCardRequest> = {}): OnnxCardRequest => ({ name: 'imported', version: '2.0.0', bands: BANDS.split(','), params, ...overrides });

  test('the CLI and importOnnxModel write the same card; --threshold, --preset and --name reach it', async () => {
    const viaCli = freshDir('ipluv-cli');
    const cli = await cloudseg(['model', 'import-onnx', onnxFile('ipluv-rgbi-torch'), '--bands', BANDS, '--threshold', '0.35', '--preset', 'landsat8-l1', '--name', 'imported', '--version', '2.0.0', '-o', viaCli]);
    assert.equal(cli.code, 0, cli.stderr);
    const inProcess = await importOnnxModel(onnxFile('ipluv-rgbi-torch'), { ...identity({ threshold: 0.35, preset: 'landsat8-l1' }), outDir: freshDir('ipluv-lib') });
    assert.deepEqual(inProcess.card, await readModelCard(viaCli));
    assert.equal(await readFile(join(inProcess.outDir, MODEL_CARD_FILE), 'utf8'), await readFile(join(viaCli, MODEL_CARD_FILE), 'utf8'));
    assert.equal(inProcess.card.threshold, 0.35);
    assert.deepEqual(inProcess.card.defaultPreset, { integer: 'landsat8-l1', float: params.defaultPreset.float });
    assert.equal(inProcess.plan.io.head.kind, 'cloud');
    assert.deepEqual(await readModelCard(inProcess.outDir), inProcess.card, 'what is returned is what was written');
  });

  test('the seed fixture imports without --params too, and a re-import over its own files is allowed', async () => {
    const outDir = freshDir('seed-lib');
    const request = { ...identity({ classes: parseClassList('Clear,cloud,cloud_shadow') }), outDir };
    const first = await importOnnxModel(onnxFile('seed-unet-3class'), request);
    assert.deepEqual(first.card.classes?.map((c) => [c.value, c.name, c.kind]), [[0, 'Clear', 'clear'], [1, 'cloud', 'cloud'], [2, 'cloud_shadow', 'shadow']]);
    assert.equal(first.plan.io.head.kind, 'classes');
    const again = await importOnnxModel(onnxFile('seed-unet-3class'), request);
    assert.deepEqual(again.card, first.card);
    const model = await loadModelFromDir(outDir, { backend: 'onnxruntime', batchTiles: 1 });
    try {
      await assertReproducesGolden(model, 'seed-unet-3class');
    } finally {
      model.dispose();
    }
  });

  test('refusals in process carry their code; a directory holding other files is refused and left alone', async () => {
    const seed = parseSeedParams('model: {n_classes: 3, in_channels: 4}', 'seed.yaml');
    const cases: { request: Partial<OnnxCardRequest>; file: OnnxFixture; code: string; message: RegExp }[] = [
      { file: 'seed-unet-3class', request: { seed, classes: parseClassList('clear,cloud') }, code: 'MODEL_CARD_INVALID', message: /2 classes \(clear, cloud\) but output logits \[n, 3, h, w\] has 3 channels/ },
      { file: 'seed-unet-3class', request: { seed: parseSeedParams('model: {n_classes: 4}', 'seed4.yaml'), classes: parseClassList('a,b,c') }, code: 'CONFIG_INVALID', message: /seed4\.yaml says model\.n_classes 4 but output logits \[n, 3, h, w\] has 3 channels/ },
      { file: 'seed-unet-3class', request: { classes: parseClassList('a,b,c'), threshold: 0.4 }, code: 'CONFIG_INVALID', message: /--threshold is for a one-channel cloud mask/ },
      { file: 'seed-unet-3class', request: {}, code: 'CONFIG_INVALID', message: /output logits \[n, 3, h, w\] has 3 channels: name the classes/ },
      { file: 'ipluv-rgbi-torch', request: { classes: parseClassList('cloud') }, code: 'CONFIG_INVALID', message: /--classes names 1 class \(cloud\); a class model has at least two/ },
      { file: 'ipluv-rgbi-torch', request: { classes: parseClassList('clear,cloud') }, code: 'MODEL_CARD_INVALID', message: /2 classes \(clear, cloud\) but output cloud_probability \[n, 1, h, w\] has 1 channel$/ },
      { file: 'ipluv-rgbi-torch', request: { threshold: 1 }, code: 'CONFIG_INVALID', message: /--threshold is a cloud probability in \(0, 1\), got 1/ },
      { file: 'ipluv-rgbi-torch', request: { preset: 'nope' }, code: 'CONFIG_INVALID', message: /--preset nope names no preset \(have: landsat8-l1, / },
      { file: 'ipluv-rgbi-torch', request: { layout: 'NHWC' }, code: 'MODEL_CARD_INVALID', message: /input\.layout: --layout NHWC but input image \[n, 4, h, w\] fixes axis 1 \(4\) and leaves axis 3 open: it is NCHW/ },
      { file: 'ipluv-rgbi-torch', request: { name: 'Not A Name' }, code: 'MODEL_CARD_INVALID', message: /name: lowercase/ },
      { file: 'ipluv-rgbi-torch', request: { bands: ['blue', 'blue', 'red', 'nir'] }, code: 'CONFIG_INVALID', message: /--bands names blue twice/ },
    ];
    for (const c of cases) {
      const outDir = freshDir('refused-lib');
      await assert.rejects(importOnnxModel(onnxFile(c.file), { ...identity(c.request), outDir }), (err: unknown) => {
        assert.ok(err instanceof CloudsegError, String(err));
        assert.equal(err.code, c.code, err.message);
        assert.match(err.message, c.message);
        return true;
      }, JSON.stringify(c.request));
      assert.equal(existsSync(outDir), false);
    }

    const cluttered = freshDir('cluttered');
    await mkdir(cluttered);
    await writeFile(join(cluttered, 'model.json'), '{}');
    await assert.rejects(importOnnxModel(onnxFile('ipluv-rgbi-torch'), { ...identity(), outDir: cluttered }), /CONFIG_INVALID|already holds model\.json/);
    assert.deepEqual(await readdir(cluttered), ['model.json']);
  });

  test('external data: every file the graph names is copied under its relative name and the import loads', async () => {
    // The seed graph re-saved with its weights in weights/seed.bin, as torch.onnx.export does for large models.
    const { onnx } = onnxProto;
    const model = onnx.ModelProto.decode(await readFile(onnxFile('seed-unet-3class')));
    const chunks: Buffer[] = [];
    let offset = 0;
    let moved = 0;
    for (const t of model.graph!.initializer!) {
      if (!t.rawData || t.rawData.length < 64) continue;
      const data = Buffer.from(t.rawData);
      t.externalData = [
        { key: 'location', value: 'weights/seed.bin' },
        { key: 'offset', value: String(offset) },
        { key: 'length', value: String(data.length) },
      ];
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.rawData = new Uint8Array(0);
      chunks.push(data);
      offset += data.length;
      moved++;
    }
    assert.ok(moved > 0);
    const source = freshDir('external-src');
    await mkdir(join(source, 'weights'), { recursive: true });
    await writeFile(join(source, 'seed.onnx'), onnx.ModelProto.encode(model).finish());
    await writeFile(join(source, 'weights', 'seed.bin'), Buffer.concat(chunks));

    const outDir = freshDir('external-out');
    const imported = await importOnnxModel(join(source, 'seed.onnx'), { ...identity({ classes: parseClassList('clear,cloud,shadow') }), outDir });
    assert.deepEqual(imported.files, ['model.onnx', join('weights', 'seed.bin'), 'model-card.yaml']);
    assert.equal(md5(await readFile(join(outDir, 'weights', 'seed.bin'))), md5(Buffer.concat(chunks)));
    const loaded = await loadModelFromDir(outDir, { backend: 'onnxruntime', batchTiles: 1 });
    try {
      await assertReproducesGolden(loaded, 'seed-unet-3class');
    } finally {
      loaded.dispose();
    }

    // A graph whose external data is missing is refused by name, with nothing written.
    await rm(join(source, 'weights', 'seed.bin'));
    const refusedDir = freshDir('external-missing');
    await assert.rejects(importOnnxModel(join(source, 'seed.onnx'), { ...identity({ classes: parseClassList('clear,cloud,shadow') }), outDir: refusedDir }), /weights[\\/]seed\.bin/);
    assert.equal(existsSync(refusedDir), false);
  });
});

describe('the card read off a graph (pure)', () => {
  const params: Pick<LifecycleParams, 'model' | 'presets' | 'defaultPreset'> = {
    model: { threshold: 0.5, tile: 512, overlap: 64, sizeMultiple: 8 },
    presets: { reflectance: { scale: 1, offset: 0 } },
    defaultPreset: { integer: 'reflectance', float: 'reflectance' },
  };
  const graph = (input: (number | string)[], output: (number | string)[], op: string | null): OnnxGraphDescription => ({
    irVersion: 8,
    opset: 17,
    producer: 'test',
    inputs: [{ name: 'x', elemType: 'float', dims: input }],
    outputs: [{ name: 'y', elemType: 'float', dims: output }],
    outputOps: { y: op },
    externalData: [],
  });
  const card = (g: OnnxGraphDescription, extra: Partial<OnnxCardRequest> = {}): ModelCard =>
    cardFromGraph(g, { name: 'm', version: '1', bands: ['b', 'g', 'r', 'n'], params, ...extra }, 'test.onnx').card;

  test('activation from the op writing the output', () => {
    assert.equal(card(graph(['n', 4, 'h', 'w'], ['n', 1, 'h', 'w'], 'Sigmoid')).output.activation, 'sigmoid');
    assert.equal(card(graph(['n', 4, 'h', 'w'], ['n', 1, 'h', 'w'], 'Conv')).output.activation, 'linear');
    assert.equal(card(graph(['n', 4, 'h', 'w'], ['n', 1, 'h', 'w'], null)).output.activation, 'linear');
    assert.equal(card(graph(['n', 4, 'h', 'w'], ['n', 3, 'h', 'w'], 'Softmax'), { classes: parseClassList('a,b,c') }).output.activation, 'softmax');
  });

  test('layout from the fixed axis; a fixed-size graph sets the tile; ambiguity asks for --layout', () => {
    const nhwc = card(graph(['n', 'h', 'w', 4], ['n', 'h', 'w', 3], 'Softmax'), { classes: parseClassList('a,b,c') });
    assert.deepEqual(nhwc.input, { layout: 'NHWC' });
    const fixed = card(graph([1, 4, 256, 256], [1, 1, 256, 256], 'Sigmoid'));
    assert.deepEqual(fixed.tile, { size: 256, overlap: 64 });
    assert.equal(fixed.sizeMultiple, 256);
    const small = card(graph([1, 4, 64, 64], [1, 1, 64, 64], 'Sigmoid'));
    assert.deepEqual(small.tile, { size: 64, overlap: 16 }, 'overlap stays below the fixed size');
    assert.equal(card(graph(['n', 4, 'h', 'w'], ['n', 1, 'h', 'w'], 'Sigmoid'), { sizeMultiple: 16 }).sizeMultiple, 16);
    assert.throws(() => card(graph([1, 4, 4, 4], [1, 1, 4, 4], 'Sigmoid')), /on both axis 1 and axis 3: say --layout/);
    assert.equal(card(graph([1, 4, 4, 4], [1, 1, 4, 4], 'Sigmoid'), { layout: 'NCHW', sizeMultiple: 4 }).input?.layout, 'NCHW');
    assert.throws(() => card(graph(['n', 'c', 'h', 'w'], ['n', 1, 'h', 'w'], 'Sigmoid')), /fixes neither axis 1 nor axis 3/);
    assert.throws(() => card(graph([1, 6, 'h', 'w'], [1, 1, 'h', 'w'], 'Sigmoid')), /4 bands \(b, g, r, n\) but input x \[1, 6, h, w\] takes 6 \(axis 1, NCHW\)/);
    assert.throws(() => card(graph(['n', 4, 'h', 'w', 1], ['n', 1, 'h', 'w'], 'Sigmoid')), (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_LOAD_FAILED' && /rank 4/.test(err.message));
  });

  test('class names: kinds from names, explicit kinds, refusals', () => {
    assert.deepEqual(
      ['clear', 'Cloud', 'thin', 'thin_cloud', 'cloud-shadow', 'shadow', 'snow', 'water', 'nodata', 'haze'].map(kindFromName),
      ['clear', 'cloud', 'thin-cloud', 'thin-cloud', 'shadow', 'shadow', 'snow', 'water', 'nodata', 'other'],
    );
    assert.deepEqual(parseClassList('land:clear, cumulus:cloud ,x'), [
      { value: 0, name: 'land', kind: 'clear' },
      { value: 1, name: 'cumulus', kind: 'cloud' },
      { value: 2, name: 'x', kind: 'other' },
    ]);
    assert.throws(() => parseClassList('a:fog,b'), /kind "fog"; a kind is one of clear, cloud/);
    assert.throws(() => parseClassList('a,,b'), /"" is not name or name:kind/);
    assert.throws(() => parseClassList('a,b,a'), /names a twice/);
    assert.throws(() => parseSeedParams('model: {epochs: 3}', 's.yaml'), /without n_classes or in_channels/);
    assert.throws(() => parseSeedParams('model: {n_classes: two}', 's.yaml'), /CONFIG_INVALID|n_classes/);
  });
});

// The worker's side: registered with `cloudseg registry add` and `promote`, resolved by stage,
// materialised, loaded on onnxruntime; then a class model promoted over it is hot-swapped in.
describe('an imported ONNX model in the registry', { skip: MISSING }, () => {
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=cloudseg-test', '-c', 'user.email=test@cloudseg.invalid', '-c', 'init.defaultBranch=main', ...args], { cwd, encoding: 'utf8' }).trim();

  test('registers, promotes, materialises and is hot-swapped like any model', async () => {
    const base = freshDir('registry');
    const repo = join(base, 'registry');
    await mkdir(join(repo, '.dvc'), { recursive: true });
    git(repo, 'init', '-q');
    git(repo, 'config', 'user.name', 'cloudseg-test');
    git(repo, 'config', 'user.email', 'test@cloudseg.invalid');
    await writeFile(join(repo, '.dvc', 'config'), `[core]\n    remote = store\n['remote "store"']\n    url = ${join(base, 'store')}\n`);
    const modelPath = join(repo, 'models', 'cloudseg');

    // v1 through the CLI, as a user would.
    const imported = await cloudseg(['model', 'import-onnx', onnxFile('ipluv-rgbi-torch'), '--bands', BANDS, '-o', modelPath]);
    assert.equal(imported.code, 0, imported.stderr);
    for (const args of [['registry', 'add', 'models/cloudseg'], ['registry', 'push']]) {
      const r = await cloudseg(args, repo);
      assert.equal(r.code, 0, r.stderr);
    }
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'cloudseg v1.0.0 (ipluv onnx)');
    const promoted = await cloudseg(['registry', 'promote', 'cloudseg', '--stage', 'prod', '--version', 'v1.0.0'], repo);
    assert.equal(promoted.code, 0, promoted.stderr);

    const config = loadConfig({
      CLOUDSEG_MODEL_REPO: repo,
      CLOUDSEG_MODEL_PATH: 'models/cloudseg',
      CLOUDSEG_MODEL_STAGE: 'prod',
      CLOUDSEG_MODEL_REFRESH_SECONDS: '0',
      CLOUDSEG_MODEL_CACHE_DIR: join(base, 'cache'),
      CLOUDSEG_INFERENCE_BACKEND: 'onnxruntime',
      CLOUDSEG_INFER_BATCH_TILES: '1',
    });
    const storage = createStorage(config.projectId);
    const pulled = await modelDirFromConfig(config, { storage });
    assert.notEqual(pulled, modelPath, 'materialised from the registry, not the work tree');
    assert.equal(md5(await readFile(join(pulled, 'model.onnx'))), md5(await readFile(onnxFile('ipluv-rgbi-torch'))));
    const direct = await loadModelFromDir(pulled, { backend: 'onnxruntime', batchTiles: 1 });
    try {
      await assertReproducesGolden(direct, 'ipluv-rgbi-torch');
    } finally {
      direct.dispose();
    }

    const source = modelSourceFromConfig(config, createLogger({ level: 'warn' }), { storage });
    try {
      const v1 = await source.acquire();
      try {
        assert.equal(v1.model.card.format, 'onnx');
        assert.equal(v1.model.backend, 'onnxruntime');
        assert.equal(v1.model.outputChannels, 1);
        assert.equal(v1.model.identity.tag, 'cloudseg#prod#1');
      } finally {
        v1.release();
      }

      // v2: the seed class model imported over it (the old files removed, as DVC does for a stage's outs).
      await rm(modelPath, { recursive: true });
      await importOnnxModel(onnxFile('seed-unet-3class'), {
        outDir: modelPath,
        name: 'cloudseg',
        version: '2.0.0',
        bands: BANDS.split(','),
        classes: parseClassList('clear,cloud,shadow'),
        seed: parseSeedParams(await readFile(SEED_PARAMS(), 'utf8'), SEED_PARAMS()),
        params,
      });
      await addOutput(repo, 'models/cloudseg');
      await pushOutputs(repo);
      git(repo, 'add', '-A');
      git(repo, 'commit', '-qm', 'cloudseg v2.0.0 (seed onnx)');
      await promote(repo, 'cloudseg', { stage: 'prod', version: 'v2.0.0' });
      const v2Commit = git(repo, 'rev-parse', 'HEAD');

      const v2 = await source.acquire();
      try {
        assert.equal(v2.model.identity.tag, 'cloudseg#prod#2', 'the promoted class model was swapped in');
        assert.equal(v2.model.identity.rev, v2Commit);
        assert.equal(v2.model.identity.version, 'v2.0.0');
        assert.equal(v2.model.outputChannels, 3);
        assert.deepEqual(v2.model.card.classes?.map((c) => c.kind), ['clear', 'cloud', 'shadow']);
        await assertReproducesGolden(v2.model, 'seed-unet-3class');
      } finally {
        v2.release();
      }
    } finally {
      await source.close();
    }
  });
});
