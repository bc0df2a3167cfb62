// The work batch that flush publishes and the worker consumes (`cloudseg.batch.v1`).
import { z } from 'zod';

export const BATCH_SCHEMA_ID = 'cloudseg.batch.v1' as const;

export const ObjectRefSchema = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  /** GCS generations exceed 2^53: always a decimal string. */
  generation: z.string().regex(/^\d+$/),
});
export type ObjectRef = z.infer<typeof ObjectRefSchema>;

export const BatchItemSchema = ObjectRefSchema.extend({
  size: z.number().int().nonnegative(),
  contentType: z.string(),
  /**
   * When this generation was finalized (its upload completed), for the result event's end-to-end
   * `latencyMs`. Optional: batches published before it existed, and items whose time is unknown.
   */
  finalizedAt: z.iso.datetime().optional(),
});
export type BatchItem = z.infer<typeof BatchItemSchema>;

export const BatchMessageSchema = z.object({
  schema: z.literal(BATCH_SCHEMA_ID),
  batchId: z.string().min(1),
  createdAt: z.iso.datetime(),
  items: z.array(BatchItemSchema).min(1),
});
export type BatchMessage = z.infer<typeof BatchMessageSchema>;

/** The times of an object resource (a notification's payload, or the object's metadata). */
export interface ObjectTimes {
  timeFinalized?: unknown;
  timeCreated?: unknown;
  updated?: unknown;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const ISO_DATETIME = z.iso.datetime();

/**
 * The finalize time of an object generation as `finalizedAt` wants it (ISO, UTC), or undefined
 * when nothing usable is given. `timeFinalized` is exact where GCS sends it; else `timeCreated`
 * (a generation is created by its finalize; later metadata updates move `updated`, not it); then
 * `updated`, then `fallbacks` in order (a notification's `eventTime`).
 */
export function finalizedAtOf(object: ObjectTimes, ...fallbacks: unknown[]): string | undefined {
  for (const candidate of [object.timeFinalized, object.timeCreated, object.updated, ...fallbacks]) {
    // RFC 3339 only: Date.parse also takes "1" or "May 1", which no store sends as a time.
    if (typeof candidate !== 'string' || !RFC3339.test(candidate)) continue;
    const ms = Date.parse(candidate);
    if (!Number.isFinite(ms)) continue;
    // Checked against the batch schema: a time it refused would fail the whole batch's publish.
    const iso = new Date(ms).toISOString();
    if (ISO_DATETIME.safeParse(iso).success) return iso;
  }
  return undefined;
}

/** The dedupe key of an upload: one object generation is one unit of work. */
export function objectKey(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.name}#${ref.generation}`;
}
