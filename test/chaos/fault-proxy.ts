// An HTTP proxy in front of the local GCS server that fails a share of requests the way Cloud
// Storage does under load: 503, 429, or a connection reset after the response has started. The
// worker talks to it (STORAGE_EMULATOR_HOST), so every storage call of the worker meets faults.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxy {
  url: string;
  /** Share of requests that fail (0..1); can be changed while running. */
  setFaultRate(rate: number): void;
  counts(): { requests: number; injected503: number; injected429: number; resets: number };
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string, options: { faultRate: number; seed?: number }): Promise<FaultProxy> {
  const upstream = new URL(target);
  let rate = options.faultRate;
  // A small deterministic generator: the same run meets the same faults.
  let state = options.seed ?? 12345;
  const random = () => ((state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const counts = { requests: 0, injected503: 0, injected429: 0, resets: 0 };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    counts.requests++;
    const roll = random();
    if (roll < rate / 3) {
      counts.injected503++;
      return fail(req, res, 503, 'backendError');
    }
    if (roll < (2 * rate) / 3) {
      counts.injected429++;
      return fail(req, res, 429, 'rateLimitExceeded');
    }
    const resetMidway = roll < rate;
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      if (resetMidway) {
        // Headers (and maybe some body) are out, then the connection dies: a reset mid-response.
        counts.resets++;
        up.once('data', (chunk: Buffer) => {
          res.write(chunk.subarray(0, Math.floor(chunk.length / 2)));
          res.socket?.destroy();
          up.destroy();
        });
        up.once('end', () => res.socket?.destroy());
        return;
      }
      up.pipe(res);
    });
    out.on('error', () => res.socket?.destroy());
    req.pipe(out);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setFaultRate: (r) => {
      rate = r;
    },
    counts: () => ({ ...counts }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// The request body is drained so the client sees a clean answer, in GCS's JSON error shape.
function fail(req: IncomingMessage, res: ServerResponse, status: number, reason: string): void {
  req.resume();
  req.on('end', () => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: status, message: `injected ${status}`, errors: [{ reason, message: `injected ${status}` }] } }));
  });
}
