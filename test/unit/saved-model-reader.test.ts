// The SavedModel reader on real TensorFlow output: every checkpoint tensor is found and its crc32c
// verified, a flipped byte anywhere is caught, and each way a SavedModel or a card can be wrong is
// a typed error that says what is wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudsegError } from '../../shared/errors.js';
import { readVariablesBundle } from '../../shared/model/formats/saved-model/bundle.js';
import { loadSavedModelGraph, readSavedModelSignature } from '../../shared/model/formats/saved-model/load-saved-model.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING SavedModel reader tests: ${MISSING}`);

const RGBI6 = () => fixture('savedmodels', 'keras3-ipluv', 'landsatbiomeRGBI6');
const module = (name: string) => fixture('savedmodels', 'saved_model', name);

async function withCopy(source: string, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-sm-reader-'));
  try {
    await cp(source, dir, { recursive: true });
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function flipByte(path: string, at: (length: number) => number): Promise<void> {
  const bytes = await readFile(path);
  bytes[at(bytes.length)]! ^= 0x40;
  await writeFile(path, bytes);
}

function isError(code: string, pattern: RegExp) {
  return (err: unknown) => err instanceof CloudsegError && err.code === code && pattern.test(err.message);
}

test('every tensor of a Keras 3 checkpoint reads with its crc32c verified', { skip: MISSING }, async () => {
  const bundle = await readVariablesBundle(join(RGBI6(), 'variables'));
  const keys = bundle.keys().filter((k) => k.endsWith('/.ATTRIBUTES/VARIABLE_VALUE'));
  assert.ok(keys.length >= 78, `${keys.length} variables`);
  let values = 0;
  for (const key of keys) {
    const t = bundle.tensor(key);
    assert.equal(t.dtype, 'DT_FLOAT');
    assert.equal(t.bytes.length, 4 * t.shape.reduce((a, b) => a * b, 1), key);
    values += t.bytes.length / 4;
  }
  assert.ok(values > 10_000, `${values} weights`);
});

test('a flipped byte in the data shard fails that tensor with MODEL_CHECKSUM_MISMATCH', { skip: MISSING }, async () => {
  await withCopy(RGBI6(), async (dir) => {
    await flipByte(join(dir, 'variables', 'variables.data-00000-of-00001'), (n) => n - 3);
    const bundle = await readVariablesBundle(join(dir, 'variables'));
    const failing = bundle.keys().filter((k) => {
      try {
        bundle.tensor(k);
        return false;
      } catch (err) {
        assert.ok(isError('MODEL_CHECKSUM_MISMATCH', /crc32c/)(err));
        return true;
      }
    });
    assert.equal(failing.length, 1, 'exactly the tensor holding that byte');
    await assert.rejects(loadSavedModelGraph(dir), isError('MODEL_CHECKSUM_MISMATCH', /crc32c/));
  });
});

test('a flipped byte in the index fails its block crc, a bad footer is no table', { skip: MISSING }, async () => {
  await withCopy(RGBI6(), async (dir) => {
    await flipByte(join(dir, 'variables', 'variables.index'), () => 20);
    await assert.rejects(readVariablesBundle(join(dir, 'variables')), isError('MODEL_CHECKSUM_MISMATCH', /block at \d+ fails its crc32c/));
  });
  await withCopy(RGBI6(), async (dir) => {
    await flipByte(join(dir, 'variables', 'variables.index'), (n) => n - 1);
    await assert.rejects(readVariablesBundle(join(dir, 'variables')), isError('MODEL_LOAD_FAILED', /bad magic number/));
  });
});

test('freezing leaves no calls, variables, Identity or NoOp, and every variable becomes a constant', { skip: MISSING }, async () => {
  const graph = await loadSavedModelGraph(RGBI6());
  const ops = new Set(graph.nodes.map((n) => n.op));
  for (const gone of ['StatefulPartitionedCall', 'PartitionedCall', 'ReadVariableOp', 'VarHandleOp', 'Identity', 'NoOp']) assert.ok(!ops.has(gone), gone);
  const frozenVariables = graph.nodes.filter((n) => n.name.startsWith('frozen/'));
  assert.equal(frozenVariables.length, 78, 'the 78 variables __call__ reads');
  assert.deepEqual(graph.inputs.map((i) => [i.key, i.shape]), [['input_3', [-1, -1, -1, 4]]]);
  assert.deepEqual(graph.outputs.map((o) => [o.key, o.shape]), [['output_0', [-1, -1, -1, 1]]]);
  // Nodes come in an order where inputs are defined first.
  const seen = new Set<string>();
  for (const n of graph.nodes) {
    for (const i of n.inputs) assert.ok(seen.has(i.node), `${n.name} uses ${i.node} before it is defined`);
    seen.add(n.name);
  }
});

test('a signature the SavedModel lacks is MODEL_CARD_INVALID listing the ones it has', { skip: MISSING }, async () => {
  await assert.rejects(readSavedModelSignature(module('module_with_multiple_signatures'), 'nope'), isError('MODEL_CARD_INVALID', /no signature "nope" \(it has: .*timestwo/));
});

test('a signature with several outputs needs the card to name one', { skip: MISSING }, async () => {
  await assert.rejects(loadSavedModelGraph(module('model_single_input_multi_output')), isError('MODEL_CARD_INVALID', /2 outputs \(output_0, output_1\)/));
  await assert.rejects(loadSavedModelGraph(module('model_single_input_multi_output'), { output: 'output_9' }), isError('MODEL_CARD_INVALID', /no output output_9/));
  const graph = await loadSavedModelGraph(module('model_single_input_multi_output'), { output: 'output_1' });
  assert.deepEqual(graph.outputs.map((o) => o.key), ['output_1']);
  // f(x, y) = [2x, y]: output_1 ignores x, output_0 needs x alone.
  await assert.rejects(loadSavedModelGraph(module('model_multi_output'), { input: 'x', output: 'output_1' }), isError('MODEL_CARD_INVALID', /output_1 does not depend on input x/));
  const x2 = await loadSavedModelGraph(module('model_multi_output'), { input: 'x', output: 'output_0' });
  assert.deepEqual(x2.inputs.map((i) => i.key), ['x']);
});

test('a directory without saved_model.pb is MODEL_NOT_FOUND', { skip: MISSING }, async () => {
  await assert.rejects(readSavedModelSignature(join(RGBI6(), 'variables')), isError('MODEL_NOT_FOUND', /saved_model\.pb/));
});
