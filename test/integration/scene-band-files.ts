// Band files the way Landsat and Sentinel-2 ship them, small: one tiled uint16 GeoTIFF per band, a
// zero fill border around the footprint (nodata 0), the same UTM grid in every band. Used by the
// scene tests to build STAC items and Landsat band sets on disk and in the local bucket.
import { join } from 'node:path';
import { writeTiledGeoTiffFile } from '../../shared/imaging/tiled-geotiff-write.js';
import type { Georeference } from '../../shared/imaging/types.js';

export const UTM_33N: Georeference = {
  geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32633 },
  modelTiepoint: [0, 0, 0, 399960, 5000040, 0],
  modelPixelScale: [30, 30, 0],
  modelTransformation: null,
};

export interface BandFileSpec {
  width?: number;
  height?: number;
  /** Fill (0) this many pixels deep along every edge. */
  border?: number;
  tileSize?: number;
  georef?: Georeference | null;
  /** Samples per pixel (a multi-band asset). */
  samples?: number;
  /** Declared nodata; 0 like Landsat unless null. */
  noData?: number | null;
}

/** The stored value of band `seed` at (x, y): a field with clouds-like bright blobs, never 0 inside the footprint. */
export function bandValue(seed: number, x: number, y: number): number {
  const blob = Math.sin((x + seed * 17) / 37) * Math.cos((y - seed * 11) / 29);
  return 7000 + seed * 900 + Math.round(9000 * Math.max(0, blob)) + ((x * 7 + y * 13 + seed) % 97);
}

/** Writes one band file; `value(x, y, sample)` gives the samples inside the footprint. Returns its path. */
export async function writeBandFile(dir: string, name: string, spec: BandFileSpec, value: (x: number, y: number, sample: number) => number): Promise<string> {
  const width = spec.width ?? 700;
  const height = spec.height ?? 600;
  const border = spec.border ?? 40;
  const samples = spec.samples ?? 1;
  const path = join(dir, name);
  await writeTiledGeoTiffFile(
    path,
    {
      width,
      height,
      bands: samples,
      dtype: 'uint16',
      tileSize: spec.tileSize ?? 256,
      georef: spec.georef === undefined ? UTM_33N : spec.georef,
      noData: spec.noData === undefined ? 0 : spec.noData,
    },
    (x0, y0, size) => {
      const out = new Uint16Array(size * size * samples);
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const gx = x0 + x;
          const gy = y0 + y;
          const inside = gx >= border && gy >= border && gx < width - border && gy < height - border;
          for (let s = 0; s < samples; s++) out[(y * size + x) * samples + s] = inside ? value(gx, gy, s) : 0;
        }
      }
      return out;
    },
  );
  return path;
}

/** Reflectance rescaling of a Landsat 8 Level-1 product, per OLI band (the values USGS writes). */
export const LANDSAT_REFLECTANCE = { mult: 2.0e-5, add: -0.1 } as const;
export const LANDSAT_BANDS = [2, 3, 4, 5, 6, 7] as const;

/** A Landsat Collection 2 Level-1 MTL as USGS delivers it, the JSON form (values are strings there too). */
export function landsatMtlJson(productId: string, sunElevation: number): string {
  const contents: Record<string, string> = { LANDSAT_PRODUCT_ID: productId, PROCESSING_LEVEL: 'L1TP', COLLECTION_NUMBER: '02' };
  const rescaling: Record<string, string> = {};
  for (const b of LANDSAT_BANDS) {
    contents[`FILE_NAME_BAND_${b}`] = `${productId}_B${b}.TIF`;
    rescaling[`REFLECTANCE_MULT_BAND_${b}`] = LANDSAT_REFLECTANCE.mult.toExponential(4).toUpperCase();
    rescaling[`REFLECTANCE_ADD_BAND_${b}`] = LANDSAT_REFLECTANCE.add.toFixed(6);
  }
  contents.FILE_NAME_METADATA_ODL = `${productId}_MTL.txt`;
  contents.FILE_NAME_METADATA_XML = `${productId}_MTL.xml`;
  return JSON.stringify(
    {
      LANDSAT_METADATA_FILE: {
        PRODUCT_CONTENTS: contents,
        IMAGE_ATTRIBUTES: { SPACECRAFT_ID: 'LANDSAT_8', SENSOR_ID: 'OLI_TIRS', WRS_PATH: '2', WRS_ROW: '53', SUN_AZIMUTH: '75.06958940', SUN_ELEVATION: sunElevation.toFixed(8) },
        LEVEL1_RADIOMETRIC_RESCALING: rescaling,
      },
    },
    null,
    2,
  );
}

/** The same MTL in USGS's ODL text form (`GROUP = ...`, `KEY = value`, `END`). */
export function landsatMtlText(productId: string, sunElevation: number): string {
  const doc = JSON.parse(landsatMtlJson(productId, sunElevation)) as Record<string, Record<string, Record<string, string>>>;
  const lines: string[] = ['GROUP = LANDSAT_METADATA_FILE'];
  for (const [group, fields] of Object.entries(doc.LANDSAT_METADATA_FILE!)) {
    lines.push(`  GROUP = ${group}`);
    for (const [key, value] of Object.entries(fields)) lines.push(`    ${key} = ${/^[-\d.E+]+$/.test(value) ? value : `"${value}"`}`);
    lines.push(`  END_GROUP = ${group}`);
  }
  lines.push('END_GROUP = LANDSAT_METADATA_FILE', 'END', '');
  return lines.join('\n');
}

/**
 * A STAC 1.0 Item with one single-band COG asset per band (eo:bands common_name, raster:bands
 * scale/offset/nodata), hrefs relative to the item, the way Earth Search and Planetary Computer
 * list Sentinel-2 L2A bands.
 */
export function stacItem(id: string, assets: { key: string; href: string; commonName: string; scale: number; offset: number }[], properties: Record<string, unknown> = {}): string {
  return JSON.stringify(
    {
      type: 'Feature',
      stac_version: '1.0.0',
      stac_extensions: ['https://stac-extensions.github.io/eo/v1.1.0/schema.json', 'https://stac-extensions.github.io/raster/v1.1.0/schema.json'],
      id,
      geometry: { type: 'Polygon', coordinates: [[[13.6, 45.1], [13.9, 45.1], [13.9, 44.9], [13.6, 44.9], [13.6, 45.1]]] },
      bbox: [13.6, 44.9, 13.9, 45.1],
      properties: { datetime: '2023-06-01T10:00:00Z', platform: 'sentinel-2a', constellation: 'sentinel-2', 's2:processing_baseline': '05.09', ...properties },
      links: [],
      assets: Object.fromEntries(
        assets.map((a) => [
          a.key,
          {
            href: a.href,
            type: 'image/tiff; application=geotiff; profile=cloud-optimized',
            roles: ['data', 'reflectance'],
            'eo:bands': [{ name: a.key, common_name: a.commonName }],
            'raster:bands': [{ nodata: 0, data_type: 'uint16', scale: a.scale, offset: a.offset }],
          },
        ]),
      ),
    },
    null,
    2,
  );
}
