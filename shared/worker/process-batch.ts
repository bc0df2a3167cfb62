// A whole work batch: items run with bounded concurrency and all settle. Permanent failures are
// `failed` events already; a transient one means "redeliver" (done items will be skipped); a
// permanent error no step expected still gets a `failed` event, so it cannot loop the batch.
import pLimit from 'p-limit';
import type { BatchMessage } from '../contracts/batch.js';
import type { ResultEvent } from '../contracts/result-event.js';
import { CloudsegError, isRetryable } from '../errors.js';
import { processItem, publishUnexpectedFailure, type WorkerDeps } from './process-item.js';

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
  for (const [i, s] of settled.entries()) {
    if (s.status === 'fulfilled') {
      events.push(s.value);
    } else if (isRetryable(s.reason)) {
      errors.push(s.reason);
    } else {
      deps.logger.error({ err: s.reason, batchId: batch.batchId }, 'item failed unexpectedly; reporting it failed');
      try {
        events.push(await publishUnexpectedFailure(deps, batch.batchId, batch.items[i]!, s.reason));
      } catch (err) {
        errors.push(err); // not even a failed event went out: the batch must come back
      }
    }
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
