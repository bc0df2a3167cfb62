// Reads a scene descriptor (a STAC Item, a Landsat Collection 2 MTL in JSON or ODL text, a
// Sentinel-2 SAFE product's MTD_MSIL1C.xml / MTD_MSIL2A.xml) into a SceneDescription: which object holds each of the model's bands and how its numbers become
// reflectance. Pure: the caller fetched the bytes; nothing here touches the bands.
import { CloudsegError } from '../errors.js';
import { describeLandsatMtl, looksLikeOdlMtl, MTL_ROOT, parseOdlMtl, type MtlGroup } from './landsat-mtl.js';
import { describeSafeProduct, granuleMetadataOf } from './safe/safe-product.js';
import { isSceneMemberName } from './scene-members.js';
import { describeStacItem, looksLikeStacItem, mtlAssetsOf } from './stac-item.js';
import type { DescribeSceneArgs, ObjectLocation, SceneDescription, SceneKind } from './types.js';

// A SAFE product's root metadata: MTD_MSIL1C.xml / MTD_MSIL2A.xml (compact layout), and the legacy
// layout's S2A_OPER_MTD_SAFL1C_*.xml, a descriptor only to be refused with a message naming the layout.
const SAFE_DESCRIPTOR = /^(?:mtd_msil1c|mtd_msil2a|s2[a-d]_oper_mtd_safl(?:1c|2a)_.*)\.xml$/;

/**
 * What a descriptor's name says it may be: `*_MTL.json` / `*_MTL.txt` a Landsat MTL,
 * `MTD_MSIL1C.xml` / `MTD_MSIL2A.xml` a Sentinel-2 SAFE product, any other `*.json` a candidate
 * STAC item (describeScene decides), anything else no descriptor. The files the archives put
 * beside the bands (tileinfo_metadata.json, everything else inside a `.SAFE/` folder) are scene
 * members instead, so a name is never both.
 */
export function sceneDescriptorKind(name: string): SceneKind | null {
  const base = name.slice(name.lastIndexOf('/') + 1).toLowerCase();
  if (base.endsWith('_mtl.json') || base.endsWith('_mtl.txt')) return 'landsat-mtl';
  if (SAFE_DESCRIPTOR.test(base)) return isSceneMemberName(name) ? null : 'sentinel2-safe';
  if (base.endsWith('.json') && base.length > '.json'.length && !isSceneMemberName(name)) return 'stac-item';
  return null;
}

/** The scene a descriptor describes; UNSUPPORTED_FORMAT, SCENE_INVALID or BANDS_MISSING otherwise. */
export function describeScene(args: DescribeSceneArgs): SceneDescription {
  const text = decodeText(args.bytes);
  if (looksLikeOdlMtl(text)) return describeLandsatMtl(parseOdlMtl(text), args);
  // XML: a SAFE product (which parses the bytes itself, refusing any DOCTYPE unread).
  if (text.trimStart().startsWith('<')) return describeSafeProduct(args);

  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    if (/^\s*GROUP\s*=\s*L1_METADATA_FILE\b/.test(text)) {
      throw unsupported('a Landsat Collection 1 MTL (L1_METADATA_FILE); cloudseg reads Collection 2 products');
    }
    throw unsupported('neither JSON (a STAC item, an MTL.json) nor a Landsat MTL text (GROUP = LANDSAT_METADATA_FILE) nor Sentinel-2 XML');
  }
  if (typeof doc === 'object' && doc !== null && !Array.isArray(doc) && MTL_ROOT in doc) {
    return describeLandsatMtl(doc as MtlGroup, args);
  }
  if (looksLikeStacItem(doc)) return describeStacItem(doc, args);
  throw unsupported(whatJsonIs(doc));
}

/**
 * The MTL a descriptor needs read before describeScene (as `companionMtl`), as places to try in
 * order: a Landsat Level-1 STAC item's MTL assets. Empty for anything else, including bytes
 * describeScene will refuse.
 */
export function companionMtlOf(args: Pick<DescribeSceneArgs, 'bytes' | 'location'>): ObjectLocation[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(args.bytes));
  } catch {
    return [];
  }
  return looksLikeStacItem(doc) ? mtlAssetsOf(doc, args) : [];
}

// The granule MTD_TL.xml a SAFE product XML needs read before describeScene (as `granuleMetadata`).
export { granuleMetadataOf };

/**
 * describeScene after reading the companions the descriptor names, if any (a Landsat item's MTL,
 * a SAFE product's granule MTD_TL.xml): for each, the first of its places that exists
 * (`readCompanion` answers null when that object does not; describeScene then says what is
 * missing). `readCompanion` is where the caller caps the size (checkDescriptorSize).
 */
export async function describeSceneReading(
  args: Omit<DescribeSceneArgs, 'companionMtl' | 'granuleMetadata'>,
  readCompanion: (location: ObjectLocation) => Promise<Uint8Array | null>,
): Promise<SceneDescription> {
  const firstOf = async (locations: ObjectLocation[]): Promise<Uint8Array | null> => {
    for (const location of locations) {
      const bytes = await readCompanion(location);
      if (bytes) return bytes;
    }
    return null;
  };
  const companionMtl = await firstOf(companionMtlOf(args));
  const granuleMetadata = await firstOf(granuleMetadataOf(args));
  return describeScene({ ...args, ...(companionMtl ? { companionMtl } : {}), ...(granuleMetadata ? { granuleMetadata } : {}) });
}

function decodeText(bytes: Uint8Array): string {
  if (bytes.length === 0) throw unsupported('empty');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw unsupported('not text (a scene descriptor is a STAC item JSON, a Landsat MTL or a Sentinel-2 product XML)');
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// Says what the JSON is instead, so the user knows which file to drop in.
function whatJsonIs(doc: unknown): string {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'JSON but no object: not a STAC item or an MTL.json';
  const type = (doc as { type?: unknown }).type;
  if (type === 'FeatureCollection') return 'a FeatureCollection (a STAC search result?); upload one STAC Item per scene';
  if (type === 'Collection' || type === 'Catalog') return `a STAC ${type}; upload the Item of a scene`;
  if (type === 'Feature') return 'a GeoJSON Feature without stac_version or assets: not a STAC item';
  return 'JSON but neither a STAC item (type "Feature" with assets) nor a Landsat MTL.json (LANDSAT_METADATA_FILE)';
}

function unsupported(what: string): CloudsegError {
  return new CloudsegError('UNSUPPORTED_FORMAT', `not a scene descriptor: ${what}`);
}
