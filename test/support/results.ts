// Collects result events from a pull subscription until enough have arrived.
import type { PubSub } from '@google-cloud/pubsub';
import { createSubscriberClient } from '../../shared/cloud/pubsub.js';
import { ResultEventSchema, type ResultEvent } from '../../shared/contracts/result-event.js';

export async function pullResults(pubsub: PubSub, subscriptionPath: string, count: number, timeoutMs = 120_000): Promise<ResultEvent[]> {
  const subscriber = createSubscriberClient(pubsub);
  const events: ResultEvent[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    while (events.length < count && Date.now() < deadline) {
      const [response] = await subscriber.pull({ subscription: subscriptionPath, maxMessages: 100, returnImmediately: true });
      const received = response.receivedMessages ?? [];
      for (const r of received) {
        const event = ResultEventSchema.parse(JSON.parse(Buffer.from(r.message!.data as Uint8Array).toString()));
        // Attributes must agree with the body: users filter on them.
        if (r.message!.attributes?.status !== event.status) throw new Error('status attribute disagrees with the event');
        events.push(event);
      }
      if (received.length) await subscriber.acknowledge({ subscription: subscriptionPath, ackIds: received.map((r) => r.ackId!) });
      else await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await subscriber.close();
  }
  if (events.length < count) throw new Error(`only ${events.length} of ${count} result events arrived in ${timeoutMs} ms`);
  return events;
}
