// A scene described by a STAC Item: band assets found by common name (eo:bands or STAC 1.1
// `bands`), reflectance from raster:bands scale/offset, the Sentinel-2 processing baseline, or,
// when the item says nothing, the model card's preset.
import { CloudsegError } from '../errors.js';
import { commonNamesFor } from './band-names.js';
import {
  landsatToaScaling,
  parseProcessingBaseline,
  sentinel2AddOffset,
  sentinel2Scaling,
  type LinearScaling,
} from './reflectance.js';
import { describeLandsatMtl, looksLikeOdlMtl, MTL_ROOT, parseOdlMtl, type MtlGroup } from './landsat-mtl.js';
import { formatLocation, resolveMemberHref } from './scene-members.js';
import type { DescribeSceneArgs, ObjectLocation, ReflectanceRecord, SceneBand, SceneDescription } from './types.js';

type Json = Record<string, unknown>;

/** One band of one asset, as the item states it. */
interface AssetBand {
  assetKey: string;
  /** Index of the band within the asset's samples. */
  sample: number;
  commonName: string | null;
  /** The field path of the band's metadata, for messages (assets.B02.raster:bands[0]). */
  field: string;
  /**
   * Its scale, offset, nodata and unit, read (and checked) only for the bands the model uses: a
   * quirk in a QA or angle asset the model never reads is no reason to refuse the scene.
   */
  metadata: () => BandMetadata;
}

interface BandMetadata {
  scale: number | undefined;
  offset: number | undefined;
  noData: number | null | undefined;
  unit: string | undefined;
}

// Roles of assets that are no band data: previews, true-colour composites (TCI), metadata files.
const IGNORED_ROLES = new Set(['thumbnail', 'overview', 'visual', 'metadata']);
const DATA_ROLES = new Set(['data', 'reflectance']);

/** Whether parsed JSON is a STAC Item (or meant to be one: a Feature with stac_version or assets). */
export function looksLikeStacItem(doc: unknown): doc is Json {
  if (!isObject(doc) || doc.type !== 'Feature') return false;
  return doc.stac_version !== undefined || doc.assets !== undefined;
}

/** The scene a STAC Item describes: the model's bands in the card's order with their reflectance. */
export function describeStacItem(item: Json, args: DescribeSceneArgs): SceneDescription {
  if (typeof item.stac_version !== 'string' || item.stac_version.trim() === '') {
    throw invalid('STAC item has no stac_version (a Feature with assets but no stac_version is no STAC Item)', 'stac_version');
  }
  if (typeof item.id !== 'string' || item.id.trim() === '') throw invalid('STAC item has no id (a non-empty string)', 'id');
  const id = item.id;
  if (!isObject(item.properties)) throw invalid(`STAC item ${id}: properties is missing or not an object`, 'properties');
  if (!isObject(item.assets)) throw invalid(`STAC item ${id}: assets is missing or not an object`, 'assets');
  const properties = item.properties;
  const assets = item.assets;

  const candidates: AssetBand[] = [];
  for (const [key, asset] of Object.entries(assets)) {
    if (!isObject(asset)) throw invalid(`STAC item ${id}: assets.${key} is not an object`, `assets.${key}`);
    const roles = stringList(asset.roles);
    if (roles.some((r) => IGNORED_ROLES.has(r))) continue;
    candidates.push(...assetBands(key, asset));
  }

  const chosen = args.cardBands.map((cardBand) => ({ cardBand, band: pickBand(cardBand, candidates, assets) }));
  const missing = chosen.filter((c) => c.band === null).map((c) => c.cardBand);
  if (missing.length > 0) {
    const offered = [...new Set(candidates.map((c) => c.commonName).filter((n): n is string => n !== null))];
    const offers = offered.length > 0 ? `it offers ${offered.join(', ')}` : 'it names no band by eo:common_name / common_name';
    throw new CloudsegError('BANDS_MISSING', `STAC item ${id} has no asset for ${missing.join(', ')}; ${offers}`, {
      details: { missing, offered },
    });
  }
  const picked = chosen.map((c) => ({ cardBand: c.cardBand, band: c.band!, meta: c.band!.metadata() }));

  const { perBand, record } = reflectanceOf(id, properties, picked, args, () => mtlAssetsOf(item, args));
  const bands: SceneBand[] = picked.map(({ cardBand, band, meta }, i) => {
    const asset = assets[band.assetKey] as Json;
    const field = `assets.${band.assetKey}.href`;
    if (typeof asset.href !== 'string') throw invalid(`STAC item ${id}: ${field} is missing or not a string`, field);
    return {
      band: cardBand,
      href: asset.href,
      location: resolveMemberHref(args.location, asset.href, field),
      sample: band.sample,
      scale: perBand[i]!.scale,
      offset: perBand[i]!.offset,
      noData: meta.noData ?? record.defaultNoData,
    };
  });
  return { kind: 'stac-item', id, bands, reflectance: record.reflectance };
}

/**
 * Bands of one asset. STAC 1.0: eo:bands (common_name) with raster:bands at the same index
 * (scale, offset, nodata, unit). STAC 1.1: `bands` whose entries carry eo:common_name, nodata,
 * raster:scale, raster:offset, unit, any of which may sit on the asset itself for all its bands.
 */
function assetBands(key: string, asset: Json): AssetBand[] {
  const prefix = `assets.${key}`;
  if (asset.bands !== undefined) {
    if (!Array.isArray(asset.bands)) throw invalid(`${prefix}.bands is not an array`, `${prefix}.bands`);
    return asset.bands.map((band: unknown, i) => {
      const field = `${prefix}.bands[${i}]`;
      if (!isObject(band)) throw invalid(`${field} is not an object`, field);
      return {
        assetKey: key,
        sample: i,
        commonName: commonName(band['eo:common_name'] ?? asset['eo:common_name']),
        field,
        metadata: () => ({
          scale: optionalNumber(band['raster:scale'] ?? asset['raster:scale'], `${field}.raster:scale`),
          offset: optionalNumber(band['raster:offset'] ?? asset['raster:offset'], `${field}.raster:offset`),
          noData: optionalNoData(band.nodata !== undefined ? band.nodata : asset.nodata, `${field}.nodata`),
          unit: optionalString(band.unit ?? asset.unit, `${field}.unit`) ?? undefined,
        }),
      };
    });
  }
  if (asset['eo:bands'] === undefined) {
    // STAC 1.1 lets a single-band asset carry its band's fields itself, without a `bands` array.
    if (asset['eo:common_name'] === undefined) return [];
    return [
      {
        assetKey: key,
        sample: 0,
        commonName: commonName(asset['eo:common_name']),
        field: prefix,
        metadata: () => ({
          scale: optionalNumber(asset['raster:scale'], `${prefix}.raster:scale`),
          offset: optionalNumber(asset['raster:offset'], `${prefix}.raster:offset`),
          noData: optionalNoData(asset.nodata, `${prefix}.nodata`),
          unit: optionalString(asset.unit, `${prefix}.unit`) ?? undefined,
        }),
      },
    ];
  }
  const eoBands = asset['eo:bands'];
  if (!Array.isArray(eoBands)) throw invalid(`${prefix}.eo:bands is not an array`, `${prefix}.eo:bands`);
  const rasterBands = asset['raster:bands'];
  if (rasterBands !== undefined && !Array.isArray(rasterBands)) throw invalid(`${prefix}.raster:bands is not an array`, `${prefix}.raster:bands`);
  return eoBands.map((band: unknown, i) => {
    const field = `${prefix}.eo:bands[${i}]`;
    if (!isObject(band)) throw invalid(`${field} is not an object`, field);
    const rasterField = `${prefix}.raster:bands[${i}]`;
    return {
      assetKey: key,
      sample: i,
      commonName: commonName(band.common_name),
      field: rasterField,
      metadata: () => {
        const raster: unknown = rasterBands?.[i];
        if (raster !== undefined && !isObject(raster)) throw invalid(`${rasterField} is not an object`, rasterField);
        return {
          scale: optionalNumber(raster?.scale, `${rasterField}.scale`),
          offset: optionalNumber(raster?.offset, `${rasterField}.offset`),
          noData: optionalNoData(raster?.nodata, `${rasterField}.nodata`),
          unit: optionalString(raster?.unit, `${rasterField}.unit`) ?? undefined,
        };
      },
    };
  });
}

/**
 * The asset band for a card band: the first acceptable common name that any asset offers, and
 * among those the best asset — a data/reflectance role, a GeoTIFF (cloudseg reads TIFF, not the
 * JPEG 2000 twins Earth Search lists beside its COGs), a single-band file, declaration order.
 */
function pickBand(cardBand: string, candidates: AssetBand[], assets: Json): AssetBand | null {
  for (const commonName of commonNamesFor(cardBand)) {
    const hits = candidates.filter((c) => c.commonName === commonName);
    if (hits.length === 0) continue;
    const rank = (c: AssetBand): number => {
      const asset = assets[c.assetKey] as Json;
      const roles = stringList(asset.roles);
      const type = typeof asset.type === 'string' ? asset.type.toLowerCase() : '';
      const href = typeof asset.href === 'string' ? asset.href.toLowerCase().replace(/[?#].*$/, '') : '';
      const tiff = type.includes('tiff') || /\.tiff?$/.test(href);
      const bandCount = candidates.filter((o) => o.assetKey === c.assetKey).length;
      return (roles.some((r) => DATA_ROLES.has(r)) ? 4 : 0) + (tiff ? 2 : 0) + (bandCount === 1 ? 1 : 0);
    };
    let best = hits[0]!;
    for (const hit of hits) if (rank(hit) > rank(best)) best = hit;
    return best;
  }
  return null;
}

interface ReflectanceOutcome {
  perBand: LinearScaling[];
  record: { reflectance: ReflectanceRecord; defaultNoData: number | null };
}

function reflectanceOf(
  id: string,
  properties: Json,
  picked: Array<{ cardBand: string; band: AssetBand; meta: BandMetadata }>,
  args: DescribeSceneArgs,
  mtlAssets: () => ObjectLocation[],
): ReflectanceOutcome {
  const { presets, defaultPreset } = args;
  const baselineField = properties['s2:processing_baseline'] !== undefined ? 's2:processing_baseline' : 'sentinel:processing_baseline';
  const baselineText = optionalBaselineText(properties[baselineField], `properties.${baselineField}`);
  const baseline = baselineText === null ? null : parseProcessingBaseline(baselineText);
  if (baselineText !== null && baseline === null) {
    throw invalid(`STAC item ${id}: properties.${baselineField} "${baselineText}" is not a processing baseline like "04.00"`, `properties.${baselineField}`);
  }
  // Earth Search (v1 sentinel-2-l2a) subtracts BOA_ADD_OFFSET inside its COGs for newer scenes and
  // says so with this flag, while raster:bands may still state offset -0.1; its maintainers name
  // the flag the truth (Element84/earth-search#9), so a stated offset is not applied twice.
  const offsetField = properties['earthsearch:boa_offset_applied'] !== undefined ? 'earthsearch:boa_offset_applied' : 'sentinel:boa_offset_applied';
  const offsetApplied = properties[offsetField];
  if (offsetApplied !== undefined && typeof offsetApplied !== 'boolean') {
    throw invalid(`STAC item ${id}: properties.${offsetField} is not true or false`, `properties.${offsetField}`);
  }

  const stated = picked.filter(({ meta }) => meta.scale !== undefined || meta.offset !== undefined);
  const base = { sunElevation: null, processingBaseline: baselineText, preset: null };
  // Both missions write 0 outside the imaged swath; an item that states no nodata still means it.
  const productFill = isLandsat(id, properties) || baseline !== null ? 0 : null;
  if (stated.length > 0) {
    if (stated.length < picked.length) {
      const without = picked.filter((p) => !stated.includes(p)).map((p) => `${p.cardBand} (${p.band.field})`);
      throw invalid(`STAC item ${id}: raster scale/offset is given for ${stated.map((s) => s.cardBand).join(', ')} but not for ${without.join(', ')}`, without[0]!);
    }
    for (const { band, meta } of picked) {
      // USGS Level-1 radiance scaling (W/(m2 sr um)) is no reflectance: it needs the solar irradiance too.
      if (meta.unit !== undefined && /watt|w\/|radiance/i.test(meta.unit)) {
        throw invalid(`STAC item ${id}: ${band.field} converts to radiance (unit "${meta.unit}"), not reflectance; give cloudseg the product's MTL instead`, `${band.field}.unit`);
      }
      if (meta.scale === 0) throw invalid(`STAC item ${id}: ${band.field} scale is 0`, `${band.field}.scale`);
    }
    const statedScaling = picked.map(({ meta }) => ({ scale: meta.scale ?? 1, offset: meta.offset ?? 0 }));
    if (isLandsatLevel1(id, properties)) {
      const elevation = sunElevationOf(id, properties);
      const perBand = statedScaling.map((s) => landsatToaScaling(s.scale, s.offset, elevation));
      return outcome(perBand, { conversion: 'landsat-l1-toa', source: 'stac-raster-bands', ...base, sunElevation: elevation }, productFill);
    }
    const perBand = offsetApplied === true ? statedScaling.map((s) => ({ scale: s.scale, offset: 0 })) : statedScaling;
    return outcome(perBand, { conversion: 'linear', source: 'stac-raster-bands', ...base }, productFill);
  }
  if (isLandsatLevel1(id, properties)) {
    // USGS's own Level-1 items state no scaling: MULT/ADD and the sun elevation live in the MTL.
    // A preset (no sun term) would darken the scene by sin(elevation), so it is never guessed.
    const mtl = mtlAssets();
    if (mtl.length === 0 || !args.companionMtl) {
      const where = mtl.length > 0 ? `its MTL asset (${mtl.map(formatLocation).join(' or ')}) could not be read` : 'it names no MTL asset';
      throw invalid(`STAC item ${id} is Landsat Level-1 without raster:bands scale/offset, and ${where}: upload the product's _MTL.json beside the item`, 'assets');
    }
    // Only the MTL's numbers are used; the bands are the item's assets.
    const fromMtl = describeLandsatMtl(parseMtl(args.companionMtl, id), { ...args, location: mtl[0]! });
    const byBand = new Map(fromMtl.bands.map((b) => [b.band, b]));
    const perBand = picked.map(({ cardBand }) => ({ scale: byBand.get(cardBand)!.scale, offset: byBand.get(cardBand)!.offset }));
    return outcome(perBand, { conversion: fromMtl.reflectance.conversion, source: 'mtl', ...base, sunElevation: fromMtl.reflectance.sunElevation }, productFill);
  }
  if (baseline !== null) {
    // ESA's own numbers: DN / 10000 before baseline 04.00, (DN - 1000) / 10000 from it on.
    const scaling = sentinel2Scaling(offsetApplied === true ? 0 : sentinel2AddOffset(baseline));
    return outcome(picked.map(() => scaling), { conversion: 'linear', source: 'stac-processing-baseline', ...base }, productFill);
  }
  const preset = Object.hasOwn(presets, defaultPreset) ? presets[defaultPreset] : undefined;
  if (!preset) {
    throw new CloudsegError('INVALID_SCALING', `STAC item ${id} states no scaling and the model card's default preset "${defaultPreset}" is unknown`, {
      details: { preset: defaultPreset },
    });
  }
  return outcome(picked.map(() => ({ scale: preset.scale, offset: preset.offset })), { conversion: 'preset', source: 'preset', ...base, preset: defaultPreset }, productFill);
}

function outcome(
  perBand: LinearScaling[],
  record: Omit<ReflectanceRecord, 'scale' | 'offset'>,
  defaultNoData: number | null,
): ReflectanceOutcome {
  return {
    perBand,
    record: { reflectance: { ...record, scale: perBand.map((s) => s.scale), offset: perBand.map((s) => s.offset) }, defaultNoData },
  };
}

/**
 * Where a Landsat Level-1 item's MTL may be, best first (the assets whose file is *_MTL.json, then
 * *_MTL.txt); none when the item is no Landsat Level-1 item or names no MTL: what to read (the
 * first that exists) before describeScene.
 */
export function mtlAssetsOf(item: Json, args: Pick<DescribeSceneArgs, 'location'>): ObjectLocation[] {
  if (typeof item.id !== 'string' || !isObject(item.properties) || !isObject(item.assets)) return [];
  if (!isLandsatLevel1(item.id, item.properties)) return [];
  const hrefs = Object.entries(item.assets)
    .map(([key, asset]) => ({ key, href: isObject(asset) && typeof asset.href === 'string' ? asset.href : null }))
    .filter((a): a is { key: string; href: string } => a.href !== null);
  const named = (suffix: string) => hrefs.filter((a) => a.href.replace(/[?#].*$/, '').toLowerCase().endsWith(suffix));
  const locations: ObjectLocation[] = [];
  for (const { key, href } of [...named('_mtl.json'), ...named('_mtl.txt')]) {
    try {
      locations.push(resolveMemberHref(args.location, href, `assets.${key}.href`));
    } catch {
      // An href the band rules refuse is no place to look for the MTL either.
    }
  }
  return locations;
}

function parseMtl(bytes: Uint8Array, id: string): MtlGroup {
  const text = new TextDecoder().decode(bytes);
  if (looksLikeOdlMtl(text)) return parseOdlMtl(text);
  try {
    const doc: unknown = JSON.parse(text);
    if (isObject(doc) && MTL_ROOT in doc) return doc as MtlGroup;
  } catch {
    // reported below
  }
  throw invalid(`STAC item ${id}: its MTL asset is neither an MTL.json nor an MTL text`, 'assets');
}

/** A Landsat product by its landsat extension fields or its product id (LC09_L1TP_...). */
function isLandsat(id: string, properties: Json): boolean {
  return typeof properties['landsat:correction'] === 'string' || /^L[COTEM]0\d_L[12]/i.test(id);
}

/** Landsat Level-1 by the landsat extension's correction level (L1TP, L1GT, L1GS) or the product id. */
function isLandsatLevel1(id: string, properties: Json): boolean {
  const correction = properties['landsat:correction'];
  if (typeof correction === 'string') return /^L1/i.test(correction.trim());
  return /^L[COTEM]0\d_L1/i.test(id);
}

function sunElevationOf(id: string, properties: Json): number {
  const field = properties['view:sun_elevation'] !== undefined ? 'view:sun_elevation' : 'eo:sun_elevation';
  const value = properties[field];
  if (value === undefined) {
    throw invalid(
      `STAC item ${id} is Landsat Level-1 with raster:bands scale/offset but no properties.view:sun_elevation: the reflectance needs the sun term`,
      'properties.view:sun_elevation',
    );
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(`STAC item ${id}: properties.${field} is not a number`, `properties.${field}`);
  if (value <= 0 || value > 90) throw invalid(`STAC item ${id}: properties.${field} is ${value}, the sun is not above the horizon`, `properties.${field}`);
  return value;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase()) : [];
}

// A common name that is no string names nothing the model could use; the band is just not offered.
function commonName(v: unknown): string | null {
  return typeof v === 'string' && v.trim() !== '' ? v.trim().toLowerCase() : null;
}

function optionalString(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw invalid(`${field} is not a string`, field);
  return v.trim().toLowerCase();
}

function optionalNumber(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${field} is ${JSON.stringify(v)}, not a number`, field);
  return v;
}

// raster:bands nodata is a number or one of "nan", "inf", "-inf" (raster extension).
function optionalNoData(v: unknown, field: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (v === 'nan') return Number.NaN;
  if (v === 'inf') return Number.POSITIVE_INFINITY;
  if (v === '-inf') return Number.NEGATIVE_INFINITY;
  throw invalid(`${field} is ${JSON.stringify(v)}, not a number, "nan", "inf" or "-inf"`, field);
}

function optionalBaselineText(v: unknown, field: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number' && Number.isFinite(v)) return v.toFixed(2).padStart(5, '0');
  if (typeof v !== 'string') throw invalid(`${field} is not a string`, field);
  return v.trim();
}

function invalid(message: string, field: string): CloudsegError {
  return new CloudsegError('SCENE_INVALID', message, { details: { field } });
}
