// A SAFE granule's own metadata (GRANULE/<granule>/MTD_TL.xml): the tile's CRS and grid per
// resolution (Tile_Geocoding) and the mean sun angles (Tile_Angles), and the CRS check against a band file.
import { CloudsegError } from '../../errors.js';
import type { Georeference } from '../../imaging/types.js';
import type { SceneGrid, SceneGridResolution } from '../types.js';
import { childNamed, childrenNamed, descendantNamed, parseSafeXml, type XmlElement } from './safe-xml.js';

export interface GranuleMetadata {
  /** TILE_ID (L1C) or TILE_ID_2A (older L2A), when given. */
  tileId: string | null;
  grid: SceneGrid;
  /** Mean_Sun_Angle, degrees; null when the granule states none. */
  sunZenithDeg: number | null;
  sunAzimuthDeg: number | null;
}

const TILE_ROOTS = new Set(['Level-1C_Tile_ID', 'Level-2A_Tile_ID']);

// GeoTIFF key values (GeoTIFF 1.1): ModelTypeProjected / Geographic, RasterPixelIsArea.
const MODEL_PROJECTED = 1;
const MODEL_GEOGRAPHIC = 2;
const PIXEL_IS_AREA = 1;

/** Reads a granule's MTD_TL.xml; SCENE_INVALID naming the field when its geocoding is missing or wrong. */
export function parseGranuleMetadata(bytes: Uint8Array, label: string): GranuleMetadata {
  const root = parseSafeXml(bytes, label);
  if (!TILE_ROOTS.has(root.name)) {
    throw invalid(`${label} is no granule metadata (root <${root.name}>, not Level-1C_Tile_ID or Level-2A_Tile_ID)`, 'root');
  }
  const geocoding = descendantNamed(root, 'Tile_Geocoding');
  if (!geocoding) throw invalid(`${label} has no Geometric_Info/Tile_Geocoding`, 'Tile_Geocoding');
  const crs = requiredText(geocoding, 'HORIZONTAL_CS_CODE', label);
  const epsg = epsgOfCrs(crs);
  if (epsg === null) throw invalid(`${label}: HORIZONTAL_CS_CODE "${crs}" is not an EPSG code`, 'HORIZONTAL_CS_CODE');

  const sizes = new Map(childrenNamed(geocoding, 'Size').map((s) => [resolutionOf(s, label), s]));
  const resolutions: SceneGridResolution[] = childrenNamed(geocoding, 'Geoposition').map((position) => {
    const resolutionM = resolutionOf(position, label);
    const size = sizes.get(resolutionM);
    if (!size) throw invalid(`${label}: Tile_Geocoding has a Geoposition but no Size for resolution ${resolutionM}`, 'Tile_Geocoding/Size');
    const field = (name: string) => `Tile_Geocoding/Geoposition[${resolutionM}]/${name}`;
    const ulx = requiredNumber(position, 'ULX', label, field('ULX'));
    const uly = requiredNumber(position, 'ULY', label, field('ULY'));
    const xdim = requiredNumber(position, 'XDIM', label, field('XDIM'));
    const ydim = requiredNumber(position, 'YDIM', label, field('YDIM'));
    // A north-up grid: pixels step east (XDIM > 0) and south (YDIM < 0), as every MSI tile does.
    if (!(xdim > 0) || !(ydim < 0)) throw invalid(`${label}: XDIM ${xdim} / YDIM ${ydim} at ${resolutionM} m is no north-up grid`, field('XDIM'));
    const width = requiredPositiveInteger(size, 'NCOLS', label, `Tile_Geocoding/Size[${resolutionM}]/NCOLS`);
    const height = requiredPositiveInteger(size, 'NROWS', label, `Tile_Geocoding/Size[${resolutionM}]/NROWS`);
    return { resolutionM, width, height, georef: gridGeoreference(epsg, ulx, uly, xdim, ydim) };
  });
  if (resolutions.length === 0) throw invalid(`${label}: Tile_Geocoding has no Geoposition`, 'Tile_Geocoding/Geoposition');
  resolutions.sort((a, b) => a.resolutionM - b.resolutionM);

  const sun = descendantNamed(root, 'Mean_Sun_Angle');
  const sunZenithDeg = sun ? angle(sun, 'ZENITH_ANGLE', label, 0, 180) : null;
  const sunAzimuthDeg = sun ? angle(sun, 'AZIMUTH_ANGLE', label, -360, 360) : null;
  const tileId = (descendantNamed(root, 'TILE_ID') ?? descendantNamed(root, 'TILE_ID_2A'))?.text || null;
  return { tileId, grid: { source: label, crs, epsg, resolutions }, sunZenithDeg, sunAzimuthDeg };
}

/** The grid of a band file of this size, or null when the product states none of that size. */
export function gridResolutionFor(grid: SceneGrid, width: number, height: number): SceneGridResolution | null {
  return grid.resolutions.find((r) => r.width === width && r.height === height) ?? null;
}

/**
 * The EPSG code a CRS names: 32634, "EPSG:32634", "urn:ogc:def:crs:EPSG::32634",
 * "http://www.opengis.net/def/crs/EPSG/0/32634"; null for anything else (a WKT, a name).
 */
export function epsgOfCrs(crs: string | number): number | null {
  if (typeof crs === 'number') return Number.isInteger(crs) && crs > 0 ? crs : null;
  const text = crs.trim();
  const m =
    /^(?:EPSG:)?(\d{4,6})$/i.exec(text) ??
    /^urn:ogc:def:crs:EPSG:[\d.]*:(\d{4,6})$/i.exec(text) ??
    /^https?:\/\/www\.opengis\.net\/def\/crs\/EPSG\/[^/]+\/(\d{4,6})$/i.exec(text);
  return m ? Number(m[1]) : null;
}

/**
 * Refuses a product whose granule metadata and band file disagree on the CRS (SCENE_INVALID
 * naming both): pixels would be placed in one CRS and read as another. CRSs are compared by
 * EPSG code when both name one, else as written.
 */
export function checkGranuleCrs(label: string, granuleCrs: string | number, fileCrs: string | number, file: string): void {
  const a = epsgOfCrs(granuleCrs);
  const b = epsgOfCrs(fileCrs);
  const same = a !== null && b !== null ? a === b : String(granuleCrs).trim().toLowerCase() === String(fileCrs).trim().toLowerCase();
  if (same) return;
  const name = (crs: string | number, code: number | null) => (code !== null ? `EPSG:${code}` : `"${String(crs)}"`);
  throw new CloudsegError('SCENE_INVALID', `${label}: the granule's MTD_TL.xml places the tile in ${name(granuleCrs, a)} but ${file} says ${name(fileCrs, b)}`, {
    details: { granuleCrs: String(granuleCrs), fileCrs: String(fileCrs), file },
  });
}

/**
 * The EPSG code of a band file's georeference (ProjectedCSTypeGeoKey, else GeographicTypeGeoKey),
 * for checkGranuleCrs; null when its keys name none (a user-defined CRS).
 */
export function epsgOfGeoreference(georef: Georeference): number | null {
  const code = georef.geoKeys.ProjectedCSTypeGeoKey ?? georef.geoKeys.GeographicTypeGeoKey;
  // 32767 is GeoTIFF's "user-defined": no EPSG code to compare.
  return typeof code === 'number' && Number.isInteger(code) && code > 0 && code !== 32767 ? code : null;
}

// PixelIsArea with the tiepoint at the upper-left corner of the upper-left pixel: ULX/ULY are
// that corner (ESA's Tile_Geocoding), the same placement GDAL gives the JP2s.
function gridGeoreference(epsg: number, ulx: number, uly: number, xdim: number, ydim: number): Georeference {
  const geographic = epsg >= 4000 && epsg < 5000;
  return {
    geoKeys: geographic
      ? { GTModelTypeGeoKey: MODEL_GEOGRAPHIC, GTRasterTypeGeoKey: PIXEL_IS_AREA, GeographicTypeGeoKey: epsg }
      : { GTModelTypeGeoKey: MODEL_PROJECTED, GTRasterTypeGeoKey: PIXEL_IS_AREA, ProjectedCSTypeGeoKey: epsg },
    modelTiepoint: [0, 0, 0, ulx, uly, 0],
    modelPixelScale: [xdim, -ydim, 0],
    modelTransformation: null,
  };
}

function resolutionOf(element: XmlElement, label: string): number {
  const raw = element.attributes.resolution;
  const value = Number(raw);
  if (raw === undefined || !Number.isInteger(value) || value <= 0) {
    throw invalid(`${label}: Tile_Geocoding/${element.name} has resolution "${raw ?? ''}", not a whole number of metres`, `Tile_Geocoding/${element.name}`);
  }
  return value;
}

function requiredText(parent: XmlElement, name: string, label: string): string {
  const text = childNamed(parent, name)?.text ?? '';
  if (text === '') throw invalid(`${label} has no ${parent.name}/${name}`, `${parent.name}/${name}`);
  return text;
}

function requiredNumber(parent: XmlElement, name: string, label: string, field: string): number {
  const text = childNamed(parent, name)?.text ?? '';
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) throw invalid(`${label}: ${field} is "${text}", not a number`, field);
  return value;
}

function requiredPositiveInteger(parent: XmlElement, name: string, label: string, field: string): number {
  const value = requiredNumber(parent, name, label, field);
  if (!Number.isInteger(value) || value <= 0) throw invalid(`${label}: ${field} is ${value}, not a positive whole number`, field);
  return value;
}

function angle(parent: XmlElement, name: string, label: string, min: number, max: number): number {
  const field = `Mean_Sun_Angle/${name}`;
  const value = requiredNumber(parent, name, label, field);
  if (value < min || value > max) throw invalid(`${label}: ${field} is ${value} degrees, outside [${min}, ${max}]`, field);
  return value;
}

function invalid(message: string, field: string): CloudsegError {
  return new CloudsegError('SCENE_INVALID', message, { details: { field } });
}
