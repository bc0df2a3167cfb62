// The worker function served by the real functions-framework, with the real storage client on
// the local GCS server and the real Pub/Sub client on the emulator.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import sharp from 'sharp';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { readSampleManifest, type Sample } from '../../infra/local/samples.js';
import { createPubSub, subscriptionPath } from '../../shared/cloud/pubsub.js';
import { createStorage } from '../../shared/cloud/storage.js';
import type { BatchItem } from '../../shared/contracts/batch.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { encodeRasterGeoTiff } from '../../shared/imaging/stack.js';
import { segmentImage } from '../../shared/worker/segment-image.js';
import { EMULATOR_MISSING, useEmulator } from '../support/emulator.js';
import { pullResults } from '../support/results.js';
import { batchOf, deliverBatch, listenOnLoopback } from '../support/worker-server.js';

const PROJECT = 'cloudseg-worker-test';
const INPUT = 'wt-input';
const OUTPUT = 'wt-output';
const WORK = 'wt-work';
const RESULTS = 'wt-results';
const RESULTS_SUB = 'wt-results-sub';

describe('worker', { skip: EMULATOR_MISSING }, () => {
  useEmulator();
  let gcs: GcsServer;
  let storage: Storage;
  let pubsub: PubSub;
  let workerUrl: string;
  let root: string;
  let samples: Sample[];
  let closeWorker: () => Promise<void>;

  before(async () => {
    Object.assign(process.env, {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      CLOUDSEG_INPUT_BUCKET: INPUT,
      CLOUDSEG_OUTPUT_BUCKET: OUTPUT,
      CLOUDSEG_WORK_TOPIC: WORK,
      CLOUDSEG_RESULTS_TOPIC: RESULTS,
      LOG_LEVEL: 'warn',
    });
    root = await mkdtemp(join(tmpdir(), 'cloudseg-worker-test-'));
    pubsub = createPubSub(PROJECT);
    gcs = await startGcsServer({ rootDir: root, projectId: PROJECT, pubsub });
    Object.assign(process.env, gcs.env);
    storage = createStorage(PROJECT);
    await gcs.createBucket(INPUT);
    await gcs.createBucket(OUTPUT);
    await pubsub.createTopic(RESULTS);
    await pubsub.topic(RESULTS).createSubscription(RESULTS_SUB);
    const { workerInstance } = await import('../../functions/worker.js');
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const server = getTestServer('worker');
    workerUrl = await listenOnLoopback(server);
    closeWorker = async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await workerInstance().runtime.close();
    };
    samples = await readSampleManifest();
  });

  after(async () => {
    await closeWorker?.();
    await gcs?.stop();
    await pubsub?.close();
    await rm(root, { recursive: true, force: true });
  });

  const results = (n: number) => pullResults(pubsub, subscriptionPath(PROJECT, RESULTS_SUB), n, 300_000);

  async function upload(name: string, bytes: Buffer | Uint8Array, contentType = 'image/tiff'): Promise<BatchItem> {
    const file = storage.bucket(INPUT).file(name);
    await file.save(Buffer.from(bytes), { resumable: false, contentType });
    return { bucket: INPUT, name, generation: String(file.metadata.generation), size: bytes.length, contentType };
  }

  async function maskPixels(name: string): Promise<Buffer> {
    const [png] = await storage.bucket(OUTPUT).file(name).download();
    return sharp(png).greyscale().raw().toBuffer();
  }

  test('real scenes come back as masks equal to the model run directly, with result events', async () => {
    const picked = samples.slice(0, 2);
    const items: BatchItem[] = [];
    for (const s of picked) items.push(await upload(`scenes/${s.id}.tif`, await readFile(s.imagePath)));
    const res = await deliverBatch(workerUrl, PROJECT, WORK, batchOf(items), 'eventarc');
    assert.ok(res.ok, `worker answered ${res.status}`);
    const events = await results(items.length);
    const { workerInstance } = await import('../../functions/worker.js');
    const model = await workerInstance().runtime.model();
    for (const [i, s] of picked.entries()) {
      const event = events.find((e) => e.input.name === items[i]!.name)!;
      assert.equal(event.status, 'succeeded', JSON.stringify(event.error));
      assert.equal(event.input.generation, items[i]!.generation);
      assert.equal(event.model.md5, model.identity.md5);
      assert.ok(event.output && event.output.name === `${INPUT}/scenes/${s.id}.tif.mask.png`);
      assert.equal(Boolean(event.output.georeferenced), s.georeferenced, 'a georeferenced input (only) also gets a GeoTIFF mask');
      for (const stage of ['download', 'decode', 'infer', 'encode', 'upload', 'total'] as const) {
        assert.ok((event.timingsMs[stage] ?? -1) >= 0, `timing ${stage}`);
      }
      const direct = await segmentImage(model, { bytes: await readFile(s.imagePath), name: s.imagePath }, { maxPixels: 1e8 });
      const pipeline = await maskPixels(event.output.name);
      assert.equal(pipeline.length, direct.width * direct.height);
      assert.ok(Buffer.from(direct.mask).equals(pipeline), 'pipeline mask equals the model run directly');
      assert.ok(Math.abs(event.cloudFraction! - direct.cloudFraction) < 1e-6);
      const [meta] = await storage.bucket(OUTPUT).file(event.output.name).getMetadata();
      assert.equal(meta.metadata?.['cloudseg-source-generation'], items[i]!.generation);
      assert.equal(meta.metadata?.['cloudseg-model-md5'], model.identity.md5);
      if (event.output.georeferenced) {
        const [tifBytes] = await storage.bucket(OUTPUT).file(event.output.georeferenced.name).download();
        const tif = await decodeImage(new Uint8Array(tifBytes), { maxPixels: 1e8 });
        assert.deepEqual(tif.georef, direct.georef, 'the GeoTIFF mask keeps the input georeference');
        assert.ok(Buffer.from(tif.data.buffer, tif.data.byteOffset, tif.data.byteLength).equals(pipeline));
      }
    }
  });

  test('a redelivered batch writes nothing twice, also when two deliveries run at once', async () => {
    const s = samples[0]!;
    const item = await upload(`redeliver/${s.id}.tif`, await readFile(s.imagePath));
    const batch = batchOf([item]);
    // Two deliveries at once (a push redelivered while the first still runs), then one more later.
    const [a, b] = await Promise.all([
      deliverBatch(workerUrl, PROJECT, WORK, batch, 'eventarc'),
      deliverBatch(workerUrl, PROJECT, WORK, batch, 'emulator-push'),
    ]);
    assert.ok(a.ok && b.ok);
    const first = await results(2);
    assert.deepEqual(first.map((e) => e.status).sort(), ['duplicate', 'succeeded']);
    const [meta] = await storage.bucket(OUTPUT).file(`${INPUT}/redeliver/${s.id}.tif.mask.png`).getMetadata();
    assert.ok((await deliverBatch(workerUrl, PROJECT, WORK, batch, 'emulator-push')).ok);
    const [again] = await results(1);
    assert.equal(again!.status, 'duplicate');
    assert.equal(again!.output?.generation, String(meta.generation));
    const [metaAfter] = await storage.bucket(OUTPUT).file(`${INPUT}/redeliver/${s.id}.tif.mask.png`).getMetadata();
    assert.equal(String(metaAfter.generation), String(meta.generation), 'mask was not rewritten');
  });

  test('bad images give failed events with clear codes and the batch goes on', async () => {
    const good = await readFile(samples[0]!.imagePath);
    const raster = await decodeImage(new Uint8Array(good), { maxPixels: 1e8 });
    const threeBands = new Uint16Array(raster.width * raster.height * 3);
    const wrongBands = await encodeRasterGeoTiff({ ...raster, bands: 3, data: threeBands, dtype: 'uint16' });
    const allNaN = await encodeRasterGeoTiff({ ...raster, dtype: 'float32', data: new Float32Array(raster.width * raster.height * 4).fill(Number.NaN), noData: null });
    const items = [
      await upload('bad/truncated.tif', good.subarray(0, Math.floor(good.length / 3))),
      await upload('bad/empty.tif', Buffer.alloc(0)),
      await upload('bad/three-bands.tif', wrongBands),
      await upload('bad/not-an-image.png', Buffer.from('hello, not a PNG'), 'image/png'),
      await upload('bad/all-nan.tif', allNaN),
      await upload('bad/notes.txt', Buffer.from('just some notes, not an image'), 'text/plain'),
      await upload('bad/typed-as-text.tif', good, 'text/plain'),
      await upload('bad/fine.tif', good),
    ];
    const res = await deliverBatch(workerUrl, PROJECT, WORK, batchOf(items), 'eventarc');
    assert.ok(res.ok, 'permanent failures are acked, not retried');
    const events = await results(items.length);
    const code = (name: string) => events.find((e) => e.input.name === name)?.error?.code;
    assert.equal(code('bad/truncated.tif'), 'CORRUPT_IMAGE');
    assert.equal(code('bad/empty.tif'), 'EMPTY_OBJECT');
    assert.equal(code('bad/three-bands.tif'), 'BAND_MISMATCH');
    assert.equal(code('bad/not-an-image.png'), 'UNSUPPORTED_FORMAT');
    assert.equal(code('bad/all-nan.tif'), 'NO_VALID_PIXELS', 'no valid pixel is a failure, not a confident all-clear mask');
    assert.equal(code('bad/notes.txt'), 'UNSUPPORTED_FORMAT', 'an upload that is no image gets a failed event, not silence');
    assert.equal(events.find((e) => e.input.name === 'bad/typed-as-text.tif')?.status, 'succeeded', 'the bytes decide, not the declared type');
    assert.equal(events.find((e) => e.input.name === 'bad/fine.tif')?.status, 'succeeded');
    for (const e of events.filter((e) => e.status === 'failed')) {
      assert.equal(e.output, null);
      assert.ok(e.error!.message.length > 10, e.error!.message);
    }
  });

  test('an overwritten input is reported superseded, not processed', async () => {
    const bytes = await readFile(samples[0]!.imagePath);
    const old = await upload('over/scene.tif', bytes);
    await upload('over/scene.tif', bytes); // a newer generation replaces it
    const res = await deliverBatch(workerUrl, PROJECT, WORK, batchOf([old]), 'emulator-push');
    assert.ok(res.ok);
    const [event] = await results(1);
    assert.equal(event!.status, 'superseded');
    assert.equal(event!.output, null);
  });

  test('a transient failure fails the call; the redelivery skips work already done', async () => {
    const item = await upload('transient/scene.tif', await readFile(samples[0]!.imagePath));
    await pubsub.topic(RESULTS).delete(); // publishing the result event now fails
    const res = await deliverBatch(workerUrl, PROJECT, WORK, batchOf([item]), 'eventarc');
    assert.ok(res.status >= 500, `expected a failure status, got ${res.status}`);
    await pubsub.createTopic(RESULTS);
    await pubsub.subscription(RESULTS_SUB).delete().catch(() => undefined);
    await pubsub.topic(RESULTS).createSubscription(RESULTS_SUB);
    const [meta] = await storage.bucket(OUTPUT).file(`${INPUT}/transient/scene.tif.mask.png`).getMetadata();
    assert.equal(meta.metadata?.['cloudseg-event-published'], undefined, 'no event went out for this mask');
    const retry = await deliverBatch(workerUrl, PROJECT, WORK, batchOf([item]), 'eventarc');
    assert.ok(retry.ok);
    const [event] = await results(1);
    // The first `succeeded` never went out: the redelivery owes it (and reuses the mask).
    assert.equal(event!.status, 'succeeded', 'a subscriber filtering on succeeded hears of the image');
    assert.equal(event!.output?.generation, String(meta.generation), 'the mask written before the failure is reused');
    const [marked] = await storage.bucket(OUTPUT).file(`${INPUT}/transient/scene.tif.mask.png`).getMetadata();
    assert.equal(marked.metadata?.['cloudseg-event-published'], 'true');
    const again = await deliverBatch(workerUrl, PROJECT, WORK, batchOf([item]), 'eventarc');
    assert.ok(again.ok);
    const [third] = await results(1);
    assert.equal(third!.status, 'duplicate', 'once announced, a redelivery is a duplicate');
  });

  test('an input deleted before processing, with no newer upload: failed INPUT_NOT_FOUND, not superseded', async () => {
    const bytes = await readFile(samples[0]!.imagePath);
    const gone = await upload('gone/scene.tif', bytes);
    const fine = await upload('gone/fine.tif', bytes);
    await storage.bucket(INPUT).file(gone.name).delete();
    const res = await deliverBatch(workerUrl, PROJECT, WORK, batchOf([gone, fine]), 'eventarc');
    assert.ok(res.ok, 'a missing input is permanent: acked');
    const events = await results(2);
    const missing = events.find((e) => e.input.name === gone.name)!;
    assert.equal(missing.status, 'failed');
    assert.equal(missing.error?.code, 'INPUT_NOT_FOUND');
    assert.equal(events.find((e) => e.input.name === fine.name)?.status, 'succeeded');
  });

  test('a permanent output error fails the item (OUTPUT_UNWRITABLE) instead of redelivering the batch', async () => {
    const { processBatch } = await import('../../shared/worker/process-batch.js');
    const { createResultPublisher } = await import('../../shared/cloud/result-publisher.js');
    const { workerInstance } = await import('../../functions/worker.js');
    const { createLogger } = await import('../../shared/logging.js');
    const item = await upload('nobucket/scene.tif', await readFile(samples[0]!.imagePath));
    const model = await workerInstance().runtime.model();
    const outcome = await processBatch(
      {
        storage,
        publishResult: createResultPublisher(pubsub, RESULTS),
        model,
        logger: createLogger({ level: 'silent' }),
        // A bucket that does not exist: GCS answers 404 to the write, which no retry can fix.
        settings: { outputBucket: 'wt-no-such-bucket', outputPrefix: '', memoryBudgetBytes: 2 ** 31, batchTiles: 1, concurrency: 1, deleteInput: false, writeGeoTiff: true },
      },
      batchOf([item]),
    );
    assert.equal(outcome.events[0]?.status, 'failed');
    assert.equal(outcome.events[0]?.error?.code, 'OUTPUT_UNWRITABLE');
    const [event] = await results(1);
    assert.equal(event!.error?.code, 'OUTPUT_UNWRITABLE');
  });

  test('an input the store refuses for good (403 on its read) is failed INPUT_UNREADABLE, not redelivered; a 503 is retried', async () => {
    const { processBatch } = await import('../../shared/worker/process-batch.js');
    const { createResultPublisher } = await import('../../shared/cloud/result-publisher.js');
    const { objectDownloader } = await import('../../shared/cloud/object-download.js');
    const { workerInstance } = await import('../../functions/worker.js');
    const { createLogger } = await import('../../shared/logging.js');
    const { Storage } = await import('@google-cloud/storage');
    const model = await workerInstance().runtime.model();
    // The local server's fault injection (storage testbench's shape) on the worker's media reads.
    const faulty = async (instructions: string[]) => {
      const res = await fetch(`${gcs.url}/retry_test`, { method: 'POST', body: JSON.stringify({ instructions: { 'storage.objects.get': instructions } }) });
      const { id } = (await res.json()) as { id: string };
      const client = new Storage({ projectId: PROJECT, apiEndpoint: gcs.url, retryOptions: { autoRetry: false } });
      client.interceptors.push({
        request: (options) => {
          options.headers = { ...(options.headers as Record<string, string> | undefined), 'x-retry-test-id': id };
          return options as ReturnType<Storage['interceptors'][number]['request']>;
        },
      });
      return objectDownloader(client, { baseDelayMs: 5 });
    };
    const run = async (name: string, instructions: string[]) => {
      const item = await upload(name, await readFile(samples[0]!.imagePath));
      const outcome = await processBatch(
        {
          storage,
          downloader: await faulty(instructions),
          publishResult: createResultPublisher(pubsub, RESULTS),
          model,
          logger: createLogger({ level: 'silent' }),
          settings: { outputBucket: OUTPUT, outputPrefix: '', memoryBudgetBytes: 2 ** 31, batchTiles: 1, concurrency: 1, deleteInput: false, writeGeoTiff: true },
        },
        batchOf([item]),
      );
      await results(1);
      return outcome.events[0]!;
    };
    const refused = await run('refused/scene.tif', ['return-403']);
    assert.equal(refused.status, 'failed');
    assert.equal(refused.error?.code, 'INPUT_UNREADABLE');
    const blip = await run('blip/scene.tif', ['return-503', 'return-429']);
    assert.equal(blip.status, 'succeeded', 'transient read errors are retried by the downloader');
  });

  // Uploads under `prefix` the way a user does and plans them as flush does: from the OBJECT_FINALIZE
  // notifications the local GCS server publishes (JSON_API_V1), through flush's classifyMessages.
  async function uploadThroughFlush(prefix: string, files: { name: string; bytes: Buffer; contentType: string }[]): Promise<BatchItem[]> {
    const { classifyMessages } = await import('../../shared/flush/plan.js');
    const { createSubscriberClient } = await import('../../shared/cloud/pubsub.js');
    const topicName = `wt-uploads-${prefix}`;
    const [topic] = await pubsub.createTopic(topicName);
    const [buffer] = await topic.createSubscription(`${topicName}-buffer`);
    await storage.bucket(INPUT).createNotification(topic.name, { payloadFormat: 'JSON_API_V1', eventTypes: ['OBJECT_FINALIZE'], objectNamePrefix: `${prefix}/` });
    for (const f of files) await storage.bucket(INPUT).file(`${prefix}/${f.name}`).save(f.bytes, { resumable: false, contentType: f.contentType });
    const subscriber = createSubscriberClient(pubsub);
    const pulled: { ackId: string; messageId?: string; data: Uint8Array; attributes: Record<string, string> }[] = [];
    try {
      for (const deadline = Date.now() + 10_000; pulled.length < files.length && Date.now() < deadline; ) {
        const [resp] = await subscriber.pull({ subscription: buffer.name, maxMessages: 50, returnImmediately: true });
        for (const m of resp.receivedMessages ?? []) pulled.push({ ackId: m.ackId!, messageId: m.message?.messageId ?? undefined, data: m.message!.data as Uint8Array, attributes: { ...m.message?.attributes } });
        if (resp.receivedMessages?.length) await subscriber.acknowledge({ subscription: buffer.name, ackIds: resp.receivedMessages.map((m) => m.ackId!) });
        else await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await subscriber.close();
    }
    const items = [...classifyMessages(pulled, new Set([INPUT])).accepted.values()].map((a) => a.item);
    assert.equal(items.length, files.length, 'one work item per upload');
    return items;
  }

  test('latencyMs: finalize -> result published, for an item that went through flush; null without a finalize time', async () => {
    const testStarted = Date.now();
    const bytes = await readFile(samples[0]!.imagePath);
    const [flushed] = await uploadThroughFlush('latency', [{ name: 'scene.tif', bytes, contentType: 'image/tiff' }]);
    assert.ok(flushed?.finalizedAt, 'flush took the finalize time from the notification');
    const [meta] = await storage.bucket(INPUT).file(flushed.name).getMetadata();
    assert.equal(flushed.finalizedAt, new Date(String(meta.timeCreated)).toISOString());
    // An item as batches carried it before finalizedAt existed.
    const old = await upload('latency/old-shape.tif', bytes);
    assert.ok(!('finalizedAt' in old));
    const res = await deliverBatch(workerUrl, PROJECT, WORK, batchOf([flushed, old]), 'eventarc');
    assert.ok(res.ok, `worker answered ${res.status}`);
    const events = await results(2);
    const elapsedMs = Date.now() - testStarted;
    const timed = events.find((e) => e.input.name === flushed.name)!;
    assert.equal(timed.status, 'succeeded', JSON.stringify(timed.error));
    assert.equal(typeof timed.latencyMs, 'number');
    assert.ok(timed.latencyMs! >= 0 && timed.latencyMs! <= elapsedMs, `latencyMs ${timed.latencyMs} within the test's own ${elapsedMs} ms`);
    assert.ok(timed.latencyMs! >= timed.timingsMs.total! - 1, 'end to end includes the worker\'s own time');
    const untimed = events.find((e) => e.input.name === old.name)!;
    assert.equal(untimed.status, 'succeeded');
    assert.equal(untimed.latencyMs, null, 'unknown, not invented');
  });

  test('one `result` log line per item, with the fields log-based metrics read; warn for failed', async () => {
    const { processBatch } = await import('../../shared/worker/process-batch.js');
    const { createResultPublisher } = await import('../../shared/cloud/result-publisher.js');
    const { workerInstance } = await import('../../functions/worker.js');
    const { createLogger } = await import('../../shared/logging.js');
    const model = await workerInstance().runtime.model();
    const testStarted = Date.now();
    const items = await uploadThroughFlush('logline', [
      { name: 'scene.tif', bytes: await readFile(samples[0]!.imagePath), contentType: 'image/tiff' },
      { name: 'notes.txt', bytes: Buffer.from('not an image at all'), contentType: 'text/plain' },
    ]);
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
    const outcome = await processBatch(
      {
        storage,
        publishResult: createResultPublisher(pubsub, RESULTS),
        model,
        logger,
        settings: { outputBucket: OUTPUT, outputPrefix: '', memoryBudgetBytes: 2 ** 31, batchTiles: 1, concurrency: 1, deleteInput: false, writeGeoTiff: true },
      },
      batchOf(items),
    );
    const elapsedMs = Date.now() - testStarted;
    await results(items.length);
    const raw = lines.filter((l) => (JSON.parse(l) as { message?: string }).message === 'result');
    // A duplicated key would leave Cloud Logging to pick one: `name` must stay the logger's.
    for (const l of raw) assert.equal(l.match(/"name":/g)?.length, 1, l);
    const logged = raw.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(logged.length, items.length, 'exactly one per item');
    for (const event of outcome.events) {
      const line = logged.find((l) => l.objectName === event.input.name)!;
      assert.ok(line, `a line for ${event.input.name}`);
      assert.deepEqual(
        { ...line, latencyMs: undefined, time: undefined, batchId: undefined, input: undefined },
        {
          severity: event.status === 'failed' ? 'WARNING' : 'INFO',
          level: event.status === 'failed' ? 'warn' : 'info',
          name: 'cloudseg',
          message: 'result',
          resultStatus: event.status,
          errorCode: event.error?.code ?? null,
          modelMd5: model.identity.md5,
          modelName: model.identity.name,
          engine: model.backend,
          pixels: event.width !== null && event.height !== null ? event.width * event.height : null,
          latencyMs: undefined,
          timingsMs: event.timingsMs,
          bucket: INPUT,
          objectName: event.input.name,
          generation: event.input.generation,
          time: undefined,
          batchId: undefined,
          input: undefined,
        },
      );
      assert.equal(line.latencyMs, event.latencyMs, 'the line and the event agree on latency');
      assert.ok(typeof line.latencyMs === 'number' && line.latencyMs >= 0 && line.latencyMs <= elapsedMs, `latencyMs ${String(line.latencyMs)}`);
    }
    const failed = logged.find((l) => l.objectName === 'logline/notes.txt')!;
    assert.equal(failed.resultStatus, 'failed');
    assert.equal(failed.errorCode, 'UNSUPPORTED_FORMAT');
    assert.equal(failed.pixels, null);
    const ok = logged.find((l) => l.objectName === 'logline/scene.tif')!;
    assert.equal(ok.resultStatus, 'succeeded');
    assert.ok(typeof ok.pixels === 'number' && ok.pixels > 0);
  });

  test('a malformed work message is dropped (acked), not retried forever', async () => {
    const res = await fetch(`${workerUrl}/projects/${PROJECT}/topics/${WORK}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ subscription: 's', message: { data: Buffer.from('{"not":"a batch"}').toString('base64'), messageId: '1', publishTime: new Date().toISOString() } }),
    });
    assert.ok(res.ok);
  });
});
