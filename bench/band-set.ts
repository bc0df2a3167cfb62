// A full-size Landsat-like band set for the scene path: four single-band uint16 tiled GeoTIFFs of
// 7800 x 7800 (B2..B5, ~30 % fill around a rotated footprint, as a Landsat scene has) and their
// MTL.json, written at bench time (never committed); bench/run.ts segments it from the MTL with
// bench/scene.ts in a process of its own, so its peak RSS is the scene's.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTiledGeoTiffFile } from '../shared/imaging/tiled-geotiff-write.js';
import { landsatMtlJson } from '../test/integration/scene-band-files.js';

const PRODUCT = 'LC08_L1TP_002053_20160520_20200907_02_T1';
const SUN_ELEVATION = 55;
const BANDS = [2, 3, 4, 5] as const;

/** Writes the band set into `dir` (which exists); returns its MTL.json's path and the bytes written. */
export async function writeLandsatLikeBandSet(dir: string, size: number): Promise<{ descriptor: string; bytes: number }> {
  let bytes = 0;
  for (const [i, band] of BANDS.entries()) bytes += await writeBand(join(dir, `${PRODUCT}_B${band}.TIF`), size, i);
  const descriptor = join(dir, `${PRODUCT}_MTL.json`);
  await writeFile(descriptor, landsatMtlJson(PRODUCT, SUN_ELEVATION));
  return { descriptor, bytes };
}

// One band: Landsat L1 DNs (reflectance ~ DN * 2e-5 - 0.1, before the sun term), bright where clouds are.
function writeBand(path: string, size: number, band: number): Promise<number> {
  // Data inside a square of 70 % of the scene's area, rotated 12 degrees like a Landsat path's footprint.
  const half = (size * Math.sqrt(0.7)) / 2;
  const cos = Math.cos((12 * Math.PI) / 180);
  const sin = Math.sin((12 * Math.PI) / 180);
  const inside = (x: number, y: number) => {
    const dx = x - size / 2;
    const dy = y - size / 2;
    return Math.abs(dx * cos + dy * sin) < half && Math.abs(-dx * sin + dy * cos) < half;
  };
  const cloudiness = (x: number, y: number) => {
    const v = Math.sin(x / 600) * Math.sin(y / 450) + 0.5 * Math.sin((x + y) / 270);
    return v > 0.6 ? Math.min(1, (v - 0.6) * 2) : 0;
  };
  const ground = [9000, 8200, 7600, 14000][band]!;
  const cloud = [30000, 30500, 31000, 29000][band]!;
  return writeTiledGeoTiffFile(
    path,
    {
      width: size,
      height: size,
      bands: 1,
      dtype: 'uint16',
      noData: 0,
      tileSize: 512,
      georef: {
        geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32618 },
        modelTiepoint: [0, 0, 0, 199785, 1726815, 0],
        modelPixelScale: [30, 30, 0],
        modelTransformation: null,
      },
    },
    (x0, y0, tile) => {
      const out = new Uint16Array(tile * tile);
      for (let y = y0; y < Math.min(y0 + tile, size); y++) {
        for (let x = x0; x < Math.min(x0 + tile, size); x++) {
          if (!inside(x, y)) continue;
          const c = cloudiness(x, y);
          // Hashed noise (~500 DN) so the files compress like a real scene, not like a gradient.
          const noise = (Math.imul(x, 73856093) ^ Math.imul(y, 19349663) ^ band) & 511;
          out[(y - y0) * tile + (x - x0)] = ground + noise + (cloud - ground) * c;
        }
      }
      return out;
    },
  );
}
