// The README's main job, run as a test: the whole local pipeline on the bundled samples, with the
// masks judged against their ground truth (the fixtures' published numbers for this model).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { runDemo } from '../../infra/local/demo.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';

// IoU of the cloud class published in ../shared/fixtures/README.md (independent forward pass).
const PUBLISHED_IOU: Record<string, number> = {
  'l8-38cloud-p192.tif': 0.814,
  's2-oncloudn-chip1.tif': 0.481,
  's2-oncloudn-chip3.tif': 0.589,
};

test('npm run demo: every sample comes back as a mask as good as the published numbers', { skip: EMULATOR_MISSING }, async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'cloudseg-demo-test-'));
  const printed: string[] = [];
  try {
    const rows = await runDemo({ outDir, logger: createLogger({ level: 'warn' }), print: (l) => printed.push(l) });
    assert.equal(rows.length, Object.keys(PUBLISHED_IOU).length);
    for (const row of rows) {
      assert.equal(row.status, 'succeeded', row.image);
      const published = PUBLISHED_IOU[row.image];
      assert.ok(published !== undefined, `unexpected sample ${row.image}`);
      assert.ok(Math.abs(row.iou! - published) <= 0.01, `${row.image}: IoU ${row.iou} vs published ${published}`);
      const mask = await sharp(await readFile(row.mask!)).metadata();
      const overlay = await sharp(await readFile(row.overlay!)).metadata();
      assert.equal(mask.channels, 1);
      assert.equal(overlay.width, mask.width);
    }
    assert.ok(printed.some((l) => l.includes('IoU vs truth')), 'prints the table');
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});
