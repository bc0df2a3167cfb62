// The local GCS server: the subset of the Cloud Storage JSON API that @google-cloud/storage uses,
// over bucket folders on disk, with notification configs that publish to Pub/Sub (the emulator).
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { PubSub } from '@google-cloud/pubsub';
import type { Logger } from '../../../shared/logging.js';
import { BucketStore } from './bucket-store.js';
import { FaultInjector } from './fault-injection.js';
import { Notifier } from './notifications.js';
import { ObjectStore } from './object-store.js';
import { createRequestHandler } from './routes.js';
import { Uploads } from './uploads.js';
import { startFolderWatcher, type FolderWatcher } from './watcher.js';

export interface GcsServerOptions {
  /** Buckets are folders: <rootDir>/<bucket>/<object name>; metadata lives in <rootDir>/.gcs-meta. */
  rootDir: string;
  /** @default '127.0.0.1' (loopback only) */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  projectId: string;
  /** Client used to publish notifications (normally pointed at the emulator). Without it, none are sent. */
  pubsub?: PubSub;
  /** @default false. Watch bucket folders: a file copied in is an upload (and an OBJECT_FINALIZE). */
  watch?: boolean;
  logger?: Logger;
  /** @default 256 MiB. Bigger multipart uploads get a 413; resumable uploads have no limit. */
  maxMultipartBytes?: number;
  /** @default 200. How often the watcher looks at the bucket folders. */
  watchIntervalMs?: number;
  /** @default 500. How long a copied file must hold still before it becomes an object. */
  watchStableMs?: number;
}

export interface GcsServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** What @google-cloud/storage reads to talk to this server instead of Google. */
  env: { STORAGE_EMULATOR_HOST: string };
  /** Creates the bucket folder; a bucket that already exists is left as it is. */
  createBucket(name: string): Promise<void>;
  bucketDir(name: string): string;
  /** Runs one watcher pass now (no-op without `watch`), for tests that would rather not sleep. */
  scanFolders(): Promise<void>;
  /** Closes the server and the watcher, and waits for notifications still being published. */
  stop(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export async function startGcsServer(options: GcsServerOptions): Promise<GcsServer> {
  const host = options.host ?? '127.0.0.1';
  if (!LOOPBACK_HOSTS.has(host)) throw new Error(`gcs-server listens on loopback only; refusing host '${host}'`);
  const logger = options.logger?.child({ component: 'gcs-server' });
  await mkdir(options.rootDir, { recursive: true });
  const store = new ObjectStore({ rootDir: options.rootDir, adoptUnknownFiles: !options.watch });
  await store.init();
  const buckets = new BucketStore(store);

  const server = createServer();
  await listen(server, options.port ?? 0, host);
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('gcs-server: no listening address');
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  const notifier = new Notifier({ buckets, pubsub: options.pubsub, baseUrl: url, logger });
  const uploads = new Uploads({ store, notifier, baseUrl: url, maxMultipartBytes: options.maxMultipartBytes ?? 256 * 1024 * 1024 });
  server.on('request', createRequestHandler({ store, buckets, uploads, notifier, faults: new FaultInjector(), baseUrl: url, logger }));

  let watcher: FolderWatcher | undefined;
  if (options.watch) {
    watcher = startFolderWatcher({
      store,
      onAdopted: (committed) => notifier.finalized(committed),
      intervalMs: options.watchIntervalMs,
      stableMs: options.watchStableMs,
      logger,
    });
  }
  logger?.info({ url, rootDir: options.rootDir, watch: Boolean(options.watch), projectId: options.projectId }, 'gcs-server: listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    env: { STORAGE_EMULATOR_HOST: url },
    async createBucket(name) {
      await buckets.create(name, { existOk: true });
    },
    bucketDir: (name) => store.bucketDir(name),
    scanFolders: async () => watcher?.scan(),
    stop() {
      stopping ??= (async () => {
        await watcher?.stop();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
        await notifier.idle();
        await uploads.close();
        logger?.info({ url }, 'gcs-server: stopped');
      })();
      return stopping;
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
