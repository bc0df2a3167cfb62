// flush when publishing fails for real (the work topic is gone): 503, the messages are nacked and
// the next flush batches them; and the lease keeper holds messages through a slow publish.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { createSubscriberClient, subscriptionPath } from '../../shared/cloud/pubsub.js';
import { loadConfig } from '../../shared/config/index.js';
import { objectKey, parseBatchMessage } from '../../shared/contracts/index.js';
import { createBatchPublisher } from '../../shared/flush/publisher.js';
import { runFlush, type FlushSummary } from '../../shared/flush/run-flush.js';
import { createLogger } from '../../shared/logging.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { useFlushServer } from '../support/flush-server.js';

const PROJECT = 'cloudseg-flush-fail';
const UPLOADS = 'flush-fail-uploads';
const BUFFER = 'flush-fail-buffer';
const WORK = 'flush-fail-work';
Object.assign(process.env, {
  GOOGLE_CLOUD_PROJECT: PROJECT,
  CLOUDSEG_UPLOADS_TOPIC: UPLOADS,
  CLOUDSEG_UPLOADS_SUBSCRIPTION: BUFFER,
  CLOUDSEG_WORK_TOPIC: WORK,
  CLOUDSEG_INPUT_BUCKET: 'flush-fail-input',
  CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: '4',
  CLOUDSEG_FLUSH_MAX_MESSAGES: '60',
  CLOUDSEG_FLUSH_PULL_SIZE: '25',
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

function publishFinalize(topic: Topic, bucket: string, name: string, generation: string) {
  const resource = { kind: 'storage#object', bucket, name, generation, size: '2048', contentType: 'image/tiff' };
  return topic.publishMessage({
    data: Buffer.from(JSON.stringify(resource)),
    attributes: { eventType: 'OBJECT_FINALIZE', bucketId: bucket, objectId: name, objectGeneration: generation, payloadFormat: 'JSON_API_V1' },
  });
}

async function drainKeys(subscription: string): Promise<string[]> {
  const client = createSubscriberClient(pubsub);
  const keys: string[] = [];
  try {
    for (let empty = 0; empty < 2; ) {
      const [resp] = await client.pull({ subscription, maxMessages: 500 }, { timeout: 1500 }).catch((err: { code?: number }) => {
        if (err.code === 4) return [{ receivedMessages: [] }] as const;
        throw err;
      });
      const got = resp.receivedMessages ?? [];
      if (got.length === 0) { empty += 1; continue; }
      empty = 0;
      for (const m of got) keys.push(...parseBatchMessage(m.message!.data as Uint8Array).items.map(objectKey));
      await client.acknowledge({ subscription, ackIds: got.map((m) => m.ackId!) });
    }
  } finally {
    await client.close();
  }
  return keys;
}

test('a failed publish nacks its messages; the next flush batches them once', { skip: EMULATOR_MISSING }, async () => {
  const url = await start();
  const [uploads] = await pubsub.createTopic(UPLOADS);
  await uploads.createSubscription(BUFFER, { ackDeadlineSeconds: 10 });
  const [work] = await pubsub.createTopic(WORK);
  await work.delete(); // publishing to it now fails with NOT_FOUND

  const bucket = 'flush-fail-input';
  const expected = Array.from({ length: 100 }, (_, i) => objectKey({ bucket, name: `s/${i}.tif`, generation: String(1000 + i) }));
  await Promise.all(Array.from({ length: 100 }, (_, i) => publishFinalize(uploads, bucket, `s/${i}.tif`, String(1000 + i))));

  const failed = await fetch(url, { method: 'POST' });
  assert.equal(failed.status, 503);
  const s1 = (await failed.json()) as FlushSummary;
  assert.equal(s1.stoppedBecause, 'max-messages');
  assert.equal(s1.pulled, 60);
  assert.equal(s1.published, 0);
  assert.ok(s1.failedBatches > 0 && s1.failedBatches === s1.batches);
  assert.equal(s1.nacked, 60);
  assert.equal(s1.acked, 0);

  const [recreated] = await pubsub.createTopic(WORK);
  const [check] = await recreated.createSubscription(`${WORK}-check`);
  const summaries: FlushSummary[] = [];
  for (;;) {
    const res = await fetch(url, { method: 'POST' });
    assert.equal(res.status, 200);
    const s = (await res.json()) as FlushSummary;
    summaries.push(s);
    if (s.pulled === 0) break;
    assert.ok(summaries.length < 6, 'flush does not drain');
  }
  assert.equal(summaries[0]!.stoppedBecause, 'max-messages');
  assert.equal(summaries.reduce((n, s) => n + s.acked, 0), 100);
  const keys = await drainKeys(check.name);
  assert.deepEqual([...keys].sort(), [...expected].sort());
});

test('leases are renewed while a slow publish runs past the ack deadline', { skip: EMULATOR_MISSING }, async () => {
  await start();
  const [uploads] = await pubsub.createTopic('flush-slow-uploads');
  const [buffer] = await uploads.createSubscription('flush-slow-buffer', { ackDeadlineSeconds: 10 });
  const [work] = await pubsub.createTopic('flush-slow-work');
  const [check] = await work.createSubscription('flush-slow-check');
  const bucket = 'flush-slow-input';
  await Promise.all(Array.from({ length: 10 }, (_, i) => publishFinalize(uploads, bucket, `s/${i}.tif`, String(1 + i))));

  const config = loadConfig({ ...process.env, CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: '100' });
  const subscriber = createSubscriberClient(pubsub);
  const publish = createBatchPublisher(pubsub, 'flush-slow-work');
  const SLOW_MS = 14_000; // longer than the buffer's 10 s ack deadline
  let redeliveredDuringPublish = -1;
  const summary = await runFlush({
    subscriber,
    subscription: subscriptionPath(PROJECT, 'flush-slow-buffer'),
    settings: config.flush,
    logger: createLogger({ level: 'silent' }),
    pullTimeoutMs: 1000,
    publishBatch: async (message) => {
      await new Promise((r) => setTimeout(r, SLOW_MS - 2000));
      // past the subscription's own deadline: without renewal the messages would be back by now
      const [resp] = await subscriber.pull({ subscription: buffer.name, maxMessages: 100 }, { timeout: 1500 });
      redeliveredDuringPublish = resp.receivedMessages?.length ?? 0;
      await new Promise((r) => setTimeout(r, 2000));
      return publish(message);
    },
  });
  await subscriber.close();
  assert.equal(redeliveredDuringPublish, 0);
  assert.equal(summary.published, 1);
  assert.equal(summary.acked, 10);
  assert.equal((await drainKeys(check.name)).length, 10);
});

test('backpressure: a flush releases at most maxBatches; the rest waits in the buffer for the next flush', { skip: EMULATOR_MISSING }, async () => {
  await start();
  const [uploads] = await pubsub.createTopic('flush-bp-uploads');
  await uploads.createSubscription('flush-bp-buffer', { ackDeadlineSeconds: 10 });
  const [work] = await pubsub.createTopic('flush-bp-work');
  const [check] = await work.createSubscription('flush-bp-check');
  const bucket = 'flush-bp-input';
  const expected = Array.from({ length: 30 }, (_, i) => objectKey({ bucket, name: `s/${i}.tif`, generation: String(1 + i) }));
  await Promise.all(Array.from({ length: 30 }, (_, i) => publishFinalize(uploads, bucket, `s/${i}.tif`, String(1 + i))));

  const config = loadConfig({ ...process.env, CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: '4', CLOUDSEG_FLUSH_MAX_BATCHES: '3', CLOUDSEG_FLUSH_MAX_MESSAGES: '1000' });
  const subscriber = createSubscriberClient(pubsub);
  const flushOnce = () =>
    runFlush({
      subscriber,
      subscription: subscriptionPath(PROJECT, 'flush-bp-buffer'),
      publishBatch: createBatchPublisher(pubsub, 'flush-bp-work'),
      inputBuckets: [bucket],
      settings: config.flush,
      logger: createLogger({ level: 'silent' }),
    });
  try {
    const summaries: FlushSummary[] = [];
    for (let i = 0; i < 10; i++) {
      const s = await flushOnce();
      summaries.push(s);
      if (s.pulled === 0) break;
      assert.ok(s.batches <= 3, `flush ${i} released ${s.batches} batches`);
      assert.equal(s.acked + s.nacked, s.pulled, 'every pulled message is acked (published) or handed back');
    }
    assert.equal(summaries[0]!.stoppedBecause, 'max-batches');
    assert.ok(summaries[0]!.deferred > 0, 'what did not fit went back to the buffer');
    assert.ok(summaries.filter((s) => s.pulled > 0).length >= 3, '30 uploads at 12 per flush take three flushes');
    const keys = await drainKeys(check.name);
    assert.deepEqual([...keys].sort(), [...expected].sort(), 'each upload in exactly one batch');
  } finally {
    await subscriber.close();
  }
});
