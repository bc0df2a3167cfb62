// flush end to end over HTTP: GCS-shaped notifications in the real emulator -> the registered
// function in a real functions-framework server -> batches on the work topic, sources acked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import pLimit from 'p-limit';
import { createSubscriberClient } from '../../shared/cloud/pubsub.js';
import { objectKey, parseBatchMessage, type BatchMessage } from '../../shared/contracts/index.js';
import type { FlushSummary } from '../../shared/flush/run-flush.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { useFlushServer } from '../support/flush-server.js';

const PROJECT = 'cloudseg-flush-http';
const UPLOADS = 'flush-http-uploads';
const BUFFER = 'flush-http-buffer';
const WORK = 'flush-http-work';
const TOKEN = 'flush-http-test-token-0123456789';
const MAX_ITEMS = 8;
const MAX_BYTES = 20_000_000;
// The function reads these on its first request (after the emulator hooks ran).
Object.assign(process.env, {
  GOOGLE_CLOUD_PROJECT: PROJECT,
  CLOUDSEG_UPLOADS_TOPIC: UPLOADS,
  CLOUDSEG_UPLOADS_SUBSCRIPTION: BUFFER,
  CLOUDSEG_WORK_TOPIC: WORK,
  CLOUDSEG_INPUT_BUCKET: 'flush-http-input',
  CLOUDSEG_FLUSH_TOKEN: TOKEN,
  CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: String(MAX_ITEMS),
  CLOUDSEG_FLUSH_MAX_BATCH_BYTES: String(MAX_BYTES),
  // This test counts every message once: no backpressure cap re-queues any (flush-publish-failure tests that).
  CLOUDSEG_FLUSH_MAX_BATCHES: '1000',
  CLOUDSEG_FLUSH_PULL_SIZE: '50',
  CLOUDSEG_FLUSH_EMPTY_PULLS: '2',
  LOG_LEVEL: 'silent',
});

const flushServer = useFlushServer(PROJECT);
let pubsub: PubSub;
const start = async (): Promise<string> => {
  const url = await flushServer.start();
  pubsub = flushServer.pubsub();
  return url;
};

const post = async (headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  fetch(await start(), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });

interface Upload { name: string; generation: string; size: number; contentType?: string }

/** Publishes a notification the way GCS does (JSON_API_V1: attributes + object resource). */
function publishNotification(topic: Topic, bucket: string, o: Upload, eventType = 'OBJECT_FINALIZE') {
  const resource = {
    kind: 'storage#object', id: `${bucket}/${o.name}/${o.generation}`, bucket, name: o.name, generation: o.generation,
    metageneration: '1', size: String(o.size), timeCreated: '2024-05-01T10:00:00.000Z',
    ...(o.contentType ? { contentType: o.contentType } : {}),
  };
  return topic.publishMessage({
    data: Buffer.from(JSON.stringify(resource)),
    attributes: {
      eventType, bucketId: bucket, objectId: o.name, objectGeneration: o.generation, payloadFormat: 'JSON_API_V1',
      notificationConfig: `projects/_/buckets/${bucket}/notificationConfigs/1`, eventTime: '2024-05-01T10:00:00.000Z',
    },
  });
}

/** Pulls a subscription until it stays empty; acks what it got. */
async function drain(subscription: string): Promise<{ data: Buffer; attributes: Record<string, string> }[]> {
  const client = createSubscriberClient(pubsub);
  const out: { data: Buffer; attributes: Record<string, string> }[] = [];
  try {
    for (let empty = 0; empty < 2; ) {
      const [resp] = await client.pull({ subscription, maxMessages: 500 }, { timeout: 1500 }).catch((err: { code?: number }) => {
        if (err.code === 4) return [{ receivedMessages: [] }] as const;
        throw err;
      });
      const got = resp.receivedMessages ?? [];
      if (got.length === 0) { empty += 1; continue; }
      empty = 0;
      for (const m of got) out.push({ data: Buffer.from(m.message!.data as Uint8Array), attributes: { ...m.message!.attributes } });
      await client.acknowledge({ subscription, ackIds: got.map((m) => m.ackId!) });
    }
  } finally {
    await client.close();
  }
  return out;
}

test('405 on GET, 401 without the token', { skip: EMULATOR_MISSING }, async () => {
  const get = await fetch(await start(), { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(get.status, 405);
  assert.equal(get.headers.get('allow'), 'POST');
  assert.equal((await post({})).status, 401);
  assert.equal((await post({ authorization: 'Bearer not-the-right-token-at-all' })).status, 401);
});

test('500 notifications: every unique supported upload in exactly one batch, all sources acked', { skip: EMULATOR_MISSING }, async (t) => {
  await start();
  const [uploads] = await pubsub.createTopic(UPLOADS);
  await uploads.createSubscription(BUFFER, { ackDeadlineSeconds: 10 });
  const [work] = await pubsub.createTopic(WORK);
  const [workSub] = await work.createSubscription(`${WORK}-check`);

  // 380 unique supported objects; 40 of them sent again (1-2 more times); 30 non-finalize,
  // 20 non-images (flush forwards them; the worker reports them), 10 malformed: 500 messages in all, shuffled so duplicates cross pulls.
  const bucket = 'flush-http-input';
  const unique: Upload[] = Array.from({ length: 380 }, (_, i) => ({
    name: `scenes/${String(i).padStart(4, '0')}${i % 3 === 0 ? '.png' : '.tif'}`,
    generation: String(1714557600000000 + i),
    size: i % 97 === 0 ? 30_000_000 : 100_000 + ((i * 7919) % 5_000_000), // a few larger than MAX_BYTES
    ...(i % 5 === 0 ? {} : { contentType: i % 3 === 0 ? 'image/png' : 'image/tiff' }),
  }));
  type Send = () => Promise<string>;
  const sends: Send[] = unique.map((o) => () => publishNotification(uploads, bucket, o));
  for (let i = 0; i < 40; i++) {
    const o = unique[i * 9]!;
    for (let k = 0; k < 1 + (i % 2); k++) sends.push(() => publishNotification(uploads, bucket, o));
  }
  const duplicatesSent = sends.length - unique.length; // 60
  for (let i = 0; i < 30; i++) {
    const o = unique[i]!;
    sends.push(() => publishNotification(uploads, bucket, o, i % 2 ? 'OBJECT_DELETE' : 'OBJECT_METADATA_UPDATE'));
  }
  for (let i = 0; i < 20; i++) {
    const o = { name: i % 2 ? `notes/${i}.txt` : `photos/${i}.tif`, generation: String(1714557700000000 + i), size: 5000, contentType: i % 2 ? 'text/plain' : 'image/jpeg' };
    sends.push(() => publishNotification(uploads, bucket, o));
  }
  const malformed: Send[] = [
    () => uploads.publishMessage({ data: Buffer.from('not json'), attributes: { eventType: 'OBJECT_FINALIZE', bucketId: bucket, objectId: 'a.tif', objectGeneration: '1', payloadFormat: 'JSON_API_V1' } }),
    () => uploads.publishMessage({ data: Buffer.from('{}'), attributes: { hello: 'world' } }),
    () => uploads.publishMessage({ data: Buffer.from(JSON.stringify({ bucket, name: 'b.tif', generation: '2', size: '1' })), attributes: { eventType: 'OBJECT_FINALIZE', bucketId: bucket, objectId: 'other.tif', objectGeneration: '2', payloadFormat: 'JSON_API_V1' } }),
  ];
  for (let i = 0; i < 10; i++) sends.push(malformed[i % malformed.length]!);
  assert.equal(sends.length, 500);
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = sends.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [sends[i], sends[j]] = [sends[j]!, sends[i]!];
  }
  const limit = pLimit(50);
  await Promise.all(sends.map((send) => limit(send)));

  // Flush until a call finds nothing.
  const summaries: FlushSummary[] = [];
  for (;;) {
    const res = await post();
    assert.equal(res.status, 200);
    const summary = (await res.json()) as FlushSummary;
    summaries.push(summary);
    if (summary.pulled === 0) break;
    assert.ok(summaries.length < 10, 'flush does not drain the subscription');
  }
  t.diagnostic(`flushes: ${summaries.map((x) => `${x.pulled} pulled/${x.batches} batches in ${x.durationMs} ms`).join(', ')}`);
  const total = (k: 'pulled' | 'accepted' | 'batches' | 'published' | 'duplicates' | 'rejected' | 'acked' | 'nacked' | 'failedBatches') =>
    summaries.reduce((s, x) => s + x[k], 0);
  assert.equal(total('pulled'), 500);
  assert.equal(total('accepted'), 400, 'the 380 images and the 20 other uploads: the worker reports those');
  assert.equal(total('duplicates'), duplicatesSent);
  assert.equal(total('rejected'), 10);
  assert.equal(summaries.reduce((s, x) => s + x.skipped['not-finalize'], 0), 30);
  assert.equal(summaries.reduce((s, x) => s + x.skipped['folder-placeholder'], 0), 0);
  assert.equal(total('acked'), 500);
  assert.equal(total('nacked'), 0);
  assert.equal(total('failedBatches'), 0);
  assert.equal(total('published'), total('batches'));
  for (const s of summaries) assert.ok(s.stoppedBecause === 'empty', `stopped because ${s.stoppedBecause}`);

  // The work topic: each unique upload exactly once, batches within limits, attributes set.
  const published = await drain(workSub.name);
  assert.equal(published.length, total('batches'));
  const seen = new Map<string, number>();
  for (const { data, attributes } of published) {
    const batch: BatchMessage = parseBatchMessage(data);
    assert.deepEqual(attributes, { schema: 'cloudseg.batch.v1', batchId: batch.batchId, itemCount: String(batch.items.length) });
    assert.ok(batch.items.length <= MAX_ITEMS);
    const bytes = batch.items.reduce((s, i) => s + i.size, 0);
    assert.ok(bytes <= MAX_BYTES || batch.items.length === 1, `batch of ${bytes} bytes`);
    for (const item of batch.items) seen.set(objectKey(item), (seen.get(objectKey(item)) ?? 0) + 1);
  }
  assert.equal(seen.size, 400);
  for (const o of unique) assert.equal(seen.get(objectKey({ bucket, ...o })), 1, o.name);
  const oversize = published.map((p) => parseBatchMessage(p.data)).filter((b) => b.items.some((i) => i.size > MAX_BYTES));
  assert.ok(oversize.length > 0 && oversize.every((b) => b.items.length === 1));

  // After the buffer's ack deadline (10 s) nothing comes back: everything was acked.
  await new Promise((r) => setTimeout(r, 11_000));
  assert.equal((await drain(`projects/${PROJECT}/subscriptions/${BUFFER}`)).length, 0);
  const res = await post();
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as FlushSummary).pulled, 0);
});
