// tfjs-node's own SavedModel fixtures (tf.Module objects: float and int32 maths, uint8 and int64
// variables, several signatures, several inputs and outputs), read and frozen in TypeScript and run
// as TF.js GraphModels on wasm, give the values tfjs-node's saved_model_test.ts expects from
// libtensorflow.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { graphModelArtifacts } from '../../shared/model/formats/saved-model/graph-model.js';
import { readSavedModelSignature } from '../../shared/model/formats/saved-model/load-saved-model.js';
import { refName } from '../../shared/model/formats/saved-model/frozen-graph.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING tf.Module SavedModel tests: ${MISSING}`);

before(async () => {
  if (MISSING) return;
  await tf.setBackend('wasm');
  await tf.ready();
});

interface Case {
  model: string;
  signature?: string;
  inputs: Record<string, tf.Tensor>;
  outputs: Record<string, { values: number[]; dtype: tf.DataType; shape: number[] }>;
}

// Expected values and dtypes as in tfjs-node/src/saved_model_test.ts.
const CASES: (() => Case)[] = [
  () => ({ model: 'times_three_float', inputs: { x: tf.tensor1d([1, 2, 3]) }, outputs: { output_0: { values: [3, 6, 9], dtype: 'float32', shape: [3] } } }),
  () => ({ model: 'times_two_int', inputs: { x: tf.tensor1d([1, 2, 3], 'int32') }, outputs: { output_0: { values: [2, 4, 6], dtype: 'int32', shape: [3] } } }),
  () => ({ model: 'uint8_multiply', inputs: { x: tf.scalar(3, 'int32') }, outputs: { output_0: { values: [18], dtype: 'int32', shape: [] } } }),
  () => ({ model: 'int64_multiply', inputs: { x: tf.tensor1d([3, 4], 'int32') }, outputs: { output_0: { values: [18, 24], dtype: 'int32', shape: [2] } } }),
  () => ({
    model: 'module_with_multiple_signatures',
    inputs: { x: tf.tensor1d([1, 2, 3]) },
    outputs: { output_0: { values: [3, 6, 9], dtype: 'float32', shape: [3] } },
  }),
  () => ({
    model: 'module_with_multiple_signatures',
    signature: 'timestwo',
    inputs: { x: tf.tensor1d([1, 2, 3]) },
    outputs: { output_0: { values: [2, 4, 6], dtype: 'float32', shape: [3] } },
  }),
  () => ({
    model: 'model_single_input_multi_output',
    inputs: { x: tf.tensor1d([1, 2, 3], 'int32') },
    outputs: { output_0: { values: [2, 4, 6], dtype: 'int32', shape: [3] }, output_1: { values: [1, 2, 3], dtype: 'int32', shape: [3] } },
  }),
  () => ({
    model: 'model_multi_output',
    inputs: { x: tf.tensor1d([1, 2, 3], 'int32'), y: tf.tensor1d([1, 2, 3], 'int32') },
    outputs: { output_0: { values: [2, 4, 6], dtype: 'int32', shape: [3] }, output_1: { values: [1, 2, 3], dtype: 'int32', shape: [3] } },
  }),
];

const TITLES = ['times_three_float', 'times_two_int', 'uint8_multiply', 'int64_multiply', 'module_with_multiple_signatures', 'module_with_multiple_signatures: timestwo', 'model_single_input_multi_output', 'model_multi_output'];

for (const [i, make] of CASES.entries()) {
  test(`tf.Module SavedModel ${TITLES[i]} gives tfjs-node's expected values`, { skip: MISSING }, async () => {
    const c = make();
    const graph = await readSavedModelSignature(fixture('savedmodels', 'saved_model', c.model), c.signature);
    assert.deepEqual(graph.inputs.map((x) => x.key).sort(), Object.keys(c.inputs).sort());
    const ops = new Set(graph.nodes.map((n) => n.op));
    for (const gone of ['StatefulPartitionedCall', 'PartitionedCall', 'ReadVariableOp', 'Identity', 'NoOp', 'VarHandleOp']) assert.ok(!ops.has(gone), `${gone} was frozen away`);
    // tfjs-node's tests feed vectors to placeholders declared scalar, which libtensorflow allows.
    const model = await tf.loadGraphModel(tf.io.fromMemory(graphModelArtifacts(graph, { checkInputShapes: false })));
    const feeds = Object.fromEntries(graph.inputs.map((x) => [x.tensor.node, c.inputs[x.key]!]));
    const keys = Object.keys(c.outputs);
    const fetched = model.execute(feeds, keys.map((k) => refName(graph.outputs.find((o) => o.key === k)!.tensor)));
    const results = Array.isArray(fetched) ? fetched : [fetched];
    for (const [j, key] of keys.entries()) {
      const expected = c.outputs[key]!;
      assert.equal(results[j]!.dtype, expected.dtype, `${key} dtype`);
      assert.deepEqual(results[j]!.shape, expected.shape, `${key} shape`);
      assert.deepEqual(Array.from(await results[j]!.data()), expected.values, `${key} values`);
    }
    tf.dispose([...results, ...Object.values(c.inputs)]);
    model.dispose();
  });
}
