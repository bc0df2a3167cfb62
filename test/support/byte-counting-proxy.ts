// An HTTP proxy in front of the local GCS server that counts, per object, the media bytes it
// hands out and the media requests made: what a test needs to prove a client read only headers.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MediaReads {
  requests: number;
  bytes: number;
}

export interface ByteCountingProxy {
  url: string;
  /** Media reads by `bucket/object name`. */
  reads(): Map<string, MediaReads>;
  stop(): Promise<void>;
}

// JSON API object paths: /storage/v1/b/B/o/NAME and /download/storage/v1/b/B/o/NAME.
const OBJECT_PATH = /\/b\/([^/]+)\/o\/([^?]+)/;

export async function startByteCountingProxy(target: string): Promise<ByteCountingProxy> {
  const upstream = new URL(target);
  const reads = new Map<string, MediaReads>();
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const match = OBJECT_PATH.exec(url.pathname);
    const media = req.method === 'GET' && url.searchParams.get('alt') === 'media' && match;
    const key = media ? `${decodeURIComponent(match[1]!)}/${decodeURIComponent(match[2]!)}` : undefined;
    const counted = key ? (reads.get(key) ?? reads.set(key, { requests: 0, bytes: 0 }).get(key)!) : undefined;
    if (counted) counted.requests++;
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.on('data', (chunk: Buffer) => {
        if (counted) counted.bytes += chunk.length;
      });
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    reads: () => reads,
    stop: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
