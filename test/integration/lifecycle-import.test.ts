// The project's own import of both IPL-UV HDF5 models predicts what the provided TF.js conversion
// predicts, to 1e-5, on real scenes scaled as the fixtures README says (whole scene, one pass).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromFile } from 'geotiff';
import { projectRoot } from '../../shared/config/project-root.js';
import { MODEL_CARD_FILE } from '../../shared/model/card.js';
import { importKerasModel } from '../../shared/lifecycle/keras-import/index.js';
import { readLifecycleParams } from '../../shared/lifecycle/lifecycle-params.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { readNpz } from '../../shared/lifecycle/npz.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`SKIPPING lifecycle import tests: ${MISSING}`);

const TOLERANCE = 1e-5;
const PATCH = 'patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF';

async function stackedBands(paths: string[], scale: number, offset: number): Promise<{ input: Float32Array; width: number; height: number }> {
  const bands = await Promise.all(
    paths.map(async (p) => {
      const image = await (await fromFile(p)).getImage();
      const [data] = (await image.readRasters({ samples: [0] })) as unknown as ArrayLike<number>[];
      return { data: data!, width: image.getWidth(), height: image.getHeight() };
    }),
  );
  const { width, height } = bands[0]!;
  const input = new Float32Array(width * height * bands.length);
  bands.forEach((band, b) => {
    for (let i = 0; i < width * height; i++) input[i * bands.length + b] = band.data[i]! * scale + offset;
  });
  return { input, width, height };
}

async function ukisScene(name: string, bands: number): Promise<{ input: Float32Array; width: number; height: number }> {
  const img = readNpz(await readFile(fixture('ukis-csmask', `${name}.npz`))).get('img')!;
  const [height, width, channels] = img.shape as [number, number, number];
  const input = new Float32Array(width * height * bands);
  for (let p = 0; p < width * height; p++) for (let b = 0; b < bands; b++) input[p * bands + b] = img.data[p * channels + b]!;
  return { input, width, height };
}

const VARIANTS = [
  {
    key: 'landsatbiomeRGBI6',
    scenes: {
      '38-Cloud patch (DN*2e-5-0.1)': () => stackedBands(['blue', 'green', 'red', 'nir'].map((b) => fixture('38cloud', `${b}_${PATCH}`)), 2e-5, -0.1),
      'On Cloud N chip 1 (/10000)': () => stackedBands(['B02', 'B03', 'B04', 'B08'].map((b) => fixture('oncloudn', 'chip_id_1', `${b}.tif`)), 1e-4, 0),
      'ukis sentinel2 (first 4 bands)': () => ukisScene('sentinel2', 4),
    },
  },
  {
    key: 'landsatbiomeRGBISWIR7',
    scenes: {
      'ukis sentinel2 (6 bands)': () => ukisScene('sentinel2', 6),
      'ukis landsat7 (6 bands)': () => ukisScene('landsat7', 6),
    },
  },
] as const;

const work: string[] = [];
const models = new Map<string, { mine: LoadedModel; reference: LoadedModel }>();

before(async () => {
  if (MISSING) return;
  const params = await readLifecycleParams(join(projectRoot(), 'params.yaml'));
  for (const { key } of VARIANTS) {
    const mineDir = await mkdtemp(join(tmpdir(), `cloudseg-import-${key}-`));
    const referenceDir = await mkdtemp(join(tmpdir(), `cloudseg-reference-${key}-`));
    work.push(mineDir, referenceDir);
    await importKerasModel(fixture('models', 'ipluv-dl-l8s2-uv', 'hdf5', `${key}.hdf5`), { outDir: mineDir, identity: params.variants[key]!, params });
    // The reference conversion has no card: it borrows the import's, so both load the same way.
    for (const file of ['model.json', 'group1-shard1of1.bin']) await copyFile(fixture('models', 'ipluv-dl-l8s2-uv', 'tfjs', key, file), join(referenceDir, file));
    await copyFile(join(mineDir, MODEL_CARD_FILE), join(referenceDir, MODEL_CARD_FILE));
    const options = { backend: 'auto' as const, batchTiles: 1, warmUp: false };
    models.set(key, { mine: await loadModelFromDir(mineDir, options), reference: await loadModelFromDir(referenceDir, options) });
  }
});

after(async () => {
  for (const { mine, reference } of models.values()) {
    mine.dispose();
    reference.dispose();
  }
  await Promise.all(work.map((dir) => rm(dir, { recursive: true, force: true })));
});

for (const variant of VARIANTS) {
  for (const [scene, load] of Object.entries(variant.scenes)) {
    test(`${variant.key}: the import predicts what the reference conversion predicts on ${scene}, within ${TOLERANCE}`, { skip: MISSING }, async () => {
      const { mine, reference } = models.get(variant.key)!;
      const { input, width, height } = await load();
      const [a, b] = [await mine.predict(input, 1, height, width), await reference.predict(input, 1, height, width)];
      let maxDiff = 0;
      let cloudy = 0;
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        if (a[i]! > 0.5) cloudy++;
      }
      console.log(`${variant.key} on ${scene}: max |diff| ${maxDiff.toExponential(2)}, cloud fraction ${(cloudy / a.length).toFixed(3)} (${mine.backend})`);
      assert.ok(maxDiff <= TOLERANCE, `max |diff| ${maxDiff}`);
      // Not a degenerate agreement: the scenes do contain cloud and clear pixels.
      assert.ok(cloudy > 0 && cloudy < a.length);
    });
  }
}
