// Notification configs of the local GCS server against the real Pub/Sub emulator: what GCS
// publishes on finalize, overwrite, metadata update and delete, filters, and the folder watcher.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PubSub, type v1 } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { createSubscriberClient } from '../../shared/cloud/pubsub.js';
import { createLogger, type Logger } from '../../shared/logging.js';
import { parseGcsNotification } from '../../shared/contracts/index.js';
import { EMULATOR_MISSING, useEmulator } from '../support/emulator.js';

const PROJECT = 'cloudseg-test';
let seq = 0;
const unique = (what: string) => `${what}-${process.pid}-${Date.now().toString(36)}-${seq++}`;

interface Pulled {
  attributes: Record<string, string>;
  data: Buffer;
}

const emulator = useEmulator();

describe('local GCS server notifications', { skip: EMULATOR_MISSING }, () => {
  let pubsub: PubSub;
  let subscriber: v1.SubscriberClient;
  const servers: GcsServer[] = [];
  const dirs: string[] = [];

  before(() => {
    emulator();
    pubsub = new PubSub({ projectId: PROJECT });
    subscriber = createSubscriberClient(pubsub);
  });
  after(async () => {
    for (const server of servers) await server.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    await subscriber?.close();
    await pubsub?.close();
  });

  async function setup(options: { watch?: boolean; notification?: Record<string, unknown>; logger?: Logger } = {}) {
    const rootDir = await mkdtemp(join(tmpdir(), 'gcs-notify-'));
    dirs.push(rootDir);
    const server = await startGcsServer({ rootDir, projectId: PROJECT, pubsub, watch: options.watch ?? false, ...(options.logger ? { logger: options.logger } : {}) });
    servers.push(server);
    const saved = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = server.env.STORAGE_EMULATOR_HOST;
    const storage = new Storage({ projectId: PROJECT });
    if (saved === undefined) delete process.env.STORAGE_EMULATOR_HOST;
    else process.env.STORAGE_EMULATOR_HOST = saved;
    const bucketName = unique('in');
    await server.createBucket(bucketName);
    const [topic] = await pubsub.createTopic(unique('uploads'));
    const [subscription] = await topic.createSubscription(unique('buffer'));
    const bucket = storage.bucket(bucketName);
    const [notification] = await bucket.createNotification(topic.name, { payloadFormat: 'JSON_API_V1', ...options.notification });
    return { server, storage, bucket, topic, subscription: subscription.name, notification };
  }

  /** Pulls until `count` messages arrived (or `waitMs` passed), acking them; then checks no more come. */
  async function pull(subscription: string, count: number, waitMs = 3000): Promise<Pulled[]> {
    const got: Pulled[] = [];
    const deadline = Date.now() + waitMs;
    while (got.length < count && Date.now() < deadline) {
      const [resp] = await subscriber.pull({ subscription, maxMessages: 50, returnImmediately: true });
      const received = resp.receivedMessages ?? [];
      if (received.length === 0) {
        await sleep(50);
        continue;
      }
      for (const m of received) got.push({ attributes: { ...(m.message?.attributes ?? {}) }, data: Buffer.from(m.message?.data ?? '') });
      await subscriber.acknowledge({ subscription, ackIds: received.map((m) => m.ackId!) });
    }
    return got;
  }

  async function expectNoMore(subscription: string): Promise<void> {
    const [resp] = await subscriber.pull({ subscription, maxMessages: 10, returnImmediately: true });
    assert.deepEqual((resp.receivedMessages ?? []).map((m) => m.message?.attributes), [], 'no further messages');
  }

  test('createNotification: the config is stored, listed and deletable', async () => {
    const { bucket, topic, notification } = await setup({ notification: { customAttributes: { pipeline: 'cloudseg' }, objectNamePrefix: 'scenes/' } });
    const [meta] = await notification.getMetadata();
    assert.equal(meta.topic, `//pubsub.googleapis.com/${topic.name}`);
    assert.equal(meta.payload_format, 'JSON_API_V1');
    assert.deepEqual(meta.custom_attributes, { pipeline: 'cloudseg' });
    assert.equal(meta.object_name_prefix, 'scenes/');
    const [list] = await bucket.getNotifications();
    assert.deepEqual(list.map((n) => n.id), [notification.id]);
    await notification.delete();
    assert.deepEqual((await bucket.getNotifications())[0], []);
  });

  test('an upload publishes OBJECT_FINALIZE before its response, and the message parses', async () => {
    const { bucket, subscription, notification } = await setup();
    const bytes = randomBytes(10_000);
    await bucket.file('scenes/s2/chip.tif').save(bytes, { contentType: 'image/tiff' });
    const [meta] = await bucket.file('scenes/s2/chip.tif').getMetadata();
    // Published before the upload answered: one immediate pull finds it.
    const [resp] = await subscriber.pull({ subscription, maxMessages: 10, returnImmediately: true });
    const messages = resp.receivedMessages ?? [];
    assert.equal(messages.length, 1);
    const message = messages[0]!.message!;
    const attributes = message.attributes ?? {};
    assert.equal(attributes.eventType, 'OBJECT_FINALIZE');
    assert.equal(attributes.bucketId, bucket.name);
    assert.equal(attributes.objectId, 'scenes/s2/chip.tif');
    assert.equal(attributes.objectGeneration, String(meta.generation));
    assert.equal(attributes.payloadFormat, 'JSON_API_V1');
    assert.equal(attributes.notificationConfig, `projects/_/buckets/${bucket.name}/notificationConfigs/${notification.id}`);
    assert.ok(!Number.isNaN(Date.parse(attributes.eventTime ?? '')));
    assert.equal(attributes.overwroteGeneration, undefined);
    const parsed = parseGcsNotification({ data: message.data as Uint8Array, attributes });
    assert.equal(parsed.object?.size, '10000');
    assert.equal(parsed.object?.contentType, 'image/tiff');
    assert.equal(parsed.object?.md5Hash, meta.md5Hash);
    assert.equal(parsed.object?.crc32c, meta.crc32c);
    await subscriber.acknowledge({ subscription, ackIds: messages.map((m) => m.ackId!) });
  });

  test('an overwrite sends overwroteGeneration, and OBJECT_DELETE of the old generation', async () => {
    const { bucket, subscription } = await setup();
    const file = bucket.file('a.png');
    await file.save('first', { resumable: false });
    const [first] = await file.getMetadata();
    await pull(subscription, 1);
    await file.save('second');
    const [second] = await file.getMetadata();
    const messages = await pull(subscription, 2);
    const byType = Object.fromEntries(messages.map((m) => [m.attributes.eventType, m]));
    assert.deepEqual(Object.keys(byType).sort(), ['OBJECT_DELETE', 'OBJECT_FINALIZE']);
    assert.equal(byType.OBJECT_FINALIZE!.attributes.objectGeneration, String(second.generation));
    assert.equal(byType.OBJECT_FINALIZE!.attributes.overwroteGeneration, String(first.generation));
    assert.equal(byType.OBJECT_DELETE!.attributes.objectGeneration, String(first.generation));
    assert.equal(byType.OBJECT_DELETE!.attributes.overwrittenByGeneration, String(second.generation));
    for (const m of messages) parseGcsNotification(m);
    await expectNoMore(subscription);
  });

  test('metadata update and delete publish their events', async () => {
    const { bucket, subscription } = await setup();
    const file = bucket.file('m.tif');
    await file.save('x', { resumable: false });
    await pull(subscription, 1);
    await file.setMetadata({ metadata: { reviewed: 'yes' } });
    const [update] = await pull(subscription, 1);
    assert.equal(update?.attributes.eventType, 'OBJECT_METADATA_UPDATE');
    assert.deepEqual(parseGcsNotification(update!).object?.metadata, { reviewed: 'yes' });
    await file.delete();
    const [deleted] = await pull(subscription, 1);
    assert.equal(deleted?.attributes.eventType, 'OBJECT_DELETE');
    assert.equal(deleted?.attributes.overwrittenByGeneration, undefined);
  });

  test('event_types, object_name_prefix and custom_attributes filter and decorate', async () => {
    const { bucket, subscription } = await setup({
      notification: { eventTypes: ['OBJECT_FINALIZE'], objectNamePrefix: 'in/', customAttributes: { origin: 'local' } },
    });
    await bucket.file('out/skip.tif').save('1', { resumable: false });
    await bucket.file('in/take.tif').save('2', { resumable: false });
    await bucket.file('in/take.tif').delete();
    const messages = await pull(subscription, 1);
    assert.equal(messages.length, 1);
    assert.equal(messages[0]?.attributes.objectId, 'in/take.tif');
    assert.equal(messages[0]?.attributes.origin, 'local');
    await expectNoMore(subscription);
  });

  test('payload format NONE publishes attributes only', async () => {
    const { bucket, subscription } = await setup({ notification: { payloadFormat: 'NONE' } });
    await bucket.file('n.tif').save('1', { resumable: false });
    const [message] = await pull(subscription, 1);
    assert.equal(message?.attributes.payloadFormat, 'NONE');
    assert.equal(message?.data.length, 0);
    assert.equal(parseGcsNotification(message!).object, null);
  });

  test('a publish failure (topic deleted) is logged, the upload still succeeds', async () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(line) } });
    const { bucket, topic } = await setup({ logger });
    await topic.delete();
    await bucket.file('still.tif').save('ok', { resumable: false });
    assert.equal((await bucket.file('still.tif').download())[0].toString(), 'ok');
    const logged = lines.map((l) => JSON.parse(l) as { severity: string; message: string; topic?: string });
    assert.ok(
      logged.some((l) => l.severity === 'ERROR' && l.message.includes('notification publish failed') && l.topic === topic.name),
      `expected a logged publish failure, got ${lines.join('')}`,
    );
  });

  test('watcher: a file copied into the bucket folder becomes an object and one OBJECT_FINALIZE', async () => {
    const { server, bucket, subscription } = await setup({ watch: true });
    const dir = join(server.bucketDir(bucket.name), 'drop', 'today');
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'scene.tif');
    // A slow copy: the file grows in pieces; it must not be announced half-written.
    const bytes = randomBytes(300_000);
    await writeFile(path, bytes.subarray(0, 100_000));
    await sleep(300);
    await appendFile(path, bytes.subarray(100_000, 200_000));
    await sleep(300);
    await appendFile(path, bytes.subarray(200_000));
    const started = Date.now();
    const messages = await pull(subscription, 1, 5000);
    const latencyMs = Date.now() - started;
    assert.equal(messages.length, 1);
    const parsed = parseGcsNotification(messages[0]!);
    assert.equal(parsed.attributes.eventType, 'OBJECT_FINALIZE');
    assert.equal(parsed.attributes.objectId, 'drop/today/scene.tif');
    assert.equal(parsed.object?.size, '300000');
    assert.equal(parsed.object?.contentType, 'image/tiff');
    const [down] = await bucket.file('drop/today/scene.tif').download();
    assert.ok(down.equals(bytes));
    const [meta] = await bucket.file('drop/today/scene.tif').getMetadata();
    assert.equal(String(meta.generation), parsed.attributes.objectGeneration);
    console.error(`watcher: announced ${latencyMs} ms after the last write`);

    // A moved-in file too; and nothing is announced twice, nor the server's own writes.
    const outside = join(server.bucketDir(bucket.name), '..', `${unique('moved')}.png`);
    await writeFile(outside, 'png bytes');
    await rename(outside, join(server.bucketDir(bucket.name), 'moved.png'));
    await bucket.file('api/upload.tif').save('through the API');
    const more = await pull(subscription, 2, 5000);
    assert.deepEqual(more.map((m) => m.attributes.objectId).sort(), ['api/upload.tif', 'moved.png']);
    await sleep(900);
    await server.scanFolders();
    await expectNoMore(subscription);
  });

  test('watcher: a file changed in place gets a new generation (overwroteGeneration)', async () => {
    const { server, bucket, subscription } = await setup({ watch: true });
    await bucket.file('edit.txt').save('v1', { resumable: false });
    const [v1meta] = await bucket.file('edit.txt').getMetadata();
    await pull(subscription, 1);
    await writeFile(join(server.bucketDir(bucket.name), 'edit.txt'), 'version two');
    const messages = await pull(subscription, 2, 5000);
    const finalize = messages.find((m) => m.attributes.eventType === 'OBJECT_FINALIZE');
    assert.equal(finalize?.attributes.overwroteGeneration, String(v1meta.generation));
    assert.equal((await bucket.file('edit.txt').download())[0].toString(), 'version two');
  });
});
