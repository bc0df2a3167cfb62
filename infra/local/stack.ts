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
import { assertPortFree, isAddressInUse, portInUseError, type PortClaim } from './free-port.js';
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
  /**
   * Fixed loopback ports for the servers another shell talks to (so its exported *_EMULATOR_HOST
   * lines survive a restart). @default free ports
   */
  ports?: { pubsub?: ConfiguredPort; gcs?: ConfiguredPort };
}

export interface ConfiguredPort {
  port: number;
  /** The setting that chose it, named when the port is taken: '--gcs-port'. */
  setting?: string;
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
/** How long stop() waits for one step (a server, a client) before going on to the next. */
const STOP_STEP_BUDGET_MS = 200;
const PUSH_SUBSCRIPTION = 'cloudseg-work-push';

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { logger, ports = {} } = options;
  const claims = {
    pubsub: { wantedBy: 'the Pub/Sub emulator', setting: ports.pubsub?.setting },
    gcs: { wantedBy: 'the local GCS server', setting: ports.gcs?.setting },
  } satisfies Record<string, PortClaim>;
  // Stopping is quick because nothing here is worth waiting for: the emulator's state is in memory
  // and thrown away, so a flush in flight is cut rather than finished, and a step still busy after
  // its budget (a server waiting on a connection of that cut flush) is left behind. Steps run in
  // reverse order of start; the emulator, which they use, goes last and is always waited for.
  const stopping = new AbortController();
  const cleanups: Array<() => Promise<void>> = [];
  let emulator: PubSubEmulator | undefined;
  const stop = async () => {
    stopping.abort();
    for (const cleanup of cleanups.splice(0).reverse()) {
      const outcome = await settleWithin(cleanup(), STOP_STEP_BUDGET_MS);
      if (outcome.status === 'rejected') logger.warn({ err: outcome.reason }, 'local stack: clean-up step failed');
      if (outcome.status === 'late') logger.debug({ budgetMs: STOP_STEP_BUDGET_MS }, 'local stack: clean-up step still busy; not waiting');
    }
    await emulator?.stop();
  };
  try {
    // A taken port fails before the emulator's seconds of start-up, not after.
    if (ports.pubsub) await assertPortFree(ports.pubsub.port, claims.pubsub);
    if (ports.gcs) await assertPortFree(ports.gcs.port, claims.gcs);
    await mkdir(options.rootDir, { recursive: true });
    emulator = await startPubSubEmulator({
      ...(ports.pubsub ? { port: ports.pubsub.port, portSetting: ports.pubsub.setting } : {}),
    });
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
      ...(ports.gcs ? { port: ports.gcs.port } : {}),
      projectId: config.projectId,
      pubsub,
      watch: options.watch ?? false,
      logger,
    }).catch((err: unknown) => {
      throw ports.gcs && isAddressInUse(err) ? portInUseError(ports.gcs.port, claims.gcs, err) : err;
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
    cleanups.push(async () => {
      await close(flushServer);
      // Cancels a flush still pulling (its caller is gone) instead of letting it run out its deadline.
      const { closeFlushInstance } = await import('../../functions/flush.js');
      await closeFlushInstance();
    });
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
      const res = await fetch(flushUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.flush.token}` },
        signal: stopping.signal,
      });
      const body = (await res.json()) as Record<string, unknown>;
      if (res.status >= 500 || res.status === 401) logger.warn({ status: res.status, body }, 'flush did not publish everything');
      return body;
    };
    if (options.flushEveryMs) {
      // Like Cloud Scheduler with a single attempt at a time: a tick is skipped while one runs.
      // Stopping cuts the running one (a flush pulls for seconds; see the stop note above).
      let running: Promise<unknown> | null = null;
      const ticker = setInterval(() => {
        running ??= triggerFlush()
          .catch((err: unknown) => {
            if (!stopping.signal.aborted) logger.warn({ err }, 'scheduled flush failed');
          })
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

type Settled = { status: 'fulfilled' } | { status: 'rejected'; reason: unknown } | { status: 'late' };

async function settleWithin(work: Promise<void>, ms: number): Promise<Settled> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Settled>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'late' }), ms);
  });
  const settled = work.then(
    (): Settled => ({ status: 'fulfilled' }),
    (reason: unknown): Settled => ({ status: 'rejected', reason }),
  );
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
