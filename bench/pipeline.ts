// The whole local pipeline in a process of its own: emulator, local GCS server, flush and worker in
// functions-framework servers, the emulator's push to the worker. Uploads the bundled samples
// `rounds` times, then flushes as the scheduler would and times first flush -> last result event.
// The engine comes from the environment (CLOUDSEG_INFERENCE_BACKEND etc.), as for the worker.
// Prints one `BENCH_RESULT {json}` line.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ResultEventSchema, STAGES, type ResultEvent } from '../shared/contracts/result-event.js';
import { createLogger } from '../shared/logging.js';
import { readSampleManifest } from '../infra/local/samples.js';
import { startLocalStack } from '../infra/local/stack.js';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '16' } } });
const ROUNDS = Number(values.rounds);
const SUBSCRIPTION = 'cloudseg-bench-results';
const FLUSH_TICK_MS = 1000;
let uploadSeconds = 0;

export interface PipelineResult {
  engine: string;
  concurrency: number;
  images: number;
  statuses: Record<string, number>;
  /** First flush -> last result event. */
  seconds: number;
  uploadSeconds: number;
  imagesPerSecond: number;
  mpxPerSecond: number;
  stageMeansMs: Record<string, number>;
  /**
   * End to end per image, the events' `latencyMs` (upload finalized -> result published); null when
   * no event carried one. Every upload lands before the first flush, so this includes their wait.
   */
  latencyMs: LatencySummary | null;
  peakRssMb: number;
}

export interface LatencySummary {
  p50: number;
  p95: number;
  max: number;
  /** Events that carried a latency. */
  count: number;
}

/** Nearest-rank percentiles of the events' latencies; null when none has one. */
function summariseLatency(events: readonly Pick<ResultEvent, 'latencyMs'>[]): LatencySummary | null {
  const sorted = events
    .map((e) => e.latencyMs)
    .filter((x): x is number => typeof x === 'number')
    .sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const at = (p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: at(50), p95: at(95), max: sorted.at(-1)!, count: sorted.length };
}

const logger = createLogger({ level: 'warn' });
const samples = await readSampleManifest();
const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-bench-'));
const stack = await startLocalStack({ rootDir, logger, resultSubscriptions: [SUBSCRIPTION], env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
let result: PipelineResult;
try {
  const { workerInstance } = await import('../functions/worker.js');
  const model = await workerInstance().runtime.model();

  const events: ResultEvent[] = [];
  const subscription = stack.pubsub.subscription(SUBSCRIPTION);
  subscription.on('message', (m) => {
    events.push(ResultEventSchema.parse(JSON.parse(m.data.toString())));
    m.ack();
  });
  const total = samples.length * ROUNDS;
  const uploadStarted = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    await Promise.all(
      samples.map((s) =>
        stack.storage.bucket(stack.config.buckets.input).upload(s.imagePath, { destination: `bench/${round}/${basename(s.imagePath)}`, contentType: 'image/tiff' }),
      ),
    );
  }
  uploadSeconds = (performance.now() - uploadStarted) / 1000;
  // From the first flush on, as Cloud Scheduler would tick (every FLUSH_TICK_MS here, not every
  // minute), until the last result event: what the pipeline does with work that is waiting.
  const started = performance.now();
  // Cloud Scheduler's role: a flush every FLUSH_TICK_MS, one at a time, in the background; the
  // clock stops at the last result event, not at the end of a flush that is still pulling.
  let flushing: Promise<unknown> | null = null;
  const tick = () => {
    flushing ??= stack.triggerFlush().finally(() => {
      flushing = null;
    });
  };
  tick();
  const ticker = setInterval(tick, FLUSH_TICK_MS);
  const deadline = Date.now() + 10 * 60_000;
  try {
    while (events.length < total) {
      if (Date.now() > deadline) throw new Error(`benchmark: only ${events.length} of ${total} result events within 10 minutes`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    clearInterval(ticker);
  }
  const lastEventAt = performance.now();
  await flushing;
  const seconds = (lastEventAt - started) / 1000;
  await subscription.close(); // an open streaming pull keeps the client (and the process) alive
  const pixels = events.reduce((n, e) => n + (e.width ?? 0) * (e.height ?? 0), 0);
  const mean = (stage: (typeof STAGES)[number]) => {
    const xs = events.map((e) => e.timingsMs[stage]).filter((x): x is number => x !== undefined);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
  };
  result = {
    engine: model.backend,
    concurrency: stack.config.worker.concurrency ?? model.parallelism,
    images: events.length,
    statuses: events.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.status]: (acc[e.status] ?? 0) + 1 }), {}),
    seconds,
    uploadSeconds,
    imagesPerSecond: events.length / seconds,
    mpxPerSecond: pixels / 1e6 / seconds,
    stageMeansMs: Object.fromEntries(STAGES.map((s) => [s, mean(s)])),
    latencyMs: summariseLatency(events),
    peakRssMb: process.resourceUsage().maxRSS / 1024,
  };
} finally {
  await stack.stop();
  await rm(rootDir, { recursive: true, force: true });
}
process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
process.exit(0);
