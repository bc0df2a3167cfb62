// Flush plans batches by expected seconds from each upload's header, end to end: real uploads to
// the local GCS server (its notifications on the real emulator) -> the registered flush function ->
// batches on the work topic. A byte-counting proxy in front of storage proves flush reads only
// headers: a few KB of each object, never a whole one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { startGcsServer } from '../../infra/local/gcs-server/index.js';
import { createSubscriberClient } from '../../shared/cloud/pubsub.js';
import { projectRoot } from '../../shared/config/project-root.js';
import { parseBatchMessage, type BatchMessage } from '../../shared/contracts/index.js';
import { expectedSeconds } from '../../shared/flush/plan.js';
import type { FlushSummary } from '../../shared/flush/run-flush.js';
import { FIRST_READ_BYTES, NEXT_READ_BYTES } from '../../shared/imaging/probe-size.js';
import { startByteCountingProxy } from '../support/byte-counting-proxy.js';
import { EMULATOR_MISSING } from '../support/emulator.js';
import { useFlushServer } from '../support/flush-server.js';
import { withClaimedSize } from '../support/tiff-surgery.js';

const PROJECT = 'cloudseg-flush-pixels';
const BUCKET = 'flush-pixels-input';
const UPLOADS = 'flush-pixels-uploads';
const BUFFER = 'flush-pixels-buffer';
const WORK = 'flush-pixels-work';
const TOKEN = 'flush-pixels-test-token-0123456789';
const SECONDS_PER_MPX = 0.6;
// Two 512x512 scenes (0.157 s each at 0.6 s/Mpx) pass this together; a 512 and a 384 do not.
const MAX_BATCH_SECONDS = 0.3;
Object.assign(process.env, {
  GOOGLE_CLOUD_PROJECT: PROJECT,
  CLOUDSEG_UPLOADS_TOPIC: UPLOADS,
  CLOUDSEG_UPLOADS_SUBSCRIPTION: BUFFER,
  CLOUDSEG_WORK_TOPIC: WORK,
  CLOUDSEG_INPUT_BUCKET: BUCKET,
  CLOUDSEG_FLUSH_TOKEN: TOKEN,
  // Count and bytes alone would put every upload here in one batch.
  CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: '8',
  CLOUDSEG_FLUSH_MAX_BATCH_SECONDS: String(MAX_BATCH_SECONDS),
  CLOUDSEG_WORKER_SECONDS_PER_MPX: String(SECONDS_PER_MPX),
  CLOUDSEG_FLUSH_EMPTY_PULLS: '2',
  LOG_LEVEL: 'silent',
});

const flushServer = useFlushServer(PROJECT);

test('uploads of different pixel counts: a 100000 x 100000 header goes alone, small ones share batches within the seconds limit, headers only are read', { skip: EMULATOR_MISSING }, async (t) => {
  const pubsub = new PubSub({ projectId: PROJECT });
  const rootDir = await mkdtemp(join(tmpdir(), 'batchsec-flush-pixels-'));
  const gcs = await startGcsServer({ rootDir, projectId: PROJECT, pubsub });
  const proxy = await startByteCountingProxy(gcs.url);
  // Flush (created on the first request) and the uploads below both talk to storage through the proxy.
  process.env.STORAGE_EMULATOR_HOST = proxy.url;
  t.after(async () => {
    await proxy.stop();
    await gcs.stop();
    await pubsub.close();
    await rm(rootDir, { recursive: true, force: true });
  });

  const [uploadsTopic] = await pubsub.createTopic(UPLOADS);
  await uploadsTopic.createSubscription(BUFFER, { ackDeadlineSeconds: 10 });
  const [work] = await pubsub.createTopic(WORK);
  const [workSub] = await work.createSubscription(`${WORK}-check`);
  await gcs.createBucket(BUCKET);
  const storage = new Storage({ projectId: PROJECT });
  const bucket = storage.bucket(BUCKET);
  await bucket.createNotification(uploadsTopic.name, { payloadFormat: 'JSON_API_V1' });

  const samples = join(projectRoot(), 'samples');
  const uploads: { name: string; bytes: Uint8Array; pixels: number }[] = [
    { name: 'chip1.tif', bytes: await readFile(join(samples, 's2-oncloudn-chip1.tif')), pixels: 512 * 512 },
    { name: 'p192.tif', bytes: await readFile(join(samples, 'l8-38cloud-p192.tif')), pixels: 384 * 384 },
    { name: 'huge-claim.tif', bytes: withClaimedSize(100_000, 100_000), pixels: 1e10 },
    { name: 'chip3.tif', bytes: await readFile(join(samples, 's2-oncloudn-chip3.tif')), pixels: 512 * 512 },
    { name: 'p192.truth.png', bytes: await readFile(join(samples, 'l8-38cloud-p192.truth.png')), pixels: 384 * 384 },
    // Not an image: flush estimates it from its size (the worker reports it `failed`).
    { name: 'notes.tif', bytes: new TextEncoder().encode('not an image, whatever the name says'), pixels: 0 },
  ];
  for (const u of uploads) await bucket.file(u.name).save(Buffer.from(u.bytes), { resumable: false });

  // The notifications are published as the uploads finish; flush until one call finds nothing.
  const url = await flushServer.start();
  const summaries: FlushSummary[] = [];
  for (let accepted = 0; ; ) {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 200);
    const summary = (await res.json()) as FlushSummary;
    summaries.push(summary);
    accepted += summary.accepted;
    if (summary.pulled === 0 && accepted >= uploads.length) break;
    assert.ok(summaries.length < 10, `flush found ${accepted} of ${uploads.length} uploads`);
  }
  assert.equal(summaries.reduce((s, x) => s + x.accepted, 0), uploads.length);
  assert.equal(summaries.reduce((s, x) => s + x.pixelsEstimated, 0), 1, 'only the text upload is estimated; every image header was read');

  const batches = await drainBatches(pubsub, workSub.name);
  const names = batches.map((b) => b.items.map((i) => i.name));
  t.diagnostic(`batches: ${JSON.stringify(names)}`);
  assert.deepEqual(names.flat().sort(), uploads.map((u) => u.name).sort(), 'every upload in exactly one batch');
  assert.deepEqual(names.find((b) => b.includes('huge-claim.tif')), ['huge-claim.tif'], 'the 100000 x 100000 header goes alone');
  assert.ok(names.some((b) => b.length >= 2), 'small uploads share batches');
  const pixelsOf = new Map(uploads.map((u) => [u.name, u.pixels]));
  for (const b of names) {
    const seconds = b.reduce((s, name) => s + expectedSeconds(pixelsOf.get(name)!, SECONDS_PER_MPX), 0);
    assert.ok(b.length === 1 || seconds <= MAX_BATCH_SECONDS, `${JSON.stringify(b)}: ${seconds.toFixed(3)} s over ${MAX_BATCH_SECONDS}`);
  }

  // Headers only: the first FIRST_READ_BYTES, plus one NEXT_READ_BYTES read where the IFD is last.
  const reads = proxy.reads();
  for (const u of uploads) {
    const read = reads.get(`${BUCKET}/${u.name}`);
    assert.ok(read, `${u.name} was read`);
    assert.ok(read.requests <= 2, `${u.name}: ${read.requests} media requests`);
    assert.ok(read.bytes <= Math.min(u.bytes.length, FIRST_READ_BYTES + NEXT_READ_BYTES), `${u.name}: read ${read.bytes} of ${u.bytes.length} bytes`);
  }
  const total = [...reads.values()].reduce((s, r) => s + r.bytes, 0);
  const stored = uploads.reduce((s, u) => s + u.bytes.length, 0);
  t.diagnostic(`flush read ${total} bytes of ${stored} stored`);
  assert.ok(total * 100 < stored, 'under 1 % of the stored bytes');
});

async function drainBatches(pubsub: PubSub, subscription: string): Promise<BatchMessage[]> {
  const client = createSubscriberClient(pubsub);
  const out: BatchMessage[] = [];
  try {
    for (let empty = 0; empty < 2; ) {
      const [resp] = await client.pull({ subscription, maxMessages: 100 }, { timeout: 1500 }).catch((err: { code?: number }) => {
        if (err.code === 4) return [{ receivedMessages: [] }] as const;
        throw err;
      });
      const got = resp.receivedMessages ?? [];
      if (got.length === 0) {
        empty += 1;
        continue;
      }
      empty = 0;
      for (const m of got) out.push(parseBatchMessage(m.message!.data as Uint8Array));
      await client.acknowledge({ subscription, ackIds: got.map((m) => m.ackId!) });
    }
  } finally {
    await client.close();
  }
  return out;
}
