// Loopback ports for the local stack: a free one chosen by the kernel, or a configured one checked
// up front so that a taken port is a one-line error naming it instead of a server's stack trace.
import { createServer } from 'node:net';
import { CloudsegError } from '../../shared/errors.js';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PortClaim {
  /** @default '127.0.0.1' */
  host?: string;
  /** What wanted the port, for the message: 'the Pub/Sub emulator'. */
  wantedBy: string;
  /** The setting that chose it, for the message: '--pubsub-port'. */
  setting?: string | undefined;
}

/** A non-retryable CONFIG_INVALID error naming the taken port and what wanted it. */
export function portInUseError(port: number, claim: PortClaim, cause?: unknown): CloudsegError {
  const host = claim.host ?? '127.0.0.1';
  const by = claim.setting ? `${claim.wantedBy} (${claim.setting})` : claim.wantedBy;
  return new CloudsegError('CONFIG_INVALID', `port ${port} on ${host} is already in use; ${by} wanted it. Stop what holds it or choose another port`, {
    cause,
    details: { port, host },
  });
}

export function isAddressInUse(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EADDRINUSE';
}

/** Throws portInUseError when `port` cannot be bound on the claim's host right now. */
export async function assertPortFree(port: number, claim: PortClaim): Promise<void> {
  const host = claim.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err) => reject(isAddressInUse(err) ? portInUseError(port, claim, err) : err));
    server.listen(port, host, () => server.close(() => resolve()));
  });
}
