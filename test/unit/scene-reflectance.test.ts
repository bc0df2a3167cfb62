// The reflectance conversions products state, against values computed by hand (not by the code
// under test): Landsat L1 TOA with the sun term, Sentinel-2 with the baseline 04.00 offset.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CloudsegError } from '../../shared/errors.js';
import {
  landsatToaScaling,
  parseProcessingBaseline,
  sentinel2AddOffset,
  sentinel2Scaling,
  type LinearScaling,
} from '../../shared/scenes/reflectance.js';

const apply = (s: LinearScaling, dn: number): number => dn * s.scale + s.offset;
const close = (actual: number, expected: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `${what}: ${actual} != ${expected}`);

describe('landsatToaScaling', () => {
  // MULT 2.0e-5, ADD -0.1, sun elevation 35.2 deg: sin(35.2 deg) = 0.5764323161697933
  //   DN  7000: 2e-5 *  7000 - 0.1 = 0.14 - 0.1 = 0.04 -> 0.04 / 0.5764323161697933 = 0.06939236208300585
  //   DN 12000: 2e-5 * 12000 - 0.1 = 0.24 - 0.1 = 0.14 -> 0.14 / 0.5764323161697933 = 0.24287326729052047
  //   DN 30000: 2e-5 * 30000 - 0.1 = 0.60 - 0.1 = 0.50 -> 0.50 / 0.5764323161697933 = 0.8674045260375732
  const CASES: Array<[number, number]> = [
    [7000, 0.06939236208300585],
    [12000, 0.24287326729052047],
    [30000, 0.8674045260375732],
  ];
  const toa = landsatToaScaling(2.0e-5, -0.1, 35.2);
  for (const [dn, expected] of CASES) {
    it(`DN ${dn} at 35.2 deg -> ${expected}`, () => close(apply(toa, dn), expected, `DN ${dn}`));
  }

  it('is the linear map (MULT/sin, ADD/sin)', () => {
    // 2e-5 / 0.5764323161697933 = 3.469618104150292e-05; -0.1 / 0.5764323161697933 = -0.1734809052075146
    close(toa.scale, 3.469618104150292e-5, 'scale');
    close(toa.offset, -0.1734809052075146, 'offset');
  });

  it('at 90 deg (sin = 1) it is MULT and ADD unchanged, brighter than at any lower sun', () => {
    const zenith = landsatToaScaling(2.0e-5, -0.1, 90);
    close(apply(zenith, 30000), 0.5, 'DN 30000 at 90 deg');
    assert.ok(apply(toa, 30000) > apply(zenith, 30000));
  });

  for (const elevation of [0, -12.5, 90.5, Number.NaN]) {
    it(`refuses sun elevation ${elevation}`, () => {
      assert.throws(() => landsatToaScaling(2e-5, -0.1, elevation), (e: unknown) => e instanceof CloudsegError && e.code === 'SCENE_INVALID' && /sun elevation/.test(e.message));
    });
  }
  it('refuses a zero multiplier', () => {
    assert.throws(() => landsatToaScaling(0, -0.1, 35), (e: unknown) => e instanceof CloudsegError && e.code === 'SCENE_INVALID');
  });
});

describe('Sentinel-2 offset', () => {
  // From baseline 04.00: reflectance = (DN + (-1000)) / 10000
  //   DN 1000: (1000 - 1000) / 10000 = 0
  //   DN 2500: (2500 - 1000) / 10000 = 1500 / 10000 = 0.15
  // Before 04.00: reflectance = DN / 10000
  //   DN 1000: 0.1;  DN 2500: 0.25
  const CASES: Array<{ baseline: string; dn: number; expected: number }> = [
    { baseline: '04.00', dn: 1000, expected: 0 },
    { baseline: '04.00', dn: 2500, expected: 0.15 },
    { baseline: '05.10', dn: 2500, expected: 0.15 },
    { baseline: '03.01', dn: 1000, expected: 0.1 },
    { baseline: '02.09', dn: 2500, expected: 0.25 },
  ];
  for (const { baseline, dn, expected } of CASES) {
    it(`baseline ${baseline}, DN ${dn} -> ${expected}`, () => {
      const parsed = parseProcessingBaseline(baseline);
      assert.ok(parsed);
      close(apply(sentinel2Scaling(sentinel2AddOffset(parsed)), dn), expected, `DN ${dn}`);
    });
  }

  it('the offset is -1000 from 04.00 on and 0 before', () => {
    assert.equal(sentinel2AddOffset([4, 0]), -1000);
    assert.equal(sentinel2AddOffset([5, 11]), -1000);
    assert.equal(sentinel2AddOffset([3, 1]), 0);
  });

  it('as a linear map: scale 1e-4, offset -0.1', () => {
    const s = sentinel2Scaling(-1000);
    close(s.scale, 1e-4, 'scale');
    close(s.offset, -0.1, 'offset');
  });

  it('parses baselines and refuses what is none', () => {
    assert.deepEqual(parseProcessingBaseline('04.00'), [4, 0]);
    assert.deepEqual(parseProcessingBaseline('5.1'), [5, 1]);
    for (const bad of ['', 'N0400', '4', 'four', '04.00.1']) assert.equal(parseProcessingBaseline(bad), null, bad);
  });

  it('refuses a quantification value that is not positive', () => {
    assert.throws(() => sentinel2Scaling(-1000, 0), (e: unknown) => e instanceof CloudsegError && e.code === 'SCENE_INVALID');
  });
});
