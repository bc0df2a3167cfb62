// `npm run bench`: throughput and per-stage times of the real pipeline on the bundled samples
// (local stack: emulator, local GCS server, functions-framework servers, push to the worker),
// plus the bare inference speed per 512x512 tile. Prints numbers; asserts nothing.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ResultEventSchema, STAGES, type ResultEvent } from '../shared/contracts/result-event.js';
import { createLogger } from '../shared/logging.js';
import { readSampleManifest } from '../infra/local/samples.js';
import { startLocalStack } from '../infra/local/stack.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SUBSCRIPTION = 'cloudseg-bench-results';

const logger = createLogger({ level: 'warn' });
const samples = await readSampleManifest();
const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-bench-'));
const stack = await startLocalStack({ rootDir, logger, resultSubscriptions: [SUBSCRIPTION], env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
try {
  const { workerInstance } = await import('../functions/worker.js');
  const model = await workerInstance().runtime.model();

  // Bare inference: one 512x512 tile of the model's band count, after a warm-up.
  const bands = model.card.bands.length;
  const tile = new Float32Array(512 * 512 * bands).map(() => Math.random() * 0.4);
  await model.predict(tile, 1, 512, 512);
  const tileRuns = 3;
  const t0 = performance.now();
  for (let i = 0; i < tileRuns; i++) await model.predict(tile, 1, 512, 512);
  const msPerTile = (performance.now() - t0) / tileRuns;

  const events: ResultEvent[] = [];
  const subscription = stack.pubsub.subscription(SUBSCRIPTION);
  subscription.on('message', (m) => {
    events.push(ResultEventSchema.parse(JSON.parse(m.data.toString())));
    m.ack();
  });
  const total = samples.length * ROUNDS;
  const started = performance.now();
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of samples) {
      await stack.storage.bucket(stack.config.buckets.input).upload(s.imagePath, {
        destination: `bench/${round}/${basename(s.imagePath)}`,
        contentType: 'image/tiff',
      });
    }
  }
  const deadline = Date.now() + 10 * 60_000;
  while (events.length < total) {
    if (Date.now() > deadline) throw new Error(`benchmark: only ${events.length} of ${total} result events within 10 minutes`);
    await stack.triggerFlush();
    const until = Date.now() + 3000;
    while (events.length < total && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - started) / 1000;
  await subscription.close(); // an open streaming pull keeps the client (and the process) alive
  const pixels = events.reduce((n, e) => n + (e.width ?? 0) * (e.height ?? 0), 0);

  const mean = (stage: (typeof STAGES)[number]) => {
    const xs = events.map((e) => e.timingsMs[stage]).filter((x): x is number => x !== undefined);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
  };
  const statuses = events.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.status]: (acc[e.status] ?? 0) + 1 }), {});
  const lines = [
    `backend                 ${model.backend}`,
    `model                   ${model.identity.name} ${model.identity.version} md5 ${model.identity.md5}`,
    `images                  ${events.length} (${samples.length} samples x ${ROUNDS} rounds) ${JSON.stringify(statuses)}`,
    `worker concurrency      ${stack.config.worker.concurrency}`,
    `throughput              ${(events.length / seconds).toFixed(3)} images/s, ${(pixels / seconds / 1e6).toFixed(3)} Mpixel/s (upload -> last result, ${seconds.toFixed(1)} s)`,
    `inference, bare         ${msPerTile.toFixed(0)} ms per 512x512 tile`,
    ...STAGES.map((s) => `stage ${s.padEnd(18)}${mean(s).toFixed(1).padStart(8)} ms mean per image`),
  ];
  process.stdout.write(`\ncloudseg pipeline benchmark\n${lines.join('\n')}\n`);
} finally {
  await stack.stop();
  await rm(rootDir, { recursive: true, force: true });
}
