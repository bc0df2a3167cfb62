// Parsing of raw Pub/Sub messages into the contracts, with one typed error naming every problem.
import type { z } from 'zod';
import { CloudsegError } from '../errors.js';
import { BatchMessageSchema, type BatchMessage } from './batch.js';
import {
  GcsNotificationAttributesSchema,
  GcsObjectResourceSchema,
  type GcsNotification,
} from './gcs-notification.js';

export interface RawPubSubMessage {
  data: Uint8Array | string | null | undefined;
  attributes: Record<string, string> | null | undefined;
}

/** Throws INVALID_MESSAGE (permanent) when the message is not a well-formed GCS notification. */
export function parseGcsNotification(message: RawPubSubMessage): GcsNotification {
  const attributes = check(GcsNotificationAttributesSchema, message.attributes ?? {}, 'GCS notification attributes');
  if (attributes.payloadFormat === 'NONE') return { attributes, object: null };
  const object = check(GcsObjectResourceSchema, decodeJson(message.data, 'GCS notification payload'), 'GCS notification payload');
  if (object.bucket !== attributes.bucketId || object.name !== attributes.objectId || object.generation !== attributes.objectGeneration) {
    throw new CloudsegError('INVALID_MESSAGE', 'GCS notification payload does not match its attributes (bucket, name, generation)');
  }
  return { attributes, object };
}

/** Throws INVALID_MESSAGE when the data is not a `cloudseg.batch.v1` message. */
export function parseBatchMessage(data: Uint8Array | string | null | undefined): BatchMessage {
  return check(BatchMessageSchema, decodeJson(data, 'batch message'), 'batch message');
}

export function decodeJson(data: Uint8Array | string | null | undefined, what: string): unknown {
  if (data === null || data === undefined || data.length === 0) {
    throw new CloudsegError('INVALID_MESSAGE', `${what}: empty message data`);
  }
  const text = typeof data === 'string' ? data : Buffer.from(data).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new CloudsegError('INVALID_MESSAGE', `${what}: data is not JSON`, { cause });
  }
}

function check<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new CloudsegError('INVALID_MESSAGE', `${what} invalid: ${problems.join('; ')}`, { details: { problems } });
}
