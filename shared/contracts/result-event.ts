// The completion event published per image on the results topic (`cloudseg.result.v1`).
// Users subscribe to it and filter on the message attributes `status` and `model`.
import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { ObjectRefSchema } from './batch.js';

export const RESULT_SCHEMA_ID = 'cloudseg.result.v1' as const;

export const RESULT_STATUSES = ['succeeded', 'failed', 'duplicate', 'superseded'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

export const STAGES = ['download', 'decode', 'infer', 'encode', 'upload', 'total'] as const;
export type Stage = (typeof STAGES)[number];

export const ModelIdentitySchema = z.object({
  name: z.string().min(1),
  version: z.string().min(1),
  md5: z.string().regex(/^[\da-f]{32}$/),
  /** The registry rev and tag the model came from, when it came from a registry. */
  rev: z.string().nullable().default(null),
  tag: z.string().nullable().default(null),
});
export type ModelIdentity = z.infer<typeof ModelIdentitySchema>;

export const OutputRefSchema = ObjectRefSchema.extend({
  /** The mask as a GeoTIFF keeping the input's georeference, when the input had one. */
  georeferenced: z.object({ name: z.string().min(1), generation: z.string().regex(/^\d+$/) }).nullable(),
});
export type OutputRef = z.infer<typeof OutputRefSchema>;

export const ResultEventSchema = z.object({
  schema: z.literal(RESULT_SCHEMA_ID),
  status: z.enum(RESULT_STATUSES),
  batchId: z.string().min(1),
  input: ObjectRefSchema,
  output: OutputRefSchema.nullable(),
  model: ModelIdentitySchema,
  width: z.number().int().nonnegative().nullable(),
  height: z.number().int().nonnegative().nullable(),
  /** Fraction of pixels classified as cloud, 0..1. */
  cloudFraction: z.number().min(0).max(1).nullable(),
  timingsMs: z.partialRecord(z.enum(STAGES), z.number().nonnegative()),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }).nullable(),
  finishedAt: z.iso.datetime(),
});
export type ResultEvent = z.infer<typeof ResultEventSchema>;

/** Pub/Sub attributes of a result message, for subscription filters. */
export function resultAttributes(event: ResultEvent): Record<string, string> {
  return {
    schema: RESULT_SCHEMA_ID,
    status: event.status,
    model: event.model.name,
    modelVersion: event.model.version,
    inputBucket: event.input.bucket,
  };
}
