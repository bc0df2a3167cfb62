// The JSON API resources the server answers with (storage#object, storage#bucket,
// storage#notification), built from what is stored; links point back at this server.
import { createHash } from 'node:crypto';
import type { BucketRecord, NotificationConfig } from './bucket-store.js';
import type { StoredObject } from './object-store.js';

export type ObjectResource = Record<string, unknown> & {
  kind: 'storage#object';
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: string;
};

export function objectResource(object: StoredObject, baseUrl: string): ObjectResource {
  const encoded = encodeURIComponent(object.name);
  const resource: ObjectResource = {
    kind: 'storage#object',
    id: `${object.bucket}/${object.name}/${object.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${object.bucket}/o/${encoded}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${object.bucket}/o/${encoded}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket: object.bucket,
    generation: object.generation,
    metageneration: object.metageneration,
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.size),
    md5Hash: object.md5Hash,
    crc32c: object.crc32c,
    etag: etagOf(object),
    timeCreated: object.timeCreated,
    updated: object.updated,
    timeStorageClassUpdated: object.timeCreated,
    timeFinalized: object.timeCreated,
  };
  for (const field of ['cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage'] as const) {
    if (object[field] !== undefined) resource[field] = object[field];
  }
  if (object.metadata && Object.keys(object.metadata).length > 0) resource.metadata = { ...object.metadata };
  // GCS gives composed objects a component count and a crc32c but no md5 (clients check crc32c then).
  if (object.componentCount !== undefined) {
    resource.componentCount = object.componentCount;
    delete resource.md5Hash;
  }
  return resource;
}

export function etagOf(object: StoredObject): string {
  return createHash('sha1').update(`${object.generation}/${object.metageneration}`).digest('base64').slice(0, 12);
}

export function bucketResource(record: BucketRecord, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: record.name,
    selfLink: `${baseUrl}/storage/v1/b/${record.name}`,
    projectNumber: '0',
    name: record.name,
    timeCreated: record.timeCreated,
    updated: record.timeCreated,
    metageneration: '1',
    location: 'US',
    locationType: 'multi-region',
    storageClass: 'STANDARD',
    etag: 'CAE=',
  };
}

/** A flat namespace: folders are only name prefixes, as in a bucket without hierarchical namespace. */
export function storageLayoutResource(record: BucketRecord): Record<string, unknown> {
  return {
    kind: 'storage#storageLayout',
    bucket: record.name,
    location: 'US',
    locationType: 'multi-region',
    hierarchicalNamespace: { enabled: false },
  };
}

export function notificationResource(bucket: string, config: NotificationConfig, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#notification',
    selfLink: `${baseUrl}/storage/v1/b/${bucket}/notificationConfigs/${config.id}`,
    ...config,
  };
}
