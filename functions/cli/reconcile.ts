// `cloudseg reconcile`
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';

export function registerReconcile(program: Command): void {
  program
    .command('reconcile')
    .description('queue every upload of the input bucket whose current generation has no mask and no failure record (lost notifications); prints a JSON summary')
    .option('--prefix <p>', 'only objects under this prefix')
    .option('--dry-run', 'list what would be queued, publish nothing')
    .action(async (opts: { prefix?: string; dryRun?: boolean }) => {
      const config = loadConfig(process.env);
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      const { createPubSub } = await import('../../shared/cloud/pubsub.js');
      const { createStorage } = await import('../../shared/cloud/storage.js');
      const { createBatchPublisher } = await import('../../shared/flush/publisher.js');
      const { reconcile } = await import('../../shared/operations/reconcile.js');
      const pubsub = createPubSub(config.projectId);
      try {
        const summary = await reconcile({
          storage: createStorage(config.projectId),
          inputBucket: config.buckets.input,
          outputBucket: config.buckets.output,
          outputPrefix: config.buckets.outputPrefix,
          ...(opts.prefix ? { prefix: opts.prefix } : {}),
          publishBatch: createBatchPublisher(pubsub, config.topics.work),
          limits: { maxItems: config.flush.maxBatchItems, maxBytes: config.flush.maxBatchBytes },
          logger,
          dryRun: opts.dryRun ?? false,
        });
        process.stdout.write(`${JSON.stringify(summary)}\n`);
      } finally {
        await pubsub.close();
      }
    });
}
