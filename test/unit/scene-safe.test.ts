// Sentinel-2 SAFE products as scenes, on hand-written product and granule XML laid out like ESA's
// (test/fixtures/safe): band files by name (L1C, L2A per resolution), reflectance from the product's
// own quantification and add offsets, sun angles and the tile grid from MTD_TL.xml, the legacy
// layout and hostile XML refused, and which names are descriptors or members.
import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ReflectanceSchema, SceneRefSchema } from '../../shared/contracts/result-event.js';
import { CloudsegError, type ErrorCode } from '../../shared/errors.js';
import { describeScene, describeSceneReading, granuleMetadataOf, sceneDescriptorKind } from '../../shared/scenes/describe-scene.js';
import { checkGranuleCrs, epsgOfCrs, epsgOfGeoreference, gridResolutionFor, parseGranuleMetadata } from '../../shared/scenes/safe/granule-metadata.js';
import { isSafeFolderName, safeDescriptorIn } from '../../shared/scenes/safe/safe-product.js';
import { MAX_SAFE_XML_BYTES, parseSafeXml } from '../../shared/scenes/safe/safe-xml.js';
import { isSceneMemberName } from '../../shared/scenes/scene-members.js';
import type { DescribeSceneArgs, ObjectLocation, SceneDescription } from '../../shared/scenes/types.js';

const DIR = join(import.meta.dirname, '..', 'fixtures', 'safe');
const L1C = 'S2B_MSIL1C_20240612T101559_N0510_R065_T32TQM_20240612T121920';
const L1C_GRANULE = 'L1C_T32TQM_A037930_20240612T101558';
const L1C_OLD = 'S2A_MSIL1C_20210714T101031_N0301_R022_T32TQM_20210714T122145';
const L1C_OLD_GRANULE = 'L1C_T32TQM_A031600_20210714T101029';
const L2A = 'S2A_MSIL2A_20240615T101031_N0510_R022_T32TQM_20240615T141413';
const L2A_GRANULE = 'L2A_T32TQM_A046991_20240615T101030';
const LEGACY = 'S2A_OPER_PRD_MSIL1C_PDMC_20160318T145513_R065_V20160318T102311_20160318T102311';

const SIX = ['blue', 'green', 'red', 'nir', 'swir1', 'swir2'];
const FOUR = ['blue', 'green', 'red', 'nir'];
const PRESETS = { 'sentinel2-l1c': { scale: 1e-4, offset: 0 } };

const text = (path: string): string => readFileSync(join(DIR, path), 'utf8');
const bytes = (t: string): Uint8Array => new TextEncoder().encode(t);
const gcs = (name: string): ObjectLocation => ({ kind: 'gcs', bucket: 'in', name });

const product = {
  l1c: { xml: () => text(`${L1C}.SAFE/MTD_MSIL1C.xml`), tl: () => text(`${L1C}.SAFE/GRANULE/${L1C_GRANULE}/MTD_TL.xml`), name: `drop/${L1C}.SAFE/MTD_MSIL1C.xml` },
  l1cOld: {
    xml: () => text(`${L1C_OLD}.SAFE/MTD_MSIL1C.xml`),
    tl: () => text(`${L1C_OLD}.SAFE/GRANULE/${L1C_OLD_GRANULE}/MTD_TL.xml`),
    name: `${L1C_OLD}.SAFE/MTD_MSIL1C.xml`,
  },
  // The L2A granule's MTD_TL.xml; its product XML is MTD_MSIL2A.xml.
  l2a: { xml: () => text(`${L2A}.SAFE/MTD_MSIL2A.xml`), tl: () => text(`${L2A}.SAFE/GRANULE/${L2A_GRANULE}/MTD_TL.xml`), name: `drop/${L2A}.SAFE/MTD_MSIL2A.xml` },
};

function run(xml: string, opts: Partial<DescribeSceneArgs> & { name?: string; tl?: string | null } = {}): SceneDescription {
  const { name = product.l1c.name, tl = product.l1c.tl(), ...rest } = opts;
  return describeScene({
    location: gcs(name),
    bytes: bytes(xml),
    cardBands: SIX,
    presets: PRESETS,
    defaultPreset: 'sentinel2-l1c',
    ...(tl === null ? {} : { granuleMetadata: bytes(tl) }),
    ...rest,
  });
}

/** Reflectance of a stored value for band i, as the band stack computes it. */
const reflectance = (d: SceneDescription, i: number, dn: number): number => dn * d.bands[i]!.scale + d.bands[i]!.offset;
const close = (actual: number, expected: number, what = ''): void => assert.ok(Math.abs(actual - expected) < 1e-12, `${what} ${actual} != ${expected}`);

function fails(fn: () => unknown, code: ErrorCode, says: RegExp): CloudsegError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CloudsegError, `expected a CloudsegError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, says);
  return caught;
}

describe('a Level-1C SAFE product, baseline 05.10 (RADIO_ADD_OFFSET -1000)', () => {
  const d = run(product.l1c.xml());
  const img = (band: string) => `GRANULE/${L1C_GRANULE}/IMG_DATA/T32TQM_20240612T101559_${band}.jp2`;

  it('is one scene named by its PRODUCT_URI', () => {
    assert.equal(d.kind, 'sentinel2-safe');
    assert.equal(d.id, L1C);
  });

  it('finds each card band by name in Product_Organisation, resolved beside the product XML', () => {
    assert.deepEqual(
      d.bands.map((b) => [b.band, b.href]),
      [
        ['blue', img('B02')],
        ['green', img('B03')],
        ['red', img('B04')],
        ['nir', img('B08')],
        ['swir1', img('B11')],
        ['swir2', img('B12')],
      ],
    );
    assert.deepEqual(d.bands[0]!.location, gcs(`drop/${L1C}.SAFE/${img('B02')}`));
    assert.ok(d.bands.every((b) => b.sample === 0));
  });

  it('reflectance = (DN - 1000) / 10000 for every band, recorded as the product XML states it', () => {
    for (const [i, band] of d.bands.entries()) {
      close(band.scale, 1e-4, band.band);
      close(band.offset, -0.1, band.band);
      close(reflectance(d, i, 1000), 0, band.band);
      close(reflectance(d, i, 3500), 0.25, band.band);
    }
    assert.deepEqual(d.reflectance, {
      conversion: 'linear',
      source: 'safe-product-xml',
      sunElevation: 58.5, // 90 - Mean_Sun_Angle ZENITH 31.5
      processingBaseline: '05.10',
      preset: null,
      scale: d.bands.map((b) => b.scale),
      offset: d.bands.map((b) => b.offset),
    });
    assert.doesNotThrow(() => ReflectanceSchema.parse(d.reflectance));
    assert.doesNotThrow(() => SceneRefSchema.parse({ kind: d.kind, id: d.id, descriptor: { bucket: 'in', name: product.l1c.name, generation: '1' }, inputs: [] }));
  });

  it('NODATA 0 and SATURATED 65535 are both no data', () => {
    for (const band of d.bands) {
      assert.equal(band.noData, 0);
      assert.deepEqual(band.noDataValues, [0, 65535]);
    }
  });

  it('carries the granule grid from MTD_TL.xml for band files without a georeference of their own', () => {
    const grid = d.grid!;
    assert.equal(grid.crs, 'EPSG:32632');
    assert.equal(grid.epsg, 32632);
    assert.equal(grid.source, `gs://in/drop/${L1C}.SAFE/GRANULE/${L1C_GRANULE}/MTD_TL.xml`);
    assert.deepEqual(
      grid.resolutions.map((r) => [r.resolutionM, r.width, r.height]),
      [
        [10, 10980, 10980],
        [20, 5490, 5490],
        [60, 1830, 1830],
      ],
    );
    assert.deepEqual(grid.resolutions[0]!.georef, {
      geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32632 },
      modelTiepoint: [0, 0, 0, 699960, 5000040, 0],
      modelPixelScale: [10, 10, 0],
      modelTransformation: null,
    });
    assert.deepEqual(gridResolutionFor(grid, 5490, 5490)?.georef.modelPixelScale, [20, 20, 0]);
    assert.equal(gridResolutionFor(grid, 5000, 5000), null);
  });

  it('a band_id with its own offset gets it; a changed quantification scales every band', () => {
    const xml = product.l1c.xml().replace('<RADIO_ADD_OFFSET band_id="11">-1000<', '<RADIO_ADD_OFFSET band_id="11">-2000<');
    const shifted = run(xml);
    close(shifted.bands[4]!.offset, -0.2, 'swir1 (B11, band_id 11)');
    close(shifted.bands[5]!.offset, -0.1, 'swir2 (B12, band_id 12)');
    const requantified = run(product.l1c.xml().replace('<QUANTIFICATION_VALUE unit="none">10000<', '<QUANTIFICATION_VALUE unit="none">20000<'));
    close(requantified.bands[0]!.scale, 5e-5);
    close(requantified.bands[0]!.offset, -0.05);
  });

  it('resolves beside a product XML on disk too', () => {
    const local = run(product.l1c.xml(), { location: { kind: 'file', path: `/data/${L1C}.SAFE/MTD_MSIL1C.xml` } });
    assert.deepEqual(local.bands[3]!.location, { kind: 'file', path: `/data/${L1C}.SAFE/${img('B08')}` });
  });
});

describe('a Level-1C SAFE product, baseline 03.01 (no offset)', () => {
  const d = run(product.l1cOld.xml(), { name: product.l1cOld.name, tl: product.l1cOld.tl() });

  it('reflectance = DN / 10000', () => {
    assert.equal(d.id, L1C_OLD);
    for (const [i, band] of d.bands.entries()) {
      close(band.scale, 1e-4, band.band);
      assert.equal(band.offset, 0, band.band);
      close(reflectance(d, i, 2000), 0.2, band.band);
    }
    assert.equal(d.reflectance.processingBaseline, '03.01');
    assert.equal(d.reflectance.sunElevation, 62.75); // 90 - 27.25
  });

  it('an offset the older product states anyway is applied', () => {
    const xml = product.l1cOld
      .xml()
      .replace('<Reflectance_Conversion>', `<Radiometric_Offset_List>${[...Array(13).keys()].map((i) => `<RADIO_ADD_OFFSET band_id="${i}">-1000</RADIO_ADD_OFFSET>`).join('')}</Radiometric_Offset_List><Reflectance_Conversion>`);
    close(run(xml, { name: product.l1cOld.name, tl: product.l1cOld.tl() }).bands[0]!.offset, -0.1);
  });
});

describe('a Level-2A SAFE product (BOA_QUANTIFICATION_VALUE, BOA_ADD_OFFSET, R10m/R20m/R60m)', () => {
  const d = run(product.l2a.xml(), { name: product.l2a.name, tl: product.l2a.tl() });
  const img = (res: number, band: string) => `GRANULE/${L2A_GRANULE}/IMG_DATA/R${res}m/T32TQM_20240615T101031_${band}_${res}m.jp2`;

  it('takes each band at its finest resolution: 10 m for B02-B08, 20 m for B11/B12', () => {
    assert.equal(d.kind, 'sentinel2-safe');
    assert.equal(d.id, L2A);
    assert.deepEqual(
      d.bands.map((b) => b.href),
      [img(10, 'B02'), img(10, 'B03'), img(10, 'B04'), img(10, 'B08'), img(20, 'B11'), img(20, 'B12')],
    );
    assert.deepEqual(d.bands[4]!.location, gcs(`drop/${L2A}.SAFE/${img(20, 'B11')}`));
  });

  it('a card naming nir08 or swir16 gets B8A and B11 at 20 m', () => {
    const named = run(product.l2a.xml(), { name: product.l2a.name, tl: product.l2a.tl(), cardBands: ['nir08', 'swir16', 'swir22'] });
    assert.deepEqual(
      named.bands.map((b) => b.href),
      [img(20, 'B8A'), img(20, 'B11'), img(20, 'B12')],
    );
  });

  it('reflectance = (DN - 1000) / 10000, from BOA_ADD_OFFSET per band_id', () => {
    for (const [i, band] of d.bands.entries()) {
      close(reflectance(d, i, 1000), 0, band.band);
      close(reflectance(d, i, 11000), 1, band.band);
    }
    assert.equal(d.reflectance.source, 'safe-product-xml');
    assert.equal(d.reflectance.conversion, 'linear');
    assert.equal(d.reflectance.processingBaseline, '05.10');
    assert.equal(d.reflectance.sunElevation, 61.25);
    assert.deepEqual(d.bands[0]!.noDataValues, [0, 65535]);
    const shifted = run(product.l2a.xml().replace('<BOA_ADD_OFFSET band_id="3">-1000<', '<BOA_ADD_OFFSET band_id="3">-500<'), { name: product.l2a.name, tl: product.l2a.tl() });
    close(shifted.bands[2]!.offset, -0.05, 'red (B04, band_id 3)');
  });

  it('the pre-PSD 14 name L2A_BOA_QUANTIFICATION_VALUE is read too', () => {
    const xml = product.l2a.xml().replaceAll('BOA_QUANTIFICATION_VALUE unit="none">10000', 'L2A_BOA_QUANTIFICATION_VALUE unit="none">1000').replace('</BOA_QUANTIFICATION_VALUE>', '</L2A_BOA_QUANTIFICATION_VALUE>');
    const old = run(xml, { name: product.l2a.name, tl: product.l2a.tl() });
    close(old.bands[0]!.scale, 1e-3);
    close(old.bands[0]!.offset, -1);
  });
});

describe('SAFE products cloudseg refuses', () => {
  it('BANDS_MISSING names the card band the product lists no file for, and what it lists', () => {
    const xml = product.l1c
      .xml()
      .split('\n')
      .filter((line) => !/_B08<|_B8A</.test(line))
      .join('\n');
    const err = fails(() => run(xml), 'BANDS_MISSING', /lists no file for nir \(B08 or B8A\)/);
    assert.deepEqual(err.details?.missing, ['nir']);
    assert.match(err.message, /B02 \(blue\)/);
  });

  it('a product listing no L2A B11 at any resolution lacks swir1', () => {
    const xml = product.l2a
      .xml()
      .split('\n')
      .filter((line) => !/_B11_\d\dm</.test(line))
      .join('\n');
    fails(() => run(xml, { name: product.l2a.name, tl: product.l2a.tl() }), 'BANDS_MISSING', /swir1 \(B11\)/);
  });

  it('the legacy multi-granule layout, naming it', () => {
    const legacy = text(`${LEGACY}.SAFE/S2A_OPER_MTD_SAFL1C_PDMC_20160318T145513_R065_V20160318T102311_20160318T102311.xml`);
    const err = fails(() => run(legacy, { name: `${LEGACY}.SAFE/x.xml`, tl: null }), 'SCENE_INVALID', /legacy multi-granule SAFE layout .*2 granules/);
    assert.equal(err.details?.layout, 'legacy-multi-granule');
  });

  it('two granules in a compact product, and an IMAGE_FILE outside GRANULE/<granule>/IMG_DATA', () => {
    const xml = product.l1c.xml();
    const granule = /<Granule [\s\S]*?<\/Granule>/.exec(xml)![0];
    fails(() => run(xml.replace(granule, granule + granule)), 'SCENE_INVALID', /legacy multi-granule/);
    fails(() => run(xml.replace(`GRANULE/${L1C_GRANULE}/IMG_DATA/T32TQM_20240612T101559_B02`, 'S2B_OPER_MSI_L1C_TL_B02')), 'SCENE_INVALID', /not in the compact SAFE layout/);
    fails(() => run(xml.replace(`GRANULE/${L1C_GRANULE}/IMG_DATA/T32TQM_20240612T101559_B02`, `GRANULE/../IMG_DATA/T32TQM_20240612T101559_B02`)), 'SCENE_INVALID', /plain path/);
  });

  it('a baseline 04.00+ product without the offset of a band it uses', () => {
    const xml = product.l1c.xml().replace(/<Radiometric_Offset_List>[\s\S]*<\/Radiometric_Offset_List>/, '');
    fails(() => run(xml), 'SCENE_INVALID', /baseline 05\.10 .*RADIO_ADD_OFFSET .*B02 \(band_id 1\)/);
  });

  it('no PROCESSING_BASELINE, no quantification', () => {
    fails(() => run(product.l1c.xml().replace('<PROCESSING_BASELINE>05.10</PROCESSING_BASELINE>', '')), 'SCENE_INVALID', /PROCESSING_BASELINE/);
    fails(() => run(product.l1c.xml().replace('<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>', '')), 'SCENE_INVALID', /QUANTIFICATION_VALUE/);
    fails(() => run(product.l1c.xml().replace('>10000</QUANTIFICATION_VALUE>', '>0</QUANTIFICATION_VALUE>')), 'SCENE_INVALID', /not a positive number/);
  });

  it('without the granule MTD_TL.xml, naming where it was looked for', () => {
    fails(() => run(product.l1c.xml(), { tl: null }), 'BANDS_MISSING', new RegExp(`gs://in/drop/${L1C}\\.SAFE/GRANULE/${L1C_GRANULE}/MTD_TL\\.xml could not be read`));
  });

  it('a granule MTD_TL.xml without geocoding, or one given as the descriptor', () => {
    const tl = product.l1c.tl();
    fails(() => run(product.l1c.xml(), { tl: tl.replace(/<Tile_Geocoding[\s\S]*<\/Tile_Geocoding>/, '') }), 'SCENE_INVALID', /Tile_Geocoding/);
    fails(() => run(product.l1c.xml(), { tl: tl.replace('EPSG:32632', 'WGS84 / UTM zone 32N') }), 'SCENE_INVALID', /HORIZONTAL_CS_CODE .* not an EPSG code/);
    fails(() => run(product.l1c.xml(), { tl: tl.replace('<YDIM>-10</YDIM>', '<YDIM>10</YDIM>') }), 'SCENE_INVALID', /north-up/);
    fails(() => run(product.l1c.xml(), { tl: product.l1c.xml() }), 'SCENE_INVALID', /no granule metadata/);
    fails(() => run(tl, { name: `${L1C}.SAFE/GRANULE/${L1C_GRANULE}/MTD_TL.xml` }), 'UNSUPPORTED_FORMAT', /granule's MTD_TL\.xml; the scene's descriptor is the product's MTD_MSIL1C\.xml/);
  });

  it('XML that is no Sentinel-2 product, or no XML', () => {
    fails(() => run('<?xml version="1.0"?><LANDSAT_METADATA_FILE/>'), 'UNSUPPORTED_FORMAT', /Landsat MTL\.xml/);
    fails(() => run('<kml><Document/></kml>'), 'UNSUPPORTED_FORMAT', /root is <kml>/);
    fails(() => run('<a><b></a>'), 'SCENE_INVALID', /not well-formed XML/);
  });
});

describe('hostile XML: entities are never expanded or resolved', () => {
  const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<n1:Level-1C_User_Product xmlns:n1="x"><PRODUCT_URI>&lol9;</PRODUCT_URI></n1:Level-1C_User_Product>`;

  it('a billion-laughs bomb as the product XML is refused at once, unexpanded', () => {
    const started = performance.now();
    const err = fails(() => run(BILLION_LAUGHS), 'SCENE_INVALID', /declares a DOCTYPE/);
    assert.ok(performance.now() - started < 1000, 'refused fast');
    assert.equal(err.details?.declaration, 'DOCTYPE');
    assert.ok(!err.message.includes('lollol'));
  });

  it('an external SYSTEM entity is refused and its file never read into anything', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cloudseg-safe-'));
    try {
      const secret = join(dir, 'secret.txt');
      writeFileSync(secret, 'TOP-SECRET-MARKER');
      const xml = product.l1c.xml().replace('<n1:Level-1C_User_Product', `<!DOCTYPE p [<!ENTITY xxe SYSTEM "file://${secret}">]>\n<n1:Level-1C_User_Product`).replace(`<PRODUCT_URI>${L1C}</PRODUCT_URI>`, '<PRODUCT_URI>&xxe;</PRODUCT_URI>');
      const err = fails(() => run(xml), 'SCENE_INVALID', /DOCTYPE/);
      assert.ok(!JSON.stringify({ message: err.message, details: err.details }).includes('TOP-SECRET'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same in the granule MTD_TL.xml, and an ENTITY without a DOCTYPE', () => {
    fails(() => run(product.l1c.xml(), { tl: BILLION_LAUGHS.replace('Level-1C_User_Product', 'Level-1C_Tile_ID') }), 'SCENE_INVALID', /MTD_TL\.xml declares a DOCTYPE/);
    fails(() => parseSafeXml(bytes('<a><!ENTITY x "y"></a>'), 'x.xml'), 'SCENE_INVALID', /declares a ENTITY/);
  });

  it('an undeclared entity reference stays text; the predefined ones are decoded', () => {
    const root = parseSafeXml(bytes('<a><b k="x &amp; y">&lt;1&gt; &#65;&#x42; &ext; &constructor;</b></a>'), 'x.xml');
    assert.equal(root.children[0]!.text, '<1> AB &ext; &constructor;');
    assert.equal(root.children[0]!.attributes.k, 'x & y');
  });

  it('a product XML over the descriptor cap is refused unread', () => {
    const huge = new Uint8Array(MAX_SAFE_XML_BYTES + 1).fill(0x20);
    huge[0] = 0x3c;
    fails(() => parseSafeXml(huge, 'big.xml'), 'SCENE_INVALID', /at most 4194304 bytes/);
  });

  it('nesting deeper than any ESA schema', () => {
    fails(() => parseSafeXml(bytes('<a>'.repeat(200) + '</a>'.repeat(200)), 'deep.xml'), 'SCENE_INVALID', /nests elements more than 64 deep/);
  });
});

describe('the granule MTD_TL.xml as a companion', () => {
  it('granuleMetadataOf names GRANULE/<granule>/MTD_TL.xml beside the product XML; nothing for other descriptors', () => {
    assert.deepEqual(granuleMetadataOf({ location: gcs(product.l1c.name), bytes: bytes(product.l1c.xml()) }), [gcs(`drop/${L1C}.SAFE/GRANULE/${L1C_GRANULE}/MTD_TL.xml`)]);
    assert.deepEqual(granuleMetadataOf({ location: { kind: 'file', path: `/d/${L2A}.SAFE/MTD_MSIL2A.xml` }, bytes: bytes(product.l2a.xml()) }), [
      { kind: 'file', path: `/d/${L2A}.SAFE/GRANULE/${L2A_GRANULE}/MTD_TL.xml` },
    ]);
    assert.deepEqual(granuleMetadataOf({ location: gcs('item.json'), bytes: bytes('{"type":"Feature"}') }), []);
    assert.deepEqual(granuleMetadataOf({ location: gcs('x.xml'), bytes: bytes('<!DOCTYPE x [<!ENTITY a "b">]><x/>') }), []);
    assert.deepEqual(granuleMetadataOf({ location: gcs('x.xml'), bytes: bytes('not xml') }), []);
  });

  it('describeSceneReading reads it through the caller and describes the product', async () => {
    const asked: ObjectLocation[] = [];
    const d = await describeSceneReading(
      { location: { kind: 'file', path: join(DIR, `${L2A}.SAFE`, 'MTD_MSIL2A.xml') }, bytes: bytes(product.l2a.xml()), cardBands: FOUR, presets: PRESETS, defaultPreset: 'sentinel2-l1c' },
      async (location) => {
        asked.push(location);
        return location.kind === 'file' ? readFileSync(location.path) : null;
      },
    );
    assert.deepEqual(asked, [{ kind: 'file', path: join(DIR, `${L2A}.SAFE`, 'GRANULE', L2A_GRANULE, 'MTD_TL.xml') }]);
    assert.equal(d.bands.length, 4);
    assert.equal(d.reflectance.sunElevation, 61.25);
    assert.equal(d.grid?.epsg, 32632);
  });

  it('parseGranuleMetadata reads the sun angles and the tile id; a granule without Tile_Angles has no sun', () => {
    const tl = parseGranuleMetadata(bytes(product.l1c.tl()), 'MTD_TL.xml');
    assert.equal(tl.sunZenithDeg, 31.5);
    assert.equal(tl.sunAzimuthDeg, 150.25);
    assert.equal(tl.tileId, 'S2B_OPER_MSI_L1C_TL_2BPS_20240612T121920_A037930_T32TQM_N05.10');
    const noAngles = parseGranuleMetadata(bytes(product.l1c.tl().replace(/<Tile_Angles[\s\S]*<\/Tile_Angles>/, '')), 'MTD_TL.xml');
    assert.equal(noAngles.sunZenithDeg, null);
    assert.equal(run(product.l1c.xml(), { tl: product.l1c.tl().replace(/<Tile_Angles[\s\S]*<\/Tile_Angles>/, '') }).reflectance.sunElevation, null);
  });
});

describe('checkGranuleCrs: the granule XML and a band file must agree', () => {
  const AGREE: Array<[string | number, string | number]> = [
    ['EPSG:32632', 'EPSG:32632'],
    ['EPSG:32632', 32632],
    ['EPSG:32632', 'urn:ogc:def:crs:EPSG::32632'],
    ['EPSG:32632', 'http://www.opengis.net/def/crs/EPSG/0/32632'],
    ['epsg:32632', '32632'],
  ];
  for (const [a, b] of AGREE) it(`${a} = ${b}`, () => assert.doesNotThrow(() => checkGranuleCrs('p', a, b, 'B02.jp2')));

  it('refuses a disagreement, naming both and the file', () => {
    const err = fails(() => checkGranuleCrs('gs://in/X.SAFE/MTD_MSIL1C.xml', 'EPSG:32632', 'urn:ogc:def:crs:EPSG::32633', 'T32TQM_B02.jp2'), 'SCENE_INVALID', /EPSG:32632 but T32TQM_B02\.jp2 says EPSG:32633/);
    assert.deepEqual(err.details, { granuleCrs: 'EPSG:32632', fileCrs: 'urn:ogc:def:crs:EPSG::32633', file: 'T32TQM_B02.jp2' });
    fails(() => checkGranuleCrs('p', 'EPSG:32632', 'WGS 84 / UTM zone 32N', 'B02.jp2'), 'SCENE_INVALID', /"WGS 84 \/ UTM zone 32N"/);
  });

  it('a band file georeference gives its EPSG code to compare', () => {
    const grid = run(product.l1c.xml()).grid!;
    assert.equal(epsgOfGeoreference(grid.resolutions[0]!.georef), 32632);
    assert.equal(epsgOfGeoreference({ geoKeys: { GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326 }, modelTiepoint: null, modelPixelScale: null, modelTransformation: null }), 4326);
    assert.equal(epsgOfGeoreference({ geoKeys: { GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32767 }, modelTiepoint: null, modelPixelScale: null, modelTransformation: null }), null);
    fails(() => checkGranuleCrs('p', grid.crs, epsgOfGeoreference({ ...grid.resolutions[0]!.georef, geoKeys: { GTModelTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32633 } })!, 'B02.jp2'), 'SCENE_INVALID', /EPSG:32632 but B02\.jp2 says EPSG:32633/);
  });

  it('epsgOfCrs', () => {
    assert.equal(epsgOfCrs('EPSG:4326'), 4326);
    assert.equal(epsgOfCrs('urn:ogc:def:crs:EPSG:6.3:32633'), 32633);
    assert.equal(epsgOfCrs('PROJCS["WGS 84 / UTM zone 32N"]'), null);
    assert.equal(epsgOfCrs(-1), null);
  });
});

describe('SAFE names', () => {
  it('the root MTD_MSIL1C.xml / MTD_MSIL2A.xml is the descriptor; everything else in the .SAFE is a member', () => {
    const root = `in/${L1C}.SAFE`;
    assert.equal(sceneDescriptorKind(`${root}/MTD_MSIL1C.xml`), 'sentinel2-safe');
    assert.equal(sceneDescriptorKind(`in/${L2A}.SAFE/MTD_MSIL2A.xml`), 'sentinel2-safe');
    assert.equal(sceneDescriptorKind('MTD_MSIL1C.xml'), 'sentinel2-safe');
    assert.equal(sceneDescriptorKind(`${LEGACY}.SAFE/S2A_OPER_MTD_SAFL1C_PDMC_20160318T145513_R065_V20160318T102311_20160318T102311.xml`), 'sentinel2-safe');
    assert.ok(!isSceneMemberName(`${root}/MTD_MSIL1C.xml`));
    for (const member of [
      `${root}/manifest.safe`,
      `${root}/INSPIRE.xml`,
      `${root}/GRANULE/${L1C_GRANULE}/MTD_TL.xml`,
      `${root}/GRANULE/${L1C_GRANULE}/IMG_DATA/T32TQM_20240612T101559_B02.jp2`,
      `${root}/GRANULE/${L1C_GRANULE}/QI_DATA/MSK_CLASSI_B00.jp2`,
      `${root}/GRANULE/${L1C_GRANULE}/QI_DATA/T32TQM_20240612T101559_PVI.jp2`,
      `${root}/GRANULE/${L1C_GRANULE}/QI_DATA/GENERAL_QUALITY.xml`,
      `${root}/GRANULE/${L1C_GRANULE}/AUX_DATA/AUX_CAMSFO`,
      `${root}/DATASTRIP/DS_2BPS_20240612T121920_S20240612T101558/MTD_DS.xml`,
      `${root}/HTML/UserProduct_index.html`,
      `${root}/HTML/banner_1.png`,
      `${root}/rep_info/S2_User_Product_Level-1C_Metadata.xsd`,
      // a product XML anywhere but the root of its .SAFE is no descriptor
      `${root}/GRANULE/${L1C_GRANULE}/MTD_MSIL1C.xml`,
    ]) {
      assert.ok(isSceneMemberName(member), member);
      assert.equal(sceneDescriptorKind(member), null, member);
    }
  });

  it('the CLI finds the descriptor of a .SAFE folder by name', () => {
    assert.ok(isSafeFolderName(`/data/${L1C}.SAFE`));
    assert.ok(isSafeFolderName(`/data/${L1C}.SAFE/`));
    assert.ok(!isSafeFolderName('/data/scene.tif'));
    assert.equal(safeDescriptorIn(['GRANULE', 'manifest.safe', 'MTD_MSIL1C.xml', 'INSPIRE.xml']), 'MTD_MSIL1C.xml');
    assert.equal(safeDescriptorIn(['MTD_MSIL2A.xml', 'HTML']), 'MTD_MSIL2A.xml');
    assert.equal(safeDescriptorIn(['manifest.safe']), null);
  });
});
