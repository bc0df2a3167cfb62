// `cloudseg results`
import type { Command } from 'commander';
import { untilStopSignal } from './until-signal.js';
import { loadConfig } from '../../shared/config/index.js';

export function registerResults(program: Command): void {
  program
    .command('results')
    .description('subscribe to the results topic and print each result event as a JSON line')
    .requiredOption('--subscription <name>', 'a subscription on the results topic')
    .option('--status <status>', 'print only events with this status')
    .action(async (opts: { subscription: string; status?: string }) => {
      const config = loadConfig(process.env);
      const { createPubSub } = await import('../../shared/cloud/pubsub.js');
      const pubsub = createPubSub(config.projectId);
      const subscription = pubsub.subscription(opts.subscription);
      subscription.on('message', (message) => {
        if (!opts.status || message.attributes.status === opts.status) process.stdout.write(`${message.data.toString()}\n`);
        message.ack();
      });
      subscription.on('error', (err) => {
        process.stderr.write(`results: ${err.message}\n`);
        process.exitCode = 1;
        void subscription.close().then(() => pubsub.close());
      });
      await untilStopSignal();
      await subscription.close();
      await pubsub.close();
    });
}
