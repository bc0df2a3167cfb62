// `npm run chaos [-- --uploads N] [--quick]`: the real local pipeline under attack, bounded in
// count and time. Uploads (some names twice, every notification delivered 2-3 times) plus the
// poison set, while storage answers 503/429 or resets on a share of the worker's requests, the
// worker process is SIGKILLed mid-batch and restarted twice, and the Pub/Sub emulator is restarted
// (losing what it held; `reconcile` recovers it). Then every input generation is accounted for and
// one table is printed: inputs, succeeded, failed by code, lost, written twice, crashed processes.
// Exits 1 when anything is lost, written twice, crashed, or ended with an outcome other than
// expected. Traffic stays on 127.0.0.1.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import pLimit from 'p-limit';
import { freePort } from '../../infra/local/free-port.js';
import { startGcsServer } from '../../infra/local/gcs-server/index.js';
import { startPubSubEmulator, type PubSubEmulator } from '../../infra/local/pubsub-emulator.js';
import { readSampleManifest } from '../../infra/local/samples.js';
import { createPubSub } from '../../shared/cloud/pubsub.js';
import { createStorage } from '../../shared/cloud/storage.js';
import { ResultEventSchema, type ResultEvent } from '../../shared/contracts/result-event.js';
import { createBatchPublisher } from '../../shared/flush/publisher.js';
import { createLogger } from '../../shared/logging.js';
import { reconcile } from '../../shared/operations/reconcile.js';
import { maskNames } from '../../shared/worker/output-names.js';
import { startFaultProxy } from './fault-proxy.js';
import { poisonSet, smallScene, type ChaosInput } from './inputs.js';
import { startWorkerProcess } from './worker-process.js';

const { values } = parseArgs({ options: { uploads: { type: 'string' }, quick: { type: 'boolean' }, 'fault-rate': { type: 'string', default: '0.1' } } });
const UPLOADS = Number(values.uploads ?? (values.quick ? 120 : 1000));
const FAULT_RATE = Number(values['fault-rate']);
const DEADLINE_MS = (values.quick ? 6 : 20) * 60_000;
const PROJECT = 'cloudseg-chaos';
const NAMES = {
  input: 'chaos-input',
  output: 'chaos-output',
  elsewhere: 'chaos-elsewhere',
  uploads: 'chaos-uploads',
  buffer: 'chaos-uploads-buffer',
  tap: 'chaos-uploads-tap',
  work: 'chaos-work',
  push: 'chaos-work-push',
  results: 'chaos-results',
  collector: 'chaos-results-collector',
  deadLetter: 'chaos-dead-letter',
} as const;

const print = (line = '') => process.stdout.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const logger = createLogger({ level: 'error' });
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
const rootDir = await mkdtemp(join(tmpdir(), 'cloudseg-chaos-'));
const cleanups: (() => Promise<unknown>)[] = [];
const CLEANUP_STEP_MS = 15_000;
let exitCode = 1;

try {
  // --- the stack -------------------------------------------------------------------------------
  const emulatorPort = await freePort();
  let emulator: PubSubEmulator = await startPubSubEmulator({ port: emulatorPort });
  cleanups.push(() => emulator.stop());
  const workerPort = await freePort();
  Object.assign(process.env, emulator.env, {
    GOOGLE_CLOUD_PROJECT: PROJECT,
    CLOUDSEG_INPUT_BUCKET: NAMES.input,
    CLOUDSEG_OUTPUT_BUCKET: NAMES.output,
    CLOUDSEG_UPLOADS_TOPIC: NAMES.uploads,
    CLOUDSEG_UPLOADS_SUBSCRIPTION: NAMES.buffer,
    CLOUDSEG_WORK_TOPIC: NAMES.work,
    CLOUDSEG_RESULTS_TOPIC: NAMES.results,
    CLOUDSEG_DEAD_LETTER_TOPIC: NAMES.deadLetter,
    CLOUDSEG_FLUSH_EMPTY_PULLS: '2',
    // The outages are on purpose: flush's error logs about them would bury the table.
    LOG_LEVEL: 'silent',
  });
  const pubsub: PubSub = createPubSub(PROJECT);
  cleanups.push(() => pubsub.close());
  const topology = async () => {
    for (const t of [NAMES.uploads, NAMES.work, NAMES.results, NAMES.deadLetter]) await pubsub.createTopic(t).catch(() => undefined);
    await pubsub.topic(NAMES.uploads).createSubscription(NAMES.buffer, { ackDeadlineSeconds: 60 }).catch(() => undefined);
    await pubsub.topic(NAMES.uploads).createSubscription(NAMES.tap).catch(() => undefined);
    await pubsub.topic(NAMES.results).createSubscription(NAMES.collector).catch(() => undefined);
    await pubsub
      .topic(NAMES.work)
      .createSubscription(NAMES.push, { pushConfig: { pushEndpoint: `http://127.0.0.1:${workerPort}/projects/${PROJECT}/topics/${NAMES.work}` }, ackDeadlineSeconds: 600 })
      .catch(() => undefined);
  };
  await topology();

  const gcs = await startGcsServer({ rootDir, projectId: PROJECT, pubsub, logger });
  cleanups.push(() => gcs.stop());
  const storage = (() => {
    process.env.STORAGE_EMULATOR_HOST = gcs.env.STORAGE_EMULATOR_HOST;
    return createStorage(PROJECT);
  })();
  for (const b of [NAMES.input, NAMES.output, NAMES.elsewhere]) await gcs.createBucket(b);
  for (const b of [NAMES.input, NAMES.elsewhere]) await storage.bucket(b).createNotification(NAMES.uploads, { payloadFormat: 'JSON_API_V1', eventTypes: ['OBJECT_FINALIZE'] });

  // The worker in its own process, behind the fault proxy; flush here, as the scheduler calls it.
  const proxy = await startFaultProxy(gcs.url, { faultRate: 0 });
  cleanups.push(() => proxy.stop());
  const worker = await startWorkerProcess(workerPort, { ...process.env, STORAGE_EMULATOR_HOST: proxy.url });
  cleanups.push(() => worker.stop());
  await import('../../functions/index.js');
  const { getTestServer } = await import('@google-cloud/functions-framework/testing');
  const flushServer: Server = getTestServer('flush');
  await new Promise<void>((resolve) => flushServer.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => flushServer.close(resolve)));
  const flushUrl = `http://127.0.0.1:${(flushServer.address() as AddressInfo).port}/`;
  let flushing: Promise<unknown> | null = null;
  const ticker = setInterval(() => {
    flushing ??= fetch(flushUrl, { method: 'POST' })
      .then((r) => r.arrayBuffer())
      .catch(() => undefined)
      .finally(() => {
        flushing = null;
      });
  }, 1000);
  cleanups.push(async () => {
    clearInterval(ticker);
    await flushing;
  });

  // Result events as a subscriber sees them; every notification delivered 2-3 times (a tap on
  // the uploads topic publishes copies).
  const events: ResultEvent[] = [];
  let copies = 0;
  const subscriptions: Subscription[] = [];
  const listen = () => {
    const collector = pubsub.subscription(NAMES.collector);
    collector.on('message', (m: Message) => {
      events.push(ResultEventSchema.parse(JSON.parse(m.data.toString())));
      m.ack();
    });
    collector.on('error', () => undefined);
    const tap = pubsub.subscription(NAMES.tap);
    tap.on('message', (m: Message) => {
      if (!m.attributes['chaos-copy']) {
        const times = 1 + (copies % 2);
        for (let i = 0; i < times; i++) void pubsub.topic(NAMES.uploads).publishMessage({ data: m.data, attributes: { ...m.attributes, 'chaos-copy': '1' } }).catch(() => undefined);
        copies += times;
      }
      m.ack();
    });
    tap.on('error', () => undefined);
    subscriptions.push(collector, tap);
  };
  const closeListeners = async () => {
    for (const s of subscriptions.splice(0)) await s.close().catch(() => undefined);
  };
  listen();
  cleanups.push(closeListeners);

  // --- the inputs --------------------------------------------------------------------------------
  const [sample] = await readSampleManifest();
  const scene = await smallScene(sample!.imagePath, 48, 48);
  const poison = await poisonSet(sample!.imagePath);
  const uniqueNames = Math.ceil(UPLOADS * 0.9); // 10 % of the uploads are a second generation of a name
  const inputs: ChaosInput[] = [];
  for (let i = 0; i < UPLOADS; i++) inputs.push({ name: `scenes/${String(i % uniqueNames).padStart(5, '0')}.tif`, bytes: scene, contentType: 'image/tiff', expect: 'succeeded' });
  inputs.push(...poison);
  print(`chaos: ${UPLOADS} uploads (${UPLOADS - uniqueNames} names twice), ${poison.length} poison inputs, fault rate ${FAULT_RATE}, ${elapsed()}`);

  proxy.setFaultRate(FAULT_RATE);
  const limit = pLimit(16);
  await Promise.all(
    inputs.map((input) =>
      limit(async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            await storage.bucket(NAMES.input).file(input.name).save(input.bytes, { resumable: false, contentType: input.contentType });
            return;
          } catch (err) {
            if (attempt >= 5) throw err;
            await sleep(200);
          }
        }
      }),
    ),
  );
  // The same name in another bucket (not an input of this pipeline), and messages that are not
  // upload notifications at all.
  await storage.bucket(NAMES.elsewhere).file('scenes/00000.tif').save(scene, { resumable: false, contentType: 'image/tiff' });
  await pubsub.topic(NAMES.uploads).publishMessage({ data: Buffer.from('not json'), attributes: { eventType: 'OBJECT_FINALIZE' } });
  await pubsub.topic(NAMES.uploads).publishMessage({ data: Buffer.from('{"kind":"storage#object"}'), attributes: { hello: 'world' } });
  print(`uploaded ${inputs.length} objects, ${elapsed()}`);

  // --- the faults --------------------------------------------------------------------------------
  const expected = new Set(inputs.map((i) => i.name)).size;
  const progress = () => new Set(events.map((e) => e.input.name)).size / expected;
  const waitFor = async (share: number) => {
    while (progress() < share && Date.now() - started < DEADLINE_MS) await sleep(100);
  };
  for (const share of [0.2, 0.4]) {
    await waitFor(share);
    await worker.kill();
    print(`worker SIGKILLed at ${(progress() * 100).toFixed(0)} % (${elapsed()}); restarting`);
    await sleep(1000);
    await worker.start();
  }
  await waitFor(0.6);
  print(`Pub/Sub emulator restarted at ${(progress() * 100).toFixed(0)} % (${elapsed()}): what it held is gone`);
  await closeListeners();
  await emulator.stop();
  emulator = await startPubSubEmulator({ port: emulatorPort });
  await topology();
  listen();

  // --- settle, reconcile, settle ------------------------------------------------------------------
  const settle = async (quietMs: number) => {
    let last = -1;
    let quietSince = Date.now();
    while (Date.now() - started < DEADLINE_MS) {
      if (events.length !== last) {
        last = events.length;
        quietSince = Date.now();
      } else if (Date.now() - quietSince > quietMs) return;
      await sleep(500);
    }
  };
  await settle(15_000);
  proxy.setFaultRate(0);
  const recovered = await reconcile({
    storage,
    inputBucket: NAMES.input,
    outputBucket: NAMES.output,
    outputPrefix: '',
    publishBatch: createBatchPublisher(pubsub, NAMES.work),
    limits: { maxItems: 8, maxBytes: 512 * 2 ** 20 },
    logger,
  });
  print(`reconcile queued ${recovered.requeued.length} uploads the emulator restart lost (${elapsed()})`);
  await settle(15_000);

  // --- the ledger ---------------------------------------------------------------------------------
  const expectation = new Map(inputs.map((i) => [i.name, i.expect]));
  const [files] = await storage.bucket(NAMES.input).getFiles({ autoPaginate: true });
  const outcomes = new Map<string, string>();
  let lost = 0;
  const unexpected: string[] = [];
  const output = storage.bucket(NAMES.output);
  await Promise.all(
    files.map((file) =>
      limit(async () => {
        const generation = String(file.metadata.generation);
        const names = maskNames({ bucket: NAMES.input, name: file.name }, '');
        const sourceOf = async (name: string) => {
          try {
            const [meta] = await output.file(name).getMetadata();
            return (meta.metadata as Record<string, string> | undefined)?.['cloudseg-source-generation'] ?? null;
          } catch {
            return null;
          }
        };
        let outcome: string;
        if ((await sourceOf(names.png)) === generation) outcome = 'succeeded';
        else if ((await sourceOf(names.failure)) === generation) {
          const [record] = await output.file(names.failure).download();
          outcome = (JSON.parse(record.toString()) as ResultEvent).error?.code ?? 'failed';
        } else {
          outcome = 'lost';
          lost++;
        }
        outcomes.set(file.name, outcome);
        if (outcome !== expectation.get(file.name)) unexpected.push(`${file.name}: ${outcome}, expected ${expectation.get(file.name)}`);
      }),
    ),
  );
  // Written twice: one input generation whose events name two different mask generations.
  const maskGenerations = new Map<string, Set<string>>();
  for (const e of events) {
    if (!e.output) continue;
    const key = `${e.input.name}#${e.input.generation}`;
    const set = maskGenerations.get(key) ?? new Set<string>();
    set.add(e.output.generation);
    maskGenerations.set(key, set);
  }
  const writtenTwice = [...maskGenerations.values()].filter((s) => s.size > 1).length;
  const failedByCode = new Map<string, number>();
  for (const o of outcomes.values()) if (o !== 'succeeded' && o !== 'lost') failedByCode.set(o, (failedByCode.get(o) ?? 0) + 1);
  const statuses = events.reduce<Record<string, number>>((acc, e) => ({ ...acc, [e.status]: (acc[e.status] ?? 0) + 1 }), {});
  const injected = proxy.counts();

  const failed = [...outcomes.values()].filter((o) => o !== 'succeeded' && o !== 'lost').length;
  const rows = [
    ['inputs', 'succeeded', 'failed', 'lost', 'written twice', 'crashed processes'],
    [outcomes.size, outcomes.size - failed - lost, failed, lost, writtenTwice, worker.crashes()].map(String),
  ];
  print('');
  for (const row of rows) print(row.map((cell, i) => cell.padStart(rows[0]![i]!.length)).join('  '));
  print(`failed by code: ${[...failedByCode].sort().map(([c, n]) => `${c} ${n}`).join(', ')}`);
  print('');
  print(`result events ${JSON.stringify(statuses)}; notification copies ${copies}; storage faults injected into the worker: ${injected.injected503} x 503, ${injected.injected429} x 429, ${injected.resets} resets of ${injected.requests} requests; ${elapsed()}`);
  if (unexpected.length > 0) print(`unexpected outcomes (${unexpected.length}):\n  ${unexpected.slice(0, 20).join('\n  ')}`);
  exitCode = lost === 0 && writtenTwice === 0 && worker.crashes() === 0 && unexpected.length === 0 && outcomes.size === expected ? 0 : 1;
  print(exitCode === 0 ? 'chaos: nothing lost, nothing written twice, every input as expected' : 'chaos: FAILED');
} finally {
  // Each step bounded: a stop that never returns (a request left hanging) must not keep the run
  // alive after its verdict; it is named on stderr so it can be chased.
  for (const [i, cleanup] of [...cleanups.entries()].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CLEANUP_STEP_MS)));
    const outcome = await Promise.race([cleanup().catch(() => undefined), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') process.stderr.write(`chaos: clean-up step ${i} (${cleanup.toString().replace(/\s+/g, ' ').slice(0, 80)}) did not finish in ${CLEANUP_STEP_MS / 1000} s\n`);
  }
  await rm(rootDir, { recursive: true, force: true });
}
process.exit(exitCode);
