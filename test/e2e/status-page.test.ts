// The `npm run local` status page in a real browser (Debian's chromium driven by playwright-core):
// empty at first, then two samples and one broken file dropped into the input folder show up as
// counts, two quick-looks and a failure with its code. The status model's edges are pinned first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { runLocal } from '../../infra/local/run-local.js';
import { readSampleManifest } from '../../infra/local/samples.js';
import type { StatusView } from '../../infra/local/status/index.js';
import { emptyStatus, observe, percentiles, snapshot } from '../../infra/local/status/status-model.js';
import { projectRoot } from '../../shared/config/index.js';
import type { ResultEvent } from '../../shared/contracts/result-event.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';

const CHROMIUM = process.env.CLOUDSEG_CHROMIUM ?? '/usr/bin/chromium';
const BROWSER_MISSING: string | false = (() => {
  if (existsSync(CHROMIUM)) return false;
  const why = `no browser at ${CHROMIUM} (Debian: apt-get install chromium; .ci/run installs it)`;
  console.warn(`\n!!! SKIPPING the status page browser test: ${why}\n`);
  return why;
})();
const SCREENSHOT = join(projectRoot(), 'out', 'status-page.png');

const MODEL = { name: 'm', version: '1', md5: 'a'.repeat(32), rev: null, tag: null };
function event(name: string, fields: Partial<ResultEvent> = {}): ResultEvent {
  return {
    schema: 'cloudseg.result.v1',
    status: 'succeeded',
    batchId: 'b1',
    input: { bucket: 'in', name, generation: '1' },
    output: { bucket: 'out', name: `in/${name}.mask.png`, generation: '2', georeferenced: null },
    model: MODEL,
    width: 1000,
    height: 500,
    cloudFraction: 0.25,
    timingsMs: { total: 100 },
    error: null,
    finishedAt: '2026-01-01T00:00:30.000Z',
    ...fields,
  };
}
const key = (name: string) => `in/${name}#1`;

test('status model: uploads move forward only, a redelivered event counts once, failures by code', () => {
  const state = emptyStatus({ masks: 2 });
  const counts = () => snapshot(state, Date.parse('2026-01-01T00:00:40Z')).counts;
  assert.deepEqual(snapshot(state, 0).counts, { seen: 0, buffered: 0, inFlight: 0, succeeded: 0, failed: 0, duplicate: 0, superseded: 0 });
  observe(state, { kind: 'upload', key: key('a.tif') });
  observe(state, { kind: 'upload', key: key('a.tif') });
  assert.deepEqual(counts(), { seen: 1, buffered: 1, inFlight: 0, succeeded: 0, failed: 0, duplicate: 0, superseded: 0 });
  // The work batch can be seen before the upload notification: seen once, never back to buffered.
  observe(state, { kind: 'released', keys: [key('a.tif'), key('b.tif')] });
  assert.equal(observe(state, { kind: 'upload', key: key('b.tif') }), false);
  assert.deepEqual(counts(), { seen: 2, buffered: 0, inFlight: 2, succeeded: 0, failed: 0, duplicate: 0, superseded: 0 });
  const ok = event('a.tif', { latencyMs: 900 });
  assert.equal(observe(state, { kind: 'result', event: ok }), true);
  assert.equal(observe(state, { kind: 'result', event: ok }), false, 'a redelivered event is not counted again');
  const bad = event('b.tif', { status: 'failed', output: null, error: { code: 'CORRUPT_IMAGE', message: 'b.tif could not be decoded' } });
  observe(state, { kind: 'result', event: bad });
  observe(state, { kind: 'released', keys: [key('b.tif')] });
  const s = snapshot(state, Date.parse('2026-01-01T00:00:40Z'));
  assert.deepEqual(s.counts, { seen: 2, buffered: 0, inFlight: 0, succeeded: 1, failed: 1, duplicate: 0, superseded: 0 });
  assert.deepEqual(s.failedByCode, { CORRUPT_IMAGE: 1 });
  assert.deepEqual(s.failures.map((f) => [f.input.name, f.code]), [['b.tif', 'CORRUPT_IMAGE']]);
  assert.deepEqual(s.throughput, { windowMs: 60_000, images: 1, megapixels: 0.5, imagesPerMinute: 1, megapixelsPerMinute: 0.5 });
  assert.deepEqual(s.latencyMs, { p50: 900, p95: 900, samples: 1 });
  assert.equal(s.model?.engine, null);
  observe(state, { kind: 'engine', md5: MODEL.md5, engine: 'onnxruntime-node' });
  assert.equal(snapshot(state, 0).model?.engine, 'onnxruntime-node');
  // A minute later the throughput is back to zero; nothing else ages.
  assert.equal(snapshot(state, Date.parse('2026-01-01T00:01:31Z')).throughput.images, 0);
});

test('status model: masks newest first and bounded, scene members settled by their scene, no latency without latencyMs', () => {
  const state = emptyStatus({ masks: 2 });
  observe(state, { kind: 'upload', key: key('scene/B4.TIF') });
  for (const [i, name] of ['x.tif', 'y.tif', 'z.tif'].entries()) observe(state, { kind: 'result', event: event(name, { finishedAt: `2026-01-01T00:00:0${i}.000Z` }) });
  const scene = {
    kind: 'landsat-mtl' as const,
    id: 'LC08',
    descriptor: { bucket: 'in', name: 'scene/MTL.txt', generation: '1' },
    inputs: [{ band: 'red', bucket: 'in', name: 'scene/B4.TIF', generation: '1' }],
  };
  observe(state, { kind: 'result', event: event('scene/MTL.txt', { scene, finishedAt: '2026-01-01T00:00:05.000Z' }) });
  const s = snapshot(state, Date.parse('2026-01-01T00:00:10Z'));
  assert.deepEqual(s.masks.map((m) => m.input.name), ['scene/MTL.txt', 'z.tif']);
  assert.equal(s.masks[0]!.scene, true);
  assert.deepEqual(s.counts, { seen: 5, buffered: 0, inFlight: 0, succeeded: 4, failed: 0, duplicate: 0, superseded: 0 });
  assert.equal(s.latencyMs, null);
  assert.deepEqual(s.workerMs, { p50: 100, p95: 100, samples: 4 });
  assert.deepEqual(percentiles([5, 1, 4, 2, 3, 6, 7, 8, 9, 10]), { p50: 5, p95: 10, samples: 10 });
  assert.equal(percentiles([]), null);
});

test('the status page shows counts, quick-looks and a failure with its code, live', { skip: EMULATOR_MISSING || BROWSER_MISSING, timeout: 300_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-status-test-'));
  process.env.LOG_LEVEL ??= 'warn';
  const printed: string[] = [];
  const stack = await runLocal({ rootDir, flushEverySeconds: 1, logger: createLogger({ level: 'warn' }), print: (line) => printed.push(line) });
  let browser: Browser | undefined;
  try {
    const url = /Status page[^\n]*?(http:\/\/127\.0\.0\.1:\d+\/)/.exec(printed.join('\n'))?.[1];
    assert.equal(url, stack.statusUrl, 'runLocal prints the status page URL');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], timeout: 30_000 });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(30_000);
    await page.goto(url);
    await page.waitForSelector('#live.on');

    // Nothing happened yet: zeros, no latency, no masks, no failures, no model.
    for (const name of ['seen', 'buffered', 'inFlight', 'succeeded', 'failed', 'duplicate']) {
      assert.equal(await page.textContent(`#count-${name}`), '0', name);
    }
    assert.equal(await page.textContent('#latency'), '–');
    assert.equal(await page.locator('#masks img').count(), 0);
    assert.equal(await page.isHidden('#masks-section'), true);
    assert.equal(await page.isHidden('#failures-section'), true);
    assert.equal(await page.isHidden('#model'), true);

    const samples = (await readSampleManifest()).slice(0, 2);
    const inputDir = stack.bucketDir(stack.config.buckets.input);
    const names = samples.map((s, i) => `sample-${i + 1}.tif`);
    await Promise.all(samples.map((s, i) => copyFile(s.imagePath, join(inputDir, names[i]!))));
    // A TIFF signature and then nothing a TIFF reader can follow.
    await writeFile(join(inputDir, 'broken.tif'), Buffer.concat([Buffer.from('II*\0', 'latin1'), Buffer.from('not really a tiff, just junk after the magic number')]));

    const count = (name: string) => `document.getElementById('count-${name}').textContent`;
    await page.waitForFunction(`${count('succeeded')} === '2' && ${count('failed')} === '1'`, null, { timeout: 180_000 });
    for (const [name, want] of [['seen', '3'], ['buffered', '0'], ['inFlight', '0'], ['duplicate', '0']] as const) {
      assert.equal(await page.textContent(`#count-${name}`), want, name);
    }
    assert.deepEqual(await page.locator('#failed-codes li').allTextContents(), ['CORRUPT_IMAGE 1']);
    const failure = page.locator('#failures tr.failure');
    assert.equal(await failure.count(), 1);
    assert.equal(await failure.locator('.code').textContent(), 'CORRUPT_IMAGE');
    assert.equal(await failure.locator('.input').textContent(), 'broken.tif');
    assert.match((await failure.locator('.message').textContent()) ?? '', /broken\.tif/);

    // Both quick-looks rendered and actually loaded by the browser, newest first.
    await page.waitForFunction(`[...document.querySelectorAll('#masks img')].filter((i) => i.complete && i.naturalWidth > 0).length === 2`, null, { timeout: 60_000 });
    const shown = await page.locator('#masks figure .name').allTextContents();
    assert.deepEqual([...shown].sort(), [...names].sort());
    const view = (await (await fetch(new URL('status.json', url))).json()) as StatusView;
    assert.deepEqual(shown, view.masks.map((m) => m.input.name));
    assert.ok(view.masks[0]!.finishedAt >= view.masks[1]!.finishedAt, 'newest first');
    const look = await fetch(new URL(view.masks[0]!.quickLook!, url));
    assert.equal(look.headers.get('content-type'), 'image/png');

    assert.match((await page.textContent('#throughput')) ?? '', /^2 images\/min · [\d.]+ Mpx\/min$/);
    assert.match((await page.textContent('#worker-time')) ?? '', /^p50 .+ · p95 .+\(2\)$/);
    // Latency is the events' own latencyMs: shown exactly when they carry it.
    if (view.latencyMs) assert.match((await page.textContent('#latency')) ?? '', /^p50 .+ · p95 .+\(2\)$/);
    else assert.equal(await page.textContent('#latency'), '–');
    assert.ok(view.model, 'the model is known from the events');
    await page.waitForFunction(`document.getElementById('model').textContent.includes('engine')`, null, { timeout: 30_000 });
    const modelLine = (await page.textContent('#model')) ?? '';
    assert.ok(modelLine.includes(view.model.name) && modelLine.includes(view.model.md5.slice(0, 12)), modelLine);
    assert.ok(view.model.engine && modelLine.includes(view.model.engine), modelLine);

    await mkdir(join(projectRoot(), 'out'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  } finally {
    await browser?.close();
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  }
});
