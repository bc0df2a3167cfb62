// The three upload protocols of the JSON API: media (bytes only), multipart (JSON metadata + bytes)
// and resumable (a session, then chunks answered 308 until the last one). Each ends in one commit
// and the OBJECT_FINALIZE notification, published before the response goes out.
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ObjectHasher, type ObjectHashes } from './checksums.js';
import { badRequest, GcsApiError, notFound } from './errors.js';
import { KeyLock } from './key-lock.js';
import { boundaryOf, parseMultipart } from './multipart.js';
import { checkObjectName } from './object-names.js';
import { objectResource } from './object-resource.js';
import type { ObjectStore, WritableFields } from './object-store.js';
import type { Notifier } from './notifications.js';
import { checkWrite, parsePreconditions, type Preconditions } from './preconditions.js';
import { readBody, readJsonObject, streamBodyToFile } from './request-body.js';
import { sendEmpty, sendJson } from './replies.js';

export interface UploadDeps {
  store: ObjectStore;
  notifier: Notifier;
  baseUrl: string;
  /** Multipart bodies are parsed in memory; larger uploads must be resumable (the client's default). */
  maxMultipartBytes: number;
}

interface ResumableSession {
  id: string;
  bucket: string;
  name: string;
  fields: WritableFields;
  claimed: Partial<ObjectHashes>;
  preconditions: Preconditions;
  tempPath: string;
  hasher: ObjectHasher;
  received: number;
  /** The finished object's resource, kept so a retried final chunk gets the same answer. */
  done: Record<string, unknown> | null;
}

export class Uploads {
  readonly #deps: UploadDeps;
  readonly #sessions = new Map<string, ResumableSession>();
  readonly #sessionLock = new KeyLock();

  constructor(deps: UploadDeps) {
    this.#deps = deps;
  }

  /** POST /upload/storage/v1/b/{bucket}/o?uploadType=... */
  async start(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams): Promise<void> {
    await this.#deps.store.requireBucket(bucket);
    const uploadType = query.get('uploadType') ?? 'media';
    if (uploadType === 'media') return this.#media(req, res, bucket, query);
    if (uploadType === 'multipart') return this.#multipart(req, res, bucket, query);
    if (uploadType === 'resumable') return this.#createSession(req, res, bucket, query);
    throw badRequest(`Unsupported uploadType '${uploadType}'`);
  }

  /** PUT /upload/storage/v1/b/{bucket}/o?upload_id=... : a chunk, the last chunk, or a status query. */
  async putChunk(req: IncomingMessage, res: ServerResponse, uploadId: string): Promise<void> {
    const session = this.#sessions.get(uploadId);
    if (!session) throw notFound(`No such upload session: ${uploadId}`);
    await this.#sessionLock.run(uploadId, () => this.#putChunkLocked(req, res, session));
  }

  /** Removes unfinished sessions' temp files. */
  async close(): Promise<void> {
    for (const session of this.#sessions.values()) await unlink(session.tempPath).catch(() => undefined);
    this.#sessions.clear();
  }

  async #media(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams): Promise<void> {
    const name = checkObjectName(query.get('name') ?? '');
    const preconditions = parsePreconditions(query);
    const tempPath = this.#deps.store.tempPath();
    const hasher = new ObjectHasher();
    try {
      await streamBodyToFile(req, tempPath, hasher, { flags: 'w' });
    } catch (err) {
      // A media upload has no session to resume: what arrived of a cut-off body is garbage.
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
    const contentType = req.headers['content-type'];
    await this.#commit(res, { bucket, name, tempPath, hasher, fields: contentType ? { contentType } : {}, claimed: claimedFromHeader(req), preconditions });
  }

  async #multipart(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams): Promise<void> {
    const boundary = boundaryOf(req.headers['content-type']);
    const parts = parseMultipart(await readBody(req, this.#deps.maxMultipartBytes), boundary);
    const [metaPart, mediaPart] = parts;
    if (!metaPart || !mediaPart) throw badRequest(`Multipart upload needs 2 parts (metadata, media), got ${parts.length}`);
    let metadata: Record<string, unknown>;
    try {
      metadata = JSON.parse(metaPart.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw badRequest('Multipart metadata part is not JSON', 'parseError');
    }
    const name = checkObjectName(query.get('name') ?? stringOr(metadata.name) ?? '');
    const fields = fieldsOf(metadata);
    fields.contentType ??= mediaPart.headers['content-type'];
    const tempPath = this.#deps.store.tempPath();
    const hasher = new ObjectHasher();
    hasher.update(mediaPart.body);
    await writeFile(tempPath, mediaPart.body);
    const claimed = { ...claimedFromMetadata(metadata), ...claimedFromHeader(req) };
    await this.#commit(res, { bucket, name, tempPath, hasher, fields, claimed, preconditions: parsePreconditions(query) });
  }

  async #createSession(req: IncomingMessage, res: ServerResponse, bucket: string, query: URLSearchParams): Promise<void> {
    const metadata = await readJsonObject(req);
    const name = checkObjectName(query.get('name') ?? stringOr(metadata.name) ?? '');
    const preconditions = parsePreconditions(query);
    // GCS checks preconditions when the session starts (and again when it finishes).
    const live = await this.#deps.store.get(bucket, name).catch((err: unknown) => {
      if (err instanceof GcsApiError && err.status === 404) return null;
      throw err;
    });
    checkWrite(live, preconditions);
    const fields = fieldsOf(metadata);
    const headerType = req.headers['x-upload-content-type'];
    if (typeof headerType === 'string' && headerType !== '') fields.contentType ??= headerType;
    const session: ResumableSession = {
      id: randomUUID().replaceAll('-', ''),
      bucket,
      name,
      fields,
      claimed: claimedFromMetadata(metadata),
      preconditions,
      tempPath: this.#deps.store.tempPath(),
      hasher: new ObjectHasher(),
      received: 0,
      done: null,
    };
    await writeFile(session.tempPath, Buffer.alloc(0));
    this.#sessions.set(session.id, session);
    const location = `${this.#deps.baseUrl}/upload/storage/v1/b/${bucket}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${session.id}`;
    sendEmpty(res, 200, { Location: location });
  }

  async #putChunkLocked(req: IncomingMessage, res: ServerResponse, session: ResumableSession): Promise<void> {
    if (session.done) {
      req.resume();
      return sendJson(res, 200, session.done);
    }
    const range = parseContentRange(req.headers['content-range']);
    if (range.kind === 'query') {
      req.resume();
      if (range.total !== null && range.total === session.received) return this.#finish(res, session);
      return sendIncomplete(res, session);
    }
    if (range.start > session.received) {
      // A gap: keep nothing, tell the client where to resume from.
      req.resume();
      return sendIncomplete(res, session);
    }
    try {
      const written = await streamBodyToFile(req, session.tempPath, session.hasher, {
        flags: 'a',
        skipBytes: session.received - range.start,
      });
      session.received += written;
    } catch (err) {
      await recoverSession(session);
      throw err;
    }
    if (range.total !== null && session.received > range.total) {
      throw badRequest(`Upload has ${session.received} bytes, more than the declared total ${range.total}`);
    }
    const last = range.total !== null ? session.received === range.total : range.openEnded;
    if (!last) return sendIncomplete(res, session);
    Object.assign(session.claimed, claimedFromHeader(req));
    return this.#finish(res, session);
  }

  async #finish(res: ServerResponse, session: ResumableSession): Promise<void> {
    const { id, bucket, name, tempPath, hasher, fields, claimed, preconditions } = session;
    let resource;
    try {
      resource = await this.#commit(res, { bucket, name, tempPath, hasher, fields, claimed, preconditions });
    } catch (err) {
      this.#sessions.delete(id); // the temp file is gone: this session cannot finish any more
      throw err;
    }
    session.done = resource;
    // Keep the finished session a little so a retried final chunk still gets its 200.
    setTimeout(() => this.#sessions.delete(id), 60_000).unref();
  }

  async #commit(
    res: ServerResponse,
    input: { bucket: string; name: string; tempPath: string; hasher: ObjectHasher; fields: WritableFields; claimed: Partial<ObjectHashes>; preconditions: Preconditions },
  ): Promise<Record<string, unknown>> {
    const hashes = input.hasher.digest();
    try {
      checkClaimedHashes(input.claimed, hashes);
    } catch (err) {
      await unlink(input.tempPath).catch(() => undefined);
      throw err;
    }
    const committed = await this.#deps.store.commitUpload({
      bucket: input.bucket,
      name: input.name,
      tempPath: input.tempPath,
      hashes,
      size: input.hasher.size,
      fields: input.fields,
      preconditions: input.preconditions,
    });
    await this.#deps.notifier.finalized(committed);
    const resource = objectResource(committed.object, this.#deps.baseUrl);
    sendJson(res, 200, resource);
    return resource;
  }
}

export type ContentRange =
  | { kind: 'query'; total: number | null }
  | { kind: 'data'; start: number; total: number | null; openEnded: boolean };

// `bytes */*` or `bytes */N` asks for the status (or, with N, finishes an upload whose bytes are
// all there); `bytes A-B/T` and `bytes A-*/T` carry data (T is `*` while the size is unknown).
// No header at all: the body is the whole object.
export function parseContentRange(header: string | undefined): ContentRange {
  if (header === undefined || header.trim() === '') return { kind: 'data', start: 0, total: null, openEnded: true };
  const query = /^bytes \*\/(\*|\d+)$/.exec(header.trim());
  if (query) return { kind: 'query', total: query[1] === '*' ? null : Number(query[1]) };
  const data = /^bytes (\d+)-(\d+|\*)\/(\*|\d+)$/.exec(header.trim());
  if (!data) throw badRequest(`Invalid Content-Range '${header}'`);
  return {
    kind: 'data',
    start: Number(data[1]),
    total: data[3] === '*' ? null : Number(data[3]),
    openEnded: data[2] === '*',
  };
}

function sendIncomplete(res: ServerResponse, session: ResumableSession): void {
  // 308 "Resume Incomplete"; no Range header while nothing has been stored.
  sendEmpty(res, 308, session.received > 0 ? { Range: `bytes=0-${session.received - 1}` } : {});
}

// After a chunk failed midway, what reached the disk is the truth: replay it into a fresh hasher.
async function recoverSession(session: ResumableSession): Promise<void> {
  const hasher = new ObjectHasher();
  for await (const chunk of createReadStream(session.tempPath)) hasher.update(chunk as Buffer);
  session.hasher = hasher;
  session.received = hasher.size;
}

/** The writable fields of an object resource sent by a client (upload metadata, compose destination). */
export function fieldsOf(metadata: Record<string, unknown>): WritableFields {
  const fields: WritableFields = {};
  for (const key of ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage'] as const) {
    const value = stringOr(metadata[key]);
    if (value !== undefined && value !== '') fields[key] = value;
  }
  const custom = metadata.metadata;
  if (custom !== undefined && custom !== null) {
    if (typeof custom !== 'object' || Array.isArray(custom)) throw badRequest('metadata must be an object of strings');
    const entries = Object.entries(custom).filter(([, v]) => v !== null && v !== undefined);
    fields.metadata = Object.fromEntries(entries.map(([k, v]) => [k, String(v)]));
  }
  return fields;
}

function claimedFromMetadata(metadata: Record<string, unknown>): Partial<ObjectHashes> {
  const claimed: Partial<ObjectHashes> = {};
  const md5 = stringOr(metadata.md5Hash);
  const crc = stringOr(metadata.crc32c);
  if (md5) claimed.md5Hash = md5;
  if (crc) claimed.crc32c = crc;
  return claimed;
}

/** `X-Goog-Hash: crc32c=...,md5=...` sent by the client with the last bytes of an upload. */
function claimedFromHeader(req: IncomingMessage): Partial<ObjectHashes> {
  const header = req.headers['x-goog-hash'];
  const claimed: Partial<ObjectHashes> = {};
  for (const value of (Array.isArray(header) ? header : [header ?? '']).flatMap((h) => h.split(','))) {
    const eq = value.indexOf('=');
    if (eq < 0) continue;
    const kind = value.slice(0, eq).trim().toLowerCase();
    const hash = value.slice(eq + 1).trim();
    if (kind === 'md5') claimed.md5Hash = hash;
    if (kind === 'crc32c') claimed.crc32c = hash;
  }
  return claimed;
}

// GCS refuses an upload whose bytes do not match the hash the client declared.
function checkClaimedHashes(claimed: Partial<ObjectHashes>, actual: ObjectHashes): void {
  if (claimed.md5Hash && claimed.md5Hash !== actual.md5Hash) {
    throw badRequest(`Provided MD5 hash "${claimed.md5Hash}" doesn't match calculated MD5 hash "${actual.md5Hash}".`);
  }
  if (claimed.crc32c && claimed.crc32c !== actual.crc32c) {
    throw badRequest(`Provided CRC32C "${claimed.crc32c}" doesn't match calculated CRC32C "${actual.crc32c}".`);
  }
}

function stringOr(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
