// `cloudseg dlq replay` as an operator runs it, against the emulator: valid dead-lettered batches
// go back to the work topic and are acked; a message that is no batch stays for inspection.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { projectRoot } from '../../shared/config/project-root.js';
import { parseBatchMessage } from '../../shared/contracts/pubsub-message.js';
import { createSubscriberClient, subscriptionPath } from '../../shared/cloud/pubsub.js';
import { EMULATOR_MISSING, useEmulator } from '../support/emulator.js';
import { batchOf } from '../support/worker-server.js';

const run = promisify(execFile);
const PROJECT = 'cloudseg-dlq-test';

describe('dlq replay', { skip: EMULATOR_MISSING }, () => {
  useEmulator();

  test('valid batches are re-published and acked; an invalid message stays dead-lettered', async () => {
    const pubsub = new PubSub({ projectId: PROJECT });
    const subscriber = createSubscriberClient(pubsub);
    try {
      const [dead] = await pubsub.createTopic('dq-dead');
      await dead.createSubscription('dq-dead-pull');
      const [work] = await pubsub.createTopic('dq-work');
      await work.createSubscription('dq-work-check');
      const item = (name: string) => ({ bucket: 'in', name, generation: '1', size: 10, contentType: 'image/tiff' });
      const batches = [batchOf([item('a.tif'), item('b.tif')]), batchOf([item('c.tif')])];
      for (const b of batches) await dead.publishMessage({ data: Buffer.from(JSON.stringify(b)) });
      await dead.publishMessage({ data: Buffer.from('{"not":"a batch"}') });

      const { stdout } = await run(process.execPath, ['--import', 'tsx', join(projectRoot(), 'functions', 'cli.ts'), 'dlq', 'replay', '--subscription', 'dq-dead-pull'], {
        cwd: projectRoot(),
        env: { ...process.env, GOOGLE_CLOUD_PROJECT: PROJECT, CLOUDSEG_WORK_TOPIC: 'dq-work', LOG_LEVEL: 'silent' },
      }).catch((err: { stdout: string; code: number }) => {
        assert.equal(err.code, 1, 'exit 1: something is left to look at');
        return { stdout: err.stdout };
      });
      const summary = JSON.parse(stdout) as { pulled: number; replayed: number; invalid: unknown[]; publishFailures: number };
      assert.equal(summary.replayed, 2);
      assert.equal(summary.invalid.length, 1);
      assert.equal(summary.publishFailures, 0);

      const [replayed] = await subscriber.pull({ subscription: subscriptionPath(PROJECT, 'dq-work-check'), maxMessages: 10 }, { timeout: 5000 });
      const ids = (replayed.receivedMessages ?? []).map((m) => parseBatchMessage(m.message!.data as Uint8Array).batchId).sort();
      assert.deepEqual(ids, batches.map((b) => b.batchId).sort(), 'the same batches (ids kept for tracing)');
      const [left] = await subscriber.pull({ subscription: subscriptionPath(PROJECT, 'dq-dead-pull'), maxMessages: 10 }, { timeout: 5000 });
      assert.deepEqual((left.receivedMessages ?? []).map((m) => Buffer.from(m.message!.data as Uint8Array).toString()), ['{"not":"a batch"}']);
    } finally {
      await subscriber.close();
      await pubsub.close();
    }
  });
});
