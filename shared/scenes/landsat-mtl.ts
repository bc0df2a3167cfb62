// A Landsat Collection 2 product described by its MTL (the JSON form or the ODL text form): the
// band files named in PRODUCT_CONTENTS beside it, reflectance from its own rescaling groups.
import { CloudsegError } from '../errors.js';
import { commonNamesFor, landsatBands, landsatSensor } from './band-names.js';
import { landsatToaScaling, type LinearScaling } from './reflectance.js';
import { memberBeside } from './scene-members.js';
import type { DescribeSceneArgs, ReflectanceRecord, SceneBand, SceneDescription } from './types.js';

/** The MTL as nested groups of KEY -> value text, the same shape for the JSON and ODL forms. */
export interface MtlGroup {
  [key: string]: string | number | MtlGroup;
}

export const MTL_ROOT = 'LANDSAT_METADATA_FILE';

// Landsat fill: band pixels outside the imaged swath are 0 (QA_PIXEL bit 0 "Fill").
const LANDSAT_FILL = 0;

/** Whether text is the ODL form of an MTL (`GROUP = LANDSAT_METADATA_FILE` first). */
export function looksLikeOdlMtl(text: string): boolean {
  return /^\s*GROUP\s*=\s*"?LANDSAT_METADATA_FILE"?\s*$/m.test(text.slice(0, 4096)) && /^\s*GROUP\s*=/.test(text);
}

/**
 * Parses the ODL text form: `GROUP = X` ... `END_GROUP = X` nesting, `KEY = value` with quoted
 * or bare values, a final `END`. Every value is kept as text, as in the JSON form.
 */
export function parseOdlMtl(text: string): MtlGroup {
  const root: MtlGroup = {};
  const stack: Array<{ name: string; group: MtlGroup }> = [{ name: '', group: root }];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    if (line === 'END') break;
    const eq = line.indexOf('=');
    if (eq < 0) throw odlError(i, `"${line.slice(0, 60)}" is not KEY = value`);
    const key = line.slice(0, eq).trim();
    const value = unquote(line.slice(eq + 1).trim());
    const top = stack[stack.length - 1]!;
    if (key === 'GROUP') {
      const group: MtlGroup = {};
      top.group[value] = group;
      stack.push({ name: value, group });
    } else if (key === 'END_GROUP') {
      if (stack.length === 1 || top.name !== value) throw odlError(i, `END_GROUP = ${value} does not close GROUP = ${top.name || '(none)'}`);
      stack.pop();
    } else if (/^[A-Z0-9_]+$/i.test(key)) {
      top.group[key] = value;
    } else {
      throw odlError(i, `"${key}" is not a field name`);
    }
  }
  if (stack.length > 1) throw new CloudsegError('SCENE_INVALID', `MTL text ends inside GROUP = ${stack[stack.length - 1]!.name} (no END_GROUP)`);
  return root;
}

/** The scene an MTL describes: the model's bands in the card's order with their reflectance. */
export function describeLandsatMtl(root: MtlGroup, args: DescribeSceneArgs): SceneDescription {
  const meta = group(root, MTL_ROOT, MTL_ROOT);
  const contents = group(meta, 'PRODUCT_CONTENTS', `${MTL_ROOT}.PRODUCT_CONTENTS`);
  const id = text(contents, 'LANDSAT_PRODUCT_ID', 'PRODUCT_CONTENTS');
  const level = text(contents, 'PROCESSING_LEVEL', 'PRODUCT_CONTENTS').toUpperCase();
  const attributes = group(meta, 'IMAGE_ATTRIBUTES', `${MTL_ROOT}.IMAGE_ATTRIBUTES`);
  const spacecraft = text(attributes, 'SPACECRAFT_ID', 'IMAGE_ATTRIBUTES');
  const sensorId = optionalText(attributes, 'SENSOR_ID', 'IMAGE_ATTRIBUTES') ?? '';
  const sensor = landsatSensor(spacecraft, sensorId);
  if (!sensor) {
    throw invalid(`IMAGE_ATTRIBUTES.SPACECRAFT_ID "${spacecraft}" / SENSOR_ID "${sensorId}" name no Landsat instrument cloudseg knows`, 'IMAGE_ATTRIBUTES.SENSOR_ID');
  }

  // The product's reflective bands that it actually delivers, by common name.
  const offered = landsatBands(sensor).filter((b) => contents[`FILE_NAME_BAND_${b.band}`] !== undefined);
  const chosen = args.cardBands.map((cardBand) => {
    for (const commonName of commonNamesFor(cardBand)) {
      const hit = offered.find((b) => b.commonName === commonName);
      if (hit) return { cardBand, band: hit.band };
    }
    return { cardBand, band: null };
  });
  const missing = chosen.filter((c) => c.band === null).map((c) => c.cardBand);
  if (missing.length > 0) {
    const offers = offered.map((b) => `${b.commonName} (B${b.band})`).join(', ') || 'no reflective band files';
    throw new CloudsegError('BANDS_MISSING', `Landsat product ${id} has no ${missing.join(', ')} band; it offers ${offers}`, {
      details: { missing, offered: offered.map((b) => b.commonName) },
    });
  }

  const isLevel2 = level.startsWith('L2');
  let sunElevation: number | null = null;
  let scalingOf: (band: number) => LinearScaling;
  if (isLevel2) {
    // Surface reflectance is reflectance already (scale 2.75e-5, offset -0.2): no sun term.
    const params = meta.LEVEL2_SURFACE_REFLECTANCE_PARAMETERS;
    if (params === undefined || typeof params !== 'object') {
      throw invalid(`Level-2 product ${id} (${level}) has no LEVEL2_SURFACE_REFLECTANCE_PARAMETERS group`, 'LEVEL2_SURFACE_REFLECTANCE_PARAMETERS');
    }
    scalingOf = (band) => ({
      scale: nonZero(params, `REFLECTANCE_MULT_BAND_${band}`, 'LEVEL2_SURFACE_REFLECTANCE_PARAMETERS'),
      offset: number(params, `REFLECTANCE_ADD_BAND_${band}`, 'LEVEL2_SURFACE_REFLECTANCE_PARAMETERS'),
    });
  } else {
    const rescaling = group(meta, 'LEVEL1_RADIOMETRIC_RESCALING', `${MTL_ROOT}.LEVEL1_RADIOMETRIC_RESCALING`);
    const elevation = number(attributes, 'SUN_ELEVATION', 'IMAGE_ATTRIBUTES');
    if (elevation <= 0 || elevation > 90) {
      throw invalid(`IMAGE_ATTRIBUTES.SUN_ELEVATION is ${elevation}: the sun is not above the horizon, so there is no top-of-atmosphere reflectance`, 'IMAGE_ATTRIBUTES.SUN_ELEVATION');
    }
    sunElevation = elevation;
    scalingOf = (band) =>
      landsatToaScaling(
        nonZero(rescaling, `REFLECTANCE_MULT_BAND_${band}`, 'LEVEL1_RADIOMETRIC_RESCALING'),
        number(rescaling, `REFLECTANCE_ADD_BAND_${band}`, 'LEVEL1_RADIOMETRIC_RESCALING'),
        elevation,
      );
  }

  const bands: SceneBand[] = chosen.map(({ cardBand, band }) => {
    const field = `PRODUCT_CONTENTS.FILE_NAME_BAND_${band}`;
    const fileName = text(contents, `FILE_NAME_BAND_${band}`, 'PRODUCT_CONTENTS');
    const { scale, offset } = scalingOf(band!);
    return { band: cardBand, href: fileName, location: memberBeside(args.location, fileName, field), sample: 0, scale, offset, noData: LANDSAT_FILL };
  });
  const reflectance: ReflectanceRecord = {
    conversion: isLevel2 ? 'linear' : 'landsat-l1-toa',
    source: 'mtl',
    sunElevation,
    processingBaseline: null,
    preset: null,
    scale: bands.map((b) => b.scale),
    offset: bands.map((b) => b.offset),
  };
  return { kind: 'landsat-mtl', id, bands, reflectance };
}

function group(parent: MtlGroup, key: string, path: string): MtlGroup {
  const value = parent[key];
  if (value === undefined) throw invalid(`MTL has no ${path} group`, path);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`MTL ${path} is not a group`, path);
  return value;
}

function optionalText(parent: MtlGroup, key: string, path: string): string | null {
  const value = parent[key];
  if (value === undefined) return null;
  if (typeof value === 'object') throw invalid(`MTL ${path}.${key} is a group, not a value`, `${path}.${key}`);
  return String(value).trim();
}

function text(parent: MtlGroup, key: string, path: string): string {
  const value = optionalText(parent, key, path);
  if (value === null || value === '') throw invalid(`MTL has no ${path}.${key}`, `${path}.${key}`);
  return value;
}

function number(parent: MtlGroup, key: string, path: string): number {
  const raw = text(parent, key, path);
  const value = Number(raw);
  if (!Number.isFinite(value)) throw invalid(`MTL ${path}.${key} is "${raw}", not a number`, `${path}.${key}`);
  return value;
}

function nonZero(parent: MtlGroup, key: string, path: string): number {
  const value = number(parent, key, path);
  if (value === 0) throw invalid(`MTL ${path}.${key} is 0: every pixel would have the same reflectance`, `${path}.${key}`);
  return value;
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

function odlError(lineIndex: number, problem: string): CloudsegError {
  return new CloudsegError('SCENE_INVALID', `MTL text line ${lineIndex + 1}: ${problem}`, { details: { line: lineIndex + 1 } });
}

function invalid(message: string, field: string): CloudsegError {
  return new CloudsegError('SCENE_INVALID', message, { details: { field } });
}
