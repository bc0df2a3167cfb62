// Publishes object events to the Pub/Sub topics of the bucket's notification configs. Callers
// await it before answering, so a test that uploads then pulls sees the message; a failed publish
// is logged and does not fail the write (the object is already stored, as with GCS).
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { Logger } from '../../../shared/logging.js';
import { topicNameOf, type BucketStore } from './bucket-store.js';
import { messageFor, type ObjectEvent } from './notification-events.js';
import { objectResource } from './object-resource.js';
import type { Committed, StoredObject } from './object-store.js';

export interface NotifierOptions {
  buckets: BucketStore;
  pubsub: PubSub | undefined;
  baseUrl: string;
  logger: Logger | undefined;
}

export class Notifier {
  readonly #options: NotifierOptions;
  readonly #topics = new Map<string, Topic>();
  readonly #pending = new Set<Promise<void>>();
  #warnedNoPubSub = false;

  constructor(options: NotifierOptions) {
    this.#options = options;
  }

  /** A finished upload; when it replaced a live object, GCS also reports that one as deleted. */
  async finalized(committed: Committed): Promise<void> {
    const { object, replaced } = committed;
    const eventTime = new Date().toISOString();
    if (replaced) {
      await this.#emit(replaced.bucket, {
        eventType: 'OBJECT_DELETE',
        object: this.#resource(replaced),
        overwrittenByGeneration: object.generation,
        eventTime,
      });
    }
    await this.#emit(object.bucket, {
      eventType: 'OBJECT_FINALIZE',
      object: this.#resource(object),
      ...(replaced ? { overwroteGeneration: replaced.generation } : {}),
      eventTime,
    });
  }

  async metadataUpdated(object: StoredObject): Promise<void> {
    await this.#emit(object.bucket, { eventType: 'OBJECT_METADATA_UPDATE', object: this.#resource(object), eventTime: new Date().toISOString() });
  }

  async deleted(object: StoredObject): Promise<void> {
    await this.#emit(object.bucket, { eventType: 'OBJECT_DELETE', object: this.#resource(object), eventTime: new Date().toISOString() });
  }

  /** Resolves when every publish started so far has settled. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #resource(object: StoredObject) {
    return objectResource(object, this.#options.baseUrl);
  }

  async #emit(bucket: string, event: ObjectEvent): Promise<void> {
    const task = this.#publishAll(bucket, event);
    this.#pending.add(task);
    try {
      await task;
    } finally {
      this.#pending.delete(task);
    }
  }

  async #publishAll(bucket: string, event: ObjectEvent): Promise<void> {
    const { logger, pubsub } = this.#options;
    let configs;
    try {
      configs = (await this.#options.buckets.get(bucket)).notificationConfigs;
    } catch (err) {
      logger?.warn({ err, bucket }, 'gcs-server: cannot read notification configs');
      return;
    }
    if (configs.length === 0) return;
    if (!pubsub) {
      if (!this.#warnedNoPubSub) logger?.warn({ bucket }, 'gcs-server: bucket has notification configs but the server has no Pub/Sub client; events are dropped');
      this.#warnedNoPubSub = true;
      return;
    }
    await Promise.all(
      configs.map(async (config) => {
        const message = messageFor(config, event);
        if (!message) return;
        const topicName = topicNameOf(config);
        try {
          const messageId = await this.#topic(pubsub, topicName).publishMessage(message);
          logger?.debug({ topic: topicName, messageId, ...message.attributes }, 'gcs-server: notification published');
        } catch (err) {
          logger?.error({ err, topic: topicName, eventType: event.eventType, object: `${bucket}/${event.object.name}` }, 'gcs-server: notification publish failed');
        }
      }),
    );
  }

  #topic(pubsub: PubSub, name: string): Topic {
    let topic = this.#topics.get(name);
    if (!topic) {
      // No batching delay: the upload's response waits for this publish.
      topic = pubsub.topic(name, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
      this.#topics.set(name, topic);
    }
    return topic;
  }
}
