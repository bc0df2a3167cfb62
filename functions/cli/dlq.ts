// `cloudseg dlq replay`
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';
import { num } from './arguments.js';

export function registerDlq(program: Command): void {
  const dlq = program.command('dlq').description('the dead-letter topic of the worker');
  dlq
    .command('replay')
    .description('publish every dead-lettered work batch to the work topic again (after fixing what failed); prints a JSON summary')
    .option('--subscription <name>', 'the pull subscription on the dead-letter topic (default: <dead-letter topic>-pull, as in infra/gcp)')
    .option('--max <n>', 'replay at most this many batches', num, 1000)
    .action(async (opts: { subscription?: string; max: number }) => {
      const config = loadConfig(process.env);
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      const { createPubSub, createSubscriberClient, subscriptionPath } = await import('../../shared/cloud/pubsub.js');
      const { createBatchPublisher } = await import('../../shared/flush/publisher.js');
      const { replayDeadLetters } = await import('../../shared/operations/dlq-replay.js');
      const pubsub = createPubSub(config.projectId);
      const subscriber = createSubscriberClient(pubsub);
      try {
        const summary = await replayDeadLetters({
          subscriber,
          subscription: subscriptionPath(config.projectId, opts.subscription ?? `${config.topics.deadLetter}-pull`),
          publishBatch: createBatchPublisher(pubsub, config.topics.work),
          logger,
          maxMessages: opts.max,
        });
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        process.exitCode = summary.invalid.length > 0 || summary.publishFailures > 0 ? 1 : 0;
      } finally {
        await subscriber.close();
        await pubsub.close();
      }
    });
}
