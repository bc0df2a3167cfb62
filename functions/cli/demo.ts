// `cloudseg demo`
import type { Command } from 'commander';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';
import { exitUnlessDoneWithin, STOP_BUDGET_MS, untilStopSignal } from './until-signal.js';

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole pipeline locally on the bundled sample scenes and print what came back')
    .option('--out <dir>', 'folder for the masks and overlays', 'out/demo')
    .action(async (opts: { out: string }) => {
      const config = loadConfig(process.env);
      // Ctrl-C stops the stack and removes its temporary buckets; during start-up (which cannot be
      // cut short) the process ends after the budget, and the emulator goes with it.
      const stop = new AbortController();
      void untilStopSignal().then(() => {
        stop.abort();
        exitUnlessDoneWithin(STOP_BUDGET_MS);
      });
      const { runDemo } = await import('../../infra/local/demo.js');
      const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel });
      try {
        const rows = await runDemo({ outDir: opts.out, logger, signal: stop.signal });
        process.exitCode = rows.every((r) => r.status === 'succeeded' || r.status === 'duplicate') ? 0 : 1;
      } catch (err) {
        if (!stop.signal.aborted) throw err;
        process.stderr.write('cloudseg: demo stopped\n');
        process.exit(130);
      }
    });
}
