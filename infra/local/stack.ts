// The whole pipeline on one machine: the Pub/Sub emulator, the local GCS server, topics and
// subscriptions as in production, both functions in functions-framework servers on loopback,
// the emulator's push from the work topic to the worker, and a scheduler ticker calling flush.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import { createPubSub } from '../../shared/cloud/pubsub.js';
import { createStorage } from '../../shared/cloud/storage.js';
import { loadConfig, type Config } from '../../shared/config/index.js';
import type { Logger } from '../../shared/logging.js';
import { startGcsServer, type GcsServer } from './gcs-server/index.js';
import { startPubSubEmulator, type PubSubEmulator } from './pubsub-emulator.js';

export interface LocalStackOptions {
  /** Buckets live here as folders: <rootDir>/<bucket>/... */
  rootDir: string;
  logger: Logger;
  /** How often the scheduler ticker calls flush; null for no ticker (call triggerFlush yourself). */
  flushEveryMs?: number | null;
  /** Watch the bucket folders so a file copied in counts as an upload. */
  watch?: boolean;
  /** Extra CLOUDSEG_* settings (e.g. CLOUDSEG_MODEL_DIR) applied before the functions start. */
  env?: Record<string, string>;
  /** Subscriptions to create on the results topic, for whoever wants to watch results. */
  resultSubscriptions?: string[];
}

export interface LocalStack {
  config: Config;
  storage: Storage;
  pubsub: PubSub;
  urls: { gcs: string; flush: string; worker: string; pubsub: string };
  bucketDir(bucket: string): string;
  /** Calls flush over HTTP as Cloud Scheduler would; returns its JSON summary. */
  triggerFlush(): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

export const LOCAL_PROJECT = 'cloudseg-local';
const PUSH_SUBSCRIPTION = 'cloudseg-work-push';

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { logger } = options;
  const cleanups: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup().catch((err: unknown) => logger.warn({ err }, 'local stack: clean-up step failed'));
    }
  };
  try {
    await mkdir(options.rootDir, { recursive: true });
    const emulator: PubSubEmulator = await startPubSubEmulator();
    cleanups.push(() => emulator.stop());
    // The Google clients and the functions read these themselves; no isLocal branch anywhere else.
    Object.assign(process.env, emulator.env, {
      GOOGLE_CLOUD_PROJECT: process.env.GOOGLE_CLOUD_PROJECT ?? LOCAL_PROJECT,
      CLOUDSEG_FLUSH_TOKEN: process.env.CLOUDSEG_FLUSH_TOKEN ?? randomBytes(18).toString('hex'),
      ...options.env,
    });
    const config = loadConfig(process.env);

    const pubsub = createPubSub(config.projectId);
    cleanups.push(() => pubsub.close());
    await createTopology(pubsub, config, options.resultSubscriptions ?? []);

    const gcs: GcsServer = await startGcsServer({
      rootDir: options.rootDir,
      projectId: config.projectId,
      pubsub,
      watch: options.watch ?? false,
      logger,
    });
    cleanups.push(() => gcs.stop());
    Object.assign(process.env, gcs.env);
    const storage = createStorage(config.projectId);
    for (const bucket of [config.buckets.input, config.buckets.output]) await gcs.createBucket(bucket);
    await storage.bucket(config.buckets.input).createNotification(config.topics.uploads, {
      payloadFormat: 'JSON_API_V1',
      eventTypes: ['OBJECT_FINALIZE'],
    });

    // Import the functions only now: they read the environment set above when first called.
    await import('../../functions/index.js');
    const { getTestServer } = await import('@google-cloud/functions-framework/testing');
    const flushServer = await listen(getTestServer('flush'));
    cleanups.push(() => close(flushServer));
    const workerServer = await listen(getTestServer('worker'));
    cleanups.push(async () => {
      await close(workerServer);
      const { workerInstance } = await import('../../functions/worker.js');
      await workerInstance().runtime.close();
    });
    const flushUrl = `http://127.0.0.1:${port(flushServer)}/`;
    const workerBase = `http://127.0.0.1:${port(workerServer)}`;

    // Eventarc's role: push each work message to the worker. The path gives the CloudEvent its source.
    const [push] = await pubsub.topic(config.topics.work).createSubscription(PUSH_SUBSCRIPTION, {
      pushConfig: { pushEndpoint: `${workerBase}/projects/${config.projectId}/topics/${config.topics.work}` },
      ackDeadlineSeconds: 600,
    });
    // The emulator re-pushes a failing message every second forever: remove the push first on stop.
    cleanups.push(async () => {
      await push.delete();
    });

    const triggerFlush = async () => {
      const res = await fetch(flushUrl, { method: 'POST', headers: { authorization: `Bearer ${config.flush.token}` } });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status >= 500 || res.status === 401) logger.warn({ status: res.status, body }, 'flush did not publish everything');
      return body;
    };
    if (options.flushEveryMs) {
      // Like Cloud Scheduler with a single attempt at a time: a tick is skipped while one runs,
      // and stopping waits for the running one instead of cutting its connection.
      let running: Promise<unknown> | null = null;
      const ticker = setInterval(() => {
        running ??= triggerFlush()
          .catch((err: unknown) => logger.warn({ err }, 'scheduled flush failed'))
          .finally(() => {
            running = null;
          });
      }, options.flushEveryMs);
      cleanups.push(async () => {
        clearInterval(ticker);
        await running;
      });
    }

    return {
      config,
      storage,
      pubsub,
      urls: { gcs: gcs.url, flush: flushUrl, worker: workerBase, pubsub: emulator.host },
      bucketDir: (bucket) => gcs.bucketDir(bucket),
      triggerFlush,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function createTopology(pubsub: PubSub, config: Config, resultSubscriptions: string[]): Promise<void> {
  const { topics, subscriptions } = config;
  for (const name of [topics.uploads, topics.work, topics.results, topics.deadLetter]) await pubsub.createTopic(name);
  // As in production: the flush must ack within this deadline (see the Terraform).
  await pubsub.topic(topics.uploads).createSubscription(subscriptions.uploadsBuffer, { ackDeadlineSeconds: 120 });
  await pubsub.topic(topics.deadLetter).createSubscription(`${topics.deadLetter}-pull`);
  for (const name of resultSubscriptions) await pubsub.topic(topics.results).createSubscription(name);
}

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function port(server: Server): number {
  return (server.address() as AddressInfo).port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
