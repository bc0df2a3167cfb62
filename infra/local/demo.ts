// `npm run demo`: starts the local stack, uploads the bundled sample scenes, flushes, waits for
// their result events, and shows what a user gets: a table, the masks and an overlay per image.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import sharp from 'sharp';
import type { ResultEvent } from '../../shared/contracts/result-event.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import { decodeImage } from '../../shared/imaging/decode.js';
import { encodeOverlayPng } from '../../shared/imaging/encode.js';
import { isMaskCloud } from '../../shared/imaging/mask-values.js';
import { resolveScaling } from '../../shared/imaging/scaling.js';
import type { Logger } from '../../shared/logging.js';
import { compareMasks } from '../../shared/lifecycle/metrics.js';
import type { ModelCard } from '../../shared/model/types.js';
import { readSampleManifest, type Sample } from './samples.js';
import { startLocalStack } from './stack.js';

export interface DemoOptions {
  outDir: string;
  logger: Logger;
  timeoutMs?: number;
  /** Print to this (default stdout). */
  print?: (line: string) => void;
  /** Ctrl-C: stops the stack at once; runDemo then rejects. */
  signal?: AbortSignal;
}

export interface DemoRow {
  image: string;
  status: string;
  cloudPercent: number | null;
  iou: number | null;
  seconds: number | null;
  mask: string | null;
  overlay: string | null;
}

const DEMO_SUBSCRIPTION = 'cloudseg-demo-results';

export async function runDemo(options: DemoOptions): Promise<DemoRow[]> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const samples = await readSampleManifest();
  const outDir = resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-demo-'));
  print(`Starting the local stack (Pub/Sub emulator, local GCS server, flush and worker functions)...`);
  const stack = await startLocalStack({
    rootDir,
    logger: options.logger,
    resultSubscriptions: [DEMO_SUBSCRIPTION],
    // The functions' own logs would drown the table; LOG_LEVEL=info shows them.
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  });
  const { signal } = options;
  // Stopping the stack cuts whatever step is running (a flush, a wait) short.
  const stopOnAbort = () => void stack.stop();
  signal?.addEventListener('abort', stopOnAbort, { once: true });
  if (signal?.aborted) stopOnAbort();
  try {
    const { config, storage, pubsub } = stack;
    const events = new Map<string, ResultEvent>();
    const subscription = pubsub.subscription(DEMO_SUBSCRIPTION);
    subscription.on('message', (message) => {
      const parsed = ResultEventSchema.safeParse(JSON.parse(message.data.toString()));
      if (parsed.success) events.set(parsed.data.input.name, parsed.data);
      message.ack();
    });

    for (const sample of samples) {
      await storage.bucket(config.buckets.input).upload(sample.imagePath, {
        destination: `samples/${basename(sample.imagePath)}`,
        contentType: 'image/tiff',
      });
      print(`uploaded gs://${config.buckets.input}/samples/${basename(sample.imagePath)}`);
    }

    const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
    const wanted = samples.map((s) => `samples/${basename(s.imagePath)}`);
    print(`Flushing the upload buffer and waiting for ${wanted.length} result events...`);
    while (!wanted.every((name) => events.has(name))) {
      signal?.throwIfAborted();
      if (Date.now() > deadline) throw new Error(`demo timed out; got ${events.size} of ${wanted.length} results`);
      await stack.triggerFlush(); // short pulls are normal: flushing again picks up stragglers
      await waitFor(() => Boolean(signal?.aborted) || wanted.every((name) => events.has(name)), 5000);
    }
    await subscription.close();

    // The card of the model the worker actually used (it may come from the registry).
    const { workerInstance } = await import('../../functions/worker.js');
    const { card } = await workerInstance().runtime.model();
    const rows: DemoRow[] = [];
    for (const sample of samples) {
      const event = events.get(`samples/${basename(sample.imagePath)}`)!;
      rows.push(await writeDemoOutputs(card, sample, event, stack.storage, outDir));
    }
    printTable(rows, print);
    print(`\nMasks and overlays are in ${outDir}`);
    return rows;
  } finally {
    signal?.removeEventListener('abort', stopOnAbort);
    await stack.stop();
    await rm(rootDir, { recursive: true, force: true });
  }
}

async function writeDemoOutputs(
  card: ModelCard,
  sample: Sample,
  event: ResultEvent,
  storage: Storage,
  outDir: string,
): Promise<DemoRow> {
  const row: DemoRow = {
    image: basename(sample.imagePath),
    status: event.status,
    cloudPercent: event.cloudFraction === null ? null : event.cloudFraction * 100,
    iou: null,
    seconds: event.timingsMs.total === undefined ? null : event.timingsMs.total / 1000,
    mask: null,
    overlay: null,
  };
  if (!event.output) return row;
  const [maskPng] = await storage.bucket(event.output.bucket).file(event.output.name).download();
  const stem = basename(sample.imagePath).replace(/\.tiff?$/i, '');
  row.mask = join(outDir, `${stem}.mask.png`);
  await writeFile(row.mask, maskPng);
  const { data: mask, info } = await sharp(maskPng).greyscale().raw().toBuffer({ resolveWithObject: true });
  if (sample.truthPath) {
    const truth = await sharp(await readFile(sample.truthPath)).greyscale().raw().toBuffer();
    if (truth.length === mask.length) row.iou = compareMasks(mask, truth, { predicted: isMaskCloud }).iou;
  }
  const raster = await decodeImage(await readFile(sample.imagePath), { maxPixels: info.width * info.height + 1 });
  // The same scaling the worker chose (file's GDAL scale/offset, else the card's default).
  const { scaling } = resolveScaling({ bands: raster.bands, raster, presets: card.presets, defaults: card.defaultPreset });
  row.overlay = join(outDir, `${stem}.overlay.png`);
  await writeFile(row.overlay, await encodeOverlayPng(raster, scaling, new Uint8Array(mask.buffer, mask.byteOffset, mask.length)));
  return row;
}

function printTable(rows: DemoRow[], print: (line: string) => void): void {
  const header = ['image', 'status', 'cloud %', 'IoU vs truth', 'seconds'];
  const cells = rows.map((r) => [
    r.image,
    r.status,
    r.cloudPercent === null ? '-' : r.cloudPercent.toFixed(1),
    r.iou === null ? '-' : r.iou.toFixed(3),
    r.seconds === null ? '-' : r.seconds.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  print('');
  print(line(header));
  print(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) print(line(c));
}

async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
}
