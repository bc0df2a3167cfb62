// The Pub/Sub message inside a `google.cloud.pubsub.topic.v1.messagePublished` CloudEvent, as
// Eventarc sends it and as the functions-framework makes it of an emulator push.
import { z } from 'zod';
import { CloudsegError } from '../errors.js';
import type { RawPubSubMessage } from './pubsub-message.js';

export const PUBSUB_CLOUDEVENT_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished' as const;

const MessagePublishedDataSchema = z.object({
  message: z.object({
    data: z.string().optional(),
    attributes: z.record(z.string(), z.string()).optional(),
    messageId: z.string().optional(),
    publishTime: z.string().optional(),
  }),
  subscription: z.string().optional(),
});

export interface PublishedMessage extends RawPubSubMessage {
  messageId: string | null;
}

/** Throws INVALID_MESSAGE when the event data is not a messagePublished payload. */
export function messageFromCloudEvent(data: unknown): PublishedMessage {
  const value = typeof data === 'string' || Buffer.isBuffer(data) ? safeJson(data.toString()) : data;
  const parsed = MessagePublishedDataSchema.safeParse(value);
  if (!parsed.success) {
    throw new CloudsegError('INVALID_MESSAGE', `not a Pub/Sub messagePublished event: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
  }
  const { message } = parsed.data;
  return {
    data: message.data === undefined ? null : Buffer.from(message.data, 'base64'),
    attributes: message.attributes ?? {},
    messageId: message.messageId ?? null,
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
