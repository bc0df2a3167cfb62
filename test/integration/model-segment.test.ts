// The shipped model through the inference seam on the real wasm engine: loading and identity,
// tiled segmentation equal to a whole-image pass, odd sizes, no tensor leaks, typed failures,
// backend selection, and the speed numbers worth reporting.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { parse, stringify } from 'yaml';
import { join } from 'node:path';
import { CloudsegError } from '../../shared/errors.js';
import { selectBackend } from '../../shared/engines/tfjs/backend.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { maskRule } from '../../shared/model/mask-rule.js';
import { applyMaskRule, segmentScene } from '../../shared/model/segment.js';
import { dirManifestMd5, directoryManifest } from '../../shared/registry/dir-manifest.js';
import { shippedModelDir } from '../support/model.js';

let MODEL_DIR: string;
const BANDS = 4;

let model: LoadedModel;
before(async () => {
  MODEL_DIR = await shippedModelDir();
  model = await loadModelFromDir(MODEL_DIR, { backend: 'tfjs-wasm', batchTiles: 2 });
  console.log(`load (tfjs-wasm, with warm-up): ${Math.round(model.loadMs)} ms`);
});
after(() => model?.dispose());

function isCode(code: string) {
  return (err: unknown) => err instanceof CloudsegError && err.code === code;
}

/** A reproducible scene with cloud-like bright blobs over darker ground, so outputs span 0..1. */
function syntheticScene(width: number, height: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const blobs = Array.from({ length: Math.max(3, Math.round((width * height) / 28_000)) }, () => ({
    cx: rnd() * width,
    cy: rnd() * height,
    r: 10 + rnd() * Math.min(width, height, 240) * 0.5,
  }));
  const out = new Float32Array(width * height * BANDS);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c = 0;
      for (const b of blobs) c += Math.exp(-((x - b.cx) ** 2 + (y - b.cy) ** 2) / (2 * b.r * b.r));
      c = Math.min(c, 1);
      for (let k = 0; k < BANDS; k++) out[(y * width + x) * BANDS + k] = 0.05 + 0.03 * k + 0.6 * c + 0.05 * rnd();
    }
  }
  return out;
}

test('identity: card name/version, the DVC .dir md5 of the model directory, no registry rev/tag', async () => {
  const manifest = await directoryManifest(MODEL_DIR);
  assert.deepEqual(
    manifest.map((e) => e.relpath),
    ['LICENSE', 'README.md', 'group1-shard1of1.bin', 'model-card.yaml', 'model.json'],
  );
  assert.deepEqual(model.identity, { name: 'ipluv-landsatbiome-rgbi', version: '1.0.0', md5: dirManifestMd5(manifest), rev: null, tag: null });
  assert.equal(model.backend, 'tfjs-wasm');
  assert.equal(model.card.tile.size, 512);
});

// One 1000x700 scene and its whole-image pass (a single 1008x704 tile), shared by two tests.
const WIDTH = 1000;
const HEIGHT = 700;
let wholePass: Promise<{ scene: Float32Array; whole: Float32Array }> | undefined;
function sceneAndWholePass() {
  wholePass ??= (async () => {
    const scene = syntheticScene(WIDTH, HEIGHT, 7);
    return { scene, whole: await segmentScene(model, scene, WIDTH, HEIGHT, { tileSize: 1008, overlap: 0 }) };
  })();
  return wholePass;
}

test('segmentScene: a tiled 1000x700 scene equals one whole-image pass', async () => {
  const { scene, whole } = await sceneAndWholePass();
  const tiled = await segmentScene(model, scene, WIDTH, HEIGHT, { batchTiles: 2 }); // 6 tiles of ~376x384
  let maxDiff = 0;
  let sum = 0;
  for (let i = 0; i < tiled.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(tiled[i]! - whole[i]!));
    sum += whole[i]!;
  }
  const { cloudFraction } = applyMaskRule(whole, maskRule({ name: 'm', threshold: 0.5 })).summary;
  console.log(`1000x700 tiled vs whole: max |diff| ${maxDiff}, mean probability ${(sum / tiled.length).toFixed(3)}, cloud ${cloudFraction.toFixed(3)}`);
  assert.ok(cloudFraction > 0.05 && cloudFraction < 0.95, 'the scene exercises both classes');
  // Tiles sit on the model's 8-pixel pooling grid and every stitched pixel is >= 32 px from a seam
  // (beyond the receptive field), so tiling reproduces the whole pass everywhere, borders included.
  assert.ok(maxDiff <= 1e-3, `max diff ${maxDiff}`);
});

test('segmentScene: too little overlap shows seams (the overlap in the card is needed)', async () => {
  const { scene, whole } = await sceneAndWholePass();
  const seamy = await segmentScene(model, scene, WIDTH, HEIGHT, { overlap: 0 });
  let maxDiff = 0;
  for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(seamy[i]! - whole[i]!));
  console.log(`1000x700 with overlap 0: max |diff| ${maxDiff.toFixed(3)}`);
  assert.ok(maxDiff > 0.01, 'without overlap the tile edges change the output');
});

test('segmentScene: odd and small sizes give a probability per pixel', async () => {
  for (const [width, height] of [[37, 53], [1, 1], [384, 384], [513, 9]] as const) {
    const scene = syntheticScene(width, height, width * 31 + height);
    const p = await segmentScene(model, scene, width, height);
    assert.equal(p.length, width * height);
    assert.ok(p.every((v) => v >= 0 && v <= 1), `${width}x${height} in [0, 1]`);
  }
});

test('predict and segmentScene leak no tensors; dispose frees the weights', async () => {
  const before = model.numTensors();
  const tile = syntheticScene(16, 16, 3);
  for (let i = 0; i < 25; i++) await model.predict(tile, 1, 16, 16);
  await model.predict(new Float32Array(3 * 16 * 16 * BANDS), 3, 16, 16); // 3 tiles in batches of 2
  for (let i = 0; i < 3; i++) await segmentScene(model, syntheticScene(37, 53, i), 37, 53);
  await assert.rejects(model.predict(tile, 2, 16, 16), isCode('BAND_MISMATCH'));
  assert.equal(model.numTensors(), before);

  const other = await loadModelFromDir(MODEL_DIR, { backend: 'tfjs-wasm', batchTiles: 1, warmUp: false });
  assert.ok(model.numTensors() > before, 'a second model adds its weights');
  other.dispose();
  assert.equal(model.numTensors(), before);
  await assert.rejects(other.predict(tile, 1, 16, 16), isCode('INTERNAL'));
});

test('predict batches equal single-tile predictions', async () => {
  const a = syntheticScene(32, 32, 11);
  const b = syntheticScene(32, 32, 12);
  const both = new Float32Array(a.length * 2);
  both.set(a);
  both.set(b, a.length);
  const batched = await model.predict(both, 2, 32, 32);
  const single = [...(await model.predict(a, 1, 32, 32)), ...(await model.predict(b, 1, 32, 32))];
  let maxDiff = 0;
  single.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - batched[i]!))));
  assert.ok(maxDiff < 1e-5, `max diff ${maxDiff}`);
});

test('segmentScene rejects input that does not match the card', async () => {
  await assert.rejects(segmentScene(model, new Float32Array(10 * 10 * 3), 10, 10), isCode('BAND_MISMATCH'));
  await assert.rejects(segmentScene(model, new Float32Array(0), 0, 0), isCode('CORRUPT_IMAGE'));
});

test('the cloud mask rule: 0/255 above the threshold, nodata where invalid, cloud fraction; NaN is INFERENCE_FAILED', () => {
  const rule = maskRule({ name: 'm', threshold: 0.5 });
  const { mask, summary } = applyMaskRule(Float32Array.from([0, 0.5, 0.51, 1, 0.9]), rule, Uint8Array.from([1, 1, 1, 1, 0]));
  assert.deepEqual([...mask], [0, 0, 255, 255, 128]);
  assert.equal(summary.cloudFraction, 0.5);
  assert.equal(summary.classes, null);
  assert.deepEqual(applyMaskRule(new Float32Array(0), rule).mask, new Uint8Array(0));
  // A model that computes NaN must not pass for a clear sky.
  assert.throws(() => applyMaskRule(Float32Array.from([0.1, Number.NaN]), rule), isCode('INFERENCE_FAILED'));
  // ...but a NaN under nodata is never read.
  assert.equal(applyMaskRule(Float32Array.from([0.1, Number.NaN]), rule, Uint8Array.from([1, 0])).mask[1], 128);
});

test('loading failures are typed: missing directory, card and model disagreeing on bands', async () => {
  const missing = join(tmpdir(), `cloudseg-no-model-${process.pid}-${Date.now()}`);
  await assert.rejects(loadModelFromDir(missing, { backend: 'tfjs-wasm', batchTiles: 1 }), isCode('MODEL_NOT_FOUND'));

  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-model-'));
  try {
    await cp(MODEL_DIR, dir, { recursive: true });
    const card = await readFile(join(dir, 'model-card.yaml'), 'utf8');
    const threeBands = parse(card) as Record<string, unknown>;
    threeBands.bands = ['blue', 'green', 'red'];
    await writeFile(join(dir, 'model-card.yaml'), stringify(threeBands));
    await assert.rejects(loadModelFromDir(dir, { backend: 'tfjs-wasm', batchTiles: 1 }), (err: unknown) => {
      return err instanceof CloudsegError && err.code === 'MODEL_CARD_INVALID' && /takes 4/.test(err.message);
    });
    await writeFile(join(dir, 'model-card.yaml'), card);
    await writeFile(join(dir, 'group1-shard1of1.bin'), Buffer.alloc(10));
    await assert.rejects(loadModelFromDir(dir, { backend: 'tfjs-wasm', batchTiles: 1 }), isCode('MODEL_LOAD_FAILED'));
    await assert.rejects(loadModelFromDir(MODEL_DIR, { backend: 'tfjs-wasm', batchTiles: 0 }), isCode('CONFIG_INVALID'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backend selection: auto falls back to TF.js wasm, a missing tfjs-node is BACKEND_UNAVAILABLE', async (t) => {
  const auto = await selectBackend('auto');
  if (auto.backend === 'tfjs-node') {
    t.skip('tfjs-node is installed here: the fallback path cannot be observed');
    return;
  }
  assert.equal(auto.backend, 'tfjs-wasm');
  assert.equal(auto.tf.getBackend(), 'wasm');
  await assert.rejects(selectBackend('tfjs-node'), isCode('BACKEND_UNAVAILABLE'));
  assert.equal(auto.tf.getBackend(), 'wasm', 'a failed selection leaves the engine as it was');
});

test('measured: ms per 512x512 tile on wasm (median of 3)', async () => {
  const tile = syntheticScene(512, 512, 5);
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    await model.predict(tile, 1, 512, 512);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  console.log(`wasm: ${Math.round(times[1]!)} ms per 512x512 tile (runs: ${times.map(Math.round).join(', ')})`);
  assert.ok(times[1]! < 30_000);
});

// Last: it switches the global engine to cpu, and back to wasm at the end.
test('cpu backend (only on request) agrees with wasm on a small tile', async () => {
  const tile = syntheticScene(32, 32, 9);
  const onWasm = await model.predict(tile, 1, 32, 32);
  const cpuModel = await loadModelFromDir(MODEL_DIR, { backend: 'cpu', batchTiles: 1, warmUp: false });
  try {
    assert.equal(cpuModel.backend, 'cpu');
    const onCpu = await cpuModel.predict(tile, 1, 32, 32);
    let maxDiff = 0;
    onCpu.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - onWasm[i]!))));
    console.log(`cpu vs wasm on 32x32: max |diff| ${maxDiff}`);
    assert.ok(maxDiff < 1e-4, `max diff ${maxDiff}`);
    assert.equal(cpuModel.identity.md5, model.identity.md5);
  } finally {
    cpuModel.dispose();
    await selectBackend('tfjs-wasm');
  }
});
