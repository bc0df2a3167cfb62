// A Sentinel-2 SAFE product (compact layout, PSD 14+) described by its root MTD_MSIL1C.xml or
// MTD_MSIL2A.xml: band files by name from Product_Organisation, reflectance from the product's own
// quantification and add offsets, sun angles and the tile grid from the granule's MTD_TL.xml.
import { CloudsegError } from '../../errors.js';
import { commonNamesFor, sentinel2Band, sentinel2Bands, type Sentinel2Band } from '../band-names.js';
import { parseProcessingBaseline, sentinel2BaselineHasOffset, sentinel2Scaling } from '../reflectance.js';
import { formatLocation, resolveMemberHref } from '../scene-members.js';
import type { DescribeSceneArgs, ObjectLocation, ReflectanceRecord, SceneBand, SceneDescription } from '../types.js';
import { parseGranuleMetadata } from './granule-metadata.js';
import { childNamed, childrenNamed, descendantNamed, descendantsNamed, parseSafeXml, type XmlElement } from './safe-xml.js';

/** The root file names of a product: the scene's descriptor. */
export const SAFE_DESCRIPTOR_NAMES = ['MTD_MSIL1C.xml', 'MTD_MSIL2A.xml'] as const;

/** The granule file holding sun angles and geocoding, beside IMG_DATA. */
export const GRANULE_METADATA_NAME = 'MTD_TL.xml';

// ESA's Special_Values when a product states none: 0 outside the swath, 65535 saturated.
const DEFAULT_NODATA = 0;
const DEFAULT_SATURATED = 65535;

const PRODUCT_ROOTS: Readonly<Record<string, 'L1C' | 'L2A'>> = { 'Level-1C_User_Product': 'L1C', 'Level-2A_User_Product': 'L2A' };

// A compact-layout band file: GRANULE/<granule>/IMG_DATA/[R10m/]<tile>_<sensing>_B02[_10m] (no extension).
const COMPACT_IMAGE_FILE = /^GRANULE\/([^/]+)\/IMG_DATA\/(?:R(10|20|60)m\/)?([^/]+)$/;
const IMAGE_BAND = /_(B\d{2}|B8A)(?:_(10|20|60)m)?$/i;
// What a path segment of the product may contain: ESA names are [A-Z0-9_.-]; nothing to escape or climb.
const SAFE_SEGMENT = /^[A-Za-z0-9_.-]+$/;

/** A band file the product lists, by MSI band. */
interface ListedFile {
  msi: Sentinel2Band;
  /** As listed (IMAGE_FILE), without extension. */
  imageFile: string;
  granule: string;
  resolutionM: number;
}

interface ProductLayout {
  level: 'L1C' | 'L2A';
  id: string;
  granule: string;
  files: ListedFile[];
  extension: string;
}

/**
 * The scene a SAFE product XML describes: the model's bands in the card's order, each the product's
 * finest file of that band (B02 at 10 m, B11 at 20 m; the band stack upsamples the coarser ones),
 * reflectance = (DN + ADD_OFFSET) / QUANTIFICATION per band, both as the product XML states them,
 * NODATA and SATURATED as no data. Needs `granuleMetadata` (see granuleMetadataOf). SCENE_INVALID
 * for a legacy multi-granule layout, UNSUPPORTED_FORMAT for XML that is no L1C/L2A product,
 * BANDS_MISSING when the product lists no file for a card band.
 */
export function describeSafeProduct(args: DescribeSceneArgs): SceneDescription {
  const label = formatLocation(args.location);
  const root = parseSafeXml(args.bytes, label);
  const layout = productLayout(root, label, args.location);

  const chosen = args.cardBands.map((cardBand) => ({ cardBand, file: pickFile(cardBand, layout.files) }));
  const missing = chosen.filter((c) => c.file === null).map((c) => c.cardBand);
  if (missing.length > 0) {
    const offered = [...new Map(layout.files.map((f) => [f.msi.band, f.msi])).values()].sort((a, b) => a.bandId - b.bandId);
    const wanted = missing.map((m) => `${m} (${msiBandsFor(m).join(' or ') || 'no MSI band'})`);
    throw new CloudsegError(
      'BANDS_MISSING',
      `Sentinel-2 product ${layout.id} lists no file for ${wanted.join(', ')} in Product_Organisation; it lists ${offered.map((b) => `${b.band} (${b.commonName})`).join(', ') || 'no band files'}`,
      { details: { missing, offered: offered.map((b) => b.commonName) } },
    );
  }
  const picked = chosen.map((c) => ({ cardBand: c.cardBand, file: c.file! }));

  const characteristics = descendantNamed(root, 'Product_Image_Characteristics');
  if (!characteristics) throw invalid(`${label} has no Product_Image_Characteristics (where the reflectance quantification is)`, 'Product_Image_Characteristics');
  const baselineText = descendantNamed(root, 'PROCESSING_BASELINE')?.text ?? '';
  const baseline = parseProcessingBaseline(baselineText);
  if (baseline === null) {
    throw invalid(`${label}: PROCESSING_BASELINE "${baselineText}" is missing or not like "05.10" (it decides whether the bands carry an add offset)`, 'PROCESSING_BASELINE');
  }
  const quantification = quantificationOf(characteristics, layout.level, label);
  const offsets = addOffsetsOf(characteristics, layout.level, root, label);
  const offsetField = layout.level === 'L1C' ? 'RADIO_ADD_OFFSET' : 'BOA_ADD_OFFSET';
  const scaling = picked.map(({ file }) => {
    const stated = offsets.get(file.msi.bandId);
    if (stated === undefined && sentinel2BaselineHasOffset(baseline)) {
      // From 04.00 on every band is stored shifted by its offset; guessing it would be a silent 0.1 error.
      throw invalid(`${label}: processing baseline ${baselineText} products state ${offsetField} per band, and this one states none for ${file.msi.band} (band_id ${file.msi.bandId})`, offsetField);
    }
    return sentinel2Scaling(stated ?? 0, quantification);
  });
  const noDataValues = specialValuesOf(characteristics, label);

  const granuleLabel = formatLocation(granuleMetadataLocation(args.location, layout.granule));
  if (!args.granuleMetadata) {
    // A member of the product that is not there (yet: a folder copy lands in any order), like a band.
    throw new CloudsegError('BANDS_MISSING', `${label}: the granule metadata ${granuleLabel} could not be read (the sun angles and the tile's geocoding are there); upload the whole .SAFE folder`, {
      details: { missing: [{ band: 'granule metadata', href: GRANULE_METADATA_NAME, object: granuleLabel }] },
    });
  }
  const granule = parseGranuleMetadata(args.granuleMetadata, granuleLabel);

  const bands: SceneBand[] = picked.map(({ cardBand, file }, i) => {
    const href = `${file.imageFile}${layout.extension}`;
    return {
      band: cardBand,
      href,
      location: resolveMemberHref(args.location, href, `Product_Organisation IMAGE_FILE ${file.imageFile}`),
      sample: 0,
      scale: scaling[i]!.scale,
      offset: scaling[i]!.offset,
      noData: noDataValues[0]!,
      noDataValues,
    };
  });
  const reflectance: ReflectanceRecord = {
    conversion: 'linear',
    source: 'safe-product-xml',
    sunElevation: granule.sunZenithDeg === null ? null : 90 - granule.sunZenithDeg,
    processingBaseline: baselineText,
    preset: null,
    scale: bands.map((b) => b.scale),
    offset: bands.map((b) => b.offset),
  };
  return { kind: 'sentinel2-safe', id: layout.id, bands, reflectance, grid: granule.grid };
}

/**
 * Where the granule metadata (MTD_TL.xml) of the product a SAFE product XML describes lives, as
 * places to try (one); empty when the bytes are no compact SAFE product XML (describeSafeProduct
 * then says why). Never throws.
 */
export function granuleMetadataOf(args: Pick<DescribeSceneArgs, 'bytes' | 'location'>): ObjectLocation[] {
  if (!looksLikeXml(args.bytes)) return [];
  try {
    const root = parseSafeXml(args.bytes, formatLocation(args.location));
    const layout = productLayout(root, formatLocation(args.location), args.location);
    return [granuleMetadataLocation(args.location, layout.granule)];
  } catch {
    return [];
  }
}

/** The descriptor among the names at the top of a `.SAFE` folder (the CLI given the folder), or null. */
export function safeDescriptorIn(names: readonly string[]): string | null {
  for (const descriptor of SAFE_DESCRIPTOR_NAMES) {
    const hit = names.find((n) => n.toLowerCase() === descriptor.toLowerCase());
    if (hit) return hit;
  }
  return null;
}

/** Whether a path names a SAFE product folder (`S2A_MSIL1C_....SAFE`, with or without a trailing slash). */
export function isSafeFolderName(path: string): boolean {
  return /\.SAFE\/?$/i.test(path);
}

// The first character that is not a BOM or white space is '<' (a JSON or ODL descriptor is not XML).
function looksLikeXml(bytes: Uint8Array): boolean {
  let i = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  return bytes[i] === 0x3c;
}

function granuleMetadataLocation(descriptor: ObjectLocation, granule: string): ObjectLocation {
  return resolveMemberHref(descriptor, `GRANULE/${granule}/${GRANULE_METADATA_NAME}`, 'Product_Organisation granule');
}

// The product's level, id, its one granule and the band files it lists; the legacy layouts refused.
function productLayout(root: XmlElement, label: string, location: ObjectLocation): ProductLayout {
  const level = Object.hasOwn(PRODUCT_ROOTS, root.name) ? PRODUCT_ROOTS[root.name]! : null;
  if (level === null) throw unsupported(label, whatXmlIs(root));
  const organisation = descendantNamed(root, 'Product_Organisation');
  if (!organisation) throw invalid(`${label} has no Product_Organisation (the list of the product's band files)`, 'Product_Organisation');

  // PSD 13 and older (baselines before 02.06, up to late 2016): one product, many granules, each in
  // its own long-named folder listed as <Granules> with IMAGE_ID; cloudseg reads the compact layout.
  const legacy = descendantsNamed(organisation, 'Granules');
  const granules = descendantsNamed(organisation, 'Granule');
  if (legacy.length > 0 || descendantNamed(organisation, 'IMAGE_ID') !== null || granules.length > 1) {
    const count = legacy.length + granules.length;
    throw new CloudsegError(
      'SCENE_INVALID',
      `${label} is a legacy multi-granule SAFE layout (PSD 13 or older, processing baseline before 02.06, ${count} granule${count === 1 ? '' : 's'}); cloudseg reads the compact SAFE layout (one granule per product, PSD 14+): download the tile's compact product instead`,
      { details: { field: 'Product_Organisation', layout: 'legacy-multi-granule', granules: count } },
    );
  }
  if (granules.length === 0) throw invalid(`${label}: Product_Organisation lists no Granule`, 'Product_Organisation/Granule_List/Granule');
  const granuleElement = granules[0]!;

  const format = (granuleElement.attributes.imageFormat ?? 'JPEG2000').trim().toUpperCase();
  const extension = format === 'JPEG2000' ? '.jp2' : format === 'GEOTIFF' || format === 'TIFF' ? '.tif' : null;
  if (extension === null) throw invalid(`${label}: Granule imageFormat "${granuleElement.attributes.imageFormat}" is neither JPEG2000 nor GeoTIFF`, 'Granule/@imageFormat');

  const files: ListedFile[] = [];
  const granuleNames = new Set<string>();
  for (const element of childrenNamed(granuleElement, 'IMAGE_FILE')) {
    // Some archives list the file with its extension; the product's own listing has none.
    const imageFile = element.text.replace(/\.(jp2|tiff?)$/i, '');
    const m = COMPACT_IMAGE_FILE.exec(imageFile);
    if (!m) {
      throw new CloudsegError(
        'SCENE_INVALID',
        `${label}: IMAGE_FILE "${element.text}" is not in the compact SAFE layout (GRANULE/<granule>/IMG_DATA/...); legacy layouts are not read`,
        { details: { field: 'IMAGE_FILE', layout: 'not-compact', imageFile: element.text } },
      );
    }
    const granule = m[1]!;
    if (!imageFile.split('/').every((segment) => SAFE_SEGMENT.test(segment) && segment !== '.' && segment !== '..')) {
      throw invalid(`${label}: IMAGE_FILE "${element.text}" is not a plain path inside the product`, 'IMAGE_FILE');
    }
    granuleNames.add(granule);
    const band = IMAGE_BAND.exec(m[3]!);
    if (!band) continue; // TCI, AOT, WVP, SCL: no reflectance band
    const msi = sentinel2Band(band[1]!);
    if (!msi) continue;
    const resolutionM = Number(band[2] ?? m[2] ?? msi.resolutionM);
    files.push({ msi, imageFile, granule, resolutionM });
  }
  if (granuleNames.size > 1) {
    throw invalid(`${label}: the IMAGE_FILEs of its one Granule lie in ${granuleNames.size} granule folders (${[...granuleNames].join(', ')})`, 'IMAGE_FILE');
  }
  const granule = [...granuleNames][0];
  if (granule === undefined) throw invalid(`${label}: its Granule lists no IMAGE_FILE`, 'IMAGE_FILE');
  return { level, id: productId(root, location, granuleElement, label), granule, files, extension };
}

// The card band's MSI file: the first acceptable common name the product lists, at its finest resolution.
function pickFile(cardBand: string, files: readonly ListedFile[]): ListedFile | null {
  for (const commonName of commonNamesFor(cardBand)) {
    const hits = files.filter((f) => f.msi.commonName === commonName);
    if (hits.length > 0) return hits.reduce((best, f) => (f.resolutionM < best.resolutionM ? f : best));
  }
  return null;
}

function msiBandsFor(cardBand: string): string[] {
  const names = commonNamesFor(cardBand);
  return sentinel2Bands()
    .filter((b) => names.includes(b.commonName))
    .map((b) => b.band);
}

// L1C: QUANTIFICATION_VALUE; L2A: BOA_QUANTIFICATION_VALUE (L2A_BOA_QUANTIFICATION_VALUE before PSD 14).
function quantificationOf(characteristics: XmlElement, level: 'L1C' | 'L2A', label: string): number {
  const names = level === 'L1C' ? ['QUANTIFICATION_VALUE'] : ['BOA_QUANTIFICATION_VALUE', 'L2A_BOA_QUANTIFICATION_VALUE'];
  for (const name of names) {
    const element = descendantNamed(characteristics, name);
    if (!element) continue;
    const value = Number(element.text);
    if (element.text === '' || !Number.isFinite(value) || value <= 0) throw invalid(`${label}: ${name} is "${element.text}", not a positive number`, name);
    return value;
  }
  throw invalid(`${label} states no ${names[0]} (Product_Image_Characteristics): the reflectance quantification`, names[0]!);
}

// bandId -> add offset: RADIO_ADD_OFFSET (L1C) / BOA_ADD_OFFSET (L2A), keyed by band_id in ESA's
// numbering (B01 0 .. B8A 8 .. B12 12), which the product's Spectral_Information must agree with.
function addOffsetsOf(characteristics: XmlElement, level: 'L1C' | 'L2A', root: XmlElement, label: string): Map<number, number> {
  const name = level === 'L1C' ? 'RADIO_ADD_OFFSET' : 'BOA_ADD_OFFSET';
  checkBandIds(root, label);
  const offsets = new Map<number, number>();
  for (const element of descendantsNamed(characteristics, name)) {
    const rawId = element.attributes.band_id ?? element.attributes.bandId;
    const id = Number(rawId);
    if (rawId === undefined || !Number.isInteger(id) || id < 0) throw invalid(`${label}: a ${name} has band_id "${rawId ?? ''}", not a band index`, name);
    const value = Number(element.text);
    if (element.text === '' || !Number.isFinite(value)) throw invalid(`${label}: ${name} band_id ${id} is "${element.text}", not a number`, name);
    offsets.set(id, value);
  }
  return offsets;
}

// A product numbering its bands otherwise would get another band's offset: refused, not guessed.
function checkBandIds(root: XmlElement, label: string): void {
  for (const info of descendantsNamed(root, 'Spectral_Information')) {
    const id = Number(info.attributes.bandId);
    const msi = sentinel2Band(info.attributes.physicalBand ?? '');
    if (!Number.isInteger(id) || msi === null) continue;
    if (msi.bandId !== id) throw invalid(`${label}: Spectral_Information bandId ${id} is ${info.attributes.physicalBand}, which ESA numbers ${msi.bandId}`, 'Spectral_Information');
  }
}

// NODATA first (SceneBand.noData), then SATURATED: both mean "no reflectance here".
function specialValuesOf(characteristics: XmlElement, label: string): number[] {
  const stated = new Map<string, number>();
  for (const special of descendantsNamed(characteristics, 'Special_Values')) {
    const what = (childNamed(special, 'SPECIAL_VALUE_TEXT')?.text ?? '').toUpperCase();
    const raw = childNamed(special, 'SPECIAL_VALUE_INDEX')?.text ?? '';
    const value = Number(raw);
    if (raw === '' || !Number.isInteger(value)) throw invalid(`${label}: Special_Values ${what || '(unnamed)'} has SPECIAL_VALUE_INDEX "${raw}", not a whole number`, 'Special_Values');
    stated.set(what, value);
  }
  const values = [stated.get('NODATA') ?? DEFAULT_NODATA, stated.get('SATURATED') ?? DEFAULT_SATURATED];
  return [...new Set(values)];
}

// PRODUCT_URI without ".SAFE"; else the .SAFE folder's name; else the granule identifier.
function productId(root: XmlElement, location: ObjectLocation, granule: XmlElement, label: string): string {
  const uri = (descendantNamed(root, 'PRODUCT_URI')?.text ?? '').replace(/\.SAFE$/i, '');
  if (uri !== '') return uri;
  const path = location.kind === 'gcs' ? location.name : location.path;
  const folder = /([^/]+)\.SAFE\/[^/]+$/i.exec(path)?.[1];
  if (folder) return folder;
  const granuleId = granule.attributes.granuleIdentifier?.trim();
  if (granuleId) return granuleId;
  throw invalid(`${label} names its product nowhere (no PRODUCT_URI, no .SAFE folder, no granuleIdentifier)`, 'PRODUCT_URI');
}

function whatXmlIs(root: XmlElement): string {
  if (root.name === 'Level-1C_Tile_ID' || root.name === 'Level-2A_Tile_ID') {
    return `a SAFE granule's ${GRANULE_METADATA_NAME}; the scene's descriptor is the product's ${SAFE_DESCRIPTOR_NAMES.join(' or ')} at the top of the .SAFE folder`;
  }
  if (/^Level-1B/.test(root.name)) return 'a Sentinel-2 Level-1B product; cloudseg reads Level-1C and Level-2A';
  if (root.name === 'LANDSAT_METADATA_FILE') return 'a Landsat MTL.xml; give cloudseg the product\'s _MTL.json or _MTL.txt';
  return `XML whose root is <${root.name}>, not a Sentinel-2 Level-1C or Level-2A product (Level-1C_User_Product, Level-2A_User_Product)`;
}

function unsupported(label: string, what: string): CloudsegError {
  return new CloudsegError('UNSUPPORTED_FORMAT', `not a scene descriptor: ${label} is ${what}`);
}

function invalid(message: string, field: string): CloudsegError {
  return new CloudsegError('SCENE_INVALID', message, { details: { field } });
}
