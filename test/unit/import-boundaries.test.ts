// The import boundaries of eslint.config.js, shown to bite: a module with a forbidden import (each
// row of the "may import" table in docs/architecture.md that matters most) fails lint, the same
// import where the table allows it passes. The probes are linted as text at paths inside the
// project, so the real configuration applies and nothing is written to the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { projectRoot } from '../../shared/config/index.js';

const root = projectRoot();
const BOUNDARY_RULES = new Set(['no-restricted-imports', 'no-restricted-syntax']);

let eslint: ESLint | undefined;
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  eslint ??= new ESLint({ cwd: root, overrideConfigFile: join(root, 'eslint.config.js') });
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  return result!.messages.filter((m) => m.ruleId !== null && BOUNDARY_RULES.has(m.ruleId)).map((m) => `${m.ruleId}: ${m.message}`);
}

// [module path, source, what it shows]
const FORBIDDEN: [string, string, string][] = [
  ['shared/engines/probe.ts', "import type { ModelCard } from '../model/types.js';\nexport type X = ModelCard;\n", 'engines never import the model (not even types)'],
  ['shared/engines/onnxruntime/probe.ts', "export { readOnnxModel } from '../../model/formats/onnx/index.js';\n", 'engines never import a model format'],
  ['shared/engines/probe.ts', "export const load = () => import('../model/load.js');\n", 'a dynamic import is held to the same table'],
  ['shared/config/probe.ts', "export { ONNX_LAYOUTS } from '../engines/index.js';\n", 'config never imports an engine'],
  ['shared/model/formats/onnx/probe.ts', "export { loadModelFromDir } from '../../load.js';\n", 'a format uses the card types only, not the loader'],
  ['shared/model/formats/probe.ts', "export { readModelCard } from '../card.js';\n", 'nor the card reader'],
  ['shared/model/probe.ts', "export { compareMasks } from '../lifecycle/metrics.js';\n", 'the runtime model never imports the lifecycle'],
  ['shared/worker/probe.ts', "export { evaluateModel } from '../lifecycle/evaluate.js';\n", 'neither does the worker'],
  ['shared/imaging/probe.ts', "export { segmentScene } from '../model/segment.js';\n", 'imaging sits below the model'],
  ['shared/registry/probe.ts', "export { loadConfig } from '../functions/worker.js';\n", 'shared never imports the entry points'],
  ['shared/scenes/probe.ts', "export * from '../../test/support/fixtures.js';\n", 'nor the tests'],
  ['shared/model/probe.ts', "import h5wasm from 'h5wasm/node';\nexport default h5wasm;\n", 'h5wasm is for the Keras import only'],
  ['shared/worker/probe.ts', "import semver from 'semver';\nexport default semver;\n", 'no development package in the runtime'],
  ['functions/worker.ts', "export { importKerasModel } from '../shared/lifecycle/keras-import/index.js';\n", 'the worker function imports no lifecycle tool'],
  ['functions/flush.ts', "export const demo = () => import('../infra/local/demo.js');\n", 'flush imports no local tooling'],
];

// Imports the table allows, in the same places: the rule is not simply "no relative imports".
const ALLOWED: [string, string][] = [
  ['shared/engines/probe.ts', "export { ONNX_LAYOUTS } from '../config/onnx-layouts.js';\nexport { CloudsegError } from '../errors.js';\n"],
  ['shared/model/formats/onnx/probe.ts', "import type { ModelCard } from '../../types.js';\nimport type { TensorIo } from '../../../engines/tensor-io.js';\nexport type X = [ModelCard, TensorIo];\n"],
  ['shared/model/probe.ts', "export { loadEngineNetwork } from '../engines/index.js';\nexport { modelFormat } from './formats/index.js';\n"],
  ['shared/lifecycle/probe.ts', "import h5wasm from 'h5wasm/node';\nexport { loadModelFromDir } from '../model/load.js';\nexport default h5wasm;\n"],
  ['functions/worker.ts', "export { createWorkerRuntime } from '../shared/worker/runtime.js';\n"],
  ['functions/cli/probe.ts', "export const m = () => import('../../shared/lifecycle/evaluate.js');\n"],
];

test('a forbidden import fails lint, naming the table', async () => {
  for (const [file, code, why] of FORBIDDEN) {
    const errors = await boundaryErrors(file, code);
    assert.ok(errors.length > 0, `${file}: ${why}, but lint passed:\n${code}`);
    assert.match(errors.join('\n'), /docs\/architecture\.md/, `${file}: the message points at the table`);
  }
});

test('an import the table allows passes', async () => {
  for (const [file, code] of ALLOWED) {
    assert.deepEqual(await boundaryErrors(file, code), [], `${file}:\n${code}`);
  }
});
