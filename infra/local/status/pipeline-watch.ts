// Watches the pipeline the way any subscriber could: its own subscriptions on the uploads, work and
// results topics, each message turned into a StatusFact. It acks everything; it only looks.
import { randomBytes } from 'node:crypto';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import { objectKey } from '../../../shared/contracts/batch.js';
import { parseBatchMessage } from '../../../shared/contracts/pubsub-message.js';
import { ResultEventSchema } from '../../../shared/contracts/result-event.js';
import { classifyMessages } from '../../../shared/flush/plan.js';
import type { Logger } from '../../../shared/logging.js';
import type { StatusFact } from './status-model.js';

export interface PipelineWatchOptions {
  pubsub: PubSub;
  topics: { uploads: string; work: string; results: string };
  /** Uploads to other buckets are not work (as flush decides). */
  inputBuckets: string[];
  onFact: (fact: StatusFact) => void;
  logger: Logger;
}

export interface PipelineWatch {
  stop(): Promise<void>;
}

/** Creates the three subscriptions (unique names) and starts listening; facts flow until stop(). */
export async function watchPipeline(options: PipelineWatchOptions): Promise<PipelineWatch> {
  const { pubsub, topics, onFact, logger } = options;
  const inputBuckets = new Set(options.inputBuckets);
  const suffix = randomBytes(4).toString('hex');
  const readers: Array<[topic: string, read: (message: Message) => StatusFact | null]> = [
    [topics.uploads, (message) => uploadFact(message, inputBuckets)],
    [topics.work, (message) => ({ kind: 'released', keys: parseBatchMessage(message.data).items.map(objectKey) })],
    [topics.results, (message) => ({ kind: 'result', event: ResultEventSchema.parse(JSON.parse(message.data.toString('utf8'))) })],
  ];
  const subscriptions: Subscription[] = [];
  const stop = async () => {
    await Promise.allSettled(subscriptions.splice(0).map((s) => s.close()));
  };
  try {
    for (const [topic, read] of readers) {
      const [subscription] = await pubsub.topic(topic).createSubscription(`cloudseg-status-${topic}-${suffix}`);
      subscriptions.push(subscription);
      subscription.on('message', (message: Message) => {
        message.ack();
        let fact: StatusFact | null;
        try {
          fact = read(message);
        } catch (err) {
          // The pipeline itself refuses such a message; the page just does not count it.
          logger.debug({ err, topic, messageId: message.id }, 'status page: message not understood');
          return;
        }
        if (fact) onFact(fact);
      });
      subscription.on('error', (err: unknown) => logger.warn({ err, topic }, 'status page: subscription error'));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop };
}

/** An upload the flush would take as work, by the flush's own rules; null for anything it skips. */
function uploadFact(message: Message, inputBuckets: ReadonlySet<string>): StatusFact | null {
  const { accepted } = classifyMessages([{ ackId: message.ackId, messageId: message.id, data: message.data, attributes: message.attributes }], inputBuckets);
  const [key] = accepted.keys();
  return key === undefined ? null : { kind: 'upload', key };
}
