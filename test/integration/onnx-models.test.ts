// PyTorch-exported ONNX models served as they are: both fixtures on every engine that runs ONNX
// against the golden outputs of ONNX Runtime for Python, the PyTorch export of the shipped U-Net
// giving the shipped TF.js model's masks through `cloudseg segment`, and every refusal the issue
// lists as a typed error at load (or a failed item), never a runtime trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readSampleManifest } from '../../infra/local/samples.js';
import { projectRoot } from '../../shared/config/project-root.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import { CloudsegError } from '../../shared/errors.js';
import { loadModelFromDir } from '../../shared/model/load.js';
import { maskRule } from '../../shared/model/mask-rule.js';
import { applyMaskRule, segmentScene } from '../../shared/model/segment.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';
import { shippedModelDir } from '../support/model.js';
import { externalWeights, integerInput, meanOfBands, nanOutput, twoInputs } from '../support/onnx-graphs.js';
import { FIXTURE_CARDS, nchwToHwc, ONNX_FIXTURES, onnxGolden, onnxModelDir } from '../support/onnx-models.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING ONNX fixture tests: ${MISSING}`);

const ENGINES = ['onnxruntime', 'wasm'] as const;
const SIDE = 64;

const isCode = (code: string) => (err: unknown) => err instanceof CloudsegError && err.code === code;

for (const name of ONNX_FIXTURES) {
  for (const backend of ENGINES) {
    test(`${name} on ${backend} gives the golden probabilities (1e-5) and classes (but where the top-2 margin < 1e-4)`, { skip: MISSING }, async () => {
      const dir = await onnxModelDir(name);
      const model = await loadModelFromDir(dir, { backend, batchTiles: 1 });
      try {
        assert.equal(model.backend, backend);
        const golden = onnxGolden(name);
        const channels = golden.probabilities.shape[1]!;
        assert.equal(model.outputChannels, channels === 1 ? 1 : channels);
        const values = await segmentScene(model, nchwToHwc(golden.input.data, 4, SIDE, SIDE), SIDE, SIDE);
        let maxDiff = 0;
        for (let p = 0; p < SIDE * SIDE; p++) {
          for (let c = 0; c < channels; c++) maxDiff = Math.max(maxDiff, Math.abs(values[p * channels + c]! - Number(golden.probabilities.data[c * SIDE * SIDE + p])));
        }
        assert.ok(maxDiff <= 1e-5, `max |p - golden| ${maxDiff}`);

        const { mask } = applyMaskRule(values, maskRule(model.card));
        let flipped = 0;
        for (let p = 0; p < SIDE * SIDE; p++) {
          const expected = Number(golden.classes.data[p]);
          const got = channels === 1 ? (mask[p] === 255 ? 1 : 0) : mask[p];
          if (got === expected) continue;
          flipped++;
          const probs = Array.from({ length: channels }, (_, c) => Number(golden.probabilities.data[c * SIDE * SIDE + p]));
          const margin = channels === 1 ? Math.abs(probs[0]! - 0.5) : marginOf(probs);
          assert.ok(margin < 1e-4, `pixel ${p}: class ${got}, golden ${expected}, margin ${margin}`);
        }
        assert.ok(flipped <= 1, `${flipped} pixels differ from the golden classes`);
      } finally {
        model.dispose();
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
}

function marginOf(probs: number[]): number {
  const sorted = [...probs].sort((a, b) => b - a);
  return sorted[0]! - sorted[1]!;
}

test('auto runs an ONNX model on ONNX Runtime; the TF.js engines refuse it by name', { skip: MISSING }, async () => {
  const dir = await onnxModelDir('seed-unet-3class');
  try {
    const auto = await loadModelFromDir(dir, { backend: 'auto', batchTiles: 1 });
    assert.equal(auto.backend, 'onnxruntime');
    auto.dispose();
    for (const backend of ['tfjs-wasm', 'cpu', 'tfjs-node'] as const) {
      await assert.rejects(loadModelFromDir(dir, { backend, batchTiles: 1 }), (err: unknown) => isCode('BACKEND_UNAVAILABLE')(err) && /cannot run an ONNX model/.test((err as Error).message));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

const run = promisify(execFile);

async function segmentCli(images: string[], out: string, modelDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const cli = join(projectRoot(), 'functions', 'cli.ts');
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', cli, 'segment', ...images, '--out', out, '--model', modelDir], { cwd: projectRoot(), maxBuffer: 1 << 24 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('cloudseg segment: the PyTorch export of the shipped U-Net writes the shipped TF.js model\'s masks on every sample', { skip: MISSING, timeout: 300_000 }, async () => {
  const torchDir = await onnxModelDir('ipluv-rgbi-torch');
  const outTorch = await mkdtemp(join(tmpdir(), 'cloudseg-onnx-cli-'));
  const outShipped = await mkdtemp(join(tmpdir(), 'cloudseg-onnx-cli-'));
  try {
    const images = (await readSampleManifest()).map((s) => s.imagePath);
    const [torch, shipped] = await Promise.all([segmentCli(images, outTorch, torchDir), segmentCli(images, outShipped, await shippedModelDir())]);
    assert.equal(torch.code, 0, torch.stderr);
    assert.equal(shipped.code, 0, shipped.stderr);
    const parse = (stdout: string) => stdout.trim().split('\n').map((l) => ResultEventSchema.parse(JSON.parse(l)));
    const a = parse(torch.stdout);
    const b = parse(shipped.stdout);
    assert.equal(a.length, images.length);
    for (const [i, event] of a.entries()) {
      assert.equal(event.status, 'succeeded', JSON.stringify(event.error));
      assert.equal(event.model.name, 'ipluv-rgbi-torch');
      assert.equal(event.classes, undefined, 'a one-channel model keeps the cloud mask contract');
      assert.equal(event.cloudFraction, b[i]!.cloudFraction, `${event.input.name}: cloud fraction`);
      const png = await readFile(event.output!.name);
      const reference = await readFile(b[i]!.output!.name);
      assert.ok(png.equals(reference), `${event.input.name}: the mask PNG is byte-identical to the TF.js model's`);
      if (event.output!.georeferenced) {
        const tif = await readFile(event.output!.georeferenced.name);
        const referenceTif = await readFile(b[i]!.output!.georeferenced!.name);
        assert.equal(tif.length, referenceTif.length, 'the COG masks match in size');
      }
    }
  } finally {
    await Promise.all([torchDir, outTorch, outShipped].map((d) => rm(d, { recursive: true, force: true })));
  }
});

// A model directory with `onnx` as model.onnx and the 4-band card `card` (the cloud card by default).
async function modelDirWith(onnx: Uint8Array, card = FIXTURE_CARDS['ipluv-rgbi-torch'], extra: Record<string, Uint8Array> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-onnx-bad-'));
  await writeFile(join(dir, 'model.onnx'), onnx);
  await writeFile(join(dir, 'model-card.yaml'), card);
  for (const [name, bytes] of Object.entries(extra)) await writeFile(join(dir, name), bytes);
  return dir;
}

const CLASS_CARD = FIXTURE_CARDS['seed-unet-3class'];

test('refusals at load: each a typed error naming what it found and what the card implies', { skip: MISSING }, async (t) => {
  const torch = new Uint8Array(await readFile(fixture('onnx', 'ipluv-rgbi-torch.onnx')));
  const seed = new Uint8Array(await readFile(fixture('onnx', 'seed-unet-3class.onnx')));
  const cases: { what: string; dir: () => Promise<string>; code: string; message: RegExp }[] = [
    { what: 'random bytes', dir: () => modelDirWith(new Uint8Array(4096).map((_, i) => (i * 7919) % 251)), code: 'MODEL_LOAD_FAILED', message: /not a usable ONNX model/ },
    { what: 'a truncated file', dir: () => modelDirWith(torch.subarray(0, torch.length >> 1)), code: 'MODEL_LOAD_FAILED', message: /not a usable ONNX model/ },
    { what: 'two image inputs', dir: () => modelDirWith(twoInputs()), code: 'MODEL_LOAD_FAILED', message: /2 inputs \(image \[n, 4, h, w\], mask \[n, 4, h, w\]\)/ },
    { what: 'an integer input', dir: () => modelDirWith(integerInput()), code: 'MODEL_LOAD_FAILED', message: /image \[n, 4, h, w\] is int64/ },
    { what: 'a class count the output does not have', dir: () => modelDirWith(seed, CLASS_CARD.replace('  - { value: 2, name: shadow, kind: shadow }', '  - { value: 2, name: shadow, kind: shadow }\n  - { value: 3, name: snow, kind: snow }')), code: 'MODEL_CARD_INVALID', message: /4 classes \(clear, cloud, shadow, snow\) but output logits \[n, 3, h, w\] has 3 channels/ },
    { what: 'one channel read as three classes', dir: () => modelDirWith(torch, CLASS_CARD), code: 'MODEL_CARD_INVALID', message: /3 classes .* but output cloud_probability \[n, 1, h, w\] has 1 channel/ },
    { what: 'three bands for a four-band input', dir: () => modelDirWith(torch, FIXTURE_CARDS['ipluv-rgbi-torch'].replace('bands: [blue, green, red, nir]', 'bands: [blue, green, red]')), code: 'MODEL_CARD_INVALID', message: /3 bands \(blue, green, red\) but input image \[n, 4, h, w\]/ },
    { what: 'a fixed 256 graph with tile.size 512', dir: () => modelDirWith(meanOfBands(['n', 4, 256, 256])), code: 'MODEL_CARD_INVALID', message: /tile.size is 512 but input image \[n, 4, 256, 256\] takes 256x256 tiles only/ },
    { what: 'a fixed batch of 8', dir: () => modelDirWith(meanOfBands([8, 4, 'h', 'w'])), code: 'MODEL_LOAD_FAILED', message: /fixed batch of 8/ },
    { what: 'a missing 2 GB external data file', dir: () => modelDirWith(externalWeights('weights.bin', 3, 2 ** 31).onnx, CLASS_CARD), code: 'MODEL_NOT_FOUND', message: /external data file weights\.bin/ },
    { what: 'external data shorter than the graph says', dir: () => modelDirWith(externalWeights('weights.bin', 3, 2 ** 31).onnx, CLASS_CARD, { 'weights.bin': externalWeights('weights.bin').weights }), code: 'MODEL_LOAD_FAILED', message: /weights\.bin has 48 bytes but the graph's tensors reach byte 2147483648/ },
    { what: 'external data outside the model folder', dir: () => modelDirWith(externalWeights('../../etc/passwd').onnx, CLASS_CARD), code: 'MODEL_LOAD_FAILED', message: /not a path inside the model's folder/ },
  ];
  for (const c of cases) {
    await t.test(c.what, async () => {
      const dir = await c.dir();
      try {
        for (const backend of ENGINES) {
          await assert.rejects(loadModelFromDir(dir, { backend, batchTiles: 1 }), (err: unknown) => {
            assert.ok(err instanceof CloudsegError, `${backend}: ${String(err)}`);
            assert.equal(err.code, c.code, err.message);
            assert.match(err.message, c.message);
            assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace in the message');
            return true;
          });
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

test('a fixed-size graph runs every tile padded to its size; external weights load on both engines', { skip: MISSING }, async () => {
  const fixed = await modelDirWith(meanOfBands(['n', 4, 64, 64]), FIXTURE_CARDS['ipluv-rgbi-torch'].replace('tile: { size: 512, overlap: 64 }', 'tile: { size: 64, overlap: 8 }'));
  const { onnx, weights } = externalWeights('model.onnx.data');
  const external = await modelDirWith(onnx, CLASS_CARD, { 'model.onnx.data': weights });
  try {
    for (const backend of ENGINES) {
      const model = await loadModelFromDir(fixed, { backend, batchTiles: 2 });
      // 100 x 70: tiles at the edge are smaller than 64 and padded up to it.
      const scene = new Float32Array(100 * 70 * 4).map((_, i) => (i % 13) / 13);
      const values = await segmentScene(model, scene, 100, 70);
      for (let p = 0; p < 100 * 70; p++) {
        const mean = (scene[p * 4]! + scene[p * 4 + 1]! + scene[p * 4 + 2]! + scene[p * 4 + 3]!) / 4;
        assert.ok(Math.abs(values[p]! - mean) < 1e-6, `${backend} pixel ${p}: ${values[p]} vs mean ${mean}`);
      }
      model.dispose();
    }
    const outputs: Float32Array[] = [];
    for (const backend of ENGINES) {
      const model = await loadModelFromDir(external, { backend, batchTiles: 1 });
      outputs.push(await segmentScene(model, new Float32Array(16 * 16 * 4).map((_, i) => (i % 7) / 7), 16, 16));
      model.dispose();
    }
    assert.equal(outputs[0]!.length, 16 * 16 * 3);
    assert.ok(outputs[0]!.every((v, i) => Math.abs(v - outputs[1]![i]!) < 1e-6), 'native and WebAssembly agree on the externally stored weights');
  } finally {
    await Promise.all([fixed, external].map((d) => rm(d, { recursive: true, force: true })));
  }
});

test('a graph that computes NaN: the mask is refused (INFERENCE_FAILED, not retryable), never class 0', { skip: MISSING }, async () => {
  const dir = await modelDirWith(nanOutput());
  try {
    const model = await loadModelFromDir(dir, { backend: 'onnxruntime', batchTiles: 1 });
    const values = await segmentScene(model, new Float32Array(32 * 32 * 4).fill(0.2), 32, 32);
    assert.throws(
      () => applyMaskRule(values, maskRule(model.card)),
      (err: unknown) => isCode('INFERENCE_FAILED')(err) && (err as CloudsegError).retryable === false,
    );
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
