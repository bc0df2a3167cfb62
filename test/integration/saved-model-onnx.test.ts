// A registered SavedModel runs on ONNX Runtime too: the frozen signature converted to ONNX gives
// TensorFlow's golden outputs within 1e-5 and the GraphModel path's (wasm) within 1e-5; an op the
// converter does not know is MODEL_EXPORT_UNSUPPORTED naming it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertFrozenGraph } from '../../shared/model/formats/saved-model/convert-frozen-graph.js';
import { CloudsegError } from '../../shared/errors.js';
import { loadModelFromDir, type LoadedModel } from '../../shared/model/load.js';
import { readNpy } from '../../shared/lifecycle/npz.js';
import { loadSavedModelGraph } from '../../shared/model/formats/saved-model/load-saved-model.js';
import { decodeSavedModel, encodeSavedModel } from '../../shared/model/formats/saved-model/tf-protos.js';
import { createLogger } from '../../shared/logging.js';
import { fixturesMissing } from '../support/fixtures.js';
import { GOLDEN, keras3Fixture, savedModelDirFor } from '../support/saved-models.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`!!! SKIPPING SavedModel on ONNX Runtime tests: ${MISSING}`);

const TOLERANCE = 1e-5;

const dirs: string[] = [];
const models = new Map<string, { onnx: LoadedModel; wasm: LoadedModel }>();

before(async () => {
  if (MISSING) return;
  for (const { path } of GOLDEN) {
    const dir = await savedModelDirFor(path);
    dirs.push(dir);
    models.set(path, {
      onnx: await loadModelFromDir(dir, { backend: 'onnxruntime', batchTiles: 1 }),
      wasm: await loadModelFromDir(dir, { backend: 'tfjs-wasm', batchTiles: 1 }),
    });
  }
});

after(async () => {
  for (const { onnx, wasm } of models.values()) {
    onnx.dispose();
    wasm.dispose();
  }
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

for (const golden of GOLDEN) {
  test(`the SavedModel of ${golden.path} on onnxruntime matches TensorFlow and the GraphModel path`, { skip: MISSING }, async () => {
    const { onnx, wasm } = models.get(golden.path)!;
    assert.equal(onnx.backend, 'onnxruntime');
    assert.equal(wasm.backend, 'tfjs-wasm');
    const x = readNpy(await readFile(keras3Fixture(golden.input)));
    const y = readNpy(await readFile(keras3Fixture(golden.output)));
    const [n, h, w] = x.shape as [number, number, number, number];
    const p = await onnx.predict(x.data as Float32Array, n, h, w);
    const q = await wasm.predict(x.data as Float32Array, n, h, w);
    const vsTensorflow = maxAbsDiff(p, y.data);
    const vsGraphModel = maxAbsDiff(p, q);
    console.log(`${golden.path} SavedModel on onnxruntime: max |p - p_tensorflow| ${vsTensorflow.toExponential(2)}, max |p - p_wasm| ${vsGraphModel.toExponential(2)}`);
    assert.ok(vsTensorflow <= TOLERANCE, `vs TensorFlow ${vsTensorflow}`);
    assert.ok(vsGraphModel <= TOLERANCE, `vs GraphModel ${vsGraphModel}`);
  });
}

test('under auto a SavedModel runs on ONNX Runtime, the first choice', { skip: MISSING }, async () => {
  const dir = await savedModelDirFor('models/landsatbiomeRGBISWIR7');
  try {
    const model = await loadModelFromDir(dir, { backend: 'auto', batchTiles: 1 });
    assert.equal(model.backend, 'onnxruntime');
    model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an op the converter does not know is MODEL_EXPORT_UNSUPPORTED naming the op', { skip: MISSING }, async () => {
  const graph = await loadSavedModelGraph(keras3Fixture('landsatbiomeRGBISWIR7'));
  // The same graph with its sigmoid written as an op ONNX conversion lacks (Erf).
  const nodes = graph.nodes.map((n) => (n.op === 'Sigmoid' ? { ...n, op: 'Erf' } : n));
  assert.ok(nodes.some((n) => n.op === 'Erf'));
  assert.throws(
    () => convertFrozenGraph({ ...graph, nodes }, { output: { activation: 'sigmoid', cloudChannel: 0 } }),
    (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_EXPORT_UNSUPPORTED' && /op Erf \(node .*Sigmoid\)/.test(err.message) && err.details?.op === 'Erf',
  );
});

test('under auto, a SavedModel with an op the converter lacks runs on TF.js; an explicit onnxruntime fails naming it', { skip: MISSING }, async () => {
  const dir = await savedModelDirFor('models/landsatbiomeRGBISWIR7');
  try {
    // The export's final Sigmoid rewritten as Erf, which TF.js runs and the converter does not know.
    const pb = join(dir, 'saved_model', 'saved_model.pb');
    const message = decodeSavedModel(await readFile(pb));
    let rewritten = 0;
    for (const fn of message.meta_graphs[0]!.graph_def!.library!.function) {
      for (const node of fn.node_def) {
        if (node.op === 'Sigmoid') {
          node.op = 'Erf';
          rewritten++;
        }
      }
    }
    assert.equal(rewritten, 1);
    await writeFile(pb, encodeSavedModel(message));
    const warnings: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (line: string) => void warnings.push(line) } });
    const model = await loadModelFromDir(dir, { backend: 'auto', batchTiles: 1, logger });
    try {
      assert.equal(model.backend, 'tfjs-wasm', 'onnxruntime-web runs the same export: skipped for TF.js wasm');
      assert.ok(warnings.some((l) => /onnxruntime cannot run this model; trying tfjs-node/.test(l) && /op Erf/.test(l)), warnings.join('\n'));
      // erf of the logits, not their sigmoid: the rewritten graph is what runs.
      const x = readNpy(await readFile(keras3Fixture('rgbiswir7-golden-input-random64.npy')));
      const sigmoid = readNpy(await readFile(keras3Fixture('rgbiswir7-golden-output-random64.npy')));
      const p = await model.predict(x.data as Float32Array, 1, 64, 64);
      assert.ok(maxAbsDiff(p, sigmoid.data) > 0.01, 'the output is not the original sigmoid');
    } finally {
      model.dispose();
    }
    await assert.rejects(loadModelFromDir(dir, { backend: 'onnxruntime', batchTiles: 1 }), (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_EXPORT_UNSUPPORTED' && /op Erf/.test(err.message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
