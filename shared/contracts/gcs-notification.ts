// A Cloud Storage Pub/Sub notification as Pub/Sub delivers it: attributes plus, for
// payloadFormat JSON_API_V1, the object resource as JSON in the message data.
// https://cloud.google.com/storage/docs/pubsub-notifications
import { z } from 'zod';

export const GCS_EVENT_TYPES = ['OBJECT_FINALIZE', 'OBJECT_METADATA_UPDATE', 'OBJECT_DELETE', 'OBJECT_ARCHIVE'] as const;
export type GcsEventType = (typeof GCS_EVENT_TYPES)[number];

const decimalString = z.string().regex(/^\d+$/, 'expected a decimal integer string');

export const GcsNotificationAttributesSchema = z.object({
  eventType: z.enum(GCS_EVENT_TYPES),
  bucketId: z.string().min(1),
  objectId: z.string().min(1),
  objectGeneration: decimalString,
  payloadFormat: z.enum(['JSON_API_V1', 'NONE']),
  notificationConfig: z.string().optional(),
  eventTime: z.string().optional(),
  overwroteGeneration: decimalString.optional(),
  overwrittenByGeneration: decimalString.optional(),
});
export type GcsNotificationAttributes = z.infer<typeof GcsNotificationAttributesSchema>;

/** The subset of the JSON API object resource that cloudseg reads (GCS sends more; kept loose). */
export const GcsObjectResourceSchema = z.looseObject({
  kind: z.literal('storage#object').optional(),
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: decimalString,
  metageneration: decimalString.optional(),
  size: decimalString,
  contentType: z.string().optional(),
  md5Hash: z.string().optional(),
  crc32c: z.string().optional(),
  timeCreated: z.string().optional(),
  updated: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type GcsObjectResource = z.infer<typeof GcsObjectResourceSchema>;

export interface GcsNotification {
  attributes: GcsNotificationAttributes;
  /** Present for JSON_API_V1 payloads. */
  object: GcsObjectResource | null;
}
