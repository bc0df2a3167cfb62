// The model card: the shipped card parses to what the pipeline relies on, and each kind of mistake
// is a MODEL_CARD_INVALID that names the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { CloudsegError } from '../../shared/errors.js';
import { CLOUD_LEGEND, KIND_COLOURS } from '../../shared/imaging/mask-values.js';
import { cardLegend, outputChannels, parseModelCard, readModelCard } from '../../shared/model/card.js';
import { shippedModelDir } from '../support/model.js';


const valid = {
  name: 'test-model',
  version: '1.0.0',
  format: 'tfjs-layers',
  modelFile: 'model.json',
  bands: ['blue', 'green', 'red', 'nir'],
  presets: { reflectance: { scale: 1, offset: 0 }, s2: { scale: 1e-4, offset: 0 } },
  defaultPreset: { integer: 's2', float: 'reflectance' },
  tile: { size: 512, overlap: 64 },
  sizeMultiple: 8,
  output: { activation: 'sigmoid', cloudChannel: 0 },
  threshold: 0.5,
};

function withChange(path: string[], value: unknown): string {
  const card = structuredClone(valid) as Record<string, unknown>;
  let node = card;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return stringify(card);
}

/** The valid card as an ONNX class model with these classes (no threshold). */
function withClasses(classes: unknown[]): string {
  return stringify({ ...structuredClone(valid), format: 'onnx', modelFile: 'model.onnx', threshold: undefined, output: { activation: 'linear' }, classes });
}

function invalidFields(yamlText: string): string[] {
  try {
    parseModelCard(yamlText);
  } catch (err) {
    assert.ok(err instanceof CloudsegError);
    assert.equal(err.code, 'MODEL_CARD_INVALID');
    assert.equal(err.retryable, false);
    return (err.details?.fields as string[] | undefined) ?? ['(yaml)'];
  }
  assert.fail('expected MODEL_CARD_INVALID');
}

test('the shipped model card parses to the values the pipeline relies on', async () => {
  const card = await readModelCard(await shippedModelDir());
  assert.equal(card.name, 'ipluv-landsatbiome-rgbi');
  assert.equal(card.version, '1.0.0');
  assert.equal(card.format, 'tfjs-layers');
  assert.equal(card.modelFile, 'model.json');
  assert.deepEqual(card.bands, ['blue', 'green', 'red', 'nir']);
  assert.deepEqual(
    Object.fromEntries(Object.entries(card.presets).map(([k, p]) => [k, [p.scale, p.offset]])),
    { 'landsat8-l1': [2e-5, -0.1], 'sentinel2-l1c': [1e-4, 0], 'sentinel2-l2a': [1e-4, 0], reflectance: [1, 0] },
  );
  assert.deepEqual(card.defaultPreset, { integer: 'sentinel2-l1c', float: 'reflectance' });
  assert.deepEqual(card.tile, { size: 512, overlap: 64 });
  assert.equal(card.sizeMultiple, 8);
  assert.deepEqual(card.output, { activation: 'sigmoid', cloudChannel: 0 });
  assert.equal(card.threshold, 0.5);
  assert.match(card.licence ?? '', /MIT/);
  assert.match(card.credit ?? '', /López-Puigdollers/);
});

test('defaults: sizeMultiple 1 and cloudChannel 0 when left out', () => {
  const card = parseModelCard(withChange(['sizeMultiple'], undefined).replace('  cloudChannel: 0\n', ''));
  assert.equal(card.sizeMultiple, 1);
  assert.equal(card.output.cloudChannel, 0);
});

test('a saved-model card names its signature: serving_default unless it says otherwise', () => {
  const bare = parseModelCard(withChange(['format'], 'saved-model').replace('modelFile: model.json', 'modelFile: saved_model') + 'signature: {}\n');
  assert.deepEqual(bare.signature, { name: 'serving_default' });
  const named = parseModelCard(
    withChange(['format'], 'saved-model') + 'signature:\n  name: timestwo\n  input: x\n  output: output_1\n',
  );
  assert.deepEqual(named.signature, { name: 'timestwo', input: 'x', output: 'output_1' });
  assert.equal(parseModelCard(withChange(['format'], 'saved-model')).signature, undefined);
});

const errorCases: { name: string; yaml: string; fields: string[] }[] = [
  { name: 'a signature on a TF.js model', yaml: withChange(['signature'], { name: 'serving_default' }), fields: ['signature'] },
  { name: 'an unknown signature field', yaml: withChange(['format'], 'saved-model') + 'signature:\n  tag: serve\n', fields: ['signature'] },
  { name: 'missing name', yaml: withChange(['name'], undefined), fields: ['name'] },
  { name: 'name with spaces', yaml: withChange(['name'], 'My Model'), fields: ['name'] },
  { name: 'unknown format', yaml: withChange(['format'], 'pytorch'), fields: ['format'] },
  { name: 'modelFile escaping the directory', yaml: withChange(['modelFile'], '../x/model.json'), fields: ['modelFile'] },
  { name: 'no bands', yaml: withChange(['bands'], []), fields: ['bands'] },
  { name: 'preset scale 0', yaml: withChange(['presets', 's2', 'scale'], 0), fields: ['presets.s2.scale'] },
  { name: 'preset scale as a string', yaml: withChange(['presets', 's2', 'scale'], '1e-4'), fields: ['presets.s2.scale'] },
  { name: 'default preset not defined', yaml: withChange(['defaultPreset', 'integer'], 'landsat'), fields: ['defaultPreset.integer'] },
  { name: 'tile size off the size multiple', yaml: withChange(['tile', 'size'], 500), fields: ['tile.size'] },
  { name: 'overlap as large as the tile', yaml: withChange(['tile', 'overlap'], 512), fields: ['tile.overlap'] },
  { name: 'negative overlap', yaml: withChange(['tile', 'overlap'], -2), fields: ['tile.overlap'] },
  { name: 'unknown activation', yaml: withChange(['output', 'activation'], 'relu'), fields: ['output.activation'] },
  { name: 'sigmoid with a cloud channel 2', yaml: withChange(['output', 'cloudChannel'], 2), fields: ['output.cloudChannel'] },
  { name: 'threshold 1.5', yaml: withChange(['threshold'], 1.5), fields: ['threshold'] },
  { name: 'a misspelt key', yaml: withChange(['treshold'], 0.5), fields: ['(root)'] },
  { name: 'empty version', yaml: withChange(['version'], ''), fields: ['version'] },
  { name: 'two problems at once', yaml: withChange(['name'], undefined).replace('format: tfjs-layers', 'format: pytorch'), fields: ['name', 'format'] },
  { name: 'class values that repeat', yaml: withClasses([{ value: 0, name: 'clear', kind: 'clear' }, { value: 0, name: 'cloud', kind: 'cloud' }]), fields: ['classes.1.value'] },
  { name: 'a class value colliding with nodata 255', yaml: withClasses([{ value: 0, name: 'clear', kind: 'clear' }, { value: 255, name: 'cloud', kind: 'cloud' }]), fields: ['classes.1.value'] },
  { name: 'class names that repeat', yaml: withClasses([{ value: 0, name: 'cloud', kind: 'clear' }, { value: 1, name: 'cloud', kind: 'cloud' }]), fields: ['classes.1.name'] },
  { name: 'an unknown class kind', yaml: withClasses([{ value: 0, name: 'clear', kind: 'clear' }, { value: 1, name: 'haze', kind: 'haze' }]), fields: ['classes.1.kind'] },
  { name: 'a colour that is no #rrggbb', yaml: withClasses([{ value: 0, name: 'clear', kind: 'clear', color: 'green' }, { value: 1, name: 'cloud', kind: 'cloud' }]), fields: ['classes.0.color'] },
  { name: 'one class', yaml: withClasses([{ value: 0, name: 'clear', kind: 'clear' }]), fields: ['classes'] },
  { name: 'an input layout on a TF.js model', yaml: withChange(['input'], { layout: 'NCHW' }), fields: ['input'] },
  { name: 'a cloud mask card without a threshold', yaml: withChange(['threshold'], undefined), fields: ['threshold'] },
  { name: 'not a mapping', yaml: '- just\n- a list\n', fields: ['(root)'] },
  { name: 'not YAML', yaml: 'name: [unclosed\n', fields: ['(yaml)'] },
];

for (const c of errorCases) {
  test(`parseModelCard rejects: ${c.name}`, () => {
    assert.deepEqual(invalidFields(c.yaml), c.fields);
  });
}

test('a class card: classes, their legend with kind colours, no threshold needed; the message names the collision', () => {
  const card = parseModelCard(withClasses([{ value: 0, name: 'clear', kind: 'clear' }, { value: 1, name: 'cloud', kind: 'cloud', color: '#102030' }, { value: 7, name: 'shadow', kind: 'shadow' }]));
  assert.equal(card.format, 'onnx');
  assert.deepEqual(card.classes?.map((c) => c.value), [0, 1, 7]);
  assert.equal(outputChannels(card), 3);
  const legend = cardLegend(card);
  assert.equal(legend.kind, 'classes');
  assert.equal(legend.nodata, 255);
  assert.deepEqual(legend.classes.map((c) => c.rgb), [KIND_COLOURS.clear, [16, 32, 48], KIND_COLOURS.shadow]);
  assert.equal(cardLegend(parseModelCard(stringify(valid))), CLOUD_LEGEND, 'a card without classes keeps the cloud mask');
  assert.throws(
    () => parseModelCard(withClasses([{ value: 3, name: 'clear', kind: 'clear' }, { value: 3, name: 'cloud', kind: 'cloud' }])),
    /classes\.1\.value: value 3 is also class 0's \(clear\)/,
  );
});

test('the error message names the field and what is wrong', () => {
  assert.throws(() => parseModelCard(withChange(['tile', 'size'], 500)), /tile\.size: must be a multiple of sizeMultiple \(8\)/);
  assert.throws(() => parseModelCard(withChange(['treshold'], 0.5)), /treshold/);
});

test('readModelCard: a directory without a card is MODEL_NOT_FOUND', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-card-'));
  try {
    await assert.rejects(readModelCard(dir), (err: unknown) => err instanceof CloudsegError && err.code === 'MODEL_NOT_FOUND');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
