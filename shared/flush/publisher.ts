// Publishes `cloudseg.batch.v1` messages to the work topic as JSON, with the attributes the
// worker and subscription filters read (schema, batchId, itemCount).
import type { PubSub } from '@google-cloud/pubsub';
import type { BatchMessage } from '../contracts/batch.js';

export interface BatchPublisherOptions {
  /**
   * Total time one publish may take, retries included. The client's default (10 minutes) would
   * outlive the lease flush holds on the source messages; a bounded failure nacks them instead.
   */
  timeoutMs?: number;
}

export const DEFAULT_PUBLISH_TIMEOUT_MS = 30_000;

/** Returns a function that publishes one batch and resolves with its Pub/Sub message id. */
export function createBatchPublisher(
  pubsub: PubSub,
  topicName: string,
  options: BatchPublisherOptions = {},
): (message: BatchMessage) => Promise<string> {
  const topic = pubsub.topic(topicName, { gaxOpts: { timeout: options.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS } });
  return (message) =>
    topic.publishMessage({
      data: Buffer.from(JSON.stringify(message)),
      attributes: { schema: message.schema, batchId: message.batchId, itemCount: String(message.items.length) },
    });
}
