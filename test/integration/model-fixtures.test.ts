// The shipped model on real scenes with ground truth: read the bands with geotiff, scale them as
// the fixtures README says, segment with tiling, threshold, and reproduce the published IoU table.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromFile } from 'geotiff';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { maskRule } from '../../shared/model/mask-rule.js';
import { applyMaskRule, segmentScene } from '../../shared/model/segment.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';
import { shippedModelDir } from '../support/model.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`SKIPPING model fixture tests: ${MISSING}`);

interface Scene {
  name: string;
  /** band files in the model's order blue, green, red, nir */
  bands: string[];
  truth: string;
  cloudValue: number;
  scale: number;
  offset: number;
  /** from fixtures/README.md: whole-scene pass with an independent forward pass of the HDF5 */
  expected: { iou: number; predictedFraction: number };
}

const PATCH = 'patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF';
const SCENES: Scene[] = [
  {
    name: '38-Cloud Landsat-8 patch (384x384)',
    bands: ['blue', 'green', 'red', 'nir'].map((b) => fixture('38cloud', `${b}_${PATCH}`)),
    truth: fixture('38cloud', `gt_${PATCH}`),
    cloudValue: 255,
    scale: 2e-5,
    offset: -0.1,
    expected: { iou: 0.814, predictedFraction: 0.253 },
  },
  ...(
    [
      [1, 0.481, 0.288],
      [2, 0.479, 0.197],
      [3, 0.589, 0.257],
    ] as const
  ).map(([chip, iou, predictedFraction]) => ({
    name: `On Cloud N Sentinel-2 chip ${chip} (512x512)`,
    bands: ['B02', 'B03', 'B04', 'B08'].map((b) => fixture('oncloudn', `chip_id_${chip}`, `${b}.tif`)),
    truth: fixture('oncloudn', `chip_id_${chip}`, 'label.tif'),
    cloudValue: 1,
    scale: 1e-4,
    offset: 0,
    expected: { iou, predictedFraction },
  })),
];

async function readBand(path: string): Promise<{ data: ArrayLike<number>; width: number; height: number }> {
  const image = await (await fromFile(path)).getImage();
  const [data] = (await image.readRasters({ samples: [0] })) as unknown as ArrayLike<number>[];
  return { data: data!, width: image.getWidth(), height: image.getHeight() };
}

let model: LoadedModel;
before(async () => {
  if (MISSING) return;
  model = await loadModelFromDir(await shippedModelDir(), { backend: 'auto', batchTiles: 1 });
});
after(() => model?.dispose());

for (const scene of SCENES) {
  test(`model on ${scene.name}: IoU and cloud fraction match the reference`, { skip: MISSING }, async () => {
    const bands = await Promise.all(scene.bands.map(readBand));
    const { width, height } = bands[0]!;
    const input = new Float32Array(width * height * bands.length);
    bands.forEach((band, b) => {
      assert.equal(band.width, width);
      assert.equal(band.height, height);
      for (let i = 0; i < width * height; i++) input[i * bands.length + b] = band.data[i]! * scene.scale + scene.offset;
    });
    const truth = await readBand(scene.truth);

    const started = performance.now();
    // A 256-pixel tile forces real tiling (and stitching) even on these small scenes.
    for (const tileSize of [model.card.tile.size, 256]) {
      const probability = await segmentScene(model, input, width, height, { tileSize });
      const { mask, summary: { cloudFraction } } = applyMaskRule(probability, maskRule(model.card));
      let intersection = 0;
      let union = 0;
      let agree = 0;
      let trueCloud = 0;
      for (let i = 0; i < mask.length; i++) {
        const p = mask[i] === 255;
        const t = truth.data[i] === scene.cloudValue;
        if (p && t) intersection++;
        if (p || t) union++;
        if (p === t) agree++;
        if (t) trueCloud++;
      }
      const iou = intersection / union;
      console.log(
        `${scene.name} tile ${tileSize}: IoU ${iou.toFixed(3)} (reference ${scene.expected.iou}), accuracy ${(agree / mask.length).toFixed(3)}, ` +
          `predicted/true cloud ${cloudFraction.toFixed(3)}/${(trueCloud / mask.length).toFixed(3)} (reference predicted ${scene.expected.predictedFraction})`,
      );
      assert.ok(Math.abs(iou - scene.expected.iou) <= 0.02, `IoU ${iou} vs ${scene.expected.iou}`);
      assert.ok(Math.abs(cloudFraction - scene.expected.predictedFraction) <= 0.02, `cloud fraction ${cloudFraction} vs ${scene.expected.predictedFraction}`);
    }
    console.log(`${scene.name}: ${Math.round(performance.now() - started)} ms for both passes on ${model.backend}`);
  });
}
