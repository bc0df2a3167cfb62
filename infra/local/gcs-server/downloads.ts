// Media downloads (alt=media), whole or by Range, with the headers the client validates against:
// x-goog-hash (crc32c and md5 of the stored bytes) and x-goog-stored-content-encoding, without which
// the client silently skips its checksum check.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { GcsApiError } from './errors.js';
import { etagOf } from './object-resource.js';
import type { ObjectStore, StoredObject } from './object-store.js';
import { checkExisting, parsePreconditions } from './preconditions.js';

export interface ByteRange {
  start: number;
  end: number; // inclusive
}

/**
 * The byte range a `Range` header asks for in an object of `size` bytes: null for the whole object
 * (no header, or one this server does not serve, like several ranges); 416 when unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null {
  if (!header) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return null;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  if (start >= size || end < start) throw unsatisfiable(size);
  return { start, end };
}

export interface MediaOptions {
  /** Fault injection: send this many bytes of the body, then drop the connection. */
  breakAfterBytes?: number | undefined;
}

export async function sendMedia(
  store: ObjectStore,
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  name: string,
  query: URLSearchParams,
  options: MediaOptions = {},
): Promise<void> {
  const preconditions = parsePreconditions(query);
  const { object, handle } = await store.openForRead(bucket, name, (live) =>
    checkExisting(live, preconditions, `${bucket}/${name}`, { notModified: true }),
  );
  try {
    const range = object.size === 0 ? null : parseRange(req.headers.range, object.size);
    const headers = mediaHeaders(object);
    if (range) {
      headers['Content-Range'] = `bytes ${range.start}-${range.end}/${object.size}`;
      headers['Content-Length'] = String(range.end - range.start + 1);
    }
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || object.size === 0) {
      res.end();
      return;
    }
    const start = range?.start ?? 0;
    const end = range?.end ?? object.size - 1;
    if (options.breakAfterBytes !== undefined && options.breakAfterBytes <= end - start) {
      // Part of the body, then a reset: what a client sees when a download breaks midway.
      const partial = handle.createReadStream({ start, end: start + options.breakAfterBytes - 1 });
      for await (const chunk of partial) if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      await new Promise<void>((resolve) => setTimeout(resolve, 20)); // let the bytes leave first
      req.socket.resetAndDestroy();
      return;
    }
    const stream = handle.createReadStream({ start, end });
    await pipeline(stream, res);
  } finally {
    await handle.close().catch(() => undefined);
  }
}

function mediaHeaders(object: StoredObject): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': object.contentType,
    'Content-Length': String(object.size),
    'Accept-Ranges': 'bytes',
    ETag: `"${etagOf(object)}"`,
    'Last-Modified': new Date(object.updated).toUTCString(),
    'x-goog-hash': object.componentCount === undefined ? `crc32c=${object.crc32c},md5=${object.md5Hash}` : `crc32c=${object.crc32c}`,
    'x-goog-generation': object.generation,
    'x-goog-metageneration': object.metageneration,
    'x-goog-storage-class': 'STANDARD',
    'x-goog-stored-content-length': String(object.size),
    // Stored bytes are served as stored (no decompressive transcoding), so they are what was hashed.
    'x-goog-stored-content-encoding': object.contentEncoding ?? 'identity',
  };
  if (object.contentEncoding) headers['Content-Encoding'] = object.contentEncoding;
  if (object.cacheControl) headers['Cache-Control'] = object.cacheControl;
  if (object.contentDisposition) headers['Content-Disposition'] = object.contentDisposition;
  if (object.contentLanguage) headers['Content-Language'] = object.contentLanguage;
  return headers;
}

function unsatisfiable(size: number): GcsApiError {
  return new GcsApiError(416, `The requested range cannot be satisfied (object size ${size})`);
}
