// The registered flush function in a real functions-framework server on loopback, with a Pub/Sub
// client on the test's emulator; started on first use, closed after the file's tests. Flush reads
// upload headers from storage: unless the test points STORAGE_EMULATOR_HOST somewhere first, a
// local GCS server of its own answers (objects the test never uploaded are 404s, so estimated).
import { after } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { closeFlushInstance } from '../../functions/flush.js';
import { startGcsServer, type GcsServer } from '../../infra/local/gcs-server/index.js';
import { useEmulator } from './emulator.js';

export interface FlushServer {
  /** Starts what is not running yet and returns flush's URL. */
  start(): Promise<string>;
  pubsub(): PubSub;
}

export function useFlushServer(projectId: string): FlushServer {
  const emulator = useEmulator();
  let server: Server | undefined;
  let pubsub: PubSub | undefined;
  let gcs: { server: GcsServer; rootDir: string } | undefined;

  // Set up on first use inside a test: root-level hooks do not reliably run after useEmulator's.
  const start = async () => {
    emulator();
    pubsub ??= new PubSub({ projectId });
    if (!server && !process.env.STORAGE_EMULATOR_HOST) {
      const rootDir = await mkdtemp(join(tmpdir(), 'flush-server-gcs-'));
      gcs = { server: await startGcsServer({ rootDir, projectId }), rootDir };
      process.env.STORAGE_EMULATOR_HOST = gcs.server.env.STORAGE_EMULATOR_HOST;
    }
    if (!server) {
      server = getTestServer('flush');
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    }
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  };
  after(async () => {
    if (server) await new Promise((resolve) => server!.close(resolve));
    await closeFlushInstance();
    await pubsub?.close();
    if (gcs) {
      await gcs.server.stop();
      await rm(gcs.rootDir, { recursive: true, force: true });
    }
  });
  return {
    start,
    pubsub: () => {
      if (!pubsub) throw new Error('flush server not started');
      return pubsub;
    },
  };
}
