import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maskNames } from '../../shared/worker/output-names.js';
import { judgeExistingMask, provenanceMetadata, readProvenance } from '../../shared/worker/provenance.js';

const md5 = '0123456789abcdef0123456789abcdef';
const model = { name: 'm', version: '1.0.0', md5, rev: null, tag: null };
const input = { bucket: 'in', name: 'a/b.tif', generation: '1700000000000001' };

test('mask names: bucket and whole input name, so different inputs never share a mask', () => {
  assert.deepEqual(maskNames({ bucket: 'in', name: 'a/b.tif' }, ''), { png: 'in/a/b.tif.mask.png', geotiff: 'in/a/b.tif.mask.tif', failure: 'in/a/b.tif.failed.json' });
  assert.deepEqual(maskNames({ bucket: 'in', name: 'x.TIFF' }, 'masks/'), { png: 'masks/in/x.TIFF.mask.png', geotiff: 'masks/in/x.TIFF.mask.tif', failure: 'masks/in/x.TIFF.failed.json' });
  assert.deepEqual(maskNames({ bucket: null, name: 'scene.tif' }, ''), { png: 'scene.tif.mask.png', geotiff: 'scene.tif.mask.tif', failure: 'scene.tif.failed.json' });
  // Injective: inputs that differ only in extension, case or bucket never share a mask.
  const inputs = [
    { bucket: 'in', name: 'a.tif' },
    { bucket: 'in', name: 'a.png' },
    { bucket: 'in', name: 'a.TIF' },
    { bucket: 'in', name: 'a' },
    { bucket: 'other', name: 'a.tif' },
    { bucket: 'in', name: 'other/a.tif' },
    { bucket: 'in', name: 'a.tif.mask.png' },
  ];
  const names = inputs.flatMap((i) => Object.values(maskNames(i, '')));
  assert.equal(new Set(names).size, names.length, names.join(' '));
});

test('provenance survives a metadata round trip', () => {
  const meta = provenanceMetadata({ source: input, model, cloudFraction: 0.25, width: 10, height: 20 });
  const back = readProvenance('42', meta);
  assert.deepEqual(back.source, input);
  assert.equal(back.modelMd5, md5);
  assert.equal(back.cloudFraction, 0.25);
  assert.equal(back.width, 10);
  assert.equal(back.generation, '42');
});

test('judging an existing mask', () => {
  const existing = (generation: string, modelMd5 = md5, name = input.name) =>
    readProvenance('7', provenanceMetadata({ source: { ...input, name, generation }, model: { ...model, md5: modelMd5 }, cloudFraction: 0, width: 1, height: 1 }));
  const cases = [
    ['no mask yet', null, 'absent'],
    ['same generation and model', existing(input.generation), 'same-work'],
    ['same generation, other model', existing(input.generation, 'f'.repeat(32)), 'stale'],
    ['older input generation', existing('1699999999999999'), 'stale'],
    // generations exceed 2^53: compared as integers, not as floats or strings
    ['newer input generation', existing('1700000000000002'), 'newer-input'],
    ['a mask of another input', existing(input.generation, md5, 'other.tif'), 'stale'],
    ['not written by cloudseg', readProvenance('7', {}), 'stale'],
  ] as const;
  for (const [what, mask, verdict] of cases) assert.equal(judgeExistingMask(mask, input, md5), verdict, what);
});
