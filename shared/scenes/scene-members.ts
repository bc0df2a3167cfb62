// The objects of a multi-object product: which names are members (band files, QA and angle
// bands, auxiliary files) rather than a descriptor, and where a member a descriptor names lives.
import { posix, resolve as resolvePath, dirname as fileDirname, isAbsolute } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CloudsegError } from '../errors.js';
import type { ObjectLocation } from './types.js';

// Landsat product identifier (USGS Landsat Collection 2 Data Dictionary, "Landsat Product Identifier"):
// LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX, e.g. LC09_L1TP_014034_20220330_20220330_02_T1.
const LANDSAT_PRODUCT_ID = String.raw`L[COTEM]0\d_L(?:1TP|1GT|1GS|2SP|2SR)_\d{6}_\d{8}_\d{8}_\d{2}_(?:T1|T2|RT|A1|A2)`;
// Everything a Collection 2 Level-1 or Level-2 product delivers besides its MTL.json / MTL.txt.
const LANDSAT_MEMBER = new RegExp(
  '^' +
    LANDSAT_PRODUCT_ID +
    '_(?:' +
    [
      String.raw`(?:(?:SR|ST)_)?B\d{1,2}\.TIFF?`,
      String.raw`(?:QA_PIXEL|QA_RADSAT|BQA|SR_QA_AEROSOL|SR_CLOUD_QA|SR_ATMOS_OPACITY)\.TIFF?`,
      String.raw`ST_(?:QA|TRAD|URAD|DRAD|ATRAN|EMIS|EMSD|CDIST)\.TIFF?`,
      String.raw`(?:SAA|SZA|VAA|VZA)\.TIFF?`,
      String.raw`ANG\.TXT`,
      String.raw`MTL\.XML`,
      String.raw`THUMB_(?:SMALL|LARGE)\.JPE?G`,
    ].join('|') +
    ')$',
  'i',
);

// Sentinel-2 SAFE granule files: T32TQM_20220101T101431_B02_10m.jp2 (L2A, per resolution),
// T32TQM_20220101T101431_B02.jp2 (L1C), TCI/SCL/AOT/WVP; the same names as GeoTIFF in some archives.
const S2_BAND = String.raw`(?:B0[1-9]|B1[0-2]|B8A|TCI|SCL|AOT|WVP)`;
const SENTINEL2_SAFE_MEMBER = new RegExp(String.raw`^T\d{2}[A-Z]{3}_\d{8}T\d{6}_${S2_BAND}(?:_(?:10|20|60)m)?\.(?:jp2|tiff?)$`, 'i');
// QI_DATA masks of the SAFE: MSK_CLDPRB_20m.jp2, MSK_DETFOO_B02.jp2, MSK_CLOUDS_B00.gml
const SENTINEL2_SAFE_MASK = /^MSK_[A-Z]{6}_(?:B0[1-9]|B1[0-2]|B8A|B00|\d{2}m)\.(?:jp2|gml|tiff?)$/i;
// The layouts of the public archives: one folder per scene holding B02.tif, B8A.tif, SCL.tif, ...
// (sentinel-cogs, Earth Search, with tileinfo_metadata.json, granule_metadata.xml, thumbnail.jpg)
// or R10m/B02.jp2, qi/CLD_20m.jp2, tileInfo.json, preview.jpg (the Sinergise tiles buckets).
const SENTINEL2_COG_MEMBER = new RegExp(
  String.raw`^(?:${S2_BAND}\.(?:tiff?|jp2)|(?:CLD|SNW)_(?:20|60)m\.jp2|(?:tileInfo|productInfo|tileinfo_metadata)\.json|granule_metadata\.xml|(?:L2A_PVI|L1C_PVI|preview|thumbnail)\.(?:tiff?|jpe?g|jp2))$`,
  'i',
);

// Inside a SAFE product folder (S2B_MSIL1C_..._20230823T120234.SAFE/) every object is the
// product's: manifest.safe, the granule's MTD_TL.xml, the JP2s, QI_DATA, AUX_DATA, DATASTRIP,
// HTML, rep_info, INSPIRE.xml. Only the root metadata directly in the folder is the descriptor.
const SAFE_FOLDER = /(?:^|\/)[^/]+\.SAFE\/(.+)$/i;
const SAFE_ROOT_DESCRIPTOR = /^(?:MTD_MSIL1C|MTD_MSIL2A|S2[A-D]_OPER_MTD_SAFL(?:1C|2A)_[^/]*)\.xml$/i;
// The same product files copied without their .SAFE folder: never images, never descriptors.
const SAFE_PRODUCT_FILE = /^(?:MTD_TL|MTD_DS|INSPIRE)\.xml$|^manifest\.safe$|^S2[A-D]_OPER_MTD_L(?:1C|2A)_(?:TL|DS)_[^/]*\.xml$/i;

/**
 * Whether an object is one of the files of a product that is not its descriptor (a band file
 * whose scene starts with the arrival of the MTL, the STAC item or the SAFE product XML). The
 * bare archive names (B02.tif) count only inside a folder: at the top of a bucket they are
 * somebody's own image. Everything inside a `.SAFE/` folder but its root MTD_MSIL1C.xml /
 * MTD_MSIL2A.xml is a member.
 */
export function isSceneMemberName(name: string): boolean {
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  if (base === '') return false;
  const inSafe = SAFE_FOLDER.exec(name);
  if (inSafe) return !SAFE_ROOT_DESCRIPTOR.test(inSafe[1]!);
  if (SAFE_PRODUCT_FILE.test(base)) return true;
  if (LANDSAT_MEMBER.test(base)) return true;
  if (SENTINEL2_SAFE_MEMBER.test(base) || SENTINEL2_SAFE_MASK.test(base)) return true;
  return slash > 0 && SENTINEL2_COG_MEMBER.test(base);
}

/**
 * Where the object an href names lives, resolved against the descriptor's own location:
 * relative hrefs (./, ../) beside it, gs://bucket/name anywhere, absolute paths and file:// URLs
 * for a descriptor on disk. An http(s) href means the object of the same file name beside the
 * descriptor: the usual case is an item copied into a bucket with its assets. `field` names the
 * descriptor field in messages (assets.blue.href).
 */
export function resolveMemberHref(descriptor: ObjectLocation, href: string, field: string): ObjectLocation {
  const text = href.trim();
  if (text === '') throw invalidHref(field, href, 'is empty');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(text)?.[1]?.toLowerCase();
  // A Windows drive letter would parse as a one-letter scheme; cloudseg runs on POSIX.
  if (scheme === 'gs') return gcsUri(text, field);
  if (scheme === 'http' || scheme === 'https') return memberBeside(descriptor, urlFileName(text, field), field);
  if (scheme === 'file') {
    if (descriptor.kind !== 'file') throw invalidHref(field, href, 'is a local file; a descriptor in a bucket can name gs:// objects and objects beside it');
    try {
      return { kind: 'file', path: fileURLToPath(text) };
    } catch (err) {
      throw invalidHref(field, href, 'is not a valid file:// URL', err);
    }
  }
  if (scheme !== undefined) throw invalidHref(field, href, `uses "${scheme}:", which cloudseg cannot read (use a relative href, gs:// or https)`);
  // A relative href is a URI reference: percent-escapes stand for the characters of the name.
  const path = decodePath(stripQuery(text), field, href);
  if (descriptor.kind === 'file') {
    return { kind: 'file', path: isAbsolute(path) ? path : resolvePath(fileDirname(descriptor.path), path) };
  }
  if (path.startsWith('/')) throw invalidHref(field, href, 'is an absolute path; a descriptor in a bucket names objects relative to itself or as gs://');
  const joined = posix.normalize(posix.join(posix.dirname(descriptor.name), path));
  if (joined === '..' || joined.startsWith('../') || joined === '.' || joined.endsWith('/')) {
    throw invalidHref(field, href, `leaves bucket ${descriptor.bucket} (resolved against ${descriptor.name})`);
  }
  return { kind: 'gcs', bucket: descriptor.bucket, name: joined };
}

/** The object of a given file name in the descriptor's folder (MTL FILE_NAME_BAND_n, copied assets). */
export function memberBeside(descriptor: ObjectLocation, fileName: string, field: string): ObjectLocation {
  if (fileName === '' || fileName === '.' || fileName === '..' || fileName.includes('/') || fileName.includes('\\')) {
    throw invalidHref(field, fileName, 'is not a plain file name');
  }
  if (descriptor.kind === 'file') return { kind: 'file', path: resolvePath(fileDirname(descriptor.path), fileName) };
  const dir = posix.dirname(descriptor.name);
  return { kind: 'gcs', bucket: descriptor.bucket, name: dir === '.' ? fileName : `${dir}/${fileName}` };
}

/** "gs://bucket/name" or "file:/path" for messages and the result event. */
export function formatLocation(location: ObjectLocation): string {
  return location.kind === 'gcs' ? `gs://${location.bucket}/${location.name}` : location.path;
}

function gcsUri(text: string, field: string): ObjectLocation {
  const m = /^gs:\/\/([^/?#]+)\/([^?#]+)$/i.exec(text);
  if (!m) throw invalidHref(field, text, 'is not gs://bucket/object');
  const name = m[2]!;
  if (name.endsWith('/') || name.split('/').some((part) => part === '.' || part === '..')) {
    throw invalidHref(field, text, 'does not name one object');
  }
  return { kind: 'gcs', bucket: m[1]!, name };
}

function urlFileName(text: string, field: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (err) {
    throw invalidHref(field, text, 'is not a valid URL', err);
  }
  const last = url.pathname.split('/').pop() ?? '';
  let fileName: string;
  try {
    fileName = decodeURIComponent(last);
  } catch (err) {
    throw invalidHref(field, text, 'has a malformed file name', err);
  }
  if (fileName === '') throw invalidHref(field, text, 'does not end in a file name');
  return fileName;
}

// Relative hrefs may carry a query (signed URLs copied along); the object name is the path.
function stripQuery(text: string): string {
  const cut = text.search(/[?#]/);
  return cut < 0 ? text : text.slice(0, cut);
}

function decodePath(path: string, field: string, href: string): string {
  try {
    return decodeURIComponent(path);
  } catch (err) {
    throw invalidHref(field, href, 'has a malformed percent-escape', err);
  }
}

function invalidHref(field: string, href: string, problem: string, cause?: unknown): CloudsegError {
  return new CloudsegError('SCENE_INVALID', `${field} "${href}" ${problem}`, { details: { field, href }, cause });
}
