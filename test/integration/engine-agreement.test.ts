// The ONNX Runtime engine gives the TF.js engine's answers: for both registered models on every
// real fixture scene, cloud probabilities within 1e-5 (max abs) and masks identical except pixels
// whose probability lies within 1e-5 of the threshold. TF.js (wasm) is the reference; it matches an
// independent forward pass of the upstream Keras model (model-fixtures.test.ts).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';
import { exportCount } from '../../shared/model/formats/onnx-export/exported-graph.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { resolveScaling, toModelInput } from '../../shared/imaging/scaling.js';
import { loadScene, readSceneManifest, type EvalScene } from '../../shared/lifecycle/eval-scenes.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { segmentScene } from '../../shared/model/segment.js';
import { FIXTURES_DIR, fixturesMissing } from '../support/fixtures.js';
import { registeredModelDir } from '../support/model.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING engine agreement tests: ${MISSING}`);

const TOLERANCE = 1e-5;
const MODEL_PATHS = ['models/landsatbiomeRGBI6', 'models/landsatbiomeRGBISWIR7'];

let scenes: EvalScene[] = [];
// Every other engine that runs the TF.js model, compared with onnxruntime: ONNX Runtime on
// WebAssembly (the same exported graph) and TF.js on its own WebAssembly backend.
const OTHERS = ['wasm', 'tfjs-wasm'] as const;
const engines = new Map<string, { onnx: LoadedModel; others: LoadedModel[] }>();

before(async () => {
  if (MISSING) return;
  scenes = await readSceneManifest(join(projectRoot(), 'scripts', 'fixture-scenes.yaml'), { root: FIXTURES_DIR });
  for (const path of MODEL_PATHS) {
    const dir = await registeredModelDir(path);
    engines.set(path, {
      onnx: await loadModelFromDir(dir, { backend: 'onnxruntime', batchTiles: 1 }),
      others: await Promise.all(OTHERS.map((backend) => loadModelFromDir(dir, { backend, batchTiles: 1 }))),
    });
  }
});

after(() => {
  for (const { onnx, others } of engines.values()) {
    onnx.dispose();
    for (const other of others) other.dispose();
  }
});

for (const path of MODEL_PATHS) for (const [o, name] of OTHERS.entries()) {
  test(`onnxruntime agrees with ${name} on every fixture scene: ${path}`, { skip: MISSING }, async () => {
    const { onnx, others } = engines.get(path)!;
    const tfjs = others[o]!;
    assert.equal(onnx.backend, 'onnxruntime');
    assert.equal(tfjs.backend, name);
    assert.equal(onnx.identity.md5, tfjs.identity.md5, 'both engines load the same registered model');
    let compared = 0;
    for (const scene of scenes) {
      const loaded = await loadScene(scene, onnx.card.bands);
      if ('skipped' in loaded) continue;
      const raster = await decodeImage(loaded.scene.bytes, { name: loaded.scene.fileName, maxPixels: 1 << 28 });
      const { scaling } = resolveScaling({
        bands: onnx.card.bands.length,
        raster,
        objectMetadata: scene.preset ? { 'cloudseg-preset': scene.preset } : null,
        presets: onnx.card.presets,
        defaults: onnx.card.defaultPreset,
      });
      const input = toModelInput(raster, scaling, onnx.card.bands.length);
      const [p, q] = await Promise.all([segmentScene(onnx, input, raster.width, raster.height), segmentScene(tfjs, input, raster.width, raster.height)]);
      let maxDiff = 0;
      let maskDiffers = 0;
      let nearThreshold = 0;
      const threshold = onnx.card.threshold;
      for (let i = 0; i < p.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(p[i]! - q[i]!));
        if (p[i]! > threshold !== q[i]! > threshold) {
          if (Math.abs(q[i]! - threshold) <= TOLERANCE) nearThreshold++;
          else maskDiffers++;
        }
      }
      console.log(`${path} on ${scene.name} (${raster.width}x${raster.height}): max |p_onnx - p_${name}| ${maxDiff.toExponential(2)}, mask pixels that differ: ${nearThreshold} within ${TOLERANCE} of the threshold, ${maskDiffers} elsewhere`);
      assert.ok(maxDiff <= TOLERANCE, `${scene.name}: max |diff| ${maxDiff} > ${TOLERANCE}`);
      assert.equal(maskDiffers, 0, `${scene.name}: ${maskDiffers} mask pixels differ away from the threshold`);
      compared++;
    }
    assert.ok(compared >= (onnx.card.bands.length > 4 ? 2 : 6), `compared ${compared} scenes`);
  });
}

test('a warm load reuses the exported graph (cached by model md5)', { skip: MISSING }, async () => {
  const before = exportCount();
  const again = await loadModelFromDir(await registeredModelDir(MODEL_PATHS[0]), { backend: 'onnxruntime', batchTiles: 1 });
  try {
    assert.equal(exportCount(), before, 'no new export for a model already exported in this process');
    assert.equal(again.backend, 'onnxruntime');
  } finally {
    again.dispose();
  }
});
