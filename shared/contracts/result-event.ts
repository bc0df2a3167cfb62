// The completion event published per image on the results topic (`cloudseg.result.v1`).
// Users subscribe to it and filter on the message attributes `status` and `model`.
import { z } from 'zod';
import { ERROR_CODES } from '../errors.js';
import { CLASS_KINDS } from '../imaging/mask-values.js';
import { SCALING_SOURCES } from '../imaging/scaling.js';
import { REFLECTANCE_CONVERSIONS, REFLECTANCE_SOURCES, SCENE_KINDS } from '../scenes/types.js';
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

/** Where a reflectance conversion's numbers came from: a scene's descriptor, or a bare image's scaling source. */
export const REFLECTANCE_RECORD_SOURCES = [...REFLECTANCE_SOURCES, ...SCALING_SOURCES.filter((s) => !(REFLECTANCE_SOURCES as readonly string[]).includes(s))] as [
  (typeof REFLECTANCE_SOURCES)[number] | (typeof SCALING_SOURCES)[number],
  ...((typeof REFLECTANCE_SOURCES)[number] | (typeof SCALING_SOURCES)[number])[],
];

/** A scene made of several objects: the descriptor the event is about and the band objects read. */
export const SceneRefSchema = z.object({
  kind: z.enum(SCENE_KINDS),
  /** The STAC item id or the Landsat product id. */
  id: z.string().min(1),
  descriptor: ObjectRefSchema,
  /** One per model band, in the model's order: the generation actually read. */
  inputs: z.array(z.object({ band: z.string().min(1), bucket: z.string().min(1), name: z.string().min(1), generation: z.string().regex(/^\d+$/) })),
});
export type SceneRef = z.infer<typeof SceneRefSchema>;

/** Which conversion from stored numbers to reflectance was applied, and where it came from. */
export const ReflectanceSchema = z.object({
  conversion: z.enum(REFLECTANCE_CONVERSIONS),
  source: z.enum(REFLECTANCE_RECORD_SOURCES),
  /** Degrees, when the conversion divides by sin(sun elevation). */
  sunElevation: z.number().nullable(),
  processingBaseline: z.string().nullable(),
  preset: z.string().nullable(),
  /** Per model band: reflectance = stored value * scale + offset. */
  scale: z.array(z.number()),
  offset: z.array(z.number()),
});
export type Reflectance = z.infer<typeof ReflectanceSchema>;

/**
 * The version of the result event's JSON Schema document: the minor grows with optional fields (a
 * v1 consumer reads every event unchanged), the major with the `schema` id. 1.1: classes, shadowFraction.
 * 1.2: latencyMs.
 */
export const RESULT_SCHEMA_VERSION = '1.2.0';

/** One class of a class model's mask and its share of the pixels with data. */
export const ClassFractionSchema = z.object({
  value: z.number().int().min(0).max(254),
  name: z.string().min(1),
  kind: z.enum(CLASS_KINDS),
  fraction: z.number().min(0).max(1),
});
export type ClassFractionRecord = z.infer<typeof ClassFractionSchema>;

export const ResultEventSchema = z.object({
  schema: z.literal(RESULT_SCHEMA_ID),
  status: z.enum(RESULT_STATUSES),
  batchId: z.string().min(1),
  input: ObjectRefSchema,
  output: OutputRefSchema.nullable(),
  model: ModelIdentitySchema,
  width: z.number().int().nonnegative().nullable(),
  height: z.number().int().nonnegative().nullable(),
  /** Fraction of the pixels with data classified as cloud (for a class model: cloud and thin-cloud kinds), 0..1. */
  cloudFraction: z.number().min(0).max(1).nullable(),
  timingsMs: z.partialRecord(z.enum(STAGES), z.number().nonnegative()),
  error: z.object({ code: z.enum(ERROR_CODES), message: z.string() }).nullable(),
  finishedAt: z.iso.datetime(),
  // Both are optional so events published before they existed parse unchanged; absent means null.
  /** The scene when the input was a scene descriptor (STAC item, Landsat MTL); null for one image. */
  scene: SceneRefSchema.nullable().optional(),
  /** Filled for every succeeded item (scene or image); null otherwise. */
  reflectance: ReflectanceSchema.nullable().optional(),
  /** A class model's mask: every class of the card with its share of the pixels with data. Absent for a cloud mask model. */
  classes: z.array(ClassFractionSchema).nullable().optional(),
  /** A class model's share of shadow-kind pixels among those with data. Absent for a cloud mask model. */
  shadowFraction: z.number().min(0).max(1).nullable().optional(),
  /**
   * End-to-end latency: milliseconds from the input generation's finalize (its upload completing) to
   * this event's publish, queueing in the buffer and the work topic included. Null when the work
   * item did not carry its finalize time; absent in events published before 1.2.
   */
  latencyMs: z
    .number()
    .nonnegative()
    .nullable()
    .optional()
    .describe('Milliseconds from the input generation finalize (upload complete) to this event being published; null when unknown. Since 1.2.0.'),
});
export type ResultEvent = z.infer<typeof ResultEventSchema>;

/** A class model's event fields from its mask's classes; nothing at all for a cloud mask model, whose events stay as they were. */
export function classFields(from: { classes?: ClassFractionRecord[] | null; shadowFraction?: number | null }): Pick<ResultEvent, 'classes' | 'shadowFraction'> {
  if (!from.classes) return {};
  return { classes: from.classes, shadowFraction: from.shadowFraction ?? null };
}

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
