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
});
export type BatchItem = z.infer<typeof BatchItemSchema>;

export const BatchMessageSchema = z.object({
  schema: z.literal(BATCH_SCHEMA_ID),
  batchId: z.string().min(1),
  createdAt: z.iso.datetime(),
  items: z.array(BatchItemSchema).min(1),
});
export type BatchMessage = z.infer<typeof BatchMessageSchema>;

/** The dedupe key of an upload: one object generation is one unit of work. */
export function objectKey(ref: ObjectRef): string {
  return `${ref.bucket}/${ref.name}#${ref.generation}`;
}
