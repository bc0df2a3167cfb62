// Replays dead-lettered work batches: after the fault that sent them there is fixed, each batch
// on the dead-letter subscription is published to the work topic again and acked only once that
// publish succeeded. A message that is not a valid batch can never succeed: it is left on the
// subscription for a person to inspect, and counted.
import { parseBatchMessage } from '../contracts/pubsub-message.js';
import type { BatchMessage } from '../contracts/batch.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logging.js';
import { isEmptyPullDeadline, type FlushSubscriber } from '../flush/run-flush.js';

export interface ReplayDeps {
  subscriber: FlushSubscriber;
  /** Full path of the dead-letter pull subscription. */
  subscription: string;
  publishBatch: (message: BatchMessage) => Promise<string>;
  logger: Logger;
  /** Stop after this many messages. @default 1000 */
  maxMessages?: number;
  /** Consecutive empty pulls that mean "drained". @default 2 */
  emptyPullsToStop?: number;
}

export interface ReplaySummary {
  pulled: number;
  replayed: number;
  /** Not a valid batch: left on the subscription. */
  invalid: { messageId: string | null; error: string }[];
  /** Valid, but publishing failed: left on the subscription for the next replay. */
  publishFailures: number;
}

const PULL_TIMEOUT_MS = 2000;

type PulledResponse = Awaited<ReturnType<FlushSubscriber['pull']>>[0];

export async function replayDeadLetters(deps: ReplayDeps): Promise<ReplaySummary> {
  const { subscriber, subscription, logger } = deps;
  const maxMessages = deps.maxMessages ?? 1000;
  const summary: ReplaySummary = { pulled: 0, replayed: 0, invalid: [], publishFailures: 0 };
  let empty = 0;
  // Messages handed back in this run come round again: they are left alone, not counted twice.
  const handedBack = new Set<string>();
  while (summary.pulled < maxMessages && empty < (deps.emptyPullsToStop ?? 2)) {
    let received: PulledResponse['receivedMessages'];
    try {
      [{ receivedMessages: received }] = await subscriber.pull({ subscription, maxMessages: Math.min(100, maxMessages - summary.pulled) }, { timeout: PULL_TIMEOUT_MS });
    } catch (err) {
      if (isEmptyPullDeadline(err)) received = [];
      else throw err;
    }
    const messages = (received ?? []).filter((m) => m.ackId);
    if (messages.length === 0) {
      empty++;
      continue;
    }
    empty = 0;
    const ack: string[] = [];
    const leave: string[] = [];
    const fresh = messages.filter((m) => !handedBack.has(m.message?.messageId ?? m.ackId!));
    leave.push(...messages.filter((m) => !fresh.includes(m)).map((m) => m.ackId!));
    summary.pulled += fresh.length;
    for (const m of fresh) {
      handedBack.add(m.message?.messageId ?? m.ackId!);
      let batch: BatchMessage;
      try {
        batch = parseBatchMessage(m.message?.data ?? '');
      } catch (err) {
        summary.invalid.push({ messageId: m.message?.messageId ?? null, error: describeError(err).message });
        leave.push(m.ackId!);
        continue;
      }
      try {
        await deps.publishBatch(batch);
        summary.replayed++;
        ack.push(m.ackId!);
        logger.info({ batchId: batch.batchId, items: batch.items.length }, 'dead-lettered batch replayed');
      } catch (err) {
        summary.publishFailures++;
        leave.push(m.ackId!);
        logger.error({ err, batchId: batch.batchId }, 'replay publish failed; the batch stays dead-lettered');
      }
    }
    if (ack.length > 0) await subscriber.acknowledge({ subscription, ackIds: ack });
    // Handed back at once (deadline 0) rather than after their lease.
    if (leave.length > 0) await subscriber.modifyAckDeadline({ subscription, ackIds: leave, ackDeadlineSeconds: 0 });
    if (fresh.length === 0) break; // only what was handed back comes round: drained
  }
  return summary;
}
