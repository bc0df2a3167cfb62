// The status page's HTTP side on loopback: the page itself, its state as JSON and as Server-Sent
// Events (pushed on change, and on a heartbeat so the last-minute figures age), and the quick-looks.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusServerOptions {
  /** The whole page (inline CSS and JS). */
  pageHtml: string;
  /** What the page shows now, JSON-serialisable. */
  state: () => unknown;
  /** A quick-look PNG by mask id; undefined when there is none (any more). */
  quickLook: (id: string) => Buffer | undefined;
  /** @default 0 (a free port chosen by the kernel) */
  port?: number;
  /** Changes within this window go out as one event. @default 200 */
  coalesceMs?: number;
  /** The state is sent at least this often, so time-windowed figures decay. @default 5000 */
  heartbeatMs?: number;
}

export interface StatusServer {
  /** http://127.0.0.1:PORT/ */
  url: string;
  /** Tells the open pages that the state changed. */
  changed(): void;
  /** Ends the event streams and closes every connection; does not wait for browsers. */
  stop(): Promise<void>;
}

const QUICK_LOOK_PATH = /^\/quicklook\/([\w-]+)\.png$/;

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const streams = new Set<ServerResponse>();
  const send = (res: ServerResponse) => res.write(`event: status\ndata: ${JSON.stringify(options.state())}\n\n`);
  const broadcast = () => streams.forEach(send);

  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, 'text/plain; charset=utf-8', 'use GET', { allow: 'GET, HEAD' });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://status.local').pathname;
    if (path === '/') reply(res, 200, 'text/html; charset=utf-8', options.pageHtml);
    else if (path === '/status.json') reply(res, 200, 'application/json; charset=utf-8', JSON.stringify(options.state()));
    else if (path === '/events') openStream(req, res);
    else {
      const match = QUICK_LOOK_PATH.exec(path);
      const png = match ? options.quickLook(match[1]!) : undefined;
      if (png) reply(res, 200, 'image/png', png, { 'cache-control': 'private, max-age=3600, immutable' });
      else reply(res, 404, 'text/plain; charset=utf-8', 'not found');
    }
  });

  function openStream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    // A reconnecting browser waits this long (ms) instead of its default 3 s.
    res.write('retry: 1000\n\n');
    send(res);
    streams.add(res);
    req.on('close', () => streams.delete(res));
  }

  let pending: NodeJS.Timeout | undefined;
  const heartbeat = setInterval(broadcast, options.heartbeatMs ?? 5000);
  heartbeat.unref();

  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/`,
    changed() {
      pending ??= setTimeout(() => {
        pending = undefined;
        broadcast();
      }, options.coalesceMs ?? 200);
    },
    async stop() {
      clearInterval(heartbeat);
      clearTimeout(pending);
      for (const res of streams) res.end();
      streams.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function reply(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
