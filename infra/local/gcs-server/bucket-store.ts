// Buckets: a bucket exists when its folder does (a person may mkdir one); its record (creation time,
// notification configs) lives in <rootDir>/.gcs-meta/buckets/<bucket>.json.
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { badRequest, conflict, notFound } from './errors.js';
import { KeyLock } from './key-lock.js';
import type { ObjectStore } from './object-store.js';

export const PAYLOAD_FORMATS = ['JSON_API_V1', 'NONE'] as const;
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/** A notification config as the JSON API names its fields (snake_case, as GCS itself does). */
export interface NotificationConfig {
  id: string;
  topic: string;
  payload_format: PayloadFormat;
  event_types?: string[];
  custom_attributes?: Record<string, string>;
  object_name_prefix?: string;
  etag: string;
}

export interface BucketRecord {
  name: string;
  timeCreated: string;
  notificationConfigs: NotificationConfig[];
  nextNotificationId: number;
}

export class BucketStore {
  readonly #objects: ObjectStore;
  readonly #lock = new KeyLock();

  constructor(objects: ObjectStore) {
    this.#objects = objects;
  }

  /** Creates the folder and record; 409 when it exists unless `existOk`. */
  async create(name: string, options: { existOk?: boolean } = {}): Promise<BucketRecord> {
    const dir = this.#objects.bucketDir(name);
    return this.#lock.run(name, async () => {
      if (await this.#objects.hasBucket(name)) {
        if (options.existOk) return this.#read(name);
        throw conflict(`The bucket you tried to create already exists: ${name}`);
      }
      await mkdir(dir, { recursive: true });
      const record: BucketRecord = { name, timeCreated: new Date().toISOString(), notificationConfigs: [], nextNotificationId: 1 };
      await this.#write(record);
      return record;
    });
  }

  async get(name: string): Promise<BucketRecord> {
    await this.#objects.requireBucket(name);
    return this.#read(name);
  }

  /** Deletes an empty bucket (409 otherwise), as GCS does. */
  async delete(name: string): Promise<void> {
    await this.#objects.requireBucket(name);
    await this.#lock.run(name, async () => {
      if ((await this.#objects.listNames(name)).length > 0) throw conflict(`The bucket you tried to delete is not empty: ${name}`);
      // No files are left, only (possibly) empty folders: those go with the bucket.
      await rm(this.#objects.bucketDir(name), { recursive: true, force: true });
      await rm(this.#objects.metaDir('objects', name), { recursive: true, force: true });
      await rm(this.#objects.metaDir('overflow', name), { recursive: true, force: true });
      await rm(this.#recordPath(name), { force: true });
    });
  }

  async addNotification(bucket: string, body: Record<string, unknown>): Promise<NotificationConfig> {
    await this.#objects.requireBucket(bucket);
    const config = parseNotificationBody(body);
    return this.#lock.run(bucket, async () => {
      const record = await this.#read(bucket);
      const id = String(record.nextNotificationId);
      const created: NotificationConfig = { ...config, id, etag: id };
      record.nextNotificationId += 1;
      record.notificationConfigs.push(created);
      await this.#write(record);
      return created;
    });
  }

  async getNotification(bucket: string, id: string): Promise<NotificationConfig> {
    const found = (await this.get(bucket)).notificationConfigs.find((c) => c.id === id);
    if (!found) throw notFound(`No such notification config: ${bucket}/${id}`);
    return found;
  }

  async deleteNotification(bucket: string, id: string): Promise<void> {
    await this.#objects.requireBucket(bucket);
    await this.#lock.run(bucket, async () => {
      const record = await this.#read(bucket);
      const kept = record.notificationConfigs.filter((c) => c.id !== id);
      if (kept.length === record.notificationConfigs.length) throw notFound(`No such notification config: ${bucket}/${id}`);
      record.notificationConfigs = kept;
      await this.#write(record);
    });
  }

  // A folder made by hand has no record yet: it gets one with the folder's creation time.
  async #read(name: string): Promise<BucketRecord> {
    try {
      return JSON.parse(await readFile(this.#recordPath(name), 'utf8')) as BucketRecord;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
      const folder = await stat(this.#objects.bucketDir(name));
      return { name, timeCreated: folder.birthtime.toISOString(), notificationConfigs: [], nextNotificationId: 1 };
    }
  }

  async #write(record: BucketRecord): Promise<void> {
    const path = this.#recordPath(record.name);
    const temp = this.#objects.tempPath();
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, JSON.stringify(record, null, 2));
    await rename(temp, path);
  }

  #recordPath(name: string): string {
    return this.#objects.metaDir('buckets', `${name}.json`);
  }
}

/** Accepts what `bucket.createNotification` sends (snake_case) and the camelCase spelling too. */
export function parseNotificationBody(body: Record<string, unknown>): Omit<NotificationConfig, 'id' | 'etag'> {
  const topic = body.topic;
  if (typeof topic !== 'string' || !/^\/\/pubsub\.[^/]+\/projects\/[^/]+\/topics\/[^/]+$/.test(topic)) {
    throw badRequest(`Invalid notification topic '${String(topic)}': expected //pubsub.googleapis.com/projects/P/topics/T`);
  }
  const format = body.payload_format ?? body.payloadFormat ?? 'JSON_API_V1';
  if (!PAYLOAD_FORMATS.includes(format as PayloadFormat)) throw badRequest(`Invalid payload_format '${String(format)}'`);
  const config: Omit<NotificationConfig, 'id' | 'etag'> = { topic, payload_format: format as PayloadFormat };
  const eventTypes = body.event_types ?? body.eventTypes;
  if (eventTypes !== undefined) {
    if (!Array.isArray(eventTypes) || !eventTypes.every((t) => typeof t === 'string')) throw badRequest('event_types must be a list of strings');
    if (eventTypes.length > 0) config.event_types = eventTypes as string[];
  }
  const custom = body.custom_attributes ?? body.customAttributes;
  if (custom !== undefined) {
    if (typeof custom !== 'object' || custom === null) throw badRequest('custom_attributes must be an object');
    config.custom_attributes = Object.fromEntries(Object.entries(custom).map(([k, v]) => [k, String(v)]));
  }
  const prefix = body.object_name_prefix ?? body.objectNamePrefix;
  if (typeof prefix === 'string' && prefix !== '') config.object_name_prefix = prefix;
  return config;
}

/** `//pubsub.googleapis.com/projects/P/topics/T` -> `projects/P/topics/T`. */
export function topicNameOf(config: NotificationConfig): string {
  return config.topic.replace(/^\/\/pubsub\.[^/]+\//, '');
}
