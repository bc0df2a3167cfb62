// The label map: `4:cloud,0:shadow,1-3:clear` (text, YAML/JSON file, manifest), resolved against
// the card's classes and applied to a truth mask; every mistake is one typed error naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLASS_MASK_NODATA, type MaskLegend } from '../../shared/imaging/mask-values.js';
import { TRUTH_NODATA } from '../../shared/lifecycle/class-metrics.js';
import { parseSceneManifest } from '../../shared/lifecycle/eval-scenes.js';
import {
  applyLabelMap,
  defaultLabelMap,
  describeLabelMap,
  labelMapFromObject,
  parseLabelMapText,
  readLabelMapArgument,
  resolveLabelMap,
  type LabelMapSpec,
} from '../../shared/lifecycle/label-map.js';

const LEGEND: MaskLegend = {
  kind: 'classes',
  nodata: CLASS_MASK_NODATA,
  classes: [
    { value: 0, name: 'clear', kind: 'clear', rgb: [0, 0, 0] },
    { value: 1, name: 'cloud', kind: 'cloud', rgb: [255, 255, 255] },
    { value: 2, name: 'shadow', kind: 'shadow', rgb: [90, 90, 90] },
  ],
};
const N = TRUTH_NODATA;
const pairs = (spec: LabelMapSpec) => spec.map((e) => [e.code, e.target]);

test('parseLabelMapText: codes and ranges to class names or values, spaces allowed', () => {
  const cases: [string, (number | string)[][]][] = [
    ['4:cloud,0:shadow,1:clear,2:clear,3:clear', [[4, 'cloud'], [0, 'shadow'], [1, 'clear'], [2, 'clear'], [3, 'clear']]],
    [' 4 : cloud , 0:shadow, 1-3:clear ', [[4, 'cloud'], [0, 'shadow'], [1, 'clear'], [2, 'clear'], [3, 'clear']]],
    ['255:1,0:0', [[255, '1'], [0, '0']]],
    ['7:nodata,', [[7, 'nodata']]],
  ];
  for (const [text, expected] of cases) assert.deepEqual(pairs(parseLabelMapText(text)), expected, text);
  assert.equal(parseLabelMapText('1-3:clear')[1]!.entry, '1-3:clear', 'messages quote the entry as written');
});

test('parseLabelMapText: CONFIG_INVALID naming the bad entry', () => {
  const cases: [string, RegExp][] = [
    ['', /--label-map is empty/],
    [' , ', /--label-map is empty/],
    ['4cloud', /entry "4cloud" is not CODE:CLASS/],
    ['4:cloud,x:shadow', /entry "x:shadow": the truth code must be a number/],
    ['3-1:clear', /entry "3-1:clear": the truth code must be .* range/],
    ['-1:clear', /entry "-1:clear"/],
    ['70000:cloud', /entry "70000:cloud".*0\.\.65535/],
    ['4:cloud,1-4:clear', /truth code 4 is mapped twice \("4:cloud" and "1-4:clear"\)/],
  ];
  for (const [text, message] of cases) assert.throws(() => parseLabelMapText(text), { code: 'CONFIG_INVALID', message }, text);
});

test('labelMapFromObject: the YAML/JSON mapping form, checked like the text', () => {
  assert.deepEqual(pairs(labelMapFromObject({ 4: 'cloud', '1-2': 'clear', 0: 2 })), [[0, '2'], [4, 'cloud'], [1, 'clear'], [2, 'clear']]);
  const bad: [unknown, RegExp][] = [
    [['4:cloud'], /must be a mapping/],
    ['4:cloud', /must be a mapping/],
    [null, /must be a mapping/],
    [{}, /is empty/],
    [{ 4: { name: 'cloud' } }, /entry 4: the class must be a name or a value/],
    [{ four: 'cloud' }, /entry "four:cloud"/],
  ];
  for (const [raw, message] of bad) assert.throws(() => labelMapFromObject(raw), { code: 'CONFIG_INVALID', message }, JSON.stringify(raw));
});

test('readLabelMapArgument: inline text, a YAML file, a JSON file; a missing file is CONFIG_INVALID', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cloudseg-label-map-'));
  try {
    await writeFile(join(dir, 'map.yaml'), '# ukis-csmask\n4: cloud\n0: shadow\n1-3: clear\n');
    await writeFile(join(dir, 'map.json'), '{"255": "cloud", "0": "clear"}');
    assert.deepEqual(pairs(await readLabelMapArgument('4:cloud,0:shadow')), [[4, 'cloud'], [0, 'shadow']]);
    assert.deepEqual(pairs(await readLabelMapArgument(join(dir, 'map.yaml'))), [[0, 'shadow'], [4, 'cloud'], [1, 'clear'], [2, 'clear'], [3, 'clear']]);
    assert.deepEqual(pairs(await readLabelMapArgument(join(dir, 'map.json'))), [[0, 'clear'], [255, 'cloud']]);
    await assert.rejects(readLabelMapArgument(join(dir, 'absent.yaml')), { code: 'CONFIG_INVALID', message: /--label-map: cannot read .*absent\.yaml/ });
    await writeFile(join(dir, 'list.yaml'), '- 4\n- cloud\n');
    await assert.rejects(readLabelMapArgument(join(dir, 'list.yaml')), { code: 'CONFIG_INVALID', message: /list\.yaml must be a mapping/ });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('resolveLabelMap: a class name, else a class value, else nodata; an unknown class lists the card\'s', () => {
  const map = resolveLabelMap(parseLabelMapText('4:cloud,0:shadow,1-3:0,9:nodata'), LEGEND);
  assert.deepEqual([...map], [[4, 1], [0, 2], [1, 0], [2, 0], [3, 0], [9, null]]);
  assert.deepEqual(describeLabelMap(map, LEGEND), { 0: 'shadow', 1: 'clear', 2: 'clear', 3: 'clear', 4: 'cloud', 9: 'nodata' });
  assert.throws(() => resolveLabelMap(parseLabelMapText('4:clouds'), LEGEND), {
    code: 'CONFIG_INVALID',
    message: /--label-map entry "4:clouds": "clouds" is no class of the model \(classes: clear \(0\), cloud \(1\), shadow \(2\); or nodata/,
  });
  assert.throws(() => resolveLabelMap(parseLabelMapText('4:7'), LEGEND), { code: 'CONFIG_INVALID', message: /"7" is no class/ });
  // A card class named like the nodata target is that class.
  const withNodataClass: MaskLegend = { ...LEGEND, classes: [...LEGEND.classes, { value: 9, name: 'nodata', kind: 'nodata', rgb: [0, 0, 0] }] };
  assert.deepEqual([...resolveLabelMap(parseLabelMapText('7:nodata'), withNodataClass)], [[7, 9]]);
});

test('applyLabelMap: codes to class values, the declared nodata and nodata targets left out and counted', () => {
  const map = resolveLabelMap(parseLabelMapText('4:cloud,0:shadow,1-3:clear,8:nodata'), LEGEND);
  // [values, truth nodata, mapped, nodata pixels]
  const cases: [number[], number | null, number[], number][] = [
    [[], null, [], 0],
    [[4, 0, 1, 2, 3], null, [1, 2, 0, 0, 0], 0],
    [[4, 9, 8, 3], 9, [1, N, N, 0], 2],
    [[4, 4], 4, [N, N], 2], // the declared nodata beats the map
  ];
  for (const [values, nodata, mapped, count] of cases) {
    const got = applyLabelMap(Uint16Array.from(values), map, nodata, 'test');
    assert.deepEqual([[...got.truth], got.truthNodataPixels], [mapped, count], `${values} nodata ${nodata}`);
  }
});

test('applyLabelMap: a code in the data with no entry is TRUTH_INVALID naming the code', () => {
  const map = resolveLabelMap(parseLabelMapText('4:cloud,0:shadow'), LEGEND);
  assert.throws(() => applyLabelMap(Uint8Array.from([4, 0, 1, 3, 1]), map, null, 'scene s1'), {
    code: 'TRUTH_INVALID',
    message: /^scene s1: truth codes 1, 3 have no class in the label map \(it maps 0, 4\); add e\.g\. 1:nodata or 1:<class>$/,
  });
  assert.throws(() => applyLabelMap(Float32Array.from([0, 0.5]), map, null, 's'), { code: 'TRUTH_INVALID', message: /truth code 0\.5 has no class/ });
  // Codes the map has but the data lacks are fine: one map serves scenes of several kinds.
  assert.deepEqual([...applyLabelMap(Uint8Array.from([4]), map, null, 's').truth], [1]);
});

test('defaultLabelMap: what a known truth encoding means, by the card\'s class kinds', () => {
  assert.deepEqual(pairs(defaultLabelMap('class4', LEGEND, 's')), [[4, 'cloud'], [0, 'shadow'], [1, 'clear'], [2, 'clear'], [3, 'clear']]);
  assert.deepEqual(pairs(defaultLabelMap('cloud255', LEGEND, 's')), [[255, 'cloud'], [0, 'clear']]);
  assert.deepEqual(pairs(defaultLabelMap('cloud1', LEGEND, 's')), [[1, 'cloud'], [0, 'clear']]);
  // No shadow class: ukis shadow is not cloud, so it goes to the clear class.
  const twoClasses: MaskLegend = { ...LEGEND, classes: LEGEND.classes.slice(0, 2) };
  assert.deepEqual(pairs(defaultLabelMap('class4', twoClasses, 's')), [[4, 'cloud'], [0, 'clear'], [1, 'clear'], [2, 'clear'], [3, 'clear']]);
  const twoClouds: MaskLegend = { ...LEGEND, classes: [...LEGEND.classes, { value: 3, name: 'cumulus', kind: 'cloud', rgb: [1, 1, 1] }] };
  assert.throws(() => defaultLabelMap('cloud1', twoClouds, 'scene s'), { code: 'CONFIG_INVALID', message: /^scene s: .*more than one class of kind cloud.*--label-map/ });
});

test('a manifest scene may carry labelMap as text or mapping; a bad one names the scene', () => {
  const [text, mapping] = parseSceneManifest(
    {
      scenes: [
        { name: 'a', npz: 'a.npz', labelMap: '4:cloud,0:shadow,1-3:clear' },
        { name: 'b', image: 'b.tif', truth: 'b-truth.tif', labelMap: { 255: 'cloud', 0: 'clear' } },
      ],
    },
    '/m',
  );
  assert.deepEqual(pairs(text!.labelMap!), [[4, 'cloud'], [0, 'shadow'], [1, 'clear'], [2, 'clear'], [3, 'clear']]);
  assert.deepEqual(pairs(mapping!.labelMap!), [[0, 'clear'], [255, 'cloud']]);
  assert.throws(() => parseSceneManifest({ scenes: [{ name: 'c', npz: 'c.npz', labelMap: '4=cloud' }] }, '/m', 'm.yaml'), {
    code: 'CONFIG_INVALID',
    message: /m\.yaml invalid: scenes\.c\.labelMap entry "4=cloud" is not CODE:CLASS/,
  });
  assert.throws(() => parseSceneManifest({ scenes: [{ name: 'c', npz: 'c.npz', labelMap: [4] }] }, '/m'), { code: 'CONFIG_INVALID', message: /labelMap/ });
});
