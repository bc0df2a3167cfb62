// `cloudseg demo`
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline locally on the bundled sample scenes and print what came back')
    .option('--out <dir>', 'folder for the masks and overlays', 'out/demo')
    .action(async (opts: { out: string }) => {
      const config = loadConfig(process.env);
      const { runDemo } = await import('../../infra/local/demo.js');
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      const rows = await runDemo({ outDir: opts.out, logger });
      process.exitCode = rows.every((r) => r.status === 'succeeded' || r.status === 'duplicate') ? 0 : 1;
    });
}
