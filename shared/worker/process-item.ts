// One batch item end to end: skip if done, download the pinned generation, segment, write the
// masks without ever replacing a newer result, publish the result event, optionally delete input.
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
import { describeError, isNotFound, isPreconditionFailed, isRetryable } from '../errors.js';
import type { Logger } from '../logging.js';
import type { SegmentationModel } from '../model/types.js';
import { readExistingMask, writeMaskIfNotNewer } from './mask-writer.js';
import { maskNames } from './output-names.js';
import { judgeExistingMask, type Provenance } from './provenance.js';
import { encodeMasks, segmentImage } from './segment-image.js';

export interface WorkerSettings {
  outputBucket: string;
  outputPrefix: string;
  maxPixels: number;
  batchTiles: number;
  /** Items in flight; undefined = the model's parallelism. */
  concurrency: number | undefined;
  deleteInput: boolean;
  writeGeoTiff: boolean;
}

export interface WorkerDeps {
  storage: Storage;
  publishResult: (event: ResultEvent) => Promise<string>;
  model: SegmentationModel;
  settings: WorkerSettings;
  logger: Logger;
  now?: () => Date;
}

type Timings = Partial<Record<Stage, number>>;

export async function processItem(deps: WorkerDeps, batchId: string, item: BatchItem): Promise<ResultEvent> {
  const started = performance.now();
  const timings: Timings = {};
  const input: ObjectRef = { bucket: item.bucket, name: item.name, generation: item.generation };
  const log = deps.logger.child({ batchId, input: `${input.bucket}/${input.name}#${input.generation}` });
  const event = await outcomeOf(deps, batchId, input, timings, log);
  event.timingsMs.total = performance.now() - started;
  await deps.publishResult(event);
  log.info({ status: event.status, cloudFraction: event.cloudFraction, timingsMs: event.timingsMs, error: event.error }, 'item done');
  // A duplicate is work done too (e.g. a redelivery after the delete step failed).
  if (deps.settings.deleteInput && (event.status === 'succeeded' || event.status === 'duplicate')) {
    await deleteProcessedInput(deps.storage, input, log);
  }
  return event;
}

async function outcomeOf(
  deps: WorkerDeps,
  batchId: string,
  input: ObjectRef,
  timings: Timings,
  log: Logger,
): Promise<ResultEvent> {
  const { storage, model, settings } = deps;
  const make = (status: ResultStatus, fields: Partial<ResultEvent> = {}) =>
    resultEvent(status, batchId, input, model.identity, timings, deps.now?.() ?? new Date(), fields);
  const names = maskNames(input, settings.outputPrefix);
  const outBucket = storage.bucket(settings.outputBucket);
  const pngFile = outBucket.file(names.png);

  // Done already (a redelivery, or a twin that finished first)?
  const existing = await readExistingMask(pngFile);
  const verdict = judgeExistingMask(existing, input, model.identity.md5);
  if (verdict === 'newer-input') return make('superseded');
  if (verdict === 'same-work' && existing) {
    const tif = await readExistingMask(outBucket.file(names.geotiff));
    const tifIsOurs = judgeExistingMask(tif, input, model.identity.md5) === 'same-work';
    return make('duplicate', {
      output: outputRef(settings.outputBucket, names.png, existing.generation, tifIsOurs && tif ? { name: names.geotiff, generation: tif.generation } : null),
      width: existing.width,
      height: existing.height,
      cloudFraction: existing.cloudFraction,
    });
  }

  // Download exactly the generation we were told about; if it is gone, a newer upload replaced it.
  const source = storage.bucket(input.bucket).file(input.name, { generation: input.generation });
  let bytes: Buffer;
  let metadata: Record<string, string> | null;
  let contentType: string | undefined;
  try {
    const t = performance.now();
    const [meta] = await source.getMetadata();
    [bytes] = await source.download();
    timings.download = performance.now() - t;
    metadata = (meta.metadata as Record<string, string> | undefined) ?? null;
    contentType = meta.contentType;
  } catch (err) {
    if (isNotFound(err)) return make('superseded');
    throw err;
  }

  let provenance: Provenance;
  let encoded;
  try {
    const segmentation = await segmentImage(
      model,
      { bytes, name: input.name, objectMetadata: metadata, ...(contentType ? { contentType } : {}) },
      { maxPixels: settings.maxPixels, batchTiles: settings.batchTiles },
    );
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
    };
  } catch (err) {
    if (isRetryable(err)) throw err;
    log.warn({ err }, 'image failed');
    return make('failed', { error: describeError(err) });
  }

  const t = performance.now();
  let georeferenced: { name: string; generation: string } | null = null;
  if (encoded.geotiff) {
    const tif = await writeMaskIfNotNewer(outBucket.file(names.geotiff), encoded.geotiff, 'image/tiff', provenance);
    if (tif.outcome === 'newer') return make('superseded');
    georeferenced = { name: names.geotiff, generation: tif.generation };
  }
  // The PNG goes last: its presence with our provenance is what marks the item as done.
  const png = await writeMaskIfNotNewer(pngFile, encoded.png, 'image/png', provenance);
  timings.upload = performance.now() - t;
  if (png.outcome === 'newer') return make('superseded');
  return make(png.outcome === 'written' ? 'succeeded' : 'duplicate', {
    output: outputRef(settings.outputBucket, names.png, png.generation, georeferenced),
    width: provenance.width,
    height: provenance.height,
    cloudFraction: provenance.cloudFraction,
  });
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
