import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PubSub } from '@google-cloud/pubsub';
import { createSubscriberClient } from '../../shared/cloud/pubsub.js';
import { EMULATOR_MISSING, useEmulator } from '../support/emulator.js';

const emulator = useEmulator();
test('emulator round trip', { skip: EMULATOR_MISSING }, async () => {
  emulator();
  const pubsub = new PubSub({ projectId: 'cloudseg-test' });
  const [topic] = await pubsub.createTopic('topic-1');
  const [sub] = await topic.createSubscription('sub-1');
  await topic.publishMessage({ data: Buffer.from('hi') });
  const [resp] = await createSubscriberClient(pubsub).pull({ subscription: sub.name, maxMessages: 10, returnImmediately: true });
  assert.equal(resp.receivedMessages?.length, 1);
  await pubsub.close();
});
