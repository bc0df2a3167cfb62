// The custom metadata written on every mask: which input generation and which model made it.
// It is what makes a redelivered item recognisable as done, and what users audit outputs by.
import type { ObjectRef } from '../contracts/batch.js';
import { MASK_METADATA_KEYS } from '../contracts/mask-metadata.js';
import { z } from 'zod';
import { ClassFractionSchema, ReflectanceSchema, SceneRefSchema, type ClassFractionRecord, type ModelIdentity, type Reflectance, type SceneRef } from '../contracts/result-event.js';

const KEYS = MASK_METADATA_KEYS;

export interface Provenance {
  source: ObjectRef;
  model: ModelIdentity;
  cloudFraction: number;
  width: number;
  height: number;
  /** The conversion to reflectance applied (absent for masks written before it was recorded). */
  reflectance?: Reflectance | null;
  /** The scene, when the input was a scene descriptor. */
  scene?: SceneRef | null;
  /** A class model's classes with their shares, and its shadow share (absent for a cloud mask). */
  classes?: ClassFractionRecord[] | null;
  shadowFraction?: number | null;
}

export function provenanceMetadata(p: Provenance): Record<string, string> {
  const m: Record<string, string> = {
    [KEYS.sourceBucket]: p.source.bucket,
    [KEYS.sourceName]: p.source.name,
    [KEYS.sourceGeneration]: p.source.generation,
    [KEYS.modelName]: p.model.name,
    [KEYS.modelVersion]: p.model.version,
    [KEYS.modelMd5]: p.model.md5,
    [KEYS.cloudFraction]: p.cloudFraction.toFixed(6),
    [KEYS.width]: String(p.width),
    [KEYS.height]: String(p.height),
  };
  if (p.model.rev) m[KEYS.modelRev] = p.model.rev;
  if (p.model.tag) m[KEYS.modelTag] = p.model.tag;
  if (p.reflectance) {
    m[KEYS.reflectanceConversion] = p.reflectance.conversion;
    m[KEYS.reflectanceSource] = p.reflectance.source;
    m[KEYS.reflectance] = JSON.stringify(p.reflectance);
  }
  if (p.scene) m[KEYS.scene] = JSON.stringify(p.scene);
  if (p.classes) m[KEYS.classes] = JSON.stringify(p.classes);
  if (p.shadowFraction !== undefined && p.shadowFraction !== null) m[KEYS.shadowFraction] = String(p.shadowFraction);
  return m;
}

/** What an existing mask says about itself; null fields when it was not written by cloudseg. */
export interface ExistingMask {
  generation: string;
  source: ObjectRef | null;
  modelMd5: string | null;
  modelName: string | null;
  modelVersion: string | null;
  cloudFraction: number | null;
  width: number | null;
  height: number | null;
  /** Whether the `succeeded` event for this mask was published. */
  eventPublished: boolean;
  writeId: string | null;
  reflectance: Reflectance | null;
  scene: SceneRef | null;
  classes: ClassFractionRecord[] | null;
  shadowFraction: number | null;
}

export function readProvenance(generation: string, metadata: Record<string, unknown> | undefined): ExistingMask {
  const get = (k: string): string | null => {
    const v = metadata?.[k];
    return typeof v === 'string' && v !== '' ? v : null;
  };
  const bucket = get(KEYS.sourceBucket);
  const name = get(KEYS.sourceName);
  const sourceGeneration = get(KEYS.sourceGeneration);
  const num = (k: string) => {
    const v = get(k);
    return v === null || !Number.isFinite(Number(v)) ? null : Number(v);
  };
  return {
    generation,
    source: bucket && name && sourceGeneration ? { bucket, name, generation: sourceGeneration } : null,
    modelMd5: get(KEYS.modelMd5),
    modelName: get(KEYS.modelName),
    modelVersion: get(KEYS.modelVersion),
    cloudFraction: num(KEYS.cloudFraction),
    width: num(KEYS.width),
    height: num(KEYS.height),
    eventPublished: get(KEYS.eventPublished) === 'true',
    writeId: get(KEYS.writeId),
    reflectance: parsedJson(get(KEYS.reflectance), (v) => ReflectanceSchema.parse(v)),
    scene: parsedJson(get(KEYS.scene), (v) => SceneRefSchema.parse(v)),
    classes: parsedJson(get(KEYS.classes), (v) => z.array(ClassFractionSchema).parse(v)),
    shadowFraction: num(KEYS.shadowFraction),
  };
}

// A record that does not parse (hand-edited metadata) is as good as absent: it is only repeated in events.
function parsedJson<T>(text: string | null, parse: (value: unknown) => T): T | null {
  if (text === null) return null;
  try {
    return parse(JSON.parse(text));
  } catch {
    return null;
  }
}

export type MaskVerdict = 'absent' | 'same-work' | 'newer-input' | 'stale';

/**
 * Compares an existing mask with the work at hand: the same input generation and model means done;
 * a later generation of the same input means ours is outdated; anything else may be replaced.
 */
export function judgeExistingMask(existing: ExistingMask | null, input: ObjectRef, modelMd5: string): MaskVerdict {
  if (!existing) return 'absent';
  const src = existing.source;
  if (src && src.bucket === input.bucket && src.name === input.name) {
    const theirs = BigInt(src.generation);
    const ours = BigInt(input.generation);
    if (theirs > ours) return 'newer-input';
    if (theirs === ours && existing.modelMd5 === modelMd5) return 'same-work';
  }
  return 'stale';
}
