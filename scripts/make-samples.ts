// Builds the bundled sample scenes in samples/ from the shared third-party fixtures: band files
// stacked into the model's order, truth masks as 0/255 PNG, credits, licences and a manifest.
// Usage: npx tsx scripts/make-samples.ts [fixturesDir] [outDir]
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { projectRoot } from '../shared/config/project-root.js';
import { decodeImage } from '../shared/imaging/decode.js';
import { encodeMaskPng } from '../shared/imaging/encode.js';
import { stackBands } from '../shared/imaging/stack.js';
import type { Scaling } from '../shared/imaging/types.js';
import { FIXTURES_DIR } from '../test/support/fixtures.js';

const MODEL_BANDS = ['blue', 'green', 'red', 'nir'] as const;
const MAX_PIXELS = 1 << 26;

interface SceneSpec {
  id: string;
  sensor: string;
  preset: string;
  /** Fixture paths of the bands, in MODEL_BANDS order. */
  bandFiles: string[];
  /** Upstream band names, same order, for the manifest. */
  upstreamBands: string[];
  truthFile: string;
  /** Which truth values mean cloud. */
  isCloud: (value: number) => boolean;
  scaling: Scaling;
  licence: string;
  source: string;
}

const L8_PATCH = 'patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF';
const x4 = (v: number): number[] => [v, v, v, v];

const SCENES: SceneSpec[] = [
  {
    id: 'l8-38cloud-p192',
    sensor: 'landsat8-oli',
    preset: 'landsat8-l1',
    bandFiles: ['blue', 'green', 'red', 'nir'].map((b) => join('38cloud', `${b}_${L8_PATCH}`)),
    upstreamBands: ['B2', 'B3', 'B4', 'B5'],
    truthFile: join('38cloud', `gt_${L8_PATCH}`),
    isCloud: (v) => v === 255,
    scaling: { scale: x4(2e-5), offset: x4(-0.1) },
    licence: 'LICENSE.38cloud',
    source: '38-Cloud (SorourMo/38-Cloud-A-Cloud-Segmentation-Dataset @ c048667), scene LC08_L1TP_002053_20160520, patch 192',
  },
  ...[1, 3].map(
    (chip): SceneSpec => ({
      id: `s2-oncloudn-chip${chip}`,
      sensor: 'sentinel2-msi-l2a',
      preset: 'sentinel2-l2a',
      bandFiles: ['B02', 'B03', 'B04', 'B08'].map((b) => join('oncloudn', `chip_id_${chip}`, `${b}.tif`)),
      upstreamBands: ['B02', 'B03', 'B04', 'B08'],
      truthFile: join('oncloudn', `chip_id_${chip}`, 'label.tif'),
      isCloud: (v) => v === 1,
      scaling: { scale: x4(1e-4), offset: x4(0) },
      licence: 'LICENSE.oncloudn.md',
      source: `On Cloud N / Sentinel-2 Cloud Cover Segmentation Dataset via max-schaefer-dev/cloud-detection-demo @ 34de0ad, chip_id_${chip}`,
    }),
  ),
];

interface SampleManifestEntry {
  id: string;
  scene: string;
  truth: string;
  sensor: string;
  preset: string;
  bands: string[];
  upstreamBands: string[];
  width: number;
  height: number;
  dtype: string;
  georeferenced: boolean;
  truthCloudFraction: number;
  source: string;
  licence: string;
}

async function makeScene(spec: SceneSpec, fixturesDir: string, outDir: string): Promise<SampleManifestEntry> {
  const bands = await Promise.all(spec.bandFiles.map((f) => readFile(join(fixturesDir, f))));
  const stacked = await stackBands(bands, { scaling: spec.scaling });
  const sceneFile = `${spec.id}.tif`;
  await writeFile(join(outDir, sceneFile), stacked);

  // Check what was written against the sources, so a bad sample can never be committed.
  const written = await decodeImage(stacked, { name: sceneFile, maxPixels: MAX_PIXELS });
  for (const [b, bytes] of bands.entries()) {
    const src = await decodeImage(bytes, { name: spec.bandFiles[b], maxPixels: MAX_PIXELS });
    for (let p = 0; p < src.data.length; p++) {
      if (written.data[p * written.bands + b] !== src.data[p]) throw new Error(`${sceneFile}: band ${b} pixel ${p} differs`);
    }
  }

  const truth = await decodeImage(await readFile(join(fixturesDir, spec.truthFile)), { name: spec.truthFile, maxPixels: MAX_PIXELS });
  if (truth.width !== written.width || truth.height !== written.height) throw new Error(`${spec.id}: truth size differs`);
  const mask = Uint8Array.from(truth.data, (v) => (spec.isCloud(v) ? 1 : 0));
  const truthFile = `${spec.id}.truth.png`;
  await writeFile(join(outDir, truthFile), await encodeMaskPng(mask, truth.width, truth.height));
  const cloud = mask.reduce((n, v) => n + v, 0);

  return {
    id: spec.id,
    scene: sceneFile,
    truth: truthFile,
    sensor: spec.sensor,
    preset: spec.preset,
    bands: [...MODEL_BANDS],
    upstreamBands: spec.upstreamBands,
    width: written.width,
    height: written.height,
    dtype: written.dtype,
    georeferenced: written.georef !== null,
    truthCloudFraction: Math.round((cloud / mask.length) * 1000) / 1000,
    source: spec.source,
    licence: spec.licence,
  };
}

const README = `# Sample scenes

Small real scenes with ground-truth cloud masks, for the demo, the CLI and end-to-end tests.
Made by \`npx tsx scripts/make-samples.ts\` from the shared fixtures; \`manifest.json\` lists them.

Each \`<id>.tif\` is a 4-band uint16 GeoTIFF with bands in the model's order **blue, green, red, nir**,
and the conversion to reflectance recorded as GDAL scale/offset (GDAL_METADATA), so the pipeline
scales it without being told. Each \`<id>.truth.png\` is the ground truth, 8-bit grey, 255 = cloud.

| file | sensor | source bands | scale / offset (preset) | size | georeference |
|---|---|---|---|---|---|
| \`l8-38cloud-p192.tif\` | Landsat-8 OLI, Level-1 DN | B2, B3, B4, B5 | 2e-5 / -0.1 (\`landsat8-l1\`, ~TOA reflectance) | 384x384 | none (38-Cloud patches carry none) |
| \`s2-oncloudn-chip1.tif\` | Sentinel-2 L2A surface reflectance x 10000 | B02, B03, B04, B08 | 1e-4 / 0 (\`sentinel2-l2a\`), nodata 0 | 512x512 | UTM 36S (EPSG:32736), 10 m |
| \`s2-oncloudn-chip3.tif\` | as above | B02, B03, B04, B08 | 1e-4 / 0 (\`sentinel2-l2a\`), nodata 0 | 512x512 | as in the source chip |

## Credits and licences

- **38-Cloud** (\`l8-38cloud-p192.*\`): one patch of scene LC08_L1TP_002053_20160520 (patch 192) from
  SorourMo/38-Cloud-A-Cloud-Segmentation-Dataset @ c048667, Apache License 2.0 (\`LICENSE.38cloud\`).
  Please cite S. Mohajerani and P. Saeedi, "Cloud-Net: An End-to-end Cloud Detection Algorithm for
  Landsat 8 Imagery", IGARSS 2019, and S. Mohajerani, T. A. Krammer and P. Saeedi, "A Cloud Detection
  Algorithm for Remote Sensing Images Using Fully Convolutional Neural Networks", MMSP 2018.
  Landsat-8 data courtesy of the U.S. Geological Survey (public domain).
  Changes: the four single-band files are stacked into one file; the ground truth is re-encoded as PNG.
- **On Cloud N** (\`s2-oncloudn-chip*.*\`): chips 1 and 3 of the "On Cloud N: Cloud Cover Detection
  Challenge" data (Radiant Earth Foundation / DrivenData; Sentinel-2 Cloud Cover Segmentation Dataset,
  CC BY 4.0), as redistributed in max-schaefer-dev/cloud-detection-demo @ 34de0ad under the MIT licence
  (\`LICENSE.oncloudn.md\`). Contains modified Copernicus Sentinel data.
  Changes: the four single-band files are stacked into one file; labels (1 = cloud) re-encoded as
  0/255 PNG.

Reference numbers (IPL-UV RGBI model, threshold 0.5, whole scene): IoU(cloud) 0.814 on the 38-Cloud
patch, 0.481 and 0.589 on On Cloud N chips 1 and 3 (the model was trained on TOA reflectance, these
chips are L2A surface reflectance with thin cloud labelled, so it under-predicts there).
`;

async function main(): Promise<void> {
  const fixturesDir = resolve(process.argv[2] ?? FIXTURES_DIR);
  const outDir = resolve(process.argv[3] ?? join(projectRoot(), 'samples'));
  await mkdir(outDir, { recursive: true });
  const scenes: SampleManifestEntry[] = [];
  for (const spec of SCENES) {
    const entry = await makeScene(spec, fixturesDir, outDir);
    scenes.push(entry);
    console.log(`${entry.scene}: ${entry.width}x${entry.height}x${entry.bands.length} ${entry.dtype}, truth cloud ${entry.truthCloudFraction}`);
  }
  // Copied by content: the fixture files are read-only and their mode must not follow them.
  await writeFile(join(outDir, 'LICENSE.38cloud'), await readFile(join(fixturesDir, '38cloud', 'LICENSE.upstream')));
  await writeFile(join(outDir, 'LICENSE.oncloudn.md'), await readFile(join(fixturesDir, 'oncloudn', 'LICENSE.upstream.md')));
  await writeFile(join(outDir, 'README.md'), README);
  await writeFile(join(outDir, 'manifest.json'), `${JSON.stringify({ version: 1, scenes }, null, 2)}\n`);
  console.log(`wrote ${scenes.length} scenes to ${outDir}`);
}

await main();
