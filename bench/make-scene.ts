// Writes the benchmark's large scene (never committed): a tiled 4-band uint16 GeoTIFF of
// Sentinel-2 tile size by default (10980 x 10980 = 120.6 Mpx, 512x512 deflate tiles, GDAL nodata 0),
// with ~30 % nodata fill along a tilted edge as in a Landsat footprint and smooth cloud fields.
// Runs in its own process so its memory is not the segmenting process's. Prints `BENCH_RESULT`.
import { parseArgs } from 'node:util';
import { writeTiledGeoTiffFile } from '../shared/imaging/tiled-geotiff-write.js';

const { values } = parseArgs({
  options: { out: { type: 'string' }, size: { type: 'string', default: '10980' } },
});
if (!values.out) throw new Error('--out is required');
const size = Number(values.size);
const started = performance.now();

// Nodata left of a line tilted like a descending Landsat path: ~30 % of the scene.
const isFill = (x: number, y: number) => x < size * (0.12 + 0.36 * (y / size));
// Clouds: a few smooth bumps of a product of sines (cheap for 120 M pixels), thresholded softly.
const cloudiness = (x: number, y: number) => {
  const v = Math.sin(x / 700) * Math.sin(y / 530) + 0.5 * Math.sin((x + y) / 310);
  return v > 0.6 ? Math.min(1, (v - 0.6) * 2) : 0;
};
const bytes = await writeTiledGeoTiffFile(
  values.out,
  {
    width: size,
    height: size,
    bands: 4,
    dtype: 'uint16',
    noData: 0,
    tileSize: 512,
    georef: {
      geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32633 },
      modelTiepoint: [0, 0, 0, 399960, 5000040, 0],
      modelPixelScale: [10, 10, 0],
      modelTransformation: null,
    },
  },
  (x0, y0, tile) => {
    const out = new Uint16Array(tile * tile * 4);
    for (let y = y0; y < Math.min(y0 + tile, size); y++) {
      for (let x = x0; x < Math.min(x0 + tile, size); x++) {
        if (isFill(x, y)) continue;
        const c = cloudiness(x, y);
        const at = ((y - y0) * tile + (x - x0)) * 4;
        // Hashed noise (±~250 DN) so the file compresses like a real scene, not like a gradient.
        const noise = (Math.imul(x, 73856093) ^ Math.imul(y, 19349663)) & 511;
        // Sentinel-2 L1C DN (reflectance x 10000): ground ~0.05-0.3, cloud ~0.6-0.9.
        out[at] = 800 + noise + 6500 * c;
        out[at + 1] = 1000 + noise + 6400 * c;
        out[at + 2] = 1100 + noise + 6300 * c;
        out[at + 3] = 2600 + noise + 5500 * c;
      }
    }
    return out;
  },
);
process.stdout.write(`BENCH_RESULT ${JSON.stringify({ width: size, height: size, bytes, writeMs: performance.now() - started })}\n`);
