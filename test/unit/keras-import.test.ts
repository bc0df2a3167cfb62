// The Keras HDF5 import: byte-identical to the reference conversion on the real IPL-UV models, the
// config mapping at its edges, and clear errors for what it cannot import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { projectRoot } from '../../shared/config/project-root.js';
import { CloudsegError } from '../../shared/errors.js';
import { readModelCard } from '../../shared/model/card.js';
import { importKerasModel } from '../../shared/lifecycle/keras-import/index.js';
import { convertModelConfig } from '../../shared/lifecycle/keras-import/topology.js';
import { packWeights } from '../../shared/lifecycle/keras-import/weights.js';
import { readLifecycleParams, parseLifecycleParams } from '../../shared/lifecycle/lifecycle-params.js';
import { registeredModelDir } from '../support/model.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';

const MISSING = fixturesMissing();
if (MISSING) console.warn(`SKIPPING keras import fixture tests: ${MISSING}`);

const params = await readLifecycleParams(join(projectRoot(), 'params.yaml'));

for (const variant of ['landsatbiomeRGBI6', 'landsatbiomeRGBISWIR7'] as const) {
  test(`import of ${variant}.hdf5 equals the reference TF.js conversion (topology, manifest, weight bytes)`, { skip: MISSING }, async () => {
    const out = await mkdtemp(join(tmpdir(), `cloudseg-keras-${variant}-`));
    try {
      const v = params.variants[variant]!;
      const imported = await importKerasModel(fixture('models', 'ipluv-dl-l8s2-uv', 'hdf5', `${variant}.hdf5`), { outDir: out, identity: v, params });
      const reference = fixture('models', 'ipluv-dl-l8s2-uv', 'tfjs', variant);
      const mine = JSON.parse(await readFile(join(out, 'model.json'), 'utf8'));
      const theirs = JSON.parse(await readFile(join(reference, 'model.json'), 'utf8'));
      assert.deepEqual(mine.modelTopology, theirs.modelTopology);
      assert.deepEqual(mine.weightsManifest, theirs.weightsManifest);
      assert.ok((await readFile(join(out, 'group1-shard1of1.bin'))).equals(await readFile(join(reference, 'group1-shard1of1.bin'))), 'weight shard bytes differ');
      const card = await readModelCard(out);
      assert.deepEqual(card.bands, v.bands);
      assert.equal(card.threshold, params.model.threshold);
      assert.deepEqual(card.tile, { size: params.model.tile, overlap: params.model.overlap });
      assert.deepEqual(Object.keys(card.presets), ['landsat8-l1', 'sentinel2-l1c', 'sentinel2-l2a', 'reflectance']);
      assert.equal(card.output.activation, 'sigmoid');
      assert.equal(imported.inputChannels, v.bands.length);
      assert.equal(imported.parameters, variant === 'landsatbiomeRGBI6' ? 97_049 : 97_153);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
}

for (const key of ['landsatbiomeRGBI6', 'landsatbiomeRGBISWIR7'] as const) {
  test(`the registered ${key} is what the import writes (dvc.yaml import -> register)`, { skip: MISSING }, async () => {
    const out = await mkdtemp(join(tmpdir(), 'cloudseg-keras-registered-'));
    try {
      const variant = params.variants[key]!;
      await importKerasModel(fixture('models', 'ipluv-dl-l8s2-uv', 'hdf5', `${key}.hdf5`), { outDir: out, identity: variant, params });
      const registered = await registeredModelDir(variant.registry);
      for (const file of ['model.json', 'group1-shard1of1.bin', 'model-card.yaml']) {
        assert.ok((await readFile(join(out, file))).equals(await readFile(join(registered, file))), `${file} differs from a fresh import`);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });
}

const inputLayer = (shape: unknown[], key = 'batch_input_shape') => ({ class_name: 'InputLayer', name: 'in', config: { name: 'in', [key]: shape, dtype: 'float32' }, inbound_nodes: [] });
const graph = (layers: unknown[]) => ({ class_name: 'Model', config: { name: 'm', layers, input_layers: [['in', 0, 0]], output_layers: [['out', 0, 0]] } });
const outConv = { class_name: 'Conv2D', name: 'out', config: { name: 'out', filters: 1, kernel_size: [1, 1], activation: 'sigmoid', kernel_initializer: { class_name: 'GlorotUniform' } }, inbound_nodes: [[['in', 0, 0, {}]]] };

test('convertModelConfig opens the input to any size, keeps channels, reads the output activation', () => {
  for (const key of ['batch_input_shape', 'batch_shape']) {
    const converted = convertModelConfig(graph([inputLayer([null, 32, 32, 6], key), outConv]));
    const layers = converted.modelConfig.config.layers as { config: Record<string, unknown> }[];
    assert.deepEqual(layers[0]!.config.batch_input_shape, [null, null, null, 6]);
    assert.equal('batch_shape' in layers[0]!.config, false);
    assert.equal(converted.inputChannels, 6);
    assert.equal(converted.outputActivation, 'sigmoid');
    // Conv2D keeps its initializer (tfjs accepts it); only SeparableConv2D loses the plain-kernel keys.
    assert.ok('kernel_initializer' in layers[1]!.config);
  }
  const sep = { class_name: 'SeparableConv2D', name: 'out', config: { name: 'out', activation: 'linear', kernel_initializer: {}, kernel_regularizer: null, kernel_constraint: null, depthwise_initializer: {} }, inbound_nodes: [] };
  const layers = convertModelConfig(graph([inputLayer([null, 32, 32, 4]), sep])).modelConfig.config.layers as { config: Record<string, unknown> }[];
  assert.deepEqual(Object.keys(layers[1]!.config), ['name', 'activation', 'depthwise_initializer']);
});

test('convertModelConfig refuses what tfjs cannot run, naming the layer and its class', () => {
  const lstm = { class_name: 'LSTM', name: 'memory', config: { name: 'memory' }, inbound_nodes: [] };
  assert.throws(() => convertModelConfig(graph([inputLayer([null, 32, 32, 4]), lstm, outConv])), (err: unknown) => {
    assert.ok(err instanceof CloudsegError);
    assert.equal(err.code, 'MODEL_IMPORT_UNSUPPORTED');
    assert.match(err.message, /layer "memory" is a LSTM/);
    assert.deepEqual(err.details, { layer: 'memory', layerClass: 'LSTM' });
    return true;
  });
  assert.throws(() => convertModelConfig({ class_name: 'Sequential', config: { layers: [] } }), { code: 'MODEL_IMPORT_UNSUPPORTED' });
  assert.throws(() => convertModelConfig(graph([inputLayer([null, 32, 4]), outConv])), { code: 'MODEL_IMPORT_UNSUPPORTED', message: /rank 4/ });
  const swish = { ...outConv, config: { ...outConv.config, activation: 'swish' } };
  assert.throws(() => convertModelConfig(graph([inputLayer([null, 8, 8, 4]), swish])), { code: 'MODEL_IMPORT_UNSUPPORTED', message: /activation "swish"/ });
});

test('packWeights writes float32 little-endian in order and rejects a shape/value mismatch', () => {
  const packed = packWeights([{ name: 'a', weights: [{ name: 'a/kernel', shape: [2], values: Float32Array.of(1.5, -2) }, { name: 'a/bias', shape: [1], values: Float32Array.of(3) }] }]);
  assert.equal(packed.parameters, 3);
  assert.deepEqual(packed.entries.map((e) => e.name), ['a/kernel', 'a/bias']);
  const view = new DataView(packed.data.buffer);
  assert.deepEqual([view.getFloat32(0, true), view.getFloat32(4, true), view.getFloat32(8, true)], [1.5, -2, 3]);
  assert.throws(() => packWeights([{ name: 'a', weights: [{ name: 'a/k', shape: [2, 2], values: new Float32Array(3) }] }]), { code: 'MODEL_IMPORT_INVALID' });
});

test('an HDF5 model with an unsupported layer is a clear error and writes nothing', async () => {
  await h5wasm.ready;
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-keras-bad-'));
  try {
    const path = join(dir, 'lstm.hdf5');
    const file = new h5wasm.File(path, 'w');
    const lstm = { class_name: 'LSTM', name: 'memory', config: { name: 'memory', units: 4 }, inbound_nodes: [[['in', 0, 0, {}]]] };
    file.create_attribute('model_config', JSON.stringify(graph([inputLayer([null, 32, 32, 4]), lstm, outConv])));
    file.create_attribute('keras_version', '2.2.4-tf');
    const weights = file.create_group('model_weights');
    weights.create_attribute('layer_names', ['in', 'memory', 'out']);
    for (const layer of ['in', 'memory', 'out']) weights.create_group(layer).create_attribute('weight_names', layer === 'out' ? ['out_1/kernel:0'] : []);
    (weights.get('out') as InstanceType<typeof h5wasm.Group>).create_group('out_1').create_dataset({ name: 'kernel:0', data: new Float32Array(4), shape: [1, 1, 4, 1] });
    file.close();
    const out = join(dir, 'model');
    await assert.rejects(importKerasModel(path, { outDir: out, identity: { name: 'x', version: '1', bands: ['a', 'b', 'c', 'd'] }, params }), (err: unknown) => {
      assert.ok(err instanceof CloudsegError);
      assert.equal(err.code, 'MODEL_IMPORT_UNSUPPORTED');
      assert.match(err.message, /"memory".*LSTM/);
      return true;
    });
    await assert.rejects(readFile(join(out, 'model.json')), { code: 'ENOENT' });
    await assert.rejects(importKerasModel(join(dir, 'absent.hdf5'), { outDir: out, identity: { name: 'x', version: '1', bands: ['a'] }, params }), { code: 'MODEL_IMPORT_INVALID' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the card bands must match the model input', { skip: MISSING }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'cloudseg-keras-bands-'));
  try {
    await assert.rejects(
      importKerasModel(fixture('models', 'ipluv-dl-l8s2-uv', 'hdf5', 'landsatbiomeRGBI6.hdf5'), { outDir: out, identity: { name: 'x', version: '1', bands: ['blue', 'green', 'red'] }, params }),
      { code: 'BAND_MISMATCH', message: /3 bands .* takes 4/ },
    );
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('params.yaml: presets, defaults and variants are checked', () => {
  const base = 'model: {threshold: 0.5, tile: 512, overlap: 64}\npresets: {reflectance: {scale: 1, offset: 0}}\n';
  assert.equal(parseLifecycleParams(`${base}defaultPreset: {integer: reflectance, float: reflectance}\n`).model.sizeMultiple, 1);
  assert.throws(() => parseLifecycleParams(`${base}defaultPreset: {integer: landsat8-l1, float: reflectance}\n`), { code: 'CONFIG_INVALID', message: /defaultPreset.integer/ });
  assert.throws(() => parseLifecycleParams(base.replace('0.5', '1.5') + 'defaultPreset: {integer: reflectance, float: reflectance}\n'), { code: 'CONFIG_INVALID', message: /model.threshold/ });
  assert.throws(() => parseLifecycleParams(`${base}defaultPreset: {integer: reflectance, float: reflectance}\nevaluate: {manifest: m, out: o, variants: [nope]}\n`), { code: 'CONFIG_INVALID', message: /unknown variant nope/ });
});
