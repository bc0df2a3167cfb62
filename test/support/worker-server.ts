// Sends work batches to a worker served by the real functions-framework, in the two shapes it
// meets: Eventarc's binary-mode CloudEvent and the Pub/Sub emulator's push body.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BATCH_SCHEMA_ID, type BatchItem, type BatchMessage } from '../../shared/contracts/batch.js';

export async function listenOnLoopback(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function batchOf(items: BatchItem[], batchId = `b-${randomUUID()}`): BatchMessage {
  return { schema: BATCH_SCHEMA_ID, batchId, createdAt: new Date().toISOString(), items };
}

export type Delivery = 'eventarc' | 'emulator-push';

export async function deliverBatch(baseUrl: string, projectId: string, topic: string, batch: BatchMessage, how: Delivery): Promise<Response> {
  const messageId = String(Math.floor(Math.random() * 1e12));
  const publishTime = new Date().toISOString();
  const message = {
    data: Buffer.from(JSON.stringify(batch)).toString('base64'),
    attributes: { schema: BATCH_SCHEMA_ID, batchId: batch.batchId },
    messageId,
    publishTime,
  };
  const subscription = `projects/${projectId}/subscriptions/${topic}-test`;
  if (how === 'eventarc') {
    return fetch(`${baseUrl}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
        'ce-source': `//pubsub.googleapis.com/projects/${projectId}/topics/${topic}`,
        'ce-id': messageId,
        'ce-time': publishTime,
      },
      body: JSON.stringify({ message, subscription }),
    });
  }
  return fetch(`${baseUrl}/projects/${projectId}/topics/${topic}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ subscription, message: { ...message, message_id: messageId, publish_time: publishTime } }),
  });
}
