// Thin construction of the Pub/Sub clients. Both read PUBSUB_EMULATOR_HOST through the PubSub
// options; the low-level SubscriberClient does not on its own, so it is built from them.
import { PubSub, v1 } from '@google-cloud/pubsub';


export function createPubSub(projectId: string): PubSub {
  return new PubSub({ projectId });
}

/** The synchronous-pull client, pointed wherever the PubSub client points (emulator or Google). */
export function createSubscriberClient(pubsub: PubSub): v1.SubscriberClient {
  return new v1.SubscriberClient(pubsub.options as ConstructorParameters<typeof v1.SubscriberClient>[0]);
}

export function subscriptionPath(projectId: string, subscription: string): string {
  return `projects/${projectId}/subscriptions/${subscription}`;
}

export function topicPath(projectId: string, topic: string): string {
  return `projects/${projectId}/topics/${topic}`;
}
