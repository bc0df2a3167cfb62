// A TensorFlow SavedModel (Keras 3 export) in the registry runs without libtensorflow: read and
// frozen in TypeScript, it reproduces TensorFlow's own outputs (golden .npy files computed by
// TensorFlow 2.21 from these SavedModels) within 1e-5 on wasm, and its masks on every fixture scene
// equal those of the registered TF.js Layers model of the same network.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { resolveScaling, toModelInput } from '../../shared/imaging/scaling.js';
import { loadScene, readSceneManifest } from '../../shared/lifecycle/eval-scenes.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { readNpy } from '../../shared/lifecycle/npz.js';
import { segmentScene } from '../../shared/model/segment.js';
import { FIXTURES_DIR, fixturesMissing } from '../support/fixtures.js';
import { registeredModelDir } from '../support/model.js';
import { GOLDEN, keras3Fixture, savedModelDirFor } from '../support/saved-models.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING SavedModel golden tests: ${MISSING}`);

const GOLDEN_TOLERANCE = 1e-5;

const dirs: string[] = [];
const models = new Map<string, { saved: LoadedModel; layers: LoadedModel }>();

before(async () => {
  if (MISSING) return;
  for (const { path } of GOLDEN) {
    const dir = await savedModelDirFor(path);
    dirs.push(dir);
    models.set(path, {
      saved: await loadModelFromDir(dir, { backend: 'tfjs-wasm', batchTiles: 1 }),
      layers: await loadModelFromDir(await registeredModelDir(path), { backend: 'tfjs-wasm', batchTiles: 1 }),
    });
  }
});

after(async () => {
  for (const { saved, layers } of models.values()) {
    saved.dispose();
    layers.dispose();
  }
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

for (const golden of GOLDEN) {
  test(`the SavedModel of ${golden.path} reproduces TensorFlow's golden output on wasm`, { skip: MISSING }, async () => {
    const { saved } = models.get(golden.path)!;
    assert.equal(saved.backend, 'tfjs-wasm');
    assert.equal(saved.card.format, 'saved-model');
    const x = readNpy(await readFile(keras3Fixture(golden.input)));
    const y = readNpy(await readFile(keras3Fixture(golden.output)));
    const [n, h, w] = x.shape as [number, number, number, number];
    const before = saved.numTensors();
    const p = await saved.predict(x.data as Float32Array, n, h, w);
    assert.equal(saved.numTensors(), before, 'no tensor leaks per prediction');
    assert.equal(p.length, y.data.length);
    let maxDiff = 0;
    for (let i = 0; i < p.length; i++) maxDiff = Math.max(maxDiff, Math.abs(p[i]! - y.data[i]!));
    console.log(`${golden.path} SavedModel on wasm: max |p - p_tensorflow| = ${maxDiff.toExponential(2)} over ${p.length} pixels`);
    assert.ok(maxDiff <= GOLDEN_TOLERANCE, `max |diff| ${maxDiff} > ${GOLDEN_TOLERANCE}`);
  });

  test(`the SavedModel of ${golden.path} gives the Layers model's masks on every fixture scene`, { skip: MISSING }, async () => {
    const { saved, layers } = models.get(golden.path)!;
    const scenes = await readSceneManifest(join(projectRoot(), 'scripts', 'fixture-scenes.yaml'), { root: FIXTURES_DIR });
    let compared = 0;
    for (const scene of scenes) {
      const loaded = await loadScene(scene, saved.card.bands);
      if ('skipped' in loaded) continue;
      const raster = await decodeImage(loaded.scene.bytes, { name: loaded.scene.fileName, maxPixels: 1 << 28 });
      const { scaling } = resolveScaling({
        bands: saved.card.bands.length,
        raster,
        objectMetadata: scene.preset ? { 'cloudseg-preset': scene.preset } : null,
        presets: saved.card.presets,
        defaults: saved.card.defaultPreset,
      });
      const input = toModelInput(raster, scaling, saved.card.bands.length);
      const p = await segmentScene(saved, input, raster.width, raster.height);
      const q = await segmentScene(layers, input, raster.width, raster.height);
      let maxDiff = 0;
      let maskDiffers = 0;
      for (let i = 0; i < p.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(p[i]! - q[i]!));
        if (p[i]! > saved.card.threshold !== q[i]! > layers.card.threshold) maskDiffers++;
      }
      console.log(`${golden.path} SavedModel vs Layers on ${scene.name}: max |diff| ${maxDiff.toExponential(2)}, ${maskDiffers} mask pixels differ`);
      assert.equal(maskDiffers, 0, `${scene.name}: ${maskDiffers} mask pixels differ`);
      compared++;
    }
    assert.ok(compared >= (saved.card.bands.length > 4 ? 2 : 6), `compared ${compared} scenes`);
  });
}
