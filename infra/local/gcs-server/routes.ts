// Request routing: maps JSON API paths (with or without the /storage/v1 prefix the client drops when
// STORAGE_EMULATOR_HOST is set, plus /upload and /download) to the handlers, and errors to replies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../../shared/logging.js';
import type { BucketStore } from './bucket-store.js';
import { composeObject } from './compose.js';
import { copyObject } from './rewrite.js';
import { sendMedia } from './downloads.js';
import { FaultInjector, type Fault, type FaultOperation } from './fault-injection.js';
import { badRequest, GcsApiError, notImplemented } from './errors.js';
import { listPage, parseListQuery } from './listing.js';
import type { Notifier } from './notifications.js';
import { bucketResource, notificationResource, objectResource, storageLayoutResource } from './object-resource.js';
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
  faults: FaultInjector;
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
  | { kind: 'notification'; bucket: string; id: string }
  | { kind: 'compose'; bucket: string; name: string }
  | { kind: 'storageLayout'; bucket: string }
  | { kind: 'managedFolders'; bucket: string }
  | { kind: 'rewrite' | 'copy'; sourceBucket: string; sourceName: string; bucket: string; name: string }
  /** A JSON API path this server knows but does not serve (ACLs, IAM, moveTo, restore, ...). */
  | { kind: 'unsupported'; what: string };

/**
 * Routes the raw path, as sent: it must not have gone through a URL parser, which folds `/o/..`
 * into the bucket's own path (and would turn deleting an object `..` into deleting the bucket).
 * Null for paths that are not JSON API paths at all (XML API, signed URLs).
 */
export function routeOf(rawPath: string): Route | null {
  // gcloud (apitools) starts resumable uploads at /resumable/upload/...; the Node client at /upload/.
  const upload = /^(?:\/resumable)?\/upload(?:\/storage\/v1)?\/b\/([^/]+)\/o\/?$/.exec(rawPath);
  if (upload) return { kind: 'upload', bucket: decode(upload[1]!) };
  const download = /^\/download(?:\/storage\/v1)?\/b\/([^/]+)\/o\/([^/]+)$/.exec(rawPath);
  if (download) return { kind: 'object', bucket: decode(download[1]!), name: decode(download[2]!), media: true };
  const path = rawPath.replace(/^\/storage\/v1(?=\/)/, '');
  if (path === '/b' || path === '/b/') return { kind: 'buckets' };
  const m = /^\/b\/([^/]+)(\/.*)?$/.exec(path);
  if (!m) return null;
  const bucket = decode(m[1]!);
  const rest = m[2] ?? '';
  if (rest === '') return { kind: 'bucket', bucket };
  // What a client's URL parser leaves of an object named '..' (/b/B/o/.. -> /b/B/) or '.'
  // (/b/B/o/. -> /b/B/o/): GCS refuses both names, so say so rather than act on the bucket.
  if (rest === '/' || rest === '/o/') throw badRequest("Object names '.' and '..' are not valid in GCS (a URL parser folded them into this path)");
  if (rest === '/o') return { kind: 'objects', bucket };
  if (rest === '/notificationConfigs') return { kind: 'notifications', bucket };
  if (rest === '/storageLayout') return { kind: 'storageLayout', bucket };
  if (rest === '/managedFolders') return { kind: 'managedFolders', bucket };
  const object = /^\/o\/([^/]+)$/.exec(rest);
  if (object) return { kind: 'object', bucket, name: decode(object[1]!), media: false };
  const notification = /^\/notificationConfigs\/([^/]+)$/.exec(rest);
  if (notification) return { kind: 'notification', bucket, id: decode(notification[1]!) };
  const copy = /^\/o\/([^/]+)\/(rewriteTo|copyTo)\/b\/([^/]+)\/o\/([^/]+)$/.exec(rest);
  if (copy) {
    const kind = copy[2] === 'rewriteTo' ? 'rewrite' : 'copy';
    return { kind, sourceBucket: bucket, sourceName: decode(copy[1]!), bucket: decode(copy[3]!), name: decode(copy[4]!) };
  }
  const compose = /^\/o\/([^/]+)\/compose$/.exec(rest);
  if (compose) return { kind: 'compose', bucket, name: decode(compose[1]!) };
  // Sub-resources (object names are fully percent-encoded, so a further '/' starts one).
  const sub = /^\/o\/[^/]+\/([^/]+)/.exec(rest) ?? /^\/([^/]+)/.exec(rest);
  return { kind: 'unsupported', what: sub![1]! };
}

/** Splits a request target into its raw path and its query, without normalising the path. */
export function splitTarget(target: string): { rawPath: string; query: URLSearchParams } {
  const at = target.indexOf('?');
  return at < 0 ? { rawPath: target, query: new URLSearchParams() } : { rawPath: target.slice(0, at), query: new URLSearchParams(target.slice(at + 1)) };
}

export function createRequestHandler(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = performance.now();
    handle(deps, req, res)
      .catch((err: unknown) => {
        if (!(err instanceof GcsApiError) || err.status === 500) deps.logger?.error({ err, method: req.method, url: req.url }, 'gcs-server: request failed');
        sendError(res, err);
      })
      .finally(() => {
        deps.logger?.debug({ method: req.method, url: req.url, status: res.statusCode, ms: Math.round(performance.now() - started) }, 'gcs-server: request');
      });
  };
}

async function handle(deps: RouteDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { rawPath, query } = splitTarget(req.url ?? '/');
  const method = req.method ?? 'GET';
  if (/^\/retry_tests?(?:\/|$)/.test(rawPath)) return retryTestRequest(deps.faults, req, res, rawPath, method);
  const route = routeOf(rawPath);
  // Answering 404 here would make clients report a missing bucket or object; 501 names the gap.
  if (!route) throw notImplemented(`The local GCS server speaks only the JSON API (/storage/v1/b/...); not ${method} ${rawPath}`);
  if (route.kind === 'unsupported') throw notImplemented(`The local GCS server does not implement '${route.what}': ${method} ${rawPath}`);
  const fault = takeFault(deps.faults, req, route, method);
  if (fault?.kind === 'status') {
    req.resume();
    return sendJson(res, fault.status, injectedErrorBody(fault.status));
  }
  if (fault?.kind === 'reset' || (fault?.kind === 'broken-stream' && !(route.kind === 'object' && isMediaRead(route, method, query)))) {
    // A TCP RST, as a dropped connection looks to the client (ECONNRESET), not a clean close.
    req.socket.resetAndDestroy();
    return;
  }
  const breakAfterBytes = fault?.kind === 'broken-stream' ? fault.afterBytes : undefined;
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
      return objectRequest(deps, req, res, route, method, query, breakAfterBytes);
    case 'storageLayout':
      // gcloud storage asks before recursive operations whether the bucket has folders (HNS).
      if (method === 'GET') return sendJson(res, 200, storageLayoutResource(await buckets.get(route.bucket)));
      break;
    case 'managedFolders':
      // No managed folders (they carry IAM, which this server does not have); gcloud lists them
      // before it deletes a bucket.
      if (method === 'GET') {
        await store.requireBucket(route.bucket);
        return sendJson(res, 200, { kind: 'storage#managedFolders' });
      }
      break;
    case 'rewrite':
    case 'copy':
      if (method === 'POST') {
        await store.requireBucket(route.sourceBucket);
        return copyObject(deps, req, res, route, query);
      }
      break;
    case 'compose':
      if (method === 'POST') {
        await store.requireBucket(route.bucket);
        return composeObject(deps, req, res, route.bucket, route.name, query);
      }
      break;
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
  throw notImplemented(`The local GCS server does not implement ${method} ${rawPath}`);
}

async function objectRequest(
  deps: RouteDeps,
  req: IncomingMessage,
  res: ServerResponse,
  route: { bucket: string; name: string; media: boolean },
  method: string,
  query: URLSearchParams,
  breakAfterBytes: number | undefined,
): Promise<void> {
  const { store, notifier, baseUrl } = deps;
  const { bucket, name } = route;
  await store.requireBucket(bucket);
  if (isMediaRead(route, method, query)) return sendMedia(store, req, res, bucket, name, query, { breakAfterBytes });
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
  throw notImplemented(`The local GCS server does not implement ${method} on objects`);
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

function isMediaRead(route: { media: boolean }, method: string, query: URLSearchParams): boolean {
  return (method === 'GET' || method === 'HEAD') && (route.media || query.get('alt') === 'media');
}

/** The testbench name of the operation a request performs, for fault injection. */
export function operationOf(route: Route, method: string): FaultOperation | null {
  const byMethod: Partial<Record<Route['kind'], Record<string, FaultOperation>>> = {
    buckets: { GET: 'storage.buckets.list', POST: 'storage.buckets.insert' },
    bucket: { GET: 'storage.buckets.get', DELETE: 'storage.buckets.delete' },
    storageLayout: { GET: 'storage.buckets.getStorageLayout' },
    managedFolders: { GET: 'storage.managedFolders.list' },
    objects: { GET: 'storage.objects.list' },
    object: { GET: 'storage.objects.get', HEAD: 'storage.objects.get', PATCH: 'storage.objects.patch', PUT: 'storage.objects.update', DELETE: 'storage.objects.delete' },
    compose: { POST: 'storage.objects.compose' },
    rewrite: { POST: 'storage.objects.rewrite' },
    copy: { POST: 'storage.objects.copy' },
    // Every request of an upload (the resumable session, each chunk) is part of objects.insert.
    upload: { POST: 'storage.objects.insert', PUT: 'storage.objects.insert' },
    notifications: { GET: 'storage.notifications.list', POST: 'storage.notifications.insert' },
    notification: { GET: 'storage.notifications.get', DELETE: 'storage.notifications.delete' },
  };
  return byMethod[route.kind]?.[method] ?? null;
}

function takeFault(faults: FaultInjector, req: IncomingMessage, route: Route, method: string): Fault | null {
  const id = req.headers['x-retry-test-id'];
  if (typeof id !== 'string' || id === '') return null;
  const operation = operationOf(route, method);
  return operation ? faults.take(id, operation) : null;
}

const INJECTED_REASONS: Record<number, string> = { 408: 'requestTimeout', 429: 'rateLimitExceeded', 500: 'backendError', 502: 'badGateway', 503: 'backendError', 504: 'gatewayTimeout' };

function injectedErrorBody(status: number) {
  const message = `Injected by the local GCS server's fault injection (return-${status})`;
  return { error: { code: status, message, errors: [{ domain: 'global', reason: INJECTED_REASONS[status] ?? 'injectedFault', message }] } };
}

/** The testbench's retry test resource: POST /retry_test, GET /retry_test/{id}, GET /retry_tests, DELETE /retry_test/{id}. */
async function retryTestRequest(faults: FaultInjector, req: IncomingMessage, res: ServerResponse, rawPath: string, method: string): Promise<void> {
  if (rawPath === '/retry_test' && method === 'POST') return sendJson(res, 200, faults.create(await readJsonObject(req)));
  if (rawPath === '/retry_tests' && method === 'GET') return sendJson(res, 200, { retry_test: faults.list() });
  const one = /^\/retry_test\/([0-9a-f]+)$/.exec(rawPath);
  if (one && method === 'GET') return sendJson(res, 200, faults.get(one[1]!));
  if (one && method === 'DELETE') {
    faults.delete(one[1]!);
    return sendEmpty(res, 200);
  }
  throw notImplemented(`The local GCS server does not implement ${method} ${rawPath}`);
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
