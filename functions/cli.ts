#!/usr/bin/env node
// The `cloudseg` command line: a thin shell over shared/ and infra/local; one module per command.
import { Command, CommanderError } from 'commander';
import { isCloudsegError } from '../shared/errors.js';
import { silenceKnownClientWarnings } from '../shared/known-warnings.js';
import { registerSegment } from './cli/segment.js';
import { registerStack } from './cli/stack.js';
import { registerDemo } from './cli/demo.js';
import { registerLocal } from './cli/local.js';
import { registerResults } from './cli/results.js';
import { registerModel } from './cli/model.js';
import { registerEval } from './cli/eval.js';
import { registerRegistry } from './cli/registry.js';
import { registerDlq } from './cli/dlq.js';
import { registerReconcile } from './cli/reconcile.js';

silenceKnownClientWarnings();

const program = new Command()
  .name('cloudseg')
  .description('Cloud segmentation of satellite images: locally, or as a pipeline on Google Cloud.')
  .showHelpAfterError()
  // Usage errors come back as CommanderErrors (commander has printed them) instead of exiting.
  .exitOverride();

registerSegment(program);
registerStack(program);
registerDemo(program);
registerLocal(program);
registerResults(program);
registerModel(program);
registerEval(program);
registerRegistry(program);
registerDlq(program);
registerReconcile(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version end here with code 0; a usage error (already explained) is exit 2.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    // A user's mistake (a bad flag value, a missing file, a wrong model) is one line, not a stack.
    process.stderr.write(`cloudseg: ${describeCliError(err)}\n`);
    process.exitCode = isCloudsegError(err) && !err.retryable ? 2 : 1;
  }
}

function describeCliError(err: unknown): string {
  if (isCloudsegError(err)) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
