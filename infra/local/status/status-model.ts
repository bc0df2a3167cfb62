// The status page's pure core: folds what the pipeline was seen doing (uploads, work batches,
// result events) into the numbers the page shows. No I/O and no clock of its own: `now` is passed in.
import { objectKey, type ObjectRef } from '../../../shared/contracts/batch.js';
import type { ClassFractionRecord, ModelIdentity, ResultEvent, ResultStatus } from '../../../shared/contracts/result-event.js';

/** One thing the pipeline was seen doing, as the status page learns it. */
export type StatusFact =
  /** An upload notification the flush will take as work (objectKey of the upload). */
  | { kind: 'upload'; key: string }
  /** A work batch published by flush: its items are now with the worker. */
  | { kind: 'released'; keys: string[] }
  | { kind: 'result'; event: ResultEvent }
  /** Which inference engine runs the model with this md5. */
  | { kind: 'engine'; md5: string; engine: string };

export interface StatusLimits {
  /** Latest succeeded masks kept for quick-looks. @default 12 */
  masks: number;
  /** Latest failures listed. @default 20 */
  failures: number;
  /** Latency samples the percentiles are taken over. @default 1000 */
  latencySamples: number;
  /** Uploads remembered (to tell a redelivered notification from a new upload). @default 100_000 */
  uploads: number;
  /** Window of the throughput figures. @default 60_000 */
  throughputWindowMs: number;
}

export const DEFAULT_STATUS_LIMITS: StatusLimits = { masks: 12, failures: 20, latencySamples: 1000, uploads: 100_000, throughputWindowMs: 60_000 };

const UPLOAD_STAGES = ['buffered', 'in-flight', 'done'] as const;
type UploadStage = (typeof UPLOAD_STAGES)[number];

export interface MaskEntry {
  /** Stable, URL-safe id of the mask (its output object generation). */
  id: string;
  input: ObjectRef;
  output: ObjectRef;
  /** Whether the input was a scene descriptor (no single image to lay the mask over). */
  scene: boolean;
  width: number | null;
  height: number | null;
  cloudFraction: number | null;
  classes: ClassFractionRecord[] | null;
  finishedAt: string;
}

export interface FailureEntry {
  input: ObjectRef;
  code: string;
  message: string;
  finishedAt: string;
}

export interface StatusState {
  limits: StatusLimits;
  /** Upload stage by objectKey, insertion-ordered so the oldest is forgotten first. */
  uploads: Map<string, UploadStage>;
  seen: number;
  statuses: Record<ResultStatus, number>;
  failedByCode: Record<string, number>;
  /** Result events already counted (a redelivered message repeats one exactly). */
  counted: Set<string>;
  /** Succeeded events' finish time and pixels, oldest first, for throughput. */
  finished: Array<{ atMs: number; pixels: number }>;
  latencyMs: number[];
  workerMs: number[];
  model: ModelIdentity | null;
  engines: Map<string, string>;
  masks: MaskEntry[];
  failures: FailureEntry[];
}

export interface Percentiles {
  p50: number;
  p95: number;
  samples: number;
}

export interface StatusSnapshot {
  counts: { seen: number; buffered: number; inFlight: number } & Record<ResultStatus, number>;
  failedByCode: Record<string, number>;
  /** Succeeded images and megapixels whose result came within the window before now. */
  throughput: { windowMs: number; images: number; megapixels: number; imagesPerMinute: number; megapixelsPerMinute: number };
  /** Upload to succeeded result, from the events' `latencyMs`; null until an event carries it. */
  latencyMs: Percentiles | null;
  /** The worker's own time per succeeded item (`timingsMs.total`). */
  workerMs: Percentiles | null;
  model: (ModelIdentity & { engine: string | null }) | null;
  /** Newest first. */
  masks: MaskEntry[];
  /** Newest first. */
  failures: FailureEntry[];
}

export function emptyStatus(limits: Partial<StatusLimits> = {}): StatusState {
  return {
    limits: { ...DEFAULT_STATUS_LIMITS, ...limits },
    uploads: new Map(),
    seen: 0,
    statuses: { succeeded: 0, failed: 0, duplicate: 0, superseded: 0 },
    failedByCode: {},
    counted: new Set(),
    finished: [],
    latencyMs: [],
    workerMs: [],
    model: null,
    engines: new Map(),
    masks: [],
    failures: [],
  };
}

/** Applies one fact; returns whether anything shown changed. Mutates `state` (the caller owns it). */
export function observe(state: StatusState, fact: StatusFact): boolean {
  switch (fact.kind) {
    case 'upload':
      return advance(state, fact.key, 'buffered');
    case 'released':
      return fact.keys.map((key) => advance(state, key, 'in-flight')).some(Boolean);
    case 'engine':
      if (state.engines.get(fact.md5) === fact.engine) return false;
      state.engines.set(fact.md5, fact.engine);
      return true;
    case 'result':
      return observeResult(state, fact.event);
  }
}

function observeResult(state: StatusState, event: ResultEvent): boolean {
  const key = objectKey(event.input);
  // A redelivered message is the same event byte for byte; a new one has its own finish time.
  const eventId = `${key}|${event.status}|${event.finishedAt}`;
  if (state.counted.has(eventId)) return false;
  remember(state.counted, eventId, state.limits.uploads);
  advance(state, key, 'done');
  // A scene's band files were uploads too; its one event settles them.
  for (const member of event.scene?.inputs ?? []) advance(state, objectKey(member), 'done');
  state.statuses[event.status] += 1;
  state.model = event.model;
  const { limits } = state;
  if (event.status === 'failed') {
    const code = event.error?.code ?? 'UNKNOWN';
    state.failedByCode[code] = (state.failedByCode[code] ?? 0) + 1;
    state.failures.unshift({ input: event.input, code, message: event.error?.message ?? '', finishedAt: event.finishedAt });
    state.failures.length = Math.min(state.failures.length, limits.failures);
  }
  if (event.status !== 'succeeded') return true;
  const atMs = Date.parse(event.finishedAt);
  const pixels = (event.width ?? 0) * (event.height ?? 0);
  state.finished.push({ atMs, pixels });
  state.finished.sort((a, b) => a.atMs - b.atMs);
  // Only the window before the newest event can still count; now is never before it.
  while (state.finished.length > 0 && state.finished[0]!.atMs <= atMs - limits.throughputWindowMs) state.finished.shift();
  // Absent on events published before it existed, null when the upload's finalize time was unknown.
  if (typeof event.latencyMs === 'number') pushBounded(state.latencyMs, event.latencyMs, limits.latencySamples);
  if (event.timingsMs.total !== undefined) pushBounded(state.workerMs, event.timingsMs.total, limits.latencySamples);
  if (event.output) {
    const output = { bucket: event.output.bucket, name: event.output.name, generation: event.output.generation };
    state.masks.unshift({
      id: maskId(output),
      input: event.input,
      output,
      scene: Boolean(event.scene),
      width: event.width,
      height: event.height,
      cloudFraction: event.cloudFraction,
      classes: event.classes ?? null,
      finishedAt: event.finishedAt,
    });
    state.masks.sort((a, b) => Date.parse(b.finishedAt) - Date.parse(a.finishedAt));
    state.masks.length = Math.min(state.masks.length, limits.masks);
  }
  return true;
}

/** What the page shows at `nowMs` (the throughput window ends there). */
export function snapshot(state: StatusState, nowMs: number): StatusSnapshot {
  let buffered = 0;
  let inFlight = 0;
  for (const stage of state.uploads.values()) {
    if (stage === 'buffered') buffered++;
    else if (stage === 'in-flight') inFlight++;
  }
  const { throughputWindowMs: windowMs } = state.limits;
  const recent = state.finished.filter((f) => f.atMs > nowMs - windowMs);
  const images = recent.length;
  const megapixels = recent.reduce((sum, f) => sum + f.pixels, 0) / 1e6;
  const perMinute = 60_000 / windowMs;
  const model = state.model ? { ...state.model, engine: state.engines.get(state.model.md5) ?? null } : null;
  return {
    counts: { seen: state.seen, buffered, inFlight, ...state.statuses },
    failedByCode: { ...state.failedByCode },
    throughput: { windowMs, images, megapixels, imagesPerMinute: images * perMinute, megapixelsPerMinute: megapixels * perMinute },
    latencyMs: percentiles(state.latencyMs),
    workerMs: percentiles(state.workerMs),
    model,
    masks: [...state.masks],
    failures: [...state.failures],
  };
}

/** Nearest-rank percentiles; null without samples. */
export function percentiles(samples: readonly number[]): Percentiles | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return { p50: rank(0.5), p95: rank(0.95), samples: sorted.length };
}

/** A mask's id in URLs: its output object generation, made safe for a path segment. */
export function maskId(output: ObjectRef): string {
  return Buffer.from(objectKey(output)).toString('base64url');
}

// An upload only moves forward (a late notification must not put a finished one back in the buffer);
// the first fact about an upload, whichever it is, counts it as seen.
function advance(state: StatusState, key: string, stage: UploadStage): boolean {
  const current = state.uploads.get(key);
  if (current === undefined) state.seen += 1;
  else if (UPLOAD_STAGES.indexOf(current) >= UPLOAD_STAGES.indexOf(stage)) return false;
  state.uploads.delete(key);
  state.uploads.set(key, stage);
  if (state.uploads.size > state.limits.uploads) forgetOldest(state.uploads);
  return true;
}

function remember(set: Set<string>, value: string, max: number): void {
  set.add(value);
  if (set.size > max) set.delete(set.values().next().value!);
}

function forgetOldest(map: Map<string, UploadStage>): void {
  // Finished uploads go first; a buffered one is forgotten only when nothing else is left.
  for (const [key, stage] of map) {
    if (stage === 'done') {
      map.delete(key);
      return;
    }
  }
  map.delete(map.keys().next().value!);
}

function pushBounded(samples: number[], value: number, max: number): void {
  samples.push(value);
  if (samples.length > max) samples.shift();
}
