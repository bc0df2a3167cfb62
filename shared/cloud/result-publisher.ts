// Publishes result events with the attributes users filter on (status, model).
import type { PubSub } from '@google-cloud/pubsub';
import { resultAttributes, ResultEventSchema, type ResultEvent } from '../contracts/result-event.js';

export function createResultPublisher(pubsub: PubSub, topicName: string): (event: ResultEvent) => Promise<string> {
  // One message per event, sent at once: the worker awaits each publish before it moves on.
  const topic = pubsub.topic(topicName, { batching: { maxMessages: 1 } });
  return async (event) => {
    const checked = ResultEventSchema.parse(event);
    return topic.publishMessage({ data: Buffer.from(JSON.stringify(checked)), attributes: resultAttributes(checked) });
  };
}
