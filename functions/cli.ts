#!/usr/bin/env node
// The `cloudseg` command line: a thin shell over shared/ and infra/local; one module per command.
import { Command } from 'commander';
import { registerSegment } from './cli/segment.js';
import { registerStack } from './cli/stack.js';
import { registerDemo } from './cli/demo.js';
import { registerLocal } from './cli/local.js';
import { registerResults } from './cli/results.js';
import { registerModel } from './cli/model.js';
import { registerEval } from './cli/eval.js';
import { registerRegistry } from './cli/registry.js';

const program = new Command()
  .name('cloudseg')
  .description('Cloud segmentation of satellite images: locally, or as a pipeline on Google Cloud.')
  .showHelpAfterError();

registerSegment(program);
registerStack(program);
registerDemo(program);
registerLocal(program);
registerResults(program);
registerModel(program);
registerEval(program);
registerRegistry(program);

await program.parseAsync(process.argv);
