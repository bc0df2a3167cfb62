// Reading request bodies: whole (bounded) for JSON and multipart, or streamed to a temp file with
// md5 and crc32c computed on the way for media and resumable chunks.
import { createWriteStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { badRequest, GcsApiError } from './errors.js';
import type { ObjectHasher } from './checksums.js';

export const MAX_JSON_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > maxBytes) throw new GcsApiError(413, `Request body larger than ${maxBytes} bytes; use a resumable upload`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The JSON object in the body; an empty body is `{}`. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, MAX_JSON_BYTES);
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('Request body is not valid JSON', 'parseError');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('Request body must be a JSON object');
  return parsed as Record<string, unknown>;
}

/**
 * Appends the request body to `path` (flags 'a') or writes it ('w'), feeding every byte after the
 * first `skipBytes` to the hasher; returns the bytes written. Skipping lets a retried resumable
 * chunk that overlaps what was already stored be accepted without storing those bytes twice.
 */
export async function streamBodyToFile(
  req: IncomingMessage,
  path: string,
  hasher: ObjectHasher,
  options: { flags: 'a' | 'w'; skipBytes?: number },
): Promise<number> {
  let toSkip = options.skipBytes ?? 0;
  let written = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let data = chunk;
      if (toSkip > 0) {
        const n = Math.min(toSkip, data.length);
        toSkip -= n;
        data = data.subarray(n);
      }
      if (data.length > 0) {
        hasher.update(data);
        written += data.length;
      }
      done(null, data);
    },
  });
  await pipeline(req, meter, createWriteStream(path, { flags: options.flags }));
  return written;
}
