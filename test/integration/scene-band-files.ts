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
