// `tsx bench/backlog.ts [--uploads N] [--time-limit-minutes M]`: a backlog of N (100,000) upload
// notifications in uploads-buffer, drained by the real flush function (functions-framework server,
// called over HTTP as Cloud Scheduler calls it, Terraform's default settings) into the work topic,
// where a no-op consumer stands in for the worker: it parses every batch, counts each object key and
// acks. Checks every key was released exactly once and the buffer is empty; reports flush's own rate
// and what the defaults imply in production. Prints a table and one `BENCH_RESULT {json}` line.
// Exit 1 when anything is lost or released twice, 3 when the run's time limit is exceeded.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { parse } from '@cdktf/hcl2json';
import type { Message, PubSub } from '@google-cloud/pubsub';
import { encode as encodePng } from 'fast-png';
import pLimit from 'p-limit';
import { startGcsServer } from '../infra/local/gcs-server/index.js';
import { findEmulatorLauncher, startPubSubEmulator } from '../infra/local/pubsub-emulator.js';
import { createPubSub, createSubscriberClient, subscriptionPath } from '../shared/cloud/pubsub.js';
import { createStorage } from '../shared/cloud/storage.js';
import { loadConfig, projectRoot } from '../shared/config/index.js';
import { objectKey } from '../shared/contracts/batch.js';
import { parseBatchMessage } from '../shared/contracts/pubsub-message.js';
import type { FlushSummary } from '../shared/flush/run-flush.js';

/**
 * Per-worker throughput, not measured here (the worker is a no-op in this scenario): the whole local
 * pipeline on onnxruntime, 2 cores, docs/engines-and-performance.md "Inference engines" (2026-12-07: 0.90 Mpx/s, 4.0
 * images/s of the ~512x512 samples; 7.7 images/s on a faster day).
 */
export const WORKER_IMAGES_PER_SECOND = 4.0;
export const WORKER_RATE_SOURCE = 'docs/engines-and-performance.md "Inference engines": whole pipeline, onnxruntime, 2 cores, 2026-12-07';

const PROJECT = 'cloudseg-backlog';
const WORK_CONSUMER = 'cloudseg-backlog-noop-consumer';
/** Objects uploaded and notifications published per round: memory stays bounded whatever N is. */
const CHUNK = 1000;
const UPLOAD_CONCURRENCY = 64;
const IMAGE_SIDE = 512;

export interface BacklogResult {
  uploads: number;
  /** Keys released exactly once / not at all / in two or more distinct batch messages. */
  releasedOnce: number;
  lost: number;
  releasedTwice: number;
  /** Keys in a batch that were never in the backlog. */
  unknownKeys: number;
  /** Work messages delivered again with a message id already seen (at-least-once; not flush's doing). */
  redeliveredMessages: number;
  workMessages: number;
  /** Messages an independent pull found in uploads-buffer after the last flush. */
  leftInBuffer: number;
  setupSeconds: number;
  drainSeconds: number;
  calls: { total: number; releasing: number; non200: number };
  perCall: {
    batchesMean: number;
    itemsMean: number;
    pulledMean: number;
    nackedMean: number;
    /** Items released per second of flush's own run time (its summary's durationMs). */
    itemsPerSecond: { mean: number; p50: number; min: number };
    pulledPerSecond: { mean: number; p50: number; min: number };
    durationMs: { mean: number; p50: number; max: number };
  };
  stoppedBecause: Record<string, number>;
  settings: {
    maxBatchItems: number;
    maxBatches: number;
    maxMessages: number;
    pullSize: number;
    timeBudgetMs: number;
    emptyPullsToStop: number;
    /** Variables the environment overrode (CLOUDSEG_FLUSH_*); empty = the Terraform defaults. */
    overridden: string[];
  };
  terraform: { flushSchedule: string; intervalSeconds: number | null; workerMaxInstances: number; workerCpu: string };
}

/** The figures as a two-column table plus the notes that explain them (pure; bench/run.ts prints it). */
export function backlogReport(r: BacklogResult): { header: string[]; rows: string[][]; notes: string[] } {
  const n = (x: number, digits = 0) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const s = r.settings;
  const ceiling = Math.min(s.maxBatches * s.maxBatchItems, s.maxMessages);
  const interval = r.terraform.intervalSeconds;
  const prodDrainSeconds = interval === null ? null : r.calls.releasing * interval;
  const perHour = (perInterval: number) => (interval === null ? null : (perInterval * 3600) / interval);
  const flushPerHour = perHour(ceiling);
  const workersPerHour = r.terraform.workerMaxInstances * WORKER_IMAGES_PER_SECOND * 3600;
  const sustained = flushPerHour === null ? null : Math.min(flushPerHour, workersPerHour);
  const rate = (x: { mean: number; p50: number; min: number }) => `${n(x.mean)} / ${n(x.p50)} / ${n(x.min)}`;
  const rows: string[][] = [
    ['uploads buffered (objects in the local GCS server)', n(r.uploads)],
    ['released exactly once', n(r.releasedOnce)],
    ['lost (never released)', n(r.lost)],
    ['released twice (in two batch messages)', n(r.releasedTwice)],
    ['work messages / redelivered (same message id)', `${n(r.workMessages)} / ${n(r.redeliveredMessages)}`],
    ['left in uploads-buffer after the last flush', n(r.leftInBuffer)],
    ['setup: upload objects + publish notifications, s', n(r.setupSeconds, 1)],
    ['drain wall time here (flush calls back to back), s', n(r.drainSeconds, 1)],
    ['flush calls (releasing / total; non-200)', `${n(r.calls.releasing)} / ${n(r.calls.total)}; ${n(r.calls.non200)}`],
    ['per call: batches / items released', `${n(r.perCall.batchesMean, 1)} / ${n(r.perCall.itemsMean, 1)}`],
    ['per call: messages pulled / nacked back', `${n(r.perCall.pulledMean, 1)} / ${n(r.perCall.nackedMean, 1)}`],
    ['per call: flush run time ms (mean / p50 / max)', `${n(r.perCall.durationMs.mean)} / ${n(r.perCall.durationMs.p50)} / ${n(r.perCall.durationMs.max)}`],
    ['flush rate, items released/s per call (mean / p50 / min)', rate(r.perCall.itemsPerSecond)],
    ['flush rate, messages pulled/s per call (mean / p50 / min)', rate(r.perCall.pulledPerSecond)],
    ['Terraform flush_schedule (interval)', `${r.terraform.flushSchedule} (${interval === null ? '?' : `${interval} s`})`],
    ['production drain = releasing calls x interval', prodDrainSeconds === null ? '?' : `${n(prodDrainSeconds / 3600, 1)} h`],
    ['flush release ceiling per interval (batches x items)', `${s.maxBatches} x ${s.maxBatchItems} = ${n(ceiling)}`],
    ['flush ceiling, uploads/h', flushPerHour === null ? '?' : n(flushPerHour)],
    [`workers: ${r.terraform.workerMaxInstances} instances x ${WORKER_IMAGES_PER_SECOND} images/s, uploads/h`, n(workersPerHour)],
    [s.overridden.length ? 'sustained at these settings, uploads/h' : 'sustained by a default deployment, uploads/h', sustained === null ? '?' : `${n(sustained)} (${flushPerHour !== null && flushPerHour <= workersPerHour ? 'flush-bound' : 'worker-bound'})`],
  ];
  const notes = [
    `settings: ${s.overridden.length ? `Terraform defaults except ${s.overridden.join(', ')}` : 'the Terraform defaults'} (max_batches ${s.maxBatches}, max_batch_items ${s.maxBatchItems}, max_messages ${s.maxMessages}, pull_size ${s.pullSize}, time_budget_ms ${s.timeBudgetMs}, empty_pulls ${s.emptyPullsToStop}); stopped because ${JSON.stringify(r.stoppedBecause)}`,
    'rates are over the calls that released work; the last call (an empty buffer) is counted in "total" only; run time = flush\'s own durationMs',
    `worker rate: ${WORKER_RATE_SOURCE} (not measured here: the worker is a no-op consumer)`,
    'knobs: flush_max_batches (CLOUDSEG_FLUSH_MAX_BATCHES) and flush_max_batch_items (CLOUDSEG_FLUSH_MAX_BATCH_ITEMS, bounded by flush_max_batch_seconds) set the ceiling per tick; flush_schedule sets the ticks (Cloud Scheduler: at most one a minute); flush_max_messages caps one tick whatever the batches; worker_max_instances and worker_cpu set the worker side',
  ];
  return { header: ['backlog', 'value'], rows, notes };
}

/** Seconds between ticks of a five-field cron expression, for the simple forms; null otherwise. */
export function cronIntervalSeconds(expression: string): number | null {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 5 || fields.slice(2).some((f) => f !== '*')) return null;
  const [minute, hour] = fields as [string, string];
  if (hour === '*' && minute === '*') return 60;
  const every = /^\*\/(\d+)$/.exec(minute);
  if (hour === '*' && every && 60 % Number(every[1]) === 0) return Number(every[1]) * 60;
  if (hour === '*' && /^\d+$/.test(minute)) return 3600;
  return null;
}

interface TerraformDefaults {
  /** flush's environment as locals.tf builds it from the variables' defaults. */
  flushEnv: Record<string, string>;
  flushSchedule: string;
  flushTimeoutSeconds: number;
  uploadsAckDeadlineSeconds: number;
  workerMaxInstances: number;
  workerCpu: string;
}

async function terraformDefaults(): Promise<TerraformDefaults> {
  const dir = join(projectRoot(), 'infra', 'gcp');
  const variables = (await parse('variables.tf', readFileSync(join(dir, 'variables.tf'), 'utf8'))) as { variable: Record<string, { default?: unknown }[]> };
  const locals = (await parse('locals.tf', readFileSync(join(dir, 'locals.tf'), 'utf8'))) as { locals: { flush_env?: Record<string, string> }[] };
  const value = (name: string) => {
    const v = variables.variable[name]?.[0]?.default;
    if (v === undefined || v === null) throw new Error(`infra/gcp/variables.tf: variable ${name} has no default`);
    return String(v);
  };
  const flushEnv: Record<string, string> = {};
  for (const [key, expression] of Object.entries(locals.locals.find((l) => l.flush_env)?.flush_env ?? {})) {
    const variable = /var\.(\w+)/.exec(expression)?.[1];
    if (!variable) throw new Error(`infra/gcp/locals.tf: flush_env.${key} = ${expression} names no variable`);
    flushEnv[key] = value(variable);
  }
  if (!flushEnv.CLOUDSEG_FLUSH_MAX_BATCHES) throw new Error('infra/gcp/locals.tf: flush_env has no CLOUDSEG_FLUSH_MAX_BATCHES');
  return {
    flushEnv,
    flushSchedule: value('flush_schedule'),
    flushTimeoutSeconds: Number(value('flush_timeout_seconds')),
    uploadsAckDeadlineSeconds: Number(value('uploads_buffer_ack_deadline_seconds')),
    workerMaxInstances: Number(value('worker_max_instances')),
    workerCpu: value('worker_cpu'),
  };
}

class TimeLimitExceeded extends Error {}

function stats(xs: number[]): { mean: number; p50: number; min: number; max: number } {
  if (xs.length === 0) return { mean: Number.NaN, p50: Number.NaN, min: Number.NaN, max: Number.NaN };
  const sorted = [...xs].sort((a, b) => a - b);
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, p50: sorted[Math.floor((sorted.length - 1) / 2)]!, min: sorted[0]!, max: sorted.at(-1)! };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { uploads: { type: 'string', default: '100000' }, 'time-limit-minutes': { type: 'string' } } });
  const uploads = Number(values.uploads);
  if (!Number.isInteger(uploads) || uploads < 1) throw new Error(`--uploads must be a whole number >= 1, not ${values.uploads}`);
  // ~25 min for 100,000 here (2 cores); the limit leaves room for a slower day.
  const limitMinutes = Number(values['time-limit-minutes'] ?? 5 + Math.ceil((45 * uploads) / 100_000));
  const startedAt = Date.now();
  const deadline = startedAt + limitMinutes * 60_000;
  const checkTime = (what: string) => {
    if (Date.now() > deadline) throw new TimeLimitExceeded(`${what}: the run's limit of ${limitMinutes} minutes is exceeded`);
  };
  // A last resort if an await never returns: the loops check the deadline, this catches the rest.
  const hardStop = setTimeout(() => {
    process.stdout.write(`\n!!! BACKLOG BENCH TIME LIMIT EXCEEDED (${limitMinutes} min, hung); exiting\n`);
    process.exit(3);
  }, (limitMinutes + 2) * 60_000);
  hardStop.unref();
  const progress = (line: string) => process.stderr.write(`backlog: ${line} (${((Date.now() - startedAt) / 1000).toFixed(0)} s)\n`);

  const launcher = findEmulatorLauncher(process.env.CLOUDSEG_PUBSUB_EMULATOR);
  if (!launcher.found) throw new Error(`!!! SKIPPING the backlog: ${launcher.why}`);
  const tf = await terraformDefaults();
  // Terraform's defaults, unless the caller set a flush variable to try another value (a knob).
  const overridden = Object.keys(tf.flushEnv).filter((k) => process.env[k] !== undefined && process.env[k] !== tf.flushEnv[k]);
  const cleanups: (() => Promise<unknown>)[] = [];
  const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-backlog-'));
  try {
    const emulator = await startPubSubEmulator({ launcher: process.env.CLOUDSEG_PUBSUB_EMULATOR });
    cleanups.push(() => emulator.stop());
    const gcs = await startGcsServer({ rootDir, projectId: PROJECT });
    cleanups.push(() => gcs.stop());
    // The functions read their settings from the environment when first imported and called.
    Object.assign(process.env, emulator.env, gcs.env, {
      GOOGLE_CLOUD_PROJECT: PROJECT,
      CLOUDSEG_FLUSH_TOKEN: randomBytes(18).toString('hex'),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      ...tf.flushEnv,
      ...Object.fromEntries(overridden.map((k) => [k, process.env[k]!])),
    });
    const config = loadConfig(process.env);

    const pubsub: PubSub = createPubSub(config.projectId);
    cleanups.push(() => pubsub.close());
    await pubsub.createTopic(config.topics.uploads);
    await pubsub.createTopic(config.topics.work);
    await pubsub.topic(config.topics.uploads).createSubscription(config.subscriptions.uploadsBuffer, { ackDeadlineSeconds: tf.uploadsAckDeadlineSeconds });
    await pubsub.topic(config.topics.work).createSubscription(WORK_CONSUMER, { ackDeadlineSeconds: 60 });
    const storage = createStorage(config.projectId);
    await gcs.createBucket(config.buckets.input);

    // --- the backlog: real objects (flush reads each one's header), one notification each ---------
    // A real 512x512 PNG: flush's pixel probe reads its header with a ranged read, as in production.
    const png = Buffer.from(encodePng({ width: IMAGE_SIDE, height: IMAGE_SIDE, channels: 4, depth: 8, data: new Uint8Array(IMAGE_SIDE * IMAGE_SIDE * 4).map((_, i) => (i * 7) % 251) }));
    const releases = new Map<string, number>();
    const uploadsTopic = pubsub.topic(config.topics.uploads, { batching: { maxMessages: 500, maxMilliseconds: 20 } });
    const limit = pLimit(UPLOAD_CONCURRENCY);
    const bucket = storage.bucket(config.buckets.input);
    for (let first = 0; first < uploads; first += CHUNK) {
      checkTime('uploading the backlog');
      const count = Math.min(CHUNK, uploads - first);
      const resources = await Promise.all(
        Array.from({ length: count }, (_, j) =>
          limit(async () => {
            const i = first + j;
            const file = bucket.file(`backlog/${String(Math.floor(i / 1000)).padStart(4, '0')}/${String(i).padStart(6, '0')}.png`);
            await file.save(png, { resumable: false, contentType: 'image/png', validation: false });
            return file.metadata; // the object resource the server answered with
          }),
        ),
      );
      // The message GCS sends for an OBJECT_FINALIZE with payloadFormat JSON_API_V1.
      await Promise.all(
        resources.map((object) => {
          const attributes = {
            eventType: 'OBJECT_FINALIZE',
            bucketId: String(object.bucket),
            objectId: String(object.name),
            objectGeneration: String(object.generation),
            payloadFormat: 'JSON_API_V1',
            notificationConfig: `projects/_/buckets/${String(object.bucket)}/notificationConfigs/1`,
            eventTime: String(object.timeCreated),
          };
          releases.set(objectKey({ bucket: attributes.bucketId, name: attributes.objectId, generation: attributes.objectGeneration }), 0);
          return uploadsTopic.publishMessage({ data: Buffer.from(JSON.stringify(object)), attributes });
        }),
      );
      if ((first / CHUNK) % 10 === 9) progress(`${first + count} of ${uploads} uploaded and notified`);
    }
    if (releases.size !== uploads) throw new Error(`expected ${uploads} distinct object keys, made ${releases.size}`);
    const setupSeconds = (Date.now() - startedAt) / 1000;
    progress(`${uploads} notifications buffered in ${config.subscriptions.uploadsBuffer}`);

    // --- the worker's stand-in: parse, count by key, ack -------------------------------------------
    const seenMessages = new Set<string>();
    let redeliveredMessages = 0;
    let unknownKeys = 0;
    let releasedKeys = 0;
    const consumer = pubsub.subscription(WORK_CONSUMER, { flowControl: { maxMessages: 2000 } });
    let consumerError: unknown = null;
    consumer.on('error', (err: unknown) => (consumerError = err));
    consumer.on('message', (m: Message) => {
      if (seenMessages.has(m.id)) {
        redeliveredMessages += 1;
      } else {
        seenMessages.add(m.id);
        for (const item of parseBatchMessage(m.data).items) {
          const key = objectKey(item);
          const before = releases.get(key);
          if (before === undefined) unknownKeys += 1;
          else {
            if (before === 0) releasedKeys += 1;
            releases.set(key, before + 1);
          }
        }
      }
      m.ack();
    });
    cleanups.push(() => consumer.close());

    // --- flush, as Cloud Scheduler calls it --------------------------------------------------------
    const { closeFlushInstance } = await import('../functions/flush.js'); // registers 'flush'
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const server: Server = getTestServer('flush');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await new Promise((resolve) => server.close(resolve));
      await closeFlushInstance();
    });
    const flushUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const ceiling = Math.min(config.flush.maxBatches * config.flush.maxBatchItems, config.flush.maxMessages);
    const maxCalls = Math.ceil(uploads / ceiling) * 2 + 10;
    const summaries: FlushSummary[] = [];
    let non200 = 0;
    const drainStarted = Date.now();
    for (let call = 0; ; call++) {
      checkTime(`flush call ${call + 1}`);
      if (call >= maxCalls) throw new Error(`the buffer was not empty after ${maxCalls} flush calls`);
      const res = await fetch(flushUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.flush.token}` },
        signal: AbortSignal.timeout(tf.flushTimeoutSeconds * 1000),
      });
      const body = (await res.json()) as FlushSummary;
      if (res.status !== 200) non200 += 1;
      if (typeof body.pulled !== 'number') throw new Error(`flush answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
      summaries.push(body);
      if (call % 50 === 49) progress(`${call + 1} flush calls, ${releasedKeys} of ${uploads} released`);
      if (body.pulled === 0) break;
    }
    // The last batches may still be on their way to the consumer.
    for (let waited = 0; releasedKeys < uploads && waited < 30_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    const drainSeconds = (Date.now() - drainStarted) / 1000;
    if (consumerError) throw consumerError;

    // An independent look at the buffer: a pull of our own, nothing acked.
    const subscriber = createSubscriberClient(pubsub);
    let leftInBuffer = 0;
    try {
      const [response] = await subscriber.pull({ subscription: subscriptionPath(config.projectId, config.subscriptions.uploadsBuffer), maxMessages: 1000 }, { timeout: 3000 });
      leftInBuffer = response.receivedMessages?.length ?? 0;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 4) throw err; // DEADLINE_EXCEEDED: nothing there
    } finally {
      await subscriber.close();
    }

    let releasedOnce = 0;
    let lost = 0;
    let releasedTwice = 0;
    for (const count of releases.values()) {
      if (count === 1) releasedOnce += 1;
      else if (count === 0) lost += 1;
      else releasedTwice += 1;
    }
    const releasing = summaries.filter((s) => s.published > 0);
    const itemsOf = (s: FlushSummary) => s.accepted - s.deferred;
    const result: BacklogResult = {
      uploads,
      releasedOnce,
      lost,
      releasedTwice,
      unknownKeys,
      redeliveredMessages,
      workMessages: seenMessages.size,
      leftInBuffer,
      setupSeconds,
      drainSeconds,
      calls: { total: summaries.length, releasing: releasing.length, non200 },
      perCall: {
        batchesMean: stats(releasing.map((s) => s.published)).mean,
        itemsMean: stats(releasing.map(itemsOf)).mean,
        pulledMean: stats(releasing.map((s) => s.pulled)).mean,
        nackedMean: stats(releasing.map((s) => s.nacked)).mean,
        itemsPerSecond: stats(releasing.map((s) => itemsOf(s) / (s.durationMs / 1000))),
        pulledPerSecond: stats(releasing.map((s) => s.pulled / (s.durationMs / 1000))),
        durationMs: stats(releasing.map((s) => s.durationMs)),
      },
      stoppedBecause: summaries.reduce<Record<string, number>>((acc, s) => ({ ...acc, [s.stoppedBecause]: (acc[s.stoppedBecause] ?? 0) + 1 }), {}),
      settings: {
        maxBatchItems: config.flush.maxBatchItems,
        maxBatches: config.flush.maxBatches,
        maxMessages: config.flush.maxMessages,
        pullSize: config.flush.pullSize,
        timeBudgetMs: config.flush.timeBudgetMs,
        emptyPullsToStop: config.flush.emptyPullsToStop,
        overridden,
      },
      terraform: { flushSchedule: tf.flushSchedule, intervalSeconds: cronIntervalSeconds(tf.flushSchedule), workerMaxInstances: tf.workerMaxInstances, workerCpu: tf.workerCpu },
    };
    const report = backlogReport(result);
    printTable(report.header, report.rows);
    for (const note of report.notes) process.stdout.write(`  ${note}\n`);
    const ok = lost === 0 && releasedTwice === 0 && unknownKeys === 0 && leftInBuffer === 0 && releasedOnce === uploads;
    process.stdout.write(
      ok
        ? `backlog: all ${uploads} uploads released exactly once, buffer empty\n`
        : `\n!!! BACKLOG FAILED: ${lost} lost, ${releasedTwice} released twice, ${unknownKeys} unknown keys, ${leftInBuffer} left in the buffer\n`,
    );
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
    return ok ? 0 : 1;
  } catch (err) {
    if (err instanceof TimeLimitExceeded) {
      process.stdout.write(`\n!!! BACKLOG BENCH TIME LIMIT EXCEEDED: ${err.message}\n`);
      process.stdout.write(`BENCH_ERROR time limit of ${limitMinutes} min exceeded\n`);
      return 3;
    }
    throw err;
  } finally {
    // Each step bounded: a stop that never returns must not keep the run alive after its verdict.
    for (const cleanup of cleanups.reverse()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([cleanup().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 15_000)))]);
      clearTimeout(timer);
    }
    await rm(rootDir, { recursive: true, force: true });
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of rows) process.stdout.write(`${line(r)}\n`);
}

// Run only as a script: bench/run.ts imports backlogReport from here.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let code: number;
  try {
    code = await main();
  } catch (err) {
    process.stdout.write(`BENCH_ERROR ${err instanceof Error ? err.message : String(err)}\n`);
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    code = 1;
  }
  process.exit(code);
}
