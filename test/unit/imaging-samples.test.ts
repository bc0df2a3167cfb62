// The bundled samples are what the demo and end-to-end tests feed the pipeline: every manifest entry
// must decode to 4 uint16 bands with the preset's scaling recorded, and its truth must be a 0/255 mask.
import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { projectRoot } from '../../shared/config/project-root.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const SAMPLES = join(projectRoot(), 'samples');
const MAX = 100_000_000;
// The presets the model card defines for these sensors (scale, offset).
const PRESET_VALUES: Record<string, [number, number]> = { 'landsat8-l1': [2e-5, -0.1], 'sentinel2-l2a': [1e-4, 0] };

interface Entry {
  id: string;
  scene: string;
  truth: string;
  sensor: string;
  preset: string;
  bands: string[];
  width: number;
  height: number;
  georeferenced: boolean;
  truthCloudFraction: number;
  licence: string;
}

const manifestPath = join(SAMPLES, 'manifest.json');
const missing = existsSync(manifestPath) ? false : `samples/manifest.json missing: run npx tsx scripts/make-samples.ts`;
if (missing) console.warn(`SKIPPING sample tests: ${missing}`);
const entries: Entry[] = missing ? [] : (JSON.parse(await readFile(manifestPath, 'utf8')) as { scenes: Entry[] }).scenes;

describe('bundled samples', { skip: missing }, () => {
  it('lists the three scenes with credits and licences beside them', () => {
    assert.deepEqual(entries.map((e) => e.id).sort(), ['l8-38cloud-p192', 's2-oncloudn-chip1', 's2-oncloudn-chip3']);
    for (const f of ['README.md', 'LICENSE.38cloud', 'LICENSE.oncloudn.md', ...entries.map((e) => e.licence)]) {
      assert.ok(existsSync(join(SAMPLES, f)), `${f} missing`);
    }
  });

  for (const e of entries) {
    it(`${e.scene}: 4 uint16 bands, preset scaling in the file, truth 0/255 of the same size`, async () => {
      const raster = await decodeImage(await readFile(join(SAMPLES, e.scene)), { name: e.scene, maxPixels: MAX });
      assert.deepEqual([raster.width, raster.height, raster.bands, raster.dtype], [e.width, e.height, 4, 'uint16']);
      assert.deepEqual(e.bands, ['blue', 'green', 'red', 'nir']);
      const [scale, offset] = PRESET_VALUES[e.preset]!;
      assert.deepEqual(raster.fileScaling, { scale: [scale, scale, scale, scale], offset: [offset, offset, offset, offset] });
      assert.equal(raster.georef !== null, e.georeferenced);

      const truthPng = await readFile(join(SAMPLES, e.truth));
      const meta = await sharp(truthPng).metadata();
      assert.deepEqual([meta.width, meta.height, meta.channels], [e.width, e.height, 1]);
      const truth = await decodeImage(truthPng, { maxPixels: MAX });
      let cloud = 0;
      for (const v of truth.data) {
        assert.ok(v === 0 || v === 255, `truth value ${v}`);
        if (v === 255) cloud++;
      }
      assert.ok(Math.abs(cloud / truth.data.length - e.truthCloudFraction) < 0.001);
    });
  }

  it('s2-oncloudn-chip3 keeps the source chip georeference and B08 as band 3', { skip: fixturesMissing() }, async () => {
    const sample = await decodeImage(await readFile(join(SAMPLES, 's2-oncloudn-chip3.tif')), { maxPixels: MAX });
    const nir = await decodeImage(await readFile(fixture('oncloudn', 'chip_id_3', 'B08.tif')), { maxPixels: MAX });
    assert.deepEqual(sample.georef, nir.georef);
    assert.equal(sample.noData, 0);
    for (let p = 0; p < nir.data.length; p += 97) assert.equal(sample.data[p * 4 + 3], nir.data[p]);
  });
});
