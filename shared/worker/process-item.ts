// One batch item end to end: skip if done, read the pinned generation (ranged reads, window by
// window), segment, write the masks without ever replacing a newer result, publish the result
// event, optionally delete input.
import { performance } from 'node:perf_hooks';
import type { Storage } from '@google-cloud/storage';
import type { BatchItem, ObjectRef } from '../contracts/batch.js';
import {
  RESULT_SCHEMA_ID,
  type ModelIdentity,
  type OutputRef,
  type ResultEvent,
  type ResultStatus,
  type Stage,
} from '../contracts/result-event.js';
import { ZodError } from 'zod';
import { createDownloadStorage, objectDownloader, type ObjectDownloader } from '../cloud/object-download.js';
import { downloaderRangeSource } from '../cloud/gcs-range-source.js';
import { isSourceReadError, type RangeSource } from '../imaging/range-source.js';
import { MASK_METADATA_KEYS } from '../contracts/mask-metadata.js';
import { describeError, isNotFound, isPreconditionFailed, isRetryable } from '../errors.js';
import type { Logger } from '../logging.js';
import type { SegmentationModel } from '../model/types.js';
import { readExistingMask, writeMaskIfNotNewer } from './mask-writer.js';
import { maskNames } from './output-names.js';
import { judgeExistingMask, type Provenance } from './provenance.js';
import { CloudsegError } from '../errors.js';
import { classFields, type Reflectance, type SceneRef } from '../contracts/result-event.js';
import { describeSceneReading, sceneDescriptorKind } from '../scenes/describe-scene.js';
import type { ObjectLocation } from '../scenes/types.js';
import { encodeMasks, type MaskResult } from './segment-image.js';
import { bareImageReflectance, checkDescriptorSize, checkSceneBuckets, openSceneBands, reflectanceTags, segmentSceneBands, type OpenedBandObject } from './segment-scene.js';
import { segmentSource } from './segment-source.js';

export interface WorkerSettings {
  outputBucket: string;
  outputPrefix: string;
  /** What one image may take in memory, estimated from its header. */
  memoryBudgetBytes: number;
  batchTiles: number;
  /** Items in flight; undefined = the model's parallelism. */
  concurrency: number | undefined;
  deleteInput: boolean;
  writeGeoTiff: boolean;
  /** Buckets besides the descriptor's own that a scene may name band objects in. @default none */
  sceneBandBuckets?: readonly string[];
  /** For this long after a descriptor's upload, a missing scene member is waited for (retryable). @default 0 */
  sceneArrivalGraceSeconds?: number;
}

export interface WorkerDeps {
  storage: Storage;
  /** Object downloads (retried by cloudseg, not by the client: see shared/cloud/object-download.ts). */
  downloader?: ObjectDownloader;
  publishResult: (event: ResultEvent) => Promise<string>;
  model: SegmentationModel;
  settings: WorkerSettings;
  logger: Logger;
  now?: () => Date;
}

type Timings = Partial<Record<Stage, number>>;

// Tests and tools that build deps by hand get a downloader over their own client's project.
const fallbackDownloaders = new WeakMap<Storage, ObjectDownloader>();
function downloaderOf(deps: WorkerDeps): ObjectDownloader {
  if (deps.downloader) return deps.downloader;
  let d = fallbackDownloaders.get(deps.storage);
  if (!d) fallbackDownloaders.set(deps.storage, (d = objectDownloader(createDownloadStorage(deps.storage.projectId))));
  return d;
}

export async function processItem(deps: WorkerDeps, batchId: string, item: BatchItem): Promise<ResultEvent> {
  const started = performance.now();
  const timings: Timings = {};
  const input: ObjectRef = { bucket: item.bucket, name: item.name, generation: item.generation };
  const log = deps.logger.child({ batchId, input: `${input.bucket}/${input.name}#${input.generation}` });
  const event = await outcomeOf(deps, batchId, input, timings, log, item.finalizedAt);
  event.timingsMs.total = performance.now() - started;
  await publishFinal(deps, event, item.finalizedAt, log);
  if (event.status === 'failed') await recordFailure(deps, event, log);
  logResult(log, deps.model, event);
  // A duplicate is work done too (e.g. a redelivery after the delete step failed).
  if (deps.settings.deleteInput && (event.status === 'succeeded' || event.status === 'duplicate')) {
    await deleteProcessedInput(deps.storage, input, log);
  }
  return event;
}

/**
 * For an item whose processing threw something permanent that no step turned into an event (a
 * bug): publish a `failed` INTERNAL event so the item is settled without looping its batch.
 */
export async function publishUnexpectedFailure(deps: WorkerDeps, batchId: string, item: BatchItem, err: unknown): Promise<ResultEvent> {
  const input: ObjectRef = { bucket: item.bucket, name: item.name, generation: item.generation };
  const event = resultEvent('failed', batchId, input, deps.model.identity, {}, deps.now?.() ?? new Date(), {
    error: { code: 'INTERNAL', message: describeError(err).message },
  });
  await publishStamped(deps, event, item.finalizedAt);
  logResult(deps.logger.child({ batchId, input: `${input.bucket}/${input.name}#${input.generation}` }), deps.model, event);
  return event;
}

/**
 * End-to-end latency of an item: its input's finalize to `publishedAt`; null when the item did not
 * carry its finalize time. Never negative: the store's clock and ours may disagree by a little.
 */
export function latencyMsOf(finalizedAt: string | undefined, publishedAt: Date): number | null {
  if (finalizedAt === undefined) return null;
  const ms = publishedAt.getTime() - Date.parse(finalizedAt);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

// Latency is taken as late as it can be, right before the publish it measures up to.
async function publishStamped(deps: WorkerDeps, event: ResultEvent, finalizedAt: string | undefined): Promise<void> {
  event.latencyMs = latencyMsOf(finalizedAt, deps.now?.() ?? new Date());
  await deps.publishResult(event);
}

/**
 * The worker's one log line per result event. Log-based metrics in Cloud Logging count and
 * distribute on these field names (resultStatus, errorCode, engine, latencyMs, ...): keep them.
 * The input's name is `objectName`: a top-level `name` would duplicate pino's logger name
 * ("worker"), which the metrics' filter matches on.
 */
function logResult(log: Logger, model: SegmentationModel, event: ResultEvent): void {
  const fields = {
    resultStatus: event.status,
    errorCode: event.error?.code ?? null,
    modelMd5: event.model.md5,
    modelName: event.model.name,
    engine: model.backend,
    pixels: event.width !== null && event.height !== null ? event.width * event.height : null,
    latencyMs: event.latencyMs ?? null,
    timingsMs: event.timingsMs,
    bucket: event.input.bucket,
    objectName: event.input.name,
    generation: event.input.generation,
  };
  if (event.status === 'failed') log.warn(fields, 'result');
  else log.info(fields, 'result');
}

async function outcomeOf(
  deps: WorkerDeps,
  batchId: string,
  input: ObjectRef,
  timings: Timings,
  log: Logger,
  finalizedAt?: string,
): Promise<ResultEvent> {
  const { storage, model, settings } = deps;
  const make = (status: ResultStatus, fields: Partial<ResultEvent> = {}) =>
    resultEvent(status, batchId, input, model.identity, timings, deps.now?.() ?? new Date(), fields);
  const names = maskNames(input, settings.outputPrefix);
  const outBucket = storage.bucket(settings.outputBucket);
  const pngFile = outBucket.file(names.png);

  // Done already (a redelivery, or a twin that finished first)?
  const existing = await output(() => readExistingMask(pngFile));
  if ('failed' in existing) return make('failed', { error: existing.failed });
  const verdict = judgeExistingMask(existing.value, input, model.identity.md5);
  if (verdict === 'newer-input') return make('superseded');
  if (verdict === 'same-work' && existing.value) {
    const done = existing.value;
    const tif = await readExistingMask(outBucket.file(names.geotiff));
    const tifIsOurs = judgeExistingMask(tif, input, model.identity.md5) === 'same-work';
    // A mask whose `succeeded` event never went out (the publish failed after the write) is
    // reported `succeeded` now, so a subscriber filtering on it hears of the image once.
    return make(done.eventPublished ? 'duplicate' : 'succeeded', {
      output: outputRef(settings.outputBucket, names.png, done.generation, tifIsOurs && tif ? { name: names.geotiff, generation: tif.generation } : null),
      width: done.width,
      height: done.height,
      cloudFraction: done.cloudFraction,
      scene: done.scene,
      reflectance: done.reflectance,
      ...classFields(done),
    });
  }

  const sceneKind = sceneDescriptorKind(input.name);
  const read = sceneKind ? await readScene(deps, input, timings, make, log, finalizedAt) : await readImage(deps, input, timings, make, log);
  if ('event' in read) return read.event;
  const { segmentation, scene } = read;

  let provenance: Provenance;
  let encoded;
  try {
    timings.decode = segmentation.timingsMs.decode;
    timings.infer = segmentation.timingsMs.infer;
    encoded = await encodeMasks(segmentation, { geotiff: settings.writeGeoTiff });
    timings.encode = encoded.encodeMs;
    provenance = {
      source: input,
      model: model.identity,
      cloudFraction: segmentation.cloudFraction,
      width: segmentation.width,
      height: segmentation.height,
      reflectance: read.reflectance,
      scene,
      ...classFields({ classes: segmentation.summary.classes, shadowFraction: segmentation.summary.shadowFraction }),
    };
  } catch (err) {
    if (isRetryable(err)) throw err;
    log.warn({ err }, 'mask could not be encoded');
    return make('failed', { error: describeError(err) });
  }

  const t = performance.now();
  let georeferenced: { name: string; generation: string } | null = null;
  const geotiff = encoded.geotiff;
  if (geotiff) {
    const tif = await output(() => writeMaskIfNotNewer(outBucket.file(names.geotiff), geotiff, 'image/tiff', provenance));
    if ('failed' in tif) return make('failed', { error: tif.failed });
    if (tif.value.outcome === 'newer') return make('superseded');
    georeferenced = { name: names.geotiff, generation: tif.value.generation };
  }
  // The PNG goes last: its presence with our provenance is what marks the item as done.
  const written = await output(() => writeMaskIfNotNewer(pngFile, encoded.png, 'image/png', provenance));
  timings.upload = performance.now() - t;
  if ('failed' in written) return make('failed', { error: written.failed });
  const png = written.value;
  if (png.outcome === 'newer') return make('superseded');
  return make(png.outcome === 'written' ? 'succeeded' : 'duplicate', {
    output: outputRef(settings.outputBucket, names.png, png.generation, georeferenced),
    width: provenance.width,
    height: provenance.height,
    cloudFraction: provenance.cloudFraction,
    scene: provenance.scene ?? null,
    reflectance: provenance.reflectance ?? null,
    ...classFields(provenance),
  });
}


type Make = (status: ResultStatus, fields?: Partial<ResultEvent>) => ResultEvent;

/** A segmented input, or the event that settles it without a mask. */
type Read = { segmentation: MaskResult; reflectance: Reflectance; scene: SceneRef | null } | { event: ResultEvent };

// One image: read exactly the generation we were told about; if it is gone, a newer upload replaced it.
// Nothing is downloaded whole: the image is read in ranges (the first bytes say what it is, a
// TIFF is read window by window), so a 5 GB archive named .tif costs one 512 KiB read to refuse.
async function readImage(deps: WorkerDeps, input: ObjectRef, timings: Timings, make: Make, log: Logger): Promise<Read> {
  const { storage, model, settings } = deps;
  const file = storage.bucket(input.bucket).file(input.name, { generation: input.generation });
  let source: RangeSource;
  let metadata: Record<string, string> | null;
  let contentType: string | undefined;
  try {
    const t = performance.now();
    const [meta] = await file.getMetadata();
    // Ranged reads through cloudseg's own retrying downloader (see shared/cloud/object-download.ts).
    source = downloaderRangeSource(downloaderOf(deps), input, Number(meta.size ?? 0));
    // Only the metadata: the ranged reads happen while decoding and are counted in `decode`.
    timings.download = performance.now() - t;
    metadata = (meta.metadata as Record<string, string> | undefined) ?? null;
    contentType = meta.contentType;
  } catch (err) {
    return { event: await unreadable(storage, input, err, make, log) };
  }
  try {
    const segmentation = await segmentSource(
      model,
      { source, name: input.name, objectMetadata: metadata, ...(contentType ? { contentType } : {}) },
      { memoryBudgetBytes: settings.memoryBudgetBytes, batchTiles: settings.batchTiles },
    );
    const reflectance = bareImageReflectance(segmentation.scaling, segmentation.scalingSource, model.card);
    return { segmentation: { ...segmentation, tags: { ...reflectanceTags(reflectance), ...segmentation.tags } }, reflectance, scene: null };
  } catch (err) {
    // A ranged read failing mid-scene is the store's answer (the generation replaced, a 503), not a bad image.
    if (isSourceReadError(err)) return { event: await unreadable(storage, input, err, make, log) };
    if (isRetryable(err)) throw err;
    log.warn({ err }, 'image failed');
    return { event: make('failed', { error: describeError(err) }) };
  }
}

// A scene descriptor (STAC item, Landsat MTL): the descriptor is read whole (it is small, and
// capped), described with the card's bands, and each band object is read at the generation it has
// now, pinned for the whole scene. The descriptor's generation keys the masks and their provenance.
async function readScene(deps: WorkerDeps, input: ObjectRef, timings: Timings, make: Make, log: Logger, finalizedAt?: string): Promise<Read> {
  const { storage, model, settings } = deps;
  const downloader = downloaderOf(deps);
  const label = `gs://${input.bucket}/${input.name}`;
  let bytes: Uint8Array;
  try {
    const t = performance.now();
    const [meta] = await storage.bucket(input.bucket).file(input.name, { generation: input.generation }).getMetadata();
    checkDescriptorSize(label, Number(meta.size ?? 0));
    bytes = await downloader.download(input);
    timings.download = performance.now() - t;
  } catch (err) {
    if (err instanceof CloudsegError && !err.retryable) return { event: make('failed', { error: describeError(err) }) };
    return { event: await unreadable(storage, input, err, make, log) };
  }
  try {
    const scene = await describeSceneReading(
      {
        location: { kind: 'gcs', bucket: input.bucket, name: input.name },
        bytes,
        cardBands: model.card.bands,
        presets: model.card.presets,
        defaultPreset: model.card.defaultPreset.integer,
      },
      (location) => {
        checkSceneBuckets(label, input.bucket, settings.sceneBandBuckets ?? [], [location]);
        return readCompanionObject(storage, downloader, label, location);
      },
    );
    checkSceneBuckets(label, input.bucket, settings.sceneBandBuckets ?? [], scene.bands.map((b) => b.location));
    const { sources, inputs } = await openSceneBands(label, scene, (location) => openBandObject(storage, downloader, label, location));
    const segmentation = await segmentSceneBands(model, { label, scene, sources }, { memoryBudgetBytes: settings.memoryBudgetBytes, batchTiles: settings.batchTiles });
    const sceneRef: SceneRef = { kind: scene.kind, id: scene.id, descriptor: input, inputs };
    return { segmentation, reflectance: scene.reflectance, scene: sceneRef };
  } catch (err) {
    // A band replaced or removed while it was read: the scene is read again from the start, with
    // the generations the bands have then (a band gone for good is BANDS_MISSING next time).
    if (isSourceReadError(err) && isNotFound(err)) {
      throw new CloudsegError('INPUT_UNREADABLE', `${label}: a band object changed while the scene was read; reading it again`, { cause: err, retryable: true });
    }
    if (isRetryable(err)) throw err;
    // Members still arriving (a folder copy lands in any order): wait, by redelivery, within the grace.
    const waited = membersPending(err, finalizedAt, settings.sceneArrivalGraceSeconds ?? 0, deps.now?.() ?? new Date());
    if (waited) throw waited;
    if (isSourceReadError(err)) {
      log.warn({ err }, 'a band object cannot be read');
      return { event: make('failed', { error: { code: 'INPUT_UNREADABLE', message: `${label}: a band object cannot be read: ${describeError(err).message}` } }) };
    }
    log.warn({ err }, 'scene failed');
    return { event: make('failed', { error: describeError(err) }) };
  }
}

/**
 * BANDS_MISSING as a retryable error while the descriptor is younger than the grace (its members
 * may still be on their way); null when the error is something else or the grace is over, so the
 * scene fails for good, naming what is missing. Without the upload's time nothing is waited for.
 */
export function membersPending(err: unknown, finalizedAt: string | undefined, graceSeconds: number, now: Date): CloudsegError | null {
  if (!(err instanceof CloudsegError) || err.code !== 'BANDS_MISSING' || finalizedAt === undefined || graceSeconds <= 0) return null;
  const ageSeconds = (now.getTime() - Date.parse(finalizedAt)) / 1000;
  if (!Number.isFinite(ageSeconds) || ageSeconds >= graceSeconds) return null;
  return new CloudsegError('BANDS_MISSING', `${err.message}; the descriptor landed ${Math.max(0, Math.round(ageSeconds))} s ago: waiting up to ${graceSeconds} s for the rest of the scene`, {
    retryable: true,
    cause: err,
    ...(err.details ? { details: err.details } : {}),
  });
}

// A small object the descriptor points at (a Landsat item's MTL), as it is now; null when absent.
async function readCompanionObject(storage: Storage, downloader: ObjectDownloader, label: string, location: ObjectLocation): Promise<Uint8Array | null> {
  if (location.kind !== 'gcs') return null;
  try {
    const [meta] = await storage.bucket(location.bucket).file(location.name).getMetadata();
    checkDescriptorSize(`gs://${location.bucket}/${location.name}`, Number(meta.size ?? 0));
    return await downloader.download({ bucket: location.bucket, name: location.name, generation: String(meta.generation) });
  } catch (err) {
    if (isNotFound(err)) return null;
    if (err instanceof CloudsegError || isRetryable(err)) throw err;
    throw new CloudsegError('INPUT_UNREADABLE', `${label}: cannot read gs://${location.bucket}/${location.name}: ${describeError(err).message}`, { cause: err });
  }
}

// The band object's generation now, and a reader pinned to it; 'missing' when there is none.
async function openBandObject(storage: Storage, downloader: ObjectDownloader, label: string, location: ObjectLocation): Promise<OpenedBandObject | 'missing'> {
  if (location.kind !== 'gcs') {
    throw new CloudsegError('SCENE_INVALID', `${label} names a local file (${location.path}); in a bucket, bands are objects (relative hrefs or gs://)`);
  }
  let meta;
  try {
    [meta] = await storage.bucket(location.bucket).file(location.name).getMetadata();
  } catch (err) {
    if (isNotFound(err)) return 'missing';
    if (isRetryable(err)) throw err;
    throw new CloudsegError('INPUT_UNREADABLE', `${label}: cannot read band object gs://${location.bucket}/${location.name}: ${describeError(err).message}`, { cause: err });
  }
  const ref = { bucket: location.bucket, name: location.name, generation: String(meta.generation) };
  return { source: downloaderRangeSource(downloader, ref, Number(meta.size ?? 0)), ref };
}

/**
 * An output-bucket call: transient errors are thrown (the batch is redelivered); a permanent one
 * (403, a bucket that does not exist) fails this item with OUTPUT_UNWRITABLE instead of sending the
 * whole batch round until the dead-letter topic.
 */
async function output<T>(call: () => Promise<T>): Promise<{ value: T } | { failed: { code: 'OUTPUT_UNWRITABLE'; message: string } }> {
  try {
    return { value: await call() };
  } catch (err) {
    if (isRetryable(err)) throw err;
    return { failed: { code: 'OUTPUT_UNWRITABLE', message: `cannot write the mask: ${describeError(err).message}` } };
  }
}

// The input's store refused a read: gone (superseded or vanished), transient (thrown: the batch is
// redelivered) or for good (403, ...: trying again cannot help).
async function unreadable(
  storage: Storage,
  input: ObjectRef,
  err: unknown,
  make: (status: ResultStatus, fields?: Partial<ResultEvent>) => ResultEvent,
  log: Logger,
): Promise<ResultEvent> {
  if (isNotFound(err)) return (await hasNewerGeneration(storage, input)) ? make('superseded') : make('failed', { error: inputNotFound(input) });
  if (isRetryable(err)) throw err;
  log.warn({ err }, 'input cannot be read');
  return make('failed', { error: { code: 'INPUT_UNREADABLE', message: `cannot read gs://${input.bucket}/${input.name}#${input.generation}: ${describeError(err).message}` } });
}

// The pinned generation is gone: superseded when a newer one exists, else the input vanished.
async function hasNewerGeneration(storage: Storage, input: ObjectRef): Promise<boolean> {
  try {
    const [meta] = await storage.bucket(input.bucket).file(input.name).getMetadata();
    return BigInt(String(meta.generation)) > BigInt(input.generation);
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

function inputNotFound(input: ObjectRef): { code: 'INPUT_NOT_FOUND'; message: string } {
  return { code: 'INPUT_NOT_FOUND', message: `gs://${input.bucket}/${input.name}#${input.generation} no longer exists and no newer upload replaced it` };
}

/**
 * Publishes the item's final event. A `succeeded` event marks its mask afterwards, so a redelivery
 * knows whether it still owes one. An event our own schema refuses (a bug) must not loop the batch:
 * a `failed` INTERNAL event says so instead.
 */
async function publishFinal(deps: WorkerDeps, event: ResultEvent, finalizedAt: string | undefined, log: Logger): Promise<void> {
  try {
    await publishStamped(deps, event, finalizedAt);
  } catch (err) {
    if (!(err instanceof ZodError)) throw err;
    log.error({ err }, 'result event failed its own schema; publishing a failed event instead');
    const fallback: ResultEvent = { ...event, status: 'failed', output: null, width: null, height: null, cloudFraction: null, error: { code: 'INTERNAL', message: `result event invalid: ${err.message.slice(0, 500)}` } };
    Object.assign(event, fallback);
    await publishStamped(deps, event, finalizedAt);
    return;
  }
  if (event.status === 'succeeded' && event.output) {
    try {
      await deps.storage
        .bucket(event.output.bucket)
        .file(event.output.name)
        .setMetadata({ metadata: { [MASK_METADATA_KEYS.eventPublished]: 'true' } }, { ifGenerationMatch: event.output.generation });
    } catch (err) {
      // Worst case a redelivery publishes `succeeded` once more: at least once, never never.
      log.warn({ err }, 'could not mark the mask as announced');
    }
  }
}

/**
 * Leaves the `failed` event beside where the mask would be, with the input's provenance, so that
 * `cloudseg reconcile` knows this generation got its final event (and a person can read why).
 * Best effort: the event is already out.
 */
async function recordFailure(deps: WorkerDeps, event: ResultEvent, log: Logger): Promise<void> {
  const name = maskNames(event.input, deps.settings.outputPrefix).failure;
  try {
    await deps.storage
      .bucket(deps.settings.outputBucket)
      .file(name)
      .save(JSON.stringify(event, null, 2), {
        resumable: false,
        contentType: 'application/json',
        metadata: {
          metadata: {
            [MASK_METADATA_KEYS.sourceBucket]: event.input.bucket,
            [MASK_METADATA_KEYS.sourceName]: event.input.name,
            [MASK_METADATA_KEYS.sourceGeneration]: event.input.generation,
            [MASK_METADATA_KEYS.modelMd5]: event.model.md5,
          },
        },
      });
  } catch (err) {
    log.warn({ err, name }, 'could not record the failure beside the masks');
  }
}

function outputRef(bucket: string, name: string, generation: string, georeferenced: OutputRef['georeferenced']): OutputRef {
  return { bucket, name, generation, georeferenced };
}

function resultEvent(
  status: ResultStatus,
  batchId: string,
  input: ObjectRef,
  model: ModelIdentity,
  timingsMs: Timings,
  finishedAt: Date,
  fields: Partial<ResultEvent>,
): ResultEvent {
  return {
    schema: RESULT_SCHEMA_ID,
    status,
    batchId,
    input,
    output: null,
    model,
    width: null,
    height: null,
    cloudFraction: null,
    timingsMs,
    error: null,
    finishedAt: finishedAt.toISOString(),
    scene: null,
    reflectance: null,
    ...fields,
  };
}

// Only the generation we processed: a newer upload under the same name must survive.
async function deleteProcessedInput(storage: Storage, input: ObjectRef, log: Logger): Promise<void> {
  try {
    await storage
      .bucket(input.bucket)
      .file(input.name, { generation: input.generation })
      .delete({ ifGenerationMatch: input.generation });
  } catch (err) {
    if (isNotFound(err) || isPreconditionFailed(err)) return;
    // The mask and event are out; a failed clean-up must not redo the work.
    log.warn({ err }, 'could not delete processed input');
  }
}
