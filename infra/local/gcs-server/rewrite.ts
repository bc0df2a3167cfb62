// objects.rewrite and objects.copy: a new object from one live source, in the same or another
// bucket, as `gcloud storage cp/mv gs://... gs://...` and the Node client's file.copy/move ask.
// Done in one call: the rewrite response says done with every byte rewritten.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Notifier } from './notifications.js';
import { concatenateObjects } from './object-concat.js';
import { checkObjectName } from './object-names.js';
import { objectResource } from './object-resource.js';
import type { ObjectStore, WritableFields } from './object-store.js';
import { parsePreconditions } from './preconditions.js';
import { sendJson } from './replies.js';
import { readJsonObject } from './request-body.js';
import { fieldsOf } from './uploads.js';

export interface CopyRoute {
  kind: 'rewrite' | 'copy';
  sourceBucket: string;
  sourceName: string;
  bucket: string;
  name: string;
}

/** The source's conditions come as ifSource* and sourceGeneration, the destination's as if*. */
export function sourcePreconditionQuery(query: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  const map = { sourceGeneration: 'generation', ifSourceGenerationMatch: 'ifGenerationMatch', ifSourceGenerationNotMatch: 'ifGenerationNotMatch', ifSourceMetagenerationMatch: 'ifMetagenerationMatch', ifSourceMetagenerationNotMatch: 'ifMetagenerationNotMatch' } as const;
  for (const [from, to] of Object.entries(map)) {
    const value = query.get(from);
    if (value !== null) out.set(to, value);
  }
  return out;
}

export async function copyObject(
  deps: { store: ObjectStore; notifier: Notifier; baseUrl: string },
  req: IncomingMessage,
  res: ServerResponse,
  route: CopyRoute,
  query: URLSearchParams,
): Promise<void> {
  checkObjectName(route.sourceName);
  checkObjectName(route.name);
  await deps.store.requireBucket(route.bucket);
  const body = await readJsonObject(req);
  const read = await concatenateObjects(deps.store, [
    { bucket: route.sourceBucket, name: route.sourceName, preconditions: parsePreconditions(sourcePreconditionQuery(query)) },
  ]);
  const source = read.sources[0]!;
  // GCS takes the destination's metadata from the body when there is one, else from the source.
  const fields: WritableFields = Object.keys(body).length > 0 ? fieldsOf(body) : fieldsOf(source as unknown as Record<string, unknown>);
  const committed = await deps.store.commitUpload({
    bucket: route.bucket,
    name: route.name,
    tempPath: read.tempPath,
    hashes: read.hasher.digest(),
    size: read.hasher.size,
    fields,
    preconditions: parsePreconditions(query),
    ...(source.componentCount === undefined ? {} : { componentCount: source.componentCount }),
  });
  await deps.notifier.finalized(committed);
  const resource = objectResource(committed.object, deps.baseUrl);
  if (route.kind === 'copy') return sendJson(res, 200, resource);
  const size = String(committed.object.size);
  sendJson(res, 200, { kind: 'storage#rewriteResponse', totalBytesRewritten: size, objectSize: size, done: true, resource });
}
