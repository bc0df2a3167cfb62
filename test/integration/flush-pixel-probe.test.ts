// probePixels against the local GCS server with the real download client: header counts for
// images, the size estimate for what cannot be read (gone, not an image, past the deadline, slow),
// and the concurrency bound held.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Storage } from '@google-cloud/storage';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { objectDownloader, type ObjectDownloader } from '../../shared/cloud/object-download.js';
import { projectRoot } from '../../shared/config/project-root.js';
import type { BatchItem } from '../../shared/contracts/batch.js';
import { ESTIMATED_BYTES_PER_PIXEL, probePixels } from '../../shared/flush/pixel-probe.js';
import { createLogger } from '../../shared/logging.js';
import { withClaimedSize } from '../support/tiff-surgery.js';

const BUCKET = 'probe-bucket';
const logger = createLogger({ level: 'silent' });
let rootDir: string;
let server: GcsServer;
let downloader: ObjectDownloader;
const items = new Map<string, BatchItem>();

before(async () => {
  rootDir = await mkdtemp(join(tmpdir(), 'batchsec-pixel-probe-'));
  server = await startGcsServer({ rootDir, projectId: 'p' });
  await server.createBucket(BUCKET);
  const storage = new Storage({ projectId: 'p', apiEndpoint: server.url, retryOptions: { autoRetry: false } });
  downloader = objectDownloader(storage, { attempts: 2, baseDelayMs: 5 });
  const files: [string, Uint8Array][] = [
    ['chip1.tif', await readFile(join(projectRoot(), 'samples', 's2-oncloudn-chip1.tif'))],
    ['truth.png', await readFile(join(projectRoot(), 'samples', 'l8-38cloud-p192.truth.png'))],
    ['huge.tif', withClaimedSize(100_000, 100_000)],
    ['text.tif', new TextEncoder().encode('plain text '.repeat(100))],
  ];
  for (const [name, bytes] of files) {
    const file = storage.bucket(BUCKET).file(name);
    await file.save(Buffer.from(bytes), { resumable: false });
    items.set(name, { bucket: BUCKET, name, generation: String(file.metadata.generation), size: bytes.length, contentType: 'application/octet-stream' });
  }
});
after(async () => {
  await server.stop();
  await rm(rootDir, { recursive: true, force: true });
});

const item = (name: string) => items.get(name)!;
const estimate = (i: BatchItem) => ({ pixels: Math.ceil(i.size / ESTIMATED_BYTES_PER_PIXEL), source: 'estimate' });

test('images by their header; not an image, a gone generation and an empty object by their size', async () => {
  const gone = { ...item('chip1.tif'), generation: '1' };
  const empty = { ...item('text.tif'), size: 0 };
  const got = await probePixels([item('chip1.tif'), item('truth.png'), item('huge.tif'), item('text.tif'), gone, empty], { downloader, logger, deadline: Date.now() + 60_000 });
  assert.deepEqual(got, [
    { pixels: 512 * 512, source: 'header' },
    { pixels: 384 * 384, source: 'header' },
    { pixels: 1e10, source: 'header' },
    estimate(item('text.tif')),
    estimate(gone),
    { pixels: 0, source: 'estimate' },
  ]);
});

test('past the deadline nothing is read: every item is estimated at once', async () => {
  let reads = 0;
  const counting: ObjectDownloader = { download: (ref, range) => ((reads += 1), downloader.download(ref, range)) };
  const got = await probePixels([item('chip1.tif'), item('huge.tif')], { downloader: counting, logger, deadline: Date.now() - 1 });
  assert.deepEqual(got, [estimate(item('chip1.tif')), estimate(item('huge.tif'))]);
  assert.equal(reads, 0);
});

test('a read slower than readTimeoutMs is given up for the estimate', async () => {
  const slow: ObjectDownloader = { download: () => new Promise((resolve) => setTimeout(() => resolve(Buffer.alloc(0)), 2000)) };
  const started = Date.now();
  const got = await probePixels([item('huge.tif')], { downloader: slow, logger, deadline: Date.now() + 60_000, readTimeoutMs: 50 });
  assert.deepEqual(got, [estimate(item('huge.tif'))]);
  assert.ok(Date.now() - started < 1000, 'did not wait for the slow read');
});

test('at most `concurrency` header reads in flight', async () => {
  let inFlight = 0;
  let most = 0;
  const watched: ObjectDownloader = {
    download: async (ref, range) => {
      most = Math.max(most, ++inFlight);
      try {
        await new Promise((r) => setTimeout(r, 10));
        return await downloader.download(ref, range);
      } finally {
        inFlight -= 1;
      }
    },
  };
  const many = Array.from({ length: 40 }, () => item('truth.png'));
  const got = await probePixels(many, { downloader: watched, logger, deadline: Date.now() + 60_000, concurrency: 3 });
  assert.ok(got.every((g) => g.source === 'header' && g.pixels === 384 * 384));
  assert.equal(most, 3);
});
