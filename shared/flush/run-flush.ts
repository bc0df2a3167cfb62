// The flush orchestrator: pull the uploads buffer in a loop, publishing each batch as soon as it is
// full, then the rest; then ack exactly what was published (nack the rest so the next flush
// retries it). I/O only through deps.
import { randomUUID } from 'node:crypto';
import pLimit from 'p-limit';
import type { Config } from '../config/index.js';
import { BATCH_SCHEMA_ID, BatchMessageSchema, objectKey, type BatchItem, type BatchMessage } from '../contracts/batch.js';
import { describeError, type ErrorCode } from '../errors.js';
import type { Logger } from '../logging.js';
import { classifyMessages, closedBatches, expectedSeconds, planBatches, SKIP_REASONS, type Classification, type PulledMessage, type SkipReason } from './plan.js';
import { estimatedPixels, type PixelCount } from './pixel-probe.js';
import type { SceneMemberCheck } from './scene-members.js';
import { ACK_IDS_PER_REQUEST, chunks, keepLeases, type LeaseKeeperOptions } from './lease-keeper.js';
import { stopReason, type StopReason } from './stop-rule.js';

/** The slice of `v1.SubscriberClient` flush uses (the real client satisfies it). */
export interface FlushSubscriber {
  pull(
    request: { subscription: string; maxMessages: number },
    options?: { timeout?: number },
  ): Promise<[PullResponse, ...unknown[]]>;
  acknowledge(request: { subscription: string; ackIds: string[] }): Promise<unknown>;
  modifyAckDeadline(request: { subscription: string; ackIds: string[]; ackDeadlineSeconds: number }): Promise<unknown>;
}

interface PullResponse {
  receivedMessages?:
    | {
        ackId?: string | null;
        message?: {
          messageId?: string | null;
          data?: Uint8Array | string | null;
          attributes?: Record<string, string> | null;
        } | null;
      }[]
    | null;
}

export interface FlushDeps {
  subscriber: FlushSubscriber;
  /** Publishes one batch to the work topic; resolves with the message id. */
  publishBatch: (message: BatchMessage) => Promise<string>;
  /** Full path: projects/<project>/subscriptions/<name>. */
  subscription: string;
  /** The buckets whose uploads are work; others notifying the topic are skipped. */
  inputBuckets?: readonly string[];
  /**
   * timeBudgetMs bounds only the pull loop; publishing (DEFAULT_PUBLISH_TIMEOUT_MS per batch) and
   * acking come after it. Keep timeBudgetMs + publish time well below the function timeout and
   * Scheduler's attempt deadline. Acks must land before the messages' ack deadline: the lease
   * keeper renews it every 5 s while the flush runs, so a short subscription deadline is safe.
   */
  settings: Config['flush'];
  logger: Logger;
  now?: () => number;
  newBatchId?: () => string;
  /** Deadline of one pull call; see DEFAULT_PULL_TIMEOUT_MS. */
  pullTimeoutMs?: number;
  leases?: Pick<LeaseKeeperOptions, 'renewEveryMs' | 'extendToSeconds'>;
  /**
   * Pixels of each item, in order, for planning by expected seconds (`probePixels` over the input
   * bucket in production); `deadline` is when no new header read may start. Without it every
   * item's pixels are estimated from its size.
   */
  countPixels?: (items: readonly BatchItem[], deadline: number) => Promise<PixelCount[]>;
  /**
   * A check, new for each flush, of which uploads are band files of a scene described beside them
   * (skipped as 'scene-member'). Without it only product band file names are recognised.
   */
  sceneMembers?: () => SceneMemberCheck;
}

export interface FlushSummary {
  pulled: number;
  /** Unique object generations accepted as work. */
  accepted: number;
  batches: number;
  published: number;
  failedBatches: number;
  /** Accepted uploads whose pixels came from an estimate (header not read or not an image), not the header. */
  pixelsEstimated: number;
  /** Accepted uploads handed back to the buffer because the flush's batch cap was reached. */
  deferred: number;
  duplicates: number;
  skipped: Record<SkipReason, number>;
  rejected: number;
  acked: number;
  nacked: number;
  /** Messages whose ack RPC failed: they come back and are batched again (the worker skips done work). */
  ackFailures: number;
  stoppedBecause: StopReason;
  pullError: { code: ErrorCode; message: string; grpcCode?: number } | null;
  durationMs: number;
}

/**
 * Why a short deadline and not `returnImmediately`: returnImmediately is deprecated and in
 * production often answers empty while messages wait, and without either the emulator holds an
 * empty pull open ~60 s. With a deadline the server answers empty or DEADLINE_EXCEEDED when
 * nothing is there; both count as an empty pull. A message the server hands out just as the
 * deadline cancels the call is not lost: its lease runs out and it is delivered again.
 */
export const DEFAULT_PULL_TIMEOUT_MS = 2000;
const MIN_PULL_TIMEOUT_MS = 200;
const GRPC_DEADLINE_EXCEEDED = 4;
const PUBLISH_CONCURRENCY = 8;
const REJECTS_LOGGED_ONE_BY_ONE = 20;

export async function runFlush(deps: FlushDeps): Promise<FlushSummary> {
  const { subscriber, subscription, settings, logger } = deps;
  const now = deps.now ?? Date.now;
  const startedAt = now();
  const elapsed = () => now() - startedAt;

  // Every ack and nack must land before the messages' ack deadline; the keeper renews it while
  // this flush runs, so the subscription's ackDeadlineSeconds needs no margin for a long flush.
  const leases = keepLeases({ subscriber, subscription, logger, ...deps.leases });
  const limits = { maxItems: settings.maxBatchItems, maxBytes: settings.maxBatchBytes, maxSeconds: settings.maxBatchSeconds };
  const inputBuckets = deps.inputBuckets ? new Set(deps.inputBuckets) : undefined;
  const publisher = batchPublisher(deps, now);
  // Items already in a batch, by object key: a batch is published as soon as it is full, while
  // the loop still pulls, so workers start on a large backlog at once instead of after the loop.
  const planned = new Set<string>();
  // Uploads looked at for scene membership, and those found to be members: each checked once.
  const memberCheck = deps.sceneMembers?.();
  const checked = new Set<string>();
  const members = new Set<string>();
  const classify = async (messages: readonly PulledMessage[]): Promise<Classification> => {
    const isMember = (item: BatchItem) => members.has(objectKey(item));
    const first = classifyMessages(messages, inputBuckets, isMember);
    const fresh = [...first.accepted.entries()].filter(([key]) => !checked.has(key) && !planned.has(key));
    if (!memberCheck || fresh.length === 0) return first;
    fresh.forEach(([key]) => checked.add(key));
    const found = await memberCheck(fresh.map(([, a]) => a.item));
    if (found.size === 0) return first;
    found.forEach((key) => members.add(key));
    return classifyMessages(messages, inputBuckets, isMember);
  };
  const unplanned = (c: Classification) => [...c.accepted.entries()].filter(([key]) => !planned.has(key)).map(([, a]) => a.item);
  // Pixels by object key, read once per item from its header. Header reads start only within the
  // pull budget, so probing bounds the flush's time as pulling does; later items are estimated.
  const pixels = new Map<string, PixelCount>();
  const probeDeadline = startedAt + settings.timeBudgetMs;
  const countNew = async (items: BatchItem[]) => {
    const fresh = items.filter((item) => !pixels.has(objectKey(item)));
    if (fresh.length === 0) return;
    const counts = deps.countPixels
      ? await deps.countPixels(fresh, probeDeadline)
      : fresh.map((item): PixelCount => ({ pixels: estimatedPixels(item.size), source: 'estimate' }));
    fresh.forEach((item, i) => pixels.set(objectKey(item), counts[i]!));
  };
  const plannable = (items: BatchItem[]) =>
    items.map((item) => ({
      item,
      size: item.size,
      expectedSeconds: expectedSeconds(pixels.get(objectKey(item))?.pixels ?? estimatedPixels(item.size), settings.workerSecondsPerMpx),
    }));
  // Backpressure: at most maxBatches per flush; what does not fit goes back to the buffer.
  const release = (batches: { item: BatchItem }[][]) => {
    for (const planItems of batches) {
      if (publisher.batches.length >= settings.maxBatches) return;
      const items = planItems.map((p) => p.item);
      for (const item of items) planned.add(objectKey(item));
      publisher.publish(items);
    }
  };
  let pull: PullOutcome;
  let classification: Classification;
  let outcomes: PromiseSettledResult<unknown>[];
  try {
    pull = await pullUntilStop(deps, elapsed, () => publisher.batches.length, async (received, all) => {
      leases.hold(received.map((m) => m.ackId));
      const items = unplanned(await classify(all));
      await countNew(items);
      release(closedBatches(plannable(items), limits).closed);
    });
    classification = await classify(pull.messages);
    logRejected(logger, classification.rejected);
    const rest = unplanned(classification);
    await countNew(rest);
    release(planBatches(plannable(rest), limits));
    outcomes = await publisher.settled();
  } finally {
    await leases.stop();
  }
  const batches = publisher.batches;

  // Ack what is settled for good (published, skipped, rejected); nack the failed batches' messages.
  const ackIdsOf = (items: BatchItem[]) => items.flatMap((item) => classification.accepted.get(objectKey(item))?.ackIds ?? []);
  const toAck: string[] = [
    ...SKIP_REASONS.flatMap((reason) => classification.skipped[reason]),
    ...classification.rejected.map((r) => r.ackId),
  ];
  // Accepted work no batch could take (the flush's batch cap): back to the buffer for the next one.
  const deferredKeys = [...classification.accepted.keys()].filter((key) => !planned.has(key));
  const toNack: string[] = deferredKeys.flatMap((key) => classification.accepted.get(key)!.ackIds);
  let published = 0;
  outcomes.forEach((outcome, i) => {
    const ackIds = ackIdsOf(batches[i]!);
    if (outcome.status === 'fulfilled') {
      published += 1;
      toAck.push(...ackIds);
    } else {
      toNack.push(...ackIds);
    }
  });
  const acked = await forChunks(toAck, (ackIds) => subscriber.acknowledge({ subscription, ackIds }), logger, 'ack');
  // A deadline of 0 hands the messages back now instead of when their lease runs out.
  const nacked = await forChunks(toNack, (ackIds) => subscriber.modifyAckDeadline({ subscription, ackIds, ackDeadlineSeconds: 0 }), logger, 'nack');

  const skipped = Object.fromEntries(SKIP_REASONS.map((r) => [r, classification.skipped[r].length])) as Record<SkipReason, number>;
  return {
    pulled: pull.messages.length,
    accepted: classification.accepted.size,
    deferred: deferredKeys.length,
    pixelsEstimated: [...classification.accepted.keys()].filter((key) => pixels.get(key)?.source !== 'header').length,
    batches: batches.length,
    published,
    failedBatches: batches.length - published,
    duplicates: classification.duplicates,
    skipped,
    rejected: classification.rejected.length,
    acked,
    nacked,
    ackFailures: toAck.length - acked,
    stoppedBecause: pull.stoppedBecause,
    pullError: pull.pullError,
    durationMs: elapsed(),
  };
}

interface PullOutcome {
  messages: PulledMessage[];
  stoppedBecause: StopReason;
  pullError: FlushSummary['pullError'];
}

/**
 * Pulls until empty, full or out of time. Short pulls are normal; only empty ones count.
 * `onReceived` sees each non-empty pull and everything pulled so far.
 */
async function pullUntilStop(
  deps: FlushDeps,
  elapsed: () => number,
  released: () => number,
  onReceived: (received: PulledMessage[], all: PulledMessage[]) => Promise<void>,
): Promise<PullOutcome> {
  const { subscriber, subscription, settings, logger } = deps;
  const pullTimeoutMs = deps.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
  const messages: PulledMessage[] = [];
  let consecutiveEmptyPulls = 0;
  for (;;) {
    const reason = stopReason({ pulled: messages.length, batches: released(), consecutiveEmptyPulls, elapsedMs: elapsed() }, settings);
    if (reason) return { messages, stoppedBecause: reason, pullError: null };
    const maxMessages = Math.min(settings.pullSize, settings.maxMessages - messages.length);
    const timeout = Math.max(MIN_PULL_TIMEOUT_MS, Math.min(pullTimeoutMs, settings.timeBudgetMs - elapsed()));
    let received: PulledMessage[];
    try {
      received = await pullOnce(subscriber, subscription, maxMessages, timeout);
    } catch (err) {
      logger.error({ err, subscription }, 'flush: pull failed; publishing what was pulled so far');
      const grpcCode = (err as { code?: unknown }).code;
      const pullError = { ...describeError(err), ...(typeof grpcCode === 'number' ? { grpcCode } : {}) };
      return { messages, stoppedBecause: 'pull-failed', pullError };
    }
    if (received.length === 0) {
      consecutiveEmptyPulls += 1;
      continue;
    }
    consecutiveEmptyPulls = 0;
    messages.push(...received);
    await onReceived(received, messages);
  }
}

/**
 * Publishes batches as they are handed over, bounded; settled() waits for all of them (in the
 * order of `batches`), and only then is anything acked.
 */
function batchPublisher(deps: FlushDeps, now: () => number): { publish(items: BatchItem[]): void; settled(): Promise<PromiseSettledResult<unknown>[]>; batches: BatchItem[][] } {
  const { logger } = deps;
  const newBatchId = deps.newBatchId ?? randomUUID;
  const limit = pLimit(PUBLISH_CONCURRENCY);
  const batches: BatchItem[][] = [];
  // Settled as soon as they are made: a publish that fails while the loop still pulls must not
  // count as an unhandled rejection before settled() is called.
  const pending: Promise<PromiseSettledResult<unknown>>[] = [];
  return {
    batches,
    publish(items) {
      batches.push(items);
      pending.push(
        publishOne(items).then(
          (value): PromiseSettledResult<unknown> => ({ status: 'fulfilled', value }),
          (reason: unknown): PromiseSettledResult<unknown> => ({ status: 'rejected', reason }),
        ),
      );
    },
    settled: () => Promise.all(pending),
  };

  function publishOne(items: BatchItem[]): Promise<void> {
    return limit(async () => {
      const message = BatchMessageSchema.parse({
        schema: BATCH_SCHEMA_ID,
        batchId: newBatchId(),
        createdAt: new Date(now()).toISOString(),
        items,
      });
      try {
        const messageId = await deps.publishBatch(message);
        logger.info({ batchId: message.batchId, itemCount: items.length, messageId }, 'flush: batch published');
      } catch (err) {
        logger.error({ err, batchId: message.batchId, itemCount: items.length }, 'flush: batch publish failed; its messages are nacked');
        throw err;
      }
    });
  }
}

async function pullOnce(subscriber: FlushSubscriber, subscription: string, maxMessages: number, timeout: number): Promise<PulledMessage[]> {
  let response: PullResponse;
  try {
    [response] = await subscriber.pull({ subscription, maxMessages }, { timeout });
  } catch (err) {
    if (isEmptyPullDeadline(err)) return [];
    throw err;
  }
  const out: PulledMessage[] = [];
  for (const received of response.receivedMessages ?? []) {
    if (!received.ackId) continue; // cannot be acked, so cannot be handled
    out.push({
      ackId: received.ackId,
      messageId: received.message?.messageId ?? undefined,
      data: received.message?.data,
      attributes: received.message?.attributes,
    });
  }
  return out;
}

/**
 * A pull that ran into its deadline with nothing to hand out is an empty queue. One that ran into it
 * while the client kept retrying a failure (gax: "... exceeded N milliseconds retrying error
 * Error: 14 UNAVAILABLE ...") is an outage, and must not look like an empty queue.
 */
export function isEmptyPullDeadline(err: unknown): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown };
  return code === GRPC_DEADLINE_EXCEEDED && !/retrying error/i.test(String(message ?? ''));
}

/** Runs `call` over ack ids in request-sized chunks; a failed chunk is logged, the rest go on. */
async function forChunks(ackIds: string[], call: (chunk: string[]) => Promise<unknown>, logger: Logger, what: string): Promise<number> {
  let done = 0;
  for (const chunk of chunks(ackIds, ACK_IDS_PER_REQUEST)) {
    try {
      await call(chunk);
      done += chunk.length;
    } catch (err) {
      logger.error({ err, count: chunk.length }, `flush: ${what} request failed; those messages will be delivered again`);
    }
  }
  return done;
}

// Malformed messages can never succeed, so they are acked; each is logged by id and problem,
// never with its payload (it may be large or hold things that do not belong in logs).
function logRejected(logger: Logger, rejected: ReturnType<typeof classifyMessages>['rejected']): void {
  for (const r of rejected.slice(0, REJECTS_LOGGED_ONE_BY_ONE)) {
    logger.warn({ messageId: r.messageId, error: r.error }, 'flush: rejected a malformed upload notification (acked)');
  }
  if (rejected.length > REJECTS_LOGGED_ONE_BY_ONE) {
    logger.warn({ count: rejected.length - REJECTS_LOGGED_ONE_BY_ONE }, 'flush: more malformed notifications rejected');
  }
}
