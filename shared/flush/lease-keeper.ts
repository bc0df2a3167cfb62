// Keeps the messages a flush holds leased until it acks or nacks them: Pub/Sub's ack deadline can
// be as short as 10 s, and a flush (pulls, then publishes) may run longer than that.
import type { Logger } from '../logging.js';

export interface LeaseSubscriber {
  modifyAckDeadline(request: { subscription: string; ackIds: string[]; ackDeadlineSeconds: number }): Promise<unknown>;
}

export interface LeaseKeeperOptions {
  subscriber: LeaseSubscriber;
  subscription: string;
  logger: Logger;
  /** Below Pub/Sub's minimum ack deadline (10 s), so no subscription setting can outrun it. */
  renewEveryMs?: number;
  /** How far each renewal pushes the deadline; also how soon the messages return after a crash. */
  extendToSeconds?: number;
}

export interface LeaseKeeper {
  hold(ackIds: readonly string[]): void;
  /** Stops renewing and waits for a renewal in flight (a late renewal would undo a nack). */
  stop(): Promise<void>;
}

export const DEFAULT_RENEW_EVERY_MS = 5000;
export const DEFAULT_EXTEND_TO_SECONDS = 30;
// Ack-id requests are capped at 512 KB; ack ids run to ~200 bytes.
export const ACK_IDS_PER_REQUEST = 1000;

export function keepLeases(options: LeaseKeeperOptions): LeaseKeeper {
  const { subscriber, subscription, logger } = options;
  const ackDeadlineSeconds = options.extendToSeconds ?? DEFAULT_EXTEND_TO_SECONDS;
  const held: string[] = [];
  let inFlight: Promise<void> = Promise.resolve();
  let stopped = false;

  const renew = async () => {
    for (const ackIds of chunks(held, ACK_IDS_PER_REQUEST)) {
      if (stopped) return;
      try {
        await subscriber.modifyAckDeadline({ subscription, ackIds, ackDeadlineSeconds });
      } catch (err) {
        // Not fatal: at worst those messages are delivered again, and downstream dedupes.
        logger.warn({ err, count: ackIds.length }, 'flush: could not renew the lease of pulled messages');
      }
    }
  };
  const timer = setInterval(() => {
    inFlight = inFlight.then(renew);
  }, options.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS);
  timer.unref();

  return {
    hold(ackIds) {
      held.push(...ackIds);
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
