// Flush and scenes, the pure parts: band files skipped as scene members (by product name, or
// because a check found their STAC item), the asset objects a STAC item names, and which band a
// descriptor's work is estimated from.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { firstBandObject } from '../../shared/flush/pixel-probe.js';
import { classifyMessages, type PulledMessage } from '../../shared/flush/plan.js';
import { stacAssetObjects } from '../../shared/flush/scene-members.js';
import { landsatMtlJson, landsatMtlText, stacItem } from '../integration/scene-band-files.js';

const PRODUCT = 'LC09_L1TP_014034_20220330_20220330_02_T1';

function upload(ackId: string, name: string, generation = '17'): PulledMessage {
  const resource = { kind: 'storage#object', bucket: 'in', name, generation, metageneration: '1', size: '1000', contentType: 'image/tiff' };
  return {
    ackId,
    data: Buffer.from(JSON.stringify(resource)),
    attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'in', objectId: name, objectGeneration: generation, payloadFormat: 'JSON_API_V1' },
  };
}

describe('classifyMessages and scene members', () => {
  test('Landsat and Sentinel-2 band files are skipped by name, their descriptors are work', () => {
    const out = classifyMessages([
      upload('b4', `l/${PRODUCT}_B4.TIF`),
      upload('qa', `l/${PRODUCT}_QA_PIXEL.TIF`),
      upload('mtl', `l/${PRODUCT}_MTL.json`),
      upload('s2', 'S2/T33TVK_20230601T100031_B02_10m.jp2'),
      upload('item', 's2/item.json'),
      upload('mine', 'mine.tif'),
    ]);
    assert.deepEqual(out.skipped['scene-member'], ['b4', 'qa', 's2']);
    assert.deepEqual([...out.accepted.values()].map((a) => a.item.name), [`l/${PRODUCT}_MTL.json`, 's2/item.json', 'mine.tif']);
  });

  test('a check that found the item of a band file makes it a scene member; others stay work', () => {
    const out = classifyMessages([upload('a', 'scene/blue.tif'), upload('b', 'scene/red.tif'), upload('c', 'other/blue.tif')], undefined, (item) => item.name.startsWith('scene/'));
    assert.deepEqual(out.skipped['scene-member'], ['a', 'b']);
    assert.deepEqual([...out.accepted.values()].map((a) => a.item.name), ['other/blue.tif']);
  });
});

describe('stacAssetObjects', () => {
  const item = stacItem('x', [
    { key: 'B02', href: './blue.tif', commonName: 'blue', scale: 1e-4, offset: -0.1 },
    { key: 'B03', href: 'sub/green.tif', commonName: 'green', scale: 1e-4, offset: -0.1 },
    { key: 'B04', href: 'gs://in/elsewhere/red.tif', commonName: 'red', scale: 1e-4, offset: -0.1 },
    { key: 'B08', href: 'gs://other-bucket/nir.tif', commonName: 'nir', scale: 1e-4, offset: -0.1 },
    { key: 'B11', href: '../../outside.tif', commonName: 'swir16', scale: 1e-4, offset: -0.1 },
  ]);
  const bytes = (text: string) => new TextEncoder().encode(text);

  test('relative hrefs resolve beside the item, gs:// in the same bucket counts, other buckets and escapes do not', () => {
    assert.deepEqual(stacAssetObjects('in', 'folder/item.json', bytes(item)), ['folder/blue.tif', 'folder/sub/green.tif', 'elsewhere/red.tif']);
  });

  test('JSON that is no STAC item, or no JSON, names nothing', () => {
    assert.deepEqual(stacAssetObjects('in', 'a.json', bytes('{"type":"FeatureCollection","features":[]}')), []);
    assert.deepEqual(stacAssetObjects('in', 'a.json', bytes('not json')), []);
    assert.deepEqual(stacAssetObjects('in', 'a.json', bytes('null')), []);
    assert.deepEqual(stacAssetObjects('in', 'a.json', bytes('{"type":"Feature","assets":{"a":{"href":42}}}')), []);
  });
});

describe('firstBandObject', () => {
  test('an MTL (JSON or text) names its first band file beside it; a STAC item its first TIFF asset', () => {
    assert.equal(firstBandObject({ bucket: 'in', name: `l/${PRODUCT}_MTL.json` }, landsatMtlJson(PRODUCT, 40)), `l/${PRODUCT}_B2.TIF`);
    assert.equal(firstBandObject({ bucket: 'in', name: `${PRODUCT}_MTL.txt` }, landsatMtlText(PRODUCT, 40)), `${PRODUCT}_B2.TIF`);
    const item = stacItem('x', [{ key: 'B02', href: './blue.tif', commonName: 'blue', scale: 1, offset: 0 }]);
    assert.equal(firstBandObject({ bucket: 'in', name: 's2/item.json' }, item), 's2/blue.tif');
    assert.equal(firstBandObject({ bucket: 'in', name: 's2/item.json' }, '{"type":"Feature"}'), null);
  });
});
