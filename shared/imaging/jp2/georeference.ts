// A JP2's georeference in the TIFF path's shape: GeoJP2 (a tiny GeoTIFF in a uuid box, read with
// geotiff.js) first, then GMLJP2 (a gml:RectifiedGrid), the order GDAL uses by default.
import { fromArrayBuffer } from 'geotiff';
import { CloudsegError } from '../../errors.js';
import { readGeoreference } from '../decode.js';
import type { Georeference } from '../types.js';

export interface Jp2GeoInfo {
  georef: Georeference | null;
  /** GDAL_NODATA of the GeoJP2 GeoTIFF, when it has one. */
  noData: number | null;
}

/** Reads GeoJP2, else GMLJP2; null georef when neither says anything usable. */
export async function readJp2Georeference(geoJp2: Uint8Array | null, gmlXml: string[], label: string): Promise<Jp2GeoInfo> {
  if (geoJp2) {
    let found: Jp2GeoInfo;
    try {
      const tiff = await fromArrayBuffer(geoJp2.buffer.slice(geoJp2.byteOffset, geoJp2.byteOffset + geoJp2.byteLength) as ArrayBuffer);
      const image = await tiff.getImage(0);
      found = { georef: readGeoreference(image), noData: image.getGDALNoData() };
    } catch (err) {
      throw new CloudsegError('CORRUPT_IMAGE', `${label}: the GeoJP2 box holds no readable GeoTIFF: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    if (found.georef) return found;
  }
  for (const xml of gmlXml) {
    const georef = parseGmlRectifiedGrid(xml);
    if (georef) return { georef, noData: null };
  }
  return { georef: null, noData: null };
}

/**
 * The georeference of the first gml:RectifiedGrid in a GMLJP2 document: its origin is the centre
 * of pixel (0, 0), its two offset vectors the steps along a row and down a column. Null when the
 * grid or an EPSG srsName is missing. EPSG geographic CRSs (codes 4000-4999 here, without the
 * EPSG database) list latitude first, as GMLJP2 requires; they are swapped to x = longitude.
 */
export function parseGmlRectifiedGrid(xml: string): Georeference | null {
  const grid = /<(?:\w+:)?RectifiedGrid\b[\s\S]*?<\/(?:\w+:)?RectifiedGrid>/.exec(xml)?.[0];
  if (!grid) return null;
  const srs = /srsName\s*=\s*"([^"]*)"/.exec(grid)?.[1] ?? /srsName\s*=\s*"([^"]*)"/.exec(xml)?.[1];
  const epsg = srs ? epsgCode(srs) : null;
  const origin = numbers(/<(?:\w+:)?origin>[\s\S]*?<(?:\w+:)?(?:pos|coordinates)\b[^>]*>([^<]*)</.exec(grid)?.[1]);
  const vectors = [...grid.matchAll(/<(?:\w+:)?offsetVector\b[^>]*>([^<]*)</g)].map((m) => numbers(m[1]));
  const [v1, v2] = vectors;
  if (epsg === null || !origin || origin.length < 2 || !v1 || !v2 || v1.length < 2 || v2.length < 2) return null;
  const geographic = epsg >= 4000 && epsg < 5000;
  const xy = (v: number[]): [number, number] => (geographic ? [v[1]!, v[0]!] : [v[0]!, v[1]!]);
  const [ox, oy] = xy(origin);
  const [ax, ay] = xy(v1);
  const [bx, by] = xy(v2);
  // The corner of pixel (0, 0), half a step back from its centre along both vectors.
  const cornerX = ox - 0.5 * ax - 0.5 * bx;
  const cornerY = oy - 0.5 * ay - 0.5 * by;
  const geoKeys: Georeference['geoKeys'] = geographic
    ? { GTModelTypeGeoKey: 2, GTRasterTypeGeoKey: 1, GeographicTypeGeoKey: epsg }
    : { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: epsg };
  if (ay === 0 && bx === 0) {
    return { geoKeys, modelTiepoint: [0, 0, 0, cornerX, cornerY, 0], modelPixelScale: [ax, -by, 0], modelTransformation: null };
  }
  return { geoKeys, modelTiepoint: null, modelPixelScale: null, modelTransformation: [ax, bx, 0, cornerX, ay, by, 0, cornerY, 0, 0, 0, 0, 0, 0, 0, 1] };
}

/** The EPSG code of `urn:ogc:def:crs:EPSG::32633`, `EPSG:32633` or `http://www.opengis.net/def/crs/EPSG/0/32633`. */
export function epsgCode(srsName: string): number | null {
  const m = /EPSG(?::[\d.]*:|\/\d+\/|:)(\d+)\s*$/i.exec(srsName.trim());
  return m ? Number(m[1]) : null;
}

function numbers(text: string | undefined): number[] | null {
  if (text === undefined) return null;
  const values = text.trim().split(/[\s,]+/).map(Number);
  return values.length && values.every(Number.isFinite) ? values : null;
}

/** The georeference of the image reduced `reduce` times: pixels 2^reduce times larger. */
export function reduceGeoreference(georef: Georeference | null, reduce: number): Georeference | null {
  if (!georef || reduce === 0) return georef;
  const f = 2 ** reduce;
  const t = georef.modelTransformation;
  return {
    geoKeys: georef.geoKeys,
    // Tie points' raster coordinates shrink with the pixels; their model coordinates stay.
    modelTiepoint: georef.modelTiepoint ? georef.modelTiepoint.map((v, i) => (i % 6 < 2 ? v / f : v)) : null,
    modelPixelScale: georef.modelPixelScale ? georef.modelPixelScale.map((v, i) => (i < 2 ? v * f : v)) : null,
    modelTransformation: t ? t.map((v, i) => (i === 0 || i === 1 || i === 4 || i === 5 ? v * f : v)) : null,
  };
}
