// A whole work batch: items run with bounded concurrency and all settle; permanent failures are
// already `failed` events, so any rejection left means "redeliver" (done items will be skipped).
import pLimit from 'p-limit';
import type { BatchMessage } from '../contracts/batch.js';
import type { ResultEvent } from '../contracts/result-event.js';
import { CloudsegError } from '../errors.js';
import { processItem, type WorkerDeps } from './process-item.js';

export interface BatchOutcome {
  events: ResultEvent[];
}

export async function processBatch(deps: WorkerDeps, batch: BatchMessage): Promise<BatchOutcome> {
  // The engine says how many images keep it busy: with inference off the event loop, one image
  // infers while the next downloads and decodes and the previous encodes and uploads.
  const limit = pLimit(deps.settings.concurrency ?? deps.model.parallelism);
  const settled = await Promise.allSettled(batch.items.map((item) => limit(() => processItem(deps, batch.batchId, item))));
  const events: ResultEvent[] = [];
  const errors: unknown[] = [];
  for (const s of settled) {
    if (s.status === 'fulfilled') events.push(s.value);
    else errors.push(s.reason);
  }
  if (errors.length > 0) {
    for (const err of errors) deps.logger.error({ err, batchId: batch.batchId }, 'item will be retried');
    throw new CloudsegError(
      'BATCH_INCOMPLETE',
      `${errors.length} of ${batch.items.length} items of batch ${batch.batchId} did not finish; the batch will be redelivered`,
      { retryable: true, cause: errors[0] },
    );
  }
  return { events };
}
