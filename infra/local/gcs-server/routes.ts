// Request routing: maps JSON API paths (with or without the /storage/v1 prefix the client drops when
// STORAGE_EMULATOR_HOST is set, plus /upload and /download) to the handlers, and errors to replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../shared/logging.js';
import type { BucketStore } from './bucket-store.js';
import { sendMedia } from './downloads.js';
import { badRequest, GcsApiError, notFound } from './errors.js';
import { listPage, parseListQuery } from './listing.js';
import type { Notifier } from './notifications.js';
import { bucketResource, notificationResource, objectResource } from './object-resource.js';
import { checkBucketName } from './object-names.js';
import type { ObjectStore, PatchBody, StoredObject } from './object-store.js';
import { checkExisting, parsePreconditions } from './preconditions.js';
import { sendEmpty, sendError, sendJson } from './replies.js';
import { readJsonObject } from './request-body.js';
import type { Uploads } from './uploads.js';

export interface RouteDeps {
  store: ObjectStore;
  buckets: BucketStore;
  uploads: Uploads;
  notifier: Notifier;
  baseUrl: string;
  logger: Logger | undefined;
}

/** Where a request goes, decoded from its raw path (object names arrive percent-encoded). */
export type Route =
  | { kind: 'upload'; bucket: string }
  | { kind: 'buckets' }
  | { kind: 'bucket'; bucket: string }
  | { kind: 'objects'; bucket: string }
  | { kind: 'object'; bucket: string; name: string; media: boolean }
  | { kind: 'notifications'; bucket: string }
  | { kind: 'notification'; bucket: string; id: string };

export function routeOf(rawPath: string): Route | null {
  const upload = /^\/upload(?:\/storage\/v1)?\/b\/([^/]+)\/o\/?$/.exec(rawPath);
  if (upload) return { kind: 'upload', bucket: decode(upload[1]!) };
  const download = /^\/download(?:\/storage\/v1)?\/b\/([^/]+)\/o\/(.+)$/.exec(rawPath);
  if (download) return { kind: 'object', bucket: decode(download[1]!), name: decode(download[2]!), media: true };
  const path = rawPath.replace(/^\/storage\/v1(?=\/)/, '');
  if (path === '/b' || path === '/b/') return { kind: 'buckets' };
  const m = /^\/b\/([^/]+)(?:\/(o|notificationConfigs)(?:\/(.+))?)?\/?$/.exec(path);
  if (!m) return null;
  const bucket = decode(m[1]!);
  if (m[2] === undefined) return { kind: 'bucket', bucket };
  if (m[2] === 'o') return m[3] === undefined ? { kind: 'objects', bucket } : { kind: 'object', bucket, name: decode(m[3]), media: false };
  return m[3] === undefined ? { kind: 'notifications', bucket } : { kind: 'notification', bucket, id: decode(m[3]) };
}

export function createRequestHandler(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    handle(deps, req, res)
      .catch((err: unknown) => {
        if (!(err instanceof GcsApiError) || err.status >= 500) deps.logger?.error({ err, method: req.method, url: req.url }, 'gcs-server: request failed');
        sendError(res, err);
      })
      .finally(() => {
        deps.logger?.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'gcs-server: request');
      });
  };
}

async function handle(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gcs.local');
  const route = routeOf(url.pathname);
  const method = req.method ?? 'GET';
  const query = url.searchParams;
  if (!route) throw notFound(`Not Found: ${method} ${url.pathname}`);
  const { store, buckets, baseUrl } = deps;
  switch (route.kind) {
    case 'upload':
      if (method === 'POST') return deps.uploads.start(req, res, route.bucket, query);
      if (method === 'PUT' && query.get('upload_id')) return deps.uploads.putChunk(req, res, query.get('upload_id')!);
      break;
    case 'buckets':
      if (method === 'POST') {
        const body = await readJsonObject(req);
        const name = checkBucketName(typeof body.name === 'string' ? body.name : '');
        return sendJson(res, 200, bucketResource(await buckets.create(name), baseUrl));
      }
      if (method === 'GET') {
        const items = await Promise.all((await store.listBuckets()).map(async (b) => bucketResource(await buckets.get(b), baseUrl)));
        return sendJson(res, 200, { kind: 'storage#buckets', items });
      }
      break;
    case 'bucket':
      if (method === 'GET') return sendJson(res, 200, bucketResource(await buckets.get(route.bucket), baseUrl));
      if (method === 'DELETE') {
        await buckets.delete(route.bucket);
        return sendEmpty(res, 204);
      }
      break;
    case 'objects':
      if (method === 'GET') return listObjects(deps, res, route.bucket, query);
      break;
    case 'object':
      return objectRequest(deps, req, res, route, method, query);
    case 'notifications':
      if (method === 'POST') {
        const created = await buckets.addNotification(route.bucket, await readJsonObject(req));
        return sendJson(res, 200, notificationResource(route.bucket, created, baseUrl));
      }
      if (method === 'GET') {
        const items = (await buckets.get(route.bucket)).notificationConfigs.map((c) => notificationResource(route.bucket, c, baseUrl));
        return sendJson(res, 200, { kind: 'storage#notifications', items });
      }
      break;
    case 'notification':
      if (method === 'GET') return sendJson(res, 200, notificationResource(route.bucket, await buckets.getNotification(route.bucket, route.id), baseUrl));
      if (method === 'DELETE') {
        await buckets.deleteNotification(route.bucket, route.id);
        return sendEmpty(res, 204);
      }
      break;
  }
  throw new GcsApiError(501, `The local GCS server does not implement ${method} ${url.pathname}`);
}

async function objectRequest(
  deps: RouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: { bucket: string; name: string; media: boolean },
  method: string,
  query: URLSearchParams,
): Promise<void> {
  const { store, notifier, baseUrl } = deps;
  const { bucket, name } = route;
  await store.requireBucket(bucket);
  if ((method === 'GET' || method === 'HEAD') && (route.media || query.get('alt') === 'media')) {
    return sendMedia(store, req, res, bucket, name, query);
  }
  const preconditions = parsePreconditions(query);
  if (method === 'GET') {
    const object = await store.get(bucket, name);
    checkExisting(object, preconditions, `${bucket}/${name}`, { notModified: true });
    return sendJson(res, 200, objectResource(object, baseUrl));
  }
  if (method === 'PATCH' || method === 'PUT') {
    const updated = await store.patch(bucket, name, preconditions, patchBodyOf(await readJsonObject(req)));
    await notifier.metadataUpdated(updated);
    return sendJson(res, 200, objectResource(updated, baseUrl));
  }
  if (method === 'DELETE') {
    const deleted = await store.delete(bucket, name, preconditions);
    await notifier.deleted(deleted);
    return sendEmpty(res, 204);
  }
  throw new GcsApiError(501, `The local GCS server does not implement ${method} on objects`);
}

async function listObjects(deps: RouteDeps, res: ServerResponse, bucket: string, query: URLSearchParams): Promise<void> {
  const q = parseListQuery(query);
  const page = listPage(await deps.store.listNames(bucket), q);
  const items: StoredObject[] = [];
  for (const name of page.names) {
    // A file still being copied in (watch mode) has no generation yet: it is not listed.
    const object = await deps.store.get(bucket, name).catch((err: unknown) => {
      if (err instanceof GcsApiError && err.status === 404) return null;
      throw err;
    });
    if (object) items.push(object);
  }
  const body: Record<string, unknown> = { kind: 'storage#objects' };
  if (items.length > 0) body.items = items.map((o) => objectResource(o, deps.baseUrl));
  if (page.prefixes.length > 0) body.prefixes = page.prefixes;
  if (page.nextPageToken) body.nextPageToken = page.nextPageToken;
  return sendJson(res, 200, body);
}

function patchBodyOf(body: Record<string, unknown>): PatchBody {
  const patch: PatchBody = {};
  for (const key of ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage'] as const) {
    if (!(key in body)) continue;
    const value = body[key];
    if (value !== null && typeof value !== 'string') throw badRequest(`${key} must be a string or null`);
    patch[key] = value;
  }
  if ('metadata' in body) {
    const metadata = body.metadata;
    if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) throw badRequest('metadata must be an object');
    patch.metadata = metadata === null ? null : Object.fromEntries(Object.entries(metadata as object).map(([k, v]) => [k, v === null ? null : String(v)]));
  }
  return patch;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw badRequest(`Malformed percent-encoding in path: ${part}`);
  }
}
