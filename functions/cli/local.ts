// `cloudseg local`
import type { Command } from 'commander';
import { untilStopSignal } from './until-signal.js';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';
import { num } from './arguments.js';

export function registerLocal(program: Command): void {
  program
    .command('local')
    .description('keep the whole pipeline running on this machine: drop files into a folder, watch results')
    .option('--root <dir>', 'where the local buckets live (default out/local)')
    .option('--flush-every <seconds>', 'how often the scheduler calls flush', num, 10)
    .action(async (opts: { root?: string; flushEvery: number }) => {
      const config = loadConfig(process.env);
      const { runLocal } = await import('../../infra/local/run-local.js');
      const logger = createLogger({ level: config.logLevel });
      const stack = await runLocal({ flushEverySeconds: opts.flushEvery, logger, ...(opts.root ? { rootDir: opts.root } : {}) });
      await untilStopSignal();
      process.stdout.write('stopping...\n');
      await stack.stop();
    });
}
