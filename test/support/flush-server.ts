// The registered flush function in a real functions-framework server on loopback, with a Pub/Sub
// client on the test's emulator; started on first use, closed after the file's tests.
import { after } from 'node:test';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PubSub } from '@google-cloud/pubsub';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { closeFlushInstance } from '../../functions/flush.js';
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

  // Set up on first use inside a test: root-level hooks do not reliably run after useEmulator's.
  const start = async () => {
    emulator();
    pubsub ??= new PubSub({ projectId });
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
  });
  return {
    start,
    pubsub: () => {
      if (!pubsub) throw new Error('flush server not started');
      return pubsub;
    },
  };
}
