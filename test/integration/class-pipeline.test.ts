// A 3-class PyTorch model (the seed's Model(n_classes=3, in_channel=4), exported to ONNX) through
// the whole local pipeline: local GCS server with notifications, the Pub/Sub emulator, the
// registered flush and worker functions. Each sample comes back as a palette PNG of class values,
// a palette COG with the card's colours and class names, and an event listing the classes; a
// redelivery repeats the classes from the mask's metadata; an undecodable upload fails by its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode as decodePng } from 'fast-png';
import { fromArrayBuffer } from 'geotiff';
import { readSampleManifest } from '../../infra/local/samples.js';
import { startLocalStack } from '../../infra/local/stack.js';
import { subscriptionPath } from '../../shared/cloud/pubsub.js';
import { MASK_METADATA_KEYS } from '../../shared/contracts/mask-metadata.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { fixturesMissing } from '../support/fixtures.js';
import { onnxModelDir } from '../support/onnx-models.js';
import { pullResults } from '../support/results.js';

const RESULTS = 'class-pipeline-results';
const SKIP = EMULATOR_MISSING || fixturesMissing();
if (SKIP) console.warn(`!!! SKIPPING the class-model pipeline test: ${SKIP}`);

// The card's colours (test/support/onnx-models.ts): clear takes its kind's, cloud is white, shadow its kind's.
const COLOURS: Record<number, [number, number, number]> = { 0: [34, 139, 34], 1: [255, 255, 255], 2: [105, 105, 105] };

test('a 3-class ONNX model through flush, worker and emulator: palette PNG, palette COG, classes in the event', { skip: SKIP, timeout: 600_000 }, async (t) => {
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-class-pipeline-'));
  const modelDir = await onnxModelDir('seed-unet-3class');
  const stack = await startLocalStack({
    rootDir: join(rootDir, 'stack'),
    logger: createLogger({ level: 'warn' }),
    flushEveryMs: null,
    resultSubscriptions: [RESULTS],
    env: { LOG_LEVEL: 'warn', CLOUDSEG_MODEL_DIR: modelDir },
  }).catch(async (err: unknown) => {
    await rm(rootDir, { recursive: true, force: true });
    throw err;
  });
  t.after(async () => {
    await stack.stop();
    await Promise.all([rootDir, modelDir].map((d) => rm(d, { recursive: true, force: true })));
  });
  const { storage, config } = stack;
  const input = storage.bucket(config.buckets.input);
  const samples = await readSampleManifest();
  for (const s of samples) await input.file(`scenes/${s.id}.tif`).save(await readFile(s.imagePath), { resumable: false });
  await input.file('scenes/broken.tif').save(Buffer.from('II*\0 this is no TIFF at all'), { resumable: false });
  const uploads = samples.length + 1;

  let pulled = 0;
  for (let calls = 0; pulled < uploads; calls++) {
    assert.ok(calls < 20, `flush saw ${pulled} of ${uploads} uploads`);
    const summary = (await stack.triggerFlush()) as { pulled: number };
    pulled += summary.pulled;
    if (summary.pulled === 0) await new Promise((r) => setTimeout(r, 300));
  }
  const events = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), uploads, 300_000);
  const byName = new Map(events.map((e) => [e.input.name, e]));
  assert.equal(byName.size, uploads);

  const broken = byName.get('scenes/broken.tif')!;
  assert.equal(broken.status, 'failed');
  assert.equal(broken.error?.code, 'CORRUPT_IMAGE');

  const output = storage.bucket(config.buckets.output);
  let cogs = 0;
  for (const s of samples) {
    const event = byName.get(`scenes/${s.id}.tif`)!;
    assert.equal(event.status, 'succeeded', JSON.stringify(event.error));
    assert.equal(event.model.name, 'seed-unet-3class');
    assert.deepEqual(event.classes?.map((c) => [c.value, c.name, c.kind]), [
      [0, 'clear', 'clear'],
      [1, 'cloud', 'cloud'],
      [2, 'shadow', 'shadow'],
    ]);
    const fractions = event.classes!.map((c) => c.fraction);
    assert.ok(Math.abs(fractions.reduce((a, b) => a + b, 0) - 1) < 1e-9, 'the class fractions of the pixels with data sum to 1');
    assert.equal(event.cloudFraction, fractions[1], 'cloudFraction is the cloud kinds\' share');
    assert.equal(event.shadowFraction, fractions[2]);

    // The PNG: palette indices are the class values; the palette holds the card's colours.
    const [pngBytes] = await output.file(event.output!.name).download();
    const png = decodePng(pngBytes);
    assert.equal(png.channels, 1);
    assert.ok(png.palette, 'a palette PNG');
    for (const [value, rgb] of Object.entries(COLOURS)) assert.deepEqual(png.palette![Number(value)]!.slice(0, 3), rgb);
    const counts = new Map<number, number>();
    for (const v of png.data) counts.set(v, (counts.get(v) ?? 0) + 1);
    assert.ok([...counts.keys()].every((v) => v <= 2 || v === 255), `only class values and nodata: ${[...counts.keys()]}`);
    const valid = png.data.length - (counts.get(255) ?? 0);
    for (const c of event.classes!) assert.ok(Math.abs((counts.get(c.value) ?? 0) / valid - c.fraction) < 1e-9, `${c.name}: the event's fraction is the mask's`);

    // The mask's metadata lists the classes (what a redelivery repeats).
    const [metadata] = await output.file(event.output!.name).getMetadata();
    const custom = metadata.metadata as Record<string, string>;
    assert.deepEqual(JSON.parse(custom[MASK_METADATA_KEYS.classes]!), event.classes);

    // The COG (for the georeferenced samples): the same values, a colour table with the card's colours, nodata 255, the class names.
    if (!event.output!.georeferenced) continue;
    cogs++;
    const [tifBytes] = await output.file(event.output!.georeferenced.name).download();
    const tiff = await fromArrayBuffer(tifBytes.buffer.slice(tifBytes.byteOffset, tifBytes.byteOffset + tifBytes.byteLength) as ArrayBuffer);
    const image = await tiff.getImage();
    const fd = image.fileDirectory;
    assert.equal(fd.getValue('PhotometricInterpretation'), 3, 'palette photometric');
    const colorMap = Array.from((await fd.loadValue('ColorMap')) as ArrayLike<number>);
    for (const [value, rgb] of Object.entries(COLOURS)) assert.deepEqual([0, 1, 2].map((k) => colorMap[k * 256 + Number(value)]! >> 8), rgb);
    assert.equal(image.getGDALNoData(), 255);
    const [raster] = (await image.readRasters()) as unknown as Uint8Array[];
    assert.ok(Buffer.from(raster!).equals(Buffer.from(png.data)), 'the COG holds the PNG\'s class values');
    assert.match(String(await fd.loadValue('GDAL_METADATA')), /<Item name="CLASS_2">shadow<\/Item>/);
  }
  assert.ok(cogs >= 1, 'at least one sample is georeferenced and got its COG');

  // A redelivery of a done item is a duplicate that repeats the classes from the mask's metadata.
  const first = byName.get(`scenes/${samples[0]!.id}.tif`)!;
  const { batchOf, deliverBatch } = await import('../support/worker-server.js');
  const size = (await readFile(samples[0]!.imagePath)).length;
  const res = await deliverBatch(stack.urls.worker, config.projectId, config.topics.work, batchOf([{ ...first.input, size, contentType: 'image/tiff' }]), 'eventarc');
  assert.ok(res.ok, `worker answered ${res.status}`);
  const [again] = await pullResults(stack.pubsub, subscriptionPath(config.projectId, RESULTS), 1, 60_000);
  assert.equal(again!.status, 'duplicate');
  assert.deepEqual(again!.classes, first.classes);
  assert.equal(again!.shadowFraction, first.shadowFraction);
});
