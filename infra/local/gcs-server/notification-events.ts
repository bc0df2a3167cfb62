// What GCS publishes for an object change under one notification config: the attributes
// (eventType, bucketId, objectId, objectGeneration, ...) and, for JSON_API_V1, the object resource.
import type { NotificationConfig } from './bucket-store.js';
import type { ObjectResource } from './object-resource.js';

export const OBJECT_EVENT_TYPES = ['OBJECT_FINALIZE', 'OBJECT_METADATA_UPDATE', 'OBJECT_DELETE', 'OBJECT_ARCHIVE'] as const;
export type ObjectEventType = (typeof OBJECT_EVENT_TYPES)[number];

export interface ObjectEvent {
  eventType: ObjectEventType;
  object: ObjectResource;
  /** On a finalize that replaced a live object: the generation it replaced. */
  overwroteGeneration?: string;
  /** On the delete of a replaced object: the generation that replaced it. */
  overwrittenByGeneration?: string;
  eventTime: string;
}

export interface OutgoingMessage {
  data: Buffer;
  attributes: Record<string, string>;
}

/** The message for this config, or null when its event types or name prefix filter the event out. */
export function messageFor(config: NotificationConfig, event: ObjectEvent): OutgoingMessage | null {
  if (config.event_types && !config.event_types.includes(event.eventType)) return null;
  if (config.object_name_prefix && !event.object.name.startsWith(config.object_name_prefix)) return null;
  const attributes: Record<string, string> = {
    ...(config.custom_attributes ?? {}),
    notificationConfig: `projects/_/buckets/${event.object.bucket}/notificationConfigs/${config.id}`,
    eventType: event.eventType,
    payloadFormat: config.payload_format,
    bucketId: event.object.bucket,
    objectId: event.object.name,
    objectGeneration: event.object.generation,
    eventTime: event.eventTime,
  };
  if (event.overwroteGeneration !== undefined) attributes.overwroteGeneration = event.overwroteGeneration;
  if (event.overwrittenByGeneration !== undefined) attributes.overwrittenByGeneration = event.overwrittenByGeneration;
  const data = config.payload_format === 'JSON_API_V1' ? Buffer.from(JSON.stringify(event.object)) : Buffer.alloc(0);
  return { data, attributes };
}
