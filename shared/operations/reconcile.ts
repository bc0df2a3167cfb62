// Finds uploads whose notification never arrived (the notification path was down, a message
// expired in the buffer) and queues them again: every object of the input bucket whose current
// generation has neither a mask nor a failure record from cloudseg goes into a work batch. Safe to
// repeat and to run on a schedule: the worker skips work already done, so a re-queued item that
// was only in flight costs a `duplicate`, never a second mask. The band files of a scene (beside
// its STAC item or MTL) are no work of their own, exactly as in flush: the descriptor is.
import { randomUUID } from 'node:crypto';
import type { Storage } from '@google-cloud/storage';
import pLimit from 'p-limit';
import { BATCH_SCHEMA_ID, finalizedAtOf, objectKey, type BatchItem, type BatchMessage } from '../contracts/batch.js';
import { isCloudsegMask, MASK_METADATA_KEYS } from '../contracts/mask-metadata.js';
import { createDownloadStorage, objectDownloader } from '../cloud/object-download.js';
import { isNotFound } from '../errors.js';
import { planBatches } from '../flush/plan.js';
import { sceneMemberCheck } from '../flush/scene-members.js';
import { isSceneMemberName } from '../scenes/scene-members.js';
import type { Logger } from '../logging.js';
import { maskNames } from '../worker/output-names.js';

export interface ReconcileDeps {
  storage: Storage;
  inputBucket: string;
  outputBucket: string;
  outputPrefix: string;
  /** Only objects under this prefix of the input bucket. */
  prefix?: string;
  publishBatch: (message: BatchMessage) => Promise<string>;
  limits: { maxItems: number; maxBytes: number };
  logger: Logger;
  /** List what would be queued, publish nothing. */
  dryRun?: boolean;
}

export interface ReconcileSummary {
  listed: number;
  /** Current generation has a mask from cloudseg. */
  done: number;
  /** Current generation has a failure record (its `failed` event went out). */
  failed: number;
  /** Folder placeholders and cloudseg's own outputs. */
  skipped: number;
  /** Band files of a scene whose descriptor is beside them (flush's 'scene-member'). */
  sceneMembers: number;
  requeued: { bucket: string; name: string; generation: string }[];
  batches: number;
}

const METADATA_CONCURRENCY = 16;

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const { storage, logger } = deps;
  const [files] = await storage.bucket(deps.inputBucket).getFiles({ autoPaginate: true, ...(deps.prefix ? { prefix: deps.prefix } : {}) });
  const summary: ReconcileSummary = { listed: files.length, done: 0, failed: 0, skipped: 0, sceneMembers: 0, requeued: [], batches: 0 };
  const output = storage.bucket(deps.outputBucket);
  const limit = pLimit(METADATA_CONCURRENCY);
  let pending: BatchItem[] = [];

  // Which generation of this input an output of ours says it came from (null: none, or not ours).
  const sourceGenerationOf = async (name: string): Promise<string | null> => {
    try {
      const [meta] = await output.file(name).getMetadata();
      const custom = meta.metadata as Record<string, string> | undefined;
      return custom?.[MASK_METADATA_KEYS.sourceGeneration] ?? null;
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  };

  await Promise.all(
    files.map((file) =>
      limit(async () => {
        const meta = file.metadata;
        const custom = meta.metadata as Record<string, string> | undefined;
        if ((file.name.endsWith('/') && Number(meta.size) === 0) || isCloudsegMask(custom)) {
          summary.skipped++;
          return;
        }
        if (isSceneMemberName(file.name)) {
          summary.sceneMembers++;
          return;
        }
        const generation = String(meta.generation);
        const names = maskNames({ bucket: deps.inputBucket, name: file.name }, deps.outputPrefix);
        if ((await sourceGenerationOf(names.png)) === generation) {
          summary.done++;
          return;
        }
        if ((await sourceGenerationOf(names.failure)) === generation) {
          summary.failed++;
          return;
        }
        // Its notification was lost, not its upload: latency counts from the finalize, as for flush.
        const finalizedAt = finalizedAtOf(meta);
        pending.push({
          bucket: deps.inputBucket,
          name: file.name,
          generation,
          size: Number(meta.size ?? 0),
          contentType: meta.contentType ?? 'application/octet-stream',
          ...(finalizedAt ? { finalizedAt } : {}),
        });
      }),
    ),
  );

  // The same check flush makes: TIFFs a STAC item beside them names, an MTL.txt beside its MTL.json.
  const members = await sceneMemberCheck({ storage, downloader: objectDownloader(createDownloadStorage(storage.projectId)), logger })(pending);
  summary.sceneMembers += members.size;
  pending = pending.filter((item) => !members.has(objectKey(item)));
  // Listing order, so repeated runs plan the same batches.
  pending.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  summary.requeued = pending.map(({ bucket, name, generation }) => ({ bucket, name, generation }));
  const batches = planBatches(pending, deps.limits);
  summary.batches = batches.length;
  if (deps.dryRun) return summary;
  for (const items of batches) {
    const batch: BatchMessage = { schema: BATCH_SCHEMA_ID, batchId: `reconcile-${randomUUID()}`, createdAt: new Date().toISOString(), items };
    await deps.publishBatch(batch);
    logger.info({ batchId: batch.batchId, items: items.length }, 'reconcile: unprocessed uploads queued');
  }
  return summary;
}
