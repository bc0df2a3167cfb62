// `cloudseg local`
import { InvalidArgumentError, type Command } from 'commander';
import { exitUnlessDoneWithin, STOP_BUDGET_MS, untilStopSignal } from './until-signal.js';
import { loadConfig } from '../../shared/config/index.js';
import { createLogger } from '../../shared/logging.js';
import { num } from './arguments.js';

interface LocalOptions {
  root?: string;
  flushEvery: number;
  pubsubPort?: number;
  gcsPort?: number;
}

export function registerLocal(program: Command): void {
  program
    .command('local')
    .description('keep the whole pipeline running on this machine: drop files into a folder, watch results')
    .option('--root <dir>', 'where the local buckets live (default out/local)')
    .option('--flush-every <seconds>', 'how often the scheduler calls flush', num, 10)
    .option('--pubsub-port <port>', "the Pub/Sub emulator's loopback port (default: a free one)", port)
    .option('--gcs-port <port>', "the local GCS server's loopback port (default: a free one)", port)
    .action(async (opts: LocalOptions) => {
      const config = loadConfig(process.env);
      // Listening from the start: Ctrl-C while the stack starts (it cannot be cut short) ends the
      // process after the budget; the emulator goes with it.
      const stopSignal = untilStopSignal();
      void stopSignal.then(() => exitUnlessDoneWithin(STOP_BUDGET_MS));
      const { runLocal } = await import('../../infra/local/run-local.js');
      const logger = createLogger({ level: config.logLevel });
      const stack = await runLocal({
        flushEverySeconds: opts.flushEvery,
        logger,
        ...(opts.root ? { rootDir: opts.root } : {}),
        ports: {
          ...(opts.pubsubPort ? { pubsub: { port: opts.pubsubPort, setting: '--pubsub-port' } } : {}),
          ...(opts.gcsPort ? { gcs: { port: opts.gcsPort, setting: '--gcs-port' } } : {}),
        },
      });
      await stopSignal;
      process.stdout.write('stopping...\n');
      await stack.stop();
      // What is left in this process belongs to the stopped stack (a flush cut mid-way retrying
      // against the gone emulator): nothing to wait for.
      process.exit(0);
    });
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`${v} is not a port (1-65535)`);
  return n;
}
