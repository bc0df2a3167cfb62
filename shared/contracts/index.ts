// The messages cloudseg exchanges, as zod schemas with their inferred types.
export * from './gcs-notification.js';
export * from './batch.js';
export * from './result-event.js';
export * from './pubsub-message.js';
export * from './supported-formats.js';
export * from './pubsub-cloudevent.js';
export * from './mask-metadata.js';
