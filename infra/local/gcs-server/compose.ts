// objects.compose: concatenates up to 32 objects of one bucket into a new live object, as gcloud's
// parallel composite uploads need (it uploads a large file as parts, composes them, deletes the parts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from './errors.js';
import type { Notifier } from './notifications.js';
import { concatenateObjects } from './object-concat.js';
import { checkObjectName } from './object-names.js';
import { objectResource } from './object-resource.js';
import type { ObjectStore } from './object-store.js';
import { parsePreconditions, type Preconditions } from './preconditions.js';
import { sendJson } from './replies.js';
import { readJsonObject } from './request-body.js';
import { fieldsOf } from './uploads.js';

export const MAX_COMPOSE_SOURCES = 32;

export interface ComposeSource {
  name: string;
  preconditions: Preconditions;
}

/** The sources of a ComposeRequest body, validated; each may pin a generation or set ifGenerationMatch. */
export function parseComposeSources(body: Record<string, unknown>): ComposeSource[] {
  const list = body.sourceObjects;
  if (!Array.isArray(list) || list.length === 0) throw badRequest('compose needs sourceObjects: [{"name": ...}, ...]', 'required');
  if (list.length > MAX_COMPOSE_SOURCES) throw badRequest(`compose takes at most ${MAX_COMPOSE_SOURCES} source objects, got ${list.length}`);
  return list.map((entry: unknown) => {
    const source = (entry ?? {}) as { name?: unknown; generation?: unknown; objectPreconditions?: { ifGenerationMatch?: unknown } };
    if (typeof source.name !== 'string') throw badRequest('Every source object needs a name', 'required');
    const query = new URLSearchParams();
    if (source.generation !== undefined) query.set('generation', String(source.generation));
    const ifMatch = source.objectPreconditions?.ifGenerationMatch;
    if (ifMatch !== undefined) query.set('ifGenerationMatch', String(ifMatch));
    return { name: checkObjectName(source.name), preconditions: parsePreconditions(query) };
  });
}

export async function composeObject(
  deps: { store: ObjectStore; notifier: Notifier; baseUrl: string },
  req: IncomingMessage,
  res: ServerResponse,
  bucket: string,
  name: string,
  query: URLSearchParams,
): Promise<void> {
  checkObjectName(name);
  const body = await readJsonObject(req);
  const sources = parseComposeSources(body);
  const destination = body.destination;
  const fields = fieldsOf(typeof destination === 'object' && destination !== null ? (destination as Record<string, unknown>) : {});
  // The sources are copied out first, so composing onto one of them is fine.
  const read = await concatenateObjects(
    deps.store,
    sources.map((s) => ({ bucket, ...s })),
  );
  const committed = await deps.store.commitUpload({
    bucket,
    name,
    tempPath: read.tempPath,
    hashes: read.hasher.digest(),
    size: read.hasher.size,
    fields,
    preconditions: parsePreconditions(query),
    componentCount: read.sources.reduce((n, s) => n + (s.componentCount ?? 1), 0),
  });
  await deps.notifier.finalized(committed);
  sendJson(res, 200, objectResource(committed.object, deps.baseUrl));
}
