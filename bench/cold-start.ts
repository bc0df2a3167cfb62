// Worker cold start: a new functions-framework process serving the worker, as Cloud Run starts one,
// timed from spawn to the 2xx of its first batch (one 512x512 sample, its result event published),
// once with the model in the registry's content cache and once with an empty cache (pulled from
// this repository's DVC registry, as the default config does). Local GCS server + Pub/Sub emulator.
//   usage: tsx bench/cold-start.ts [--app DIR] [--runs N] [--engine onnxruntime]
//   --app DIR: an app directory holding dist/ and node_modules (e.g. a production-like build: the
//              source zip unpacked, npm ci, gcp-build with CLOUDSEG_PRUNE_RUNTIME=1, npm prune);
//              default: this checkout, built dist/ if present, else the sources through tsx.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startGcsServer } from '../infra/local/gcs-server/index.js';
import { startPubSubEmulator } from '../infra/local/pubsub-emulator.js';
import { readSampleManifest } from '../infra/local/samples.js';
import { createPubSub, subscriptionPath } from '../shared/cloud/pubsub.js';
import { createStorage } from '../shared/cloud/storage.js';
import { projectRoot } from '../shared/config/index.js';
import { pullResults } from '../test/support/results.js';
import { batchOf, deliverBatch } from '../test/support/worker-server.js';

const PROJECT = 'cloudseg-cold-start';
const INPUT = 'cs-input';
const OUTPUT = 'cs-output';
const WORK = 'cs-work';
const RESULTS = 'cs-results';
const RESULTS_SUB = 'cs-results-sub';

interface Run {
  cache: 'warm' | 'cold';
  /** spawn -> the port accepts a connection (node start, module load, functions-framework). */
  listeningMs: number;
  /** spawn -> 'model loaded' logged (model resolve, pull when cold, engine load, ONNX export). */
  modelLoadedMs: number | null;
  /** spawn -> the delivery's 2xx: the mask written and the result event published. */
  firstResultMs: number;
  /** The result event's own timings of that first image. */
  inferMs: number | null;
  totalItemMs: number | null;
  status: string;
}

const { values } = parseArgs({
  options: { app: { type: 'string' }, runs: { type: 'string', default: '1' }, engine: { type: 'string', default: 'onnxruntime' } },
});
const ROOT = projectRoot();
const app = resolve(values.app ?? ROOT);
const runs = Math.max(1, Number(values.runs));

const compiled = join(app, 'dist', 'functions', 'index.js');
const ffMain = join(app, 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
// Production serves the compiled JS; a checkout without dist/ runs the sources through tsx (slower start).
const viaTsx = !existsSync(compiled);
const source = viaTsx ? join(ROOT, 'functions', 'index.ts') : compiled;

const root = await mkdtemp(join(tmpdir(), 'cloudseg-cold-start-'));
const emulator = await startPubSubEmulator();
Object.assign(process.env, emulator.env, { GOOGLE_CLOUD_PROJECT: PROJECT });
const pubsub = createPubSub(PROJECT);
const gcs = await startGcsServer({ rootDir: join(root, 'gcs'), projectId: PROJECT, pubsub });
Object.assign(process.env, gcs.env);
const storage = createStorage(PROJECT);
const children = new Set<ChildProcess>();

try {
  await gcs.createBucket(INPUT);
  await gcs.createBucket(OUTPUT);
  await pubsub.createTopic(RESULTS);
  await pubsub.topic(RESULTS).createSubscription(RESULTS_SUB);
  const sample = (await readSampleManifest()).find((s) => s.id === 's2-oncloudn-chip1');
  if (!sample) throw new Error('samples/manifest.json has no s2-oncloudn-chip1 (512x512)');
  const bytes = await readFile(sample.imagePath);

  const cacheDir = join(root, 'registry-cache');
  const results: Run[] = [];
  // The cold run fills the cache the warm runs then find.
  for (const [i, cache] of (['cold', ...Array<'warm'>(runs).fill('warm')] as const).entries()) {
    const name = `cold-start/${i}-${sample.id}.tif`;
    const file = storage.bucket(INPUT).file(name);
    await file.save(bytes, { resumable: false, contentType: 'image/tiff' });
    const item = { bucket: INPUT, name, generation: String(file.metadata.generation), size: bytes.length, contentType: 'image/tiff' };
    results.push(await coldStart(cache, cacheDir, item));
  }

  const warm = results.filter((r) => r.cache === 'warm');
  const cold = results.find((r) => r.cache === 'cold')!;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const warmMs = median(warm.map((r) => r.firstResultMs));
  const rows = results.map((r) => `| ${r.cache} | ${r.listeningMs} | ${r.modelLoadedMs ?? '-'} | ${r.inferMs ?? '-'} | ${r.totalItemMs ?? '-'} | ${r.firstResultMs} | ${r.status} |`);
  process.stdout.write(
    [
      `worker cold start: ${sample.id} (512x512), engine ${values.engine}, ${viaTsx ? 'sources through tsx' : `compiled ${compiled}`}, node_modules of ${app}`,
      '| cache | listening ms | model loaded ms | infer ms | item total ms | first result ms | status |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      'ms from process spawn; "infer" and "item total" are the result event\'s own timings of the image.',
      '',
    ].join('\n'),
  );
  process.stdout.write(
    `BENCH_RESULT ${JSON.stringify({
      bench: 'cold-start',
      engine: values.engine,
      image: '512x512',
      runtime: viaTsx ? 'tsx' : 'dist',
      app,
      warmCacheMs: warmMs,
      coldCacheMs: cold.firstResultMs,
      runs: results,
    })}\n`,
  );
} finally {
  for (const child of children) child.kill('SIGKILL');
  await gcs.stop();
  await pubsub.close();
  await emulator.stop();
  await rm(root, { recursive: true, force: true });
}

async function coldStart(cache: 'warm' | 'cold', cacheDir: string, item: { bucket: string; name: string; generation: string; size: number; contentType: string }): Promise<Run> {
  if (cache === 'cold') await rm(cacheDir, { recursive: true, force: true });
  const port = await freePort();
  const args = [...(viaTsx ? ['--import', 'tsx'] : []), ffMain, '--target=worker', `--source=${source}`, `--port=${port}`];
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd: viaTsx ? ROOT : app,
    env: {
      ...process.env,
      GOOGLE_CLOUD_PROJECT: PROJECT,
      CLOUDSEG_INPUT_BUCKET: INPUT,
      CLOUDSEG_OUTPUT_BUCKET: OUTPUT,
      CLOUDSEG_WORK_TOPIC: WORK,
      CLOUDSEG_RESULTS_TOPIC: RESULTS,
      CLOUDSEG_MODEL_REPO: ROOT,
      CLOUDSEG_MODEL_CACHE_DIR: cacheDir,
      CLOUDSEG_INFERENCE_BACKEND: values.engine,
      LOG_LEVEL: 'info',
      NODE_ENV: 'production',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let modelLoadedMs: number | null = null;
  let output = '';
  const watch = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-8000);
    if (modelLoadedMs === null && text.includes('"model loaded"')) modelLoadedMs = Math.round(performance.now() - started);
  };
  child.stdout.on('data', watch);
  child.stderr.on('data', watch);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const url = `http://127.0.0.1:${port}`;
    const listeningMs = await untilListening(port, started, exited, () => output);
    const res = await deliverBatch(url, PROJECT, WORK, batchOf([item]), 'eventarc');
    const firstResultMs = Math.round(performance.now() - started);
    if (!res.ok) throw new Error(`the worker answered ${res.status}: ${output}`);
    const [event] = await pullResults(pubsub, subscriptionPath(PROJECT, RESULTS_SUB), 1, 60_000);
    return {
      cache,
      listeningMs,
      modelLoadedMs,
      firstResultMs,
      inferMs: event ? Math.round(event.timingsMs.infer ?? 0) : null,
      totalItemMs: event ? Math.round(event.timingsMs.total ?? 0) : null,
      status: event?.status ?? 'no event',
    };
  } finally {
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
    child.kill('SIGKILL');
    children.delete(child);
  }
}

async function untilListening(port: number, started: number, exited: Promise<number | null>, output: () => string): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`the worker exited before listening: ${output()}`);
    if (performance.now() - started > 60_000) throw new Error(`the worker did not listen within 60 s: ${output()}`);
    if (await connects(port)) return Math.round(performance.now() - started);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// A plain TCP connect: any HTTP request would be an invocation of the worker.
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}
