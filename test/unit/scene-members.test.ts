// Which object names belong to a product without being its descriptor (flush skips them), which
// names may be descriptors, and where an href in a descriptor points.
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CloudsegError } from '../../shared/errors.js';
import { sceneDescriptorKind } from '../../shared/scenes/describe-scene.js';
import { memberBeside, resolveMemberHref } from '../../shared/scenes/scene-members.js';
import { isSceneMemberName } from '../../shared/scenes/scene-members.js';
import type { ObjectLocation, SceneKind } from '../../shared/scenes/types.js';

const L9 = 'LC09_L1TP_014034_20220330_20220330_02_T1';
const L8L2 = 'LC08_L2SP_047027_20201204_20210313_02_T1';
const SAFE = 'drop/S2B_MSIL1C_20230823T095559_N0509_R122_T34UCF_20230823T120234.SAFE';
const GRANULE = `${SAFE}/GRANULE/L1C_T34UCF_A033753_20230823T095553`;

describe('isSceneMemberName', () => {
  const CASES: Array<[string, boolean]> = [
    // Landsat Collection 2 Level-1 product files
    [`${L9}_B1.TIF`, true],
    [`${L9}_B2.TIF`, true],
    [`scenes/014034/${L9}_B7.TIF`, true],
    [`${L9}_B10.TIF`, true],
    [`${L9}_B11.TIF`, true],
    [`${L9}_B4.tif`, true],
    [`${L9}_QA_PIXEL.TIF`, true],
    [`${L9}_QA_RADSAT.TIF`, true],
    [`${L9}_SAA.TIF`, true],
    [`${L9}_SZA.TIF`, true],
    [`${L9}_VAA.TIF`, true],
    [`${L9}_VZA.TIF`, true],
    [`${L9}_ANG.txt`, true],
    [`${L9}_MTL.xml`, true],
    [`${L9}_thumb_small.jpeg`, true],
    // Level-2
    [`${L8L2}_SR_B2.TIF`, true],
    [`${L8L2}_ST_B10.TIF`, true],
    [`${L8L2}_SR_QA_AEROSOL.TIF`, true],
    [`${L8L2}_ST_TRAD.TIF`, true],
    [`LE07_L2SP_021030_20100109_20200911_02_T1_SR_CLOUD_QA.TIF`, true],
    [`LM05_L1GS_001001_19850524_20210918_02_T2_B4.TIF`, true],
    // descriptors and look-alikes are not members
    [`${L9}_MTL.json`, false],
    [`${L9}_MTL.txt`, false],
    [`${L9}_stac.json`, false],
    [`${L9}_B2.TIF.mask.png`, false],
    [`LC09_L1TP_014034_20220330_B2.TIF`, false],
    [`${L9}_B2.jp2`, false],
    [`${L9}_B.TIF`, false],
    // Sentinel-2 SAFE naming
    ['T32TQM_20220101T101431_B02_10m.jp2', true],
    ['S2A_MSIL2A.SAFE/GRANULE/L2A_T32TQM/IMG_DATA/R20m/T32TQM_20220101T101431_B8A_20m.jp2', true],
    ['T32TQM_20220101T101431_B02.jp2', true],
    ['T32TQM_20220101T101431_B12.jp2', true],
    ['T32TQM_20220101T101431_TCI_10m.jp2', true],
    ['T32TQM_20220101T101431_SCL_20m.jp2', true],
    ['T32TQM_20220615T101611_B02_10m.tif', true],
    ['QI_DATA/MSK_CLDPRB_20m.jp2', true],
    ['MSK_DETFOO_B02.jp2', true],
    ['T32TQM_20220101T101431_B13.jp2', false],
    ['T32TQM_20220101T101431_B02_30m.jp2', false],
    // everything inside a .SAFE folder but its root product XML (gcloud storage cp -r X.SAFE)
    [`${SAFE}/manifest.safe`, true],
    [`${SAFE}/INSPIRE.xml`, true],
    [`${SAFE}/HTML/UserProduct_index.html`, true],
    [`${SAFE}/HTML/UserProduct_index.xsl`, true],
    [`${SAFE}/HTML/banner_3.png`, true],
    [`${SAFE}/HTML/star_bg.jpg`, true],
    [`${SAFE}/rep_info/S2_User_Product_Level-1C_Metadata.xsd`, true],
    [`${SAFE}/DATASTRIP/DS_2BPS_20230823T120234_S20230823T095553/MTD_DS.xml`, true],
    [`${SAFE}/DATASTRIP/DS_2BPS_20230823T120234_S20230823T095553/QI_DATA/FORMAT_CORRECTNESS.xml`, true],
    [`${GRANULE}/MTD_TL.xml`, true],
    [`${GRANULE}/AUX_DATA/AUX_CAMSFO`, true],
    [`${GRANULE}/AUX_DATA/AUX_ECMWFT`, true],
    [`${GRANULE}/IMG_DATA/T34UCF_20230823T095559_B02.jp2`, true],
    [`${GRANULE}/IMG_DATA/T34UCF_20230823T095559_TCI.jp2`, true],
    [`${GRANULE}/IMG_DATA/R20m/T34UCF_20230823T095559_SCL_20m.jp2`, true],
    [`${GRANULE}/QI_DATA/MSK_CLASSI_B00.jp2`, true],
    [`${GRANULE}/QI_DATA/T34UCF_20230823T095559_PVI.jp2`, true],
    [`${GRANULE}/QI_DATA/GENERAL_QUALITY.xml`, true],
    [`${GRANULE}/QI_DATA/L2A_QUALITY.xml`, true],
    [`${GRANULE}/MTD_MSIL1C.xml`, true],
    ['x.safe/notes.txt', true],
    [`${SAFE}/MTD_MSIL1C.xml`, false],
    [`${SAFE}/MTD_MSIL2A.xml`, false],
    ['S2A_OPER_PRD_MSIL1C_PDMC_20160318T145513.SAFE/S2A_OPER_MTD_SAFL1C_PDMC_20160318T145513_R065_V20160318T102311_20160318T102311.xml', false],
    // SAFE product files copied without their folder are no images either
    ['MTD_TL.xml', true],
    ['copied/manifest.safe', true],
    ['copied/MTD_DS.xml', true],
    ['S2A_OPER_MTD_L1C_TL_SGS__20160318T145513_A003831_T32TQM.xml', true],
    ['MTD_MSIL1C.xml', false],
    ['a.SAFE', false],
    ['safe/notes.txt', false],
    // the COG naming of the public archives, in a scene folder
    ['sentinel-s2-l2a-cogs/32/T/QM/2022/6/S2A_32TQM_20220615_0_L2A/B02.tif', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/B8A.tif', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/SCL.tif', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/B12.TIF', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/TCI.tif', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/tileInfo.json', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/L2A_PVI.tif', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/tileinfo_metadata.json', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/granule_metadata.xml', true],
    ['scenes/S2A_32TQM_20220615_0_L2A/thumbnail.jpg', true],
    ['tiles/32/T/QM/2022/6/15/0/R10m/B02.jp2', true],
    ['tiles/32/T/QM/2022/6/15/0/qi/CLD_20m.jp2', true],
    ['tiles/32/T/QM/2022/6/15/0/preview.jpg', true],
    ['B02.tif', false],
    ['thumbnail.jpg', false],
    ['scenes/S2A_32TQM_20220615_0_L2A/B13.tif', false],
    ['scenes/S2A_32TQM_20220615_0_L2A/S2A_32TQM_20220615_0_L2A.json', false],
    // ordinary images
    ['scene.tif', false],
    ['uploads/scene.tif', false],
    ['uploads/B02_stack.tif', false],
    ['', false],
    ['folder/', false],
  ];
  for (const [name, expected] of CASES) {
    it(`${JSON.stringify(name)} -> ${expected}`, () => assert.equal(isSceneMemberName(name), expected));
  }
});

describe('sceneDescriptorKind', () => {
  const CASES: Array<[string, SceneKind | null]> = [
    [`${L9}_MTL.json`, 'landsat-mtl'],
    [`scenes/${L9}_MTL.txt`, 'landsat-mtl'],
    [`${L9}_mtl.JSON`, 'landsat-mtl'],
    [`${L9}_MTL.TXT`, 'landsat-mtl'],
    [`${L9}_stac.json`, 'stac-item'],
    ['items/S2A_32TQM_20220615_0_L2A.json', 'stac-item'],
    ['ITEM.JSON', 'stac-item'],
    ['S2A_32TQM_20220615_0_L2A/tileinfo_metadata.json', null],
    ['tiles/32/T/QM/2022/6/15/0/tileInfo.json', null],
    ['tileInfo.json', 'stac-item'],
    [`${L9}_MTL.xml`, null],
    [`${L9}_ANG.txt`, null],
    // Sentinel-2 SAFE: the root product XML, nothing else of the folder
    [`${SAFE}/MTD_MSIL1C.xml`, 'sentinel2-safe'],
    [`${SAFE}/MTD_MSIL2A.xml`, 'sentinel2-safe'],
    ['MTD_MSIL1C.xml', 'sentinel2-safe'],
    ['uploads/mtd_msil2a.XML', 'sentinel2-safe'],
    ['P.SAFE/S2A_OPER_MTD_SAFL1C_PDMC_20160318T145513_R065_V20160318T102311_20160318T102311.xml', 'sentinel2-safe'],
    [`${GRANULE}/MTD_TL.xml`, null],
    [`${GRANULE}/MTD_MSIL1C.xml`, null],
    [`${SAFE}/manifest.safe`, null],
    [`${SAFE}/INSPIRE.xml`, null],
    ['MTD_MSIL1C.xml.bak', null],
    ['MTD_MSIL1C.json', 'stac-item'],
    ['notes.txt', null],
    ['scene.tif', null],
    ['folder/.json', null],
    ['json', null],
  ];
  for (const [name, expected] of CASES) {
    it(`${JSON.stringify(name)} -> ${expected}`, () => assert.equal(sceneDescriptorKind(name), expected));
  }
  it('no name is both a descriptor and a scene member', () => {
    for (const [name] of CASES) assert.ok(!(sceneDescriptorKind(name) !== null && isSceneMemberName(name)), name);
  });
});

describe('resolveMemberHref', () => {
  const GCS: ObjectLocation = { kind: 'gcs', bucket: 'in', name: 'scenes/s2/item.json' };
  const ROOT: ObjectLocation = { kind: 'gcs', bucket: 'in', name: 'item.json' };
  const FILE: ObjectLocation = { kind: 'file', path: '/data/scenes/item.json' };
  const CASES: Array<{ from: ObjectLocation; href: string; to: ObjectLocation }> = [
    { from: GCS, href: 'B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/B02.tif' } },
    { from: GCS, href: './B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/B02.tif' } },
    { from: GCS, href: 'r10m/B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/r10m/B02.tif' } },
    { from: GCS, href: '../shared/B11.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/shared/B11.tif' } },
    { from: GCS, href: './a/../B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/B02.tif' } },
    { from: GCS, href: '../../B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'B02.tif' } },
    { from: ROOT, href: 'B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'B02.tif' } },
    { from: GCS, href: 'gs://other-bucket/a/B02.tif', to: { kind: 'gcs', bucket: 'other-bucket', name: 'a/B02.tif' } },
    // http(s): the object of the same file name beside the descriptor
    {
      from: GCS,
      href: 'https://sentinel-cogs.s3.us-west-2.amazonaws.com/sentinel-s2-l2a-cogs/32/T/QM/2022/6/S2A_32TQM_20220615_0_L2A/B02.tif',
      to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/B02.tif' },
    },
    { from: GCS, href: 'https://example.blob.core.windows.net/c/T32_B02_10m.tif?st=2022&sig=abc', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/T32_B02_10m.tif' } },
    { from: GCS, href: 'http://host/x/my%20band.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/my band.tif' } },
    { from: GCS, href: './my%20band.tif', to: { kind: 'gcs', bucket: 'in', name: 'scenes/s2/my band.tif' } },
    { from: FILE, href: 'B02.tif', to: { kind: 'file', path: '/data/scenes/B02.tif' } },
    { from: FILE, href: '../other/B02.tif', to: { kind: 'file', path: '/data/other/B02.tif' } },
    { from: FILE, href: '/mnt/bands/B02.tif', to: { kind: 'file', path: '/mnt/bands/B02.tif' } },
    { from: FILE, href: 'file:///mnt/bands/B02.tif', to: { kind: 'file', path: '/mnt/bands/B02.tif' } },
    { from: FILE, href: 'gs://in/a/B02.tif', to: { kind: 'gcs', bucket: 'in', name: 'a/B02.tif' } },
    { from: FILE, href: 'https://host/x/B02.tif', to: { kind: 'file', path: '/data/scenes/B02.tif' } },
  ];
  for (const { from, href, to } of CASES) {
    it(`${href} from ${from.kind === 'gcs' ? from.name : from.path}`, () => assert.deepEqual(resolveMemberHref(from, href, 'assets.blue.href'), to));
  }

  const REFUSED: Array<{ from: ObjectLocation; href: string; says: RegExp }> = [
    { from: GCS, href: '../../../B02.tif', says: /leaves bucket in/ },
    { from: ROOT, href: '../B02.tif', says: /leaves bucket in/ },
    { from: GCS, href: '/abs/B02.tif', says: /absolute path/ },
    { from: GCS, href: 'file:///data/B02.tif', says: /local file/ },
    { from: GCS, href: 's3://sentinel-s2-l2a/tiles/B02.jp2', says: /"s3:"/ },
    { from: GCS, href: 'gs://bucket-only', says: /gs:\/\/bucket\/object/ },
    { from: GCS, href: 'gs://b/a/../B02.tif', says: /one object/ },
    { from: GCS, href: 'https://host/dir/', says: /file name/ },
    { from: GCS, href: '   ', says: /empty/ },
    { from: GCS, href: './B%2.tif', says: /percent-escape/ },
    { from: GCS, href: 'sub/', says: /leaves bucket|one object|not/ },
  ];
  for (const { from, href, says } of REFUSED) {
    it(`refuses ${JSON.stringify(href)}`, () => {
      assert.throws(
        () => resolveMemberHref(from, href, 'assets.blue.href'),
        (e: unknown) => e instanceof CloudsegError && e.code === 'SCENE_INVALID' && e.message.startsWith('assets.blue.href') && says.test(e.message),
      );
    });
  }

  it('memberBeside keeps a file name in the descriptor folder and refuses paths', () => {
    assert.deepEqual(memberBeside(GCS, `${L9}_B2.TIF`, 'f'), { kind: 'gcs', bucket: 'in', name: `scenes/s2/${L9}_B2.TIF` });
    assert.deepEqual(memberBeside(ROOT, 'B2.TIF', 'f'), { kind: 'gcs', bucket: 'in', name: 'B2.TIF' });
    assert.deepEqual(memberBeside(FILE, 'B2.TIF', 'f'), { kind: 'file', path: '/data/scenes/B2.TIF' });
    for (const bad of ['../B2.TIF', 'a/B2.TIF', '', '..']) {
      assert.throws(() => memberBeside(GCS, bad, 'PRODUCT_CONTENTS.FILE_NAME_BAND_2'), (e: unknown) => e instanceof CloudsegError && e.code === 'SCENE_INVALID' && /FILE_NAME_BAND_2/.test(e.message));
    }
  });
});
