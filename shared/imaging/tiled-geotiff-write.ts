// Writes a tiled GeoTIFF to a file tile by tile, the layout of a Cloud-Optimised GeoTIFF without
// overviews (header, IFD and its values first, then the tiles in row-major order), so a scene of
// any size is written while only one tile is in memory: how tests and the benchmark make scenes
// of real-product size.
import { open } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import {
  applyHorizontalPredictor,
  encodeIfd,
  formatNoData,
  gdalMetadataXml,
  georefEntries,
  littleEndianBytes,
  SAMPLE_FORMAT,
  tiffHeader,
  TYPE,
  type IfdEntry,
  type TiffCompression,
} from './geotiff-write.js';
import { bytesPerSample, type Georeference, type RasterArray, type RasterDtype, type Scaling } from './types.js';

export interface TiledGeoTiffSpec {
  width: number;
  height: number;
  bands: number;
  dtype: RasterDtype;
  /** Tile edge in pixels, a multiple of 16 (TIFF 6.0). @default 512 */
  tileSize?: number;
  georef?: Georeference | null;
  noData?: number | null;
  scaling?: Scaling | null;
  /** @default 'deflate' */
  compression?: TiffCompression;
}

/**
 * HWC samples of the tileSize x tileSize tile at (x, y) in the spec's dtype (length tileSize^2 x
 * bands; samples beyond the image edge are written but never read).
 */
export type TileSamples = (x: number, y: number, tileSize: number) => RasterArray;

/** Writes the file and returns its size in bytes. */
export async function writeTiledGeoTiffFile(path: string, spec: TiledGeoTiffSpec, tileAt: TileSamples): Promise<number> {
  const { width, height, bands, dtype } = spec;
  const tileSize = spec.tileSize ?? 512;
  if (!Number.isInteger(tileSize) || tileSize <= 0 || tileSize % 16 !== 0) throw new RangeError(`tile size ${tileSize} is not a positive multiple of 16`);
  const compression = spec.compression ?? 'deflate';
  const across = Math.ceil(width / tileSize);
  const down = Math.ceil(height / tileSize);
  const count = across * down;
  const predictor = compression === 'deflate' && SAMPLE_FORMAT[dtype] !== 3 ? 2 : 1;
  const sampleBytes = bytesPerSample(dtype);

  const entries: IfdEntry[] = [
    { tag: 256, type: TYPE.LONG, values: [width] },
    { tag: 257, type: TYPE.LONG, values: [height] },
    { tag: 258, type: TYPE.SHORT, values: Array<number>(bands).fill(sampleBytes * 8) },
    { tag: 259, type: TYPE.SHORT, values: [compression === 'deflate' ? 8 : 1] },
    { tag: 262, type: TYPE.SHORT, values: [1] },
    { tag: 277, type: TYPE.SHORT, values: [bands] },
    { tag: 284, type: TYPE.SHORT, values: [1] },
    { tag: 322, type: TYPE.LONG, values: [tileSize] },
    { tag: 323, type: TYPE.LONG, values: [tileSize] },
    // TileOffsets and TileByteCounts: patched once the tiles are written.
    { tag: 324, type: TYPE.LONG, values: Array<number>(count).fill(0) },
    { tag: 325, type: TYPE.LONG, values: Array<number>(count).fill(0) },
    { tag: 339, type: TYPE.SHORT, values: Array<number>(bands).fill(SAMPLE_FORMAT[dtype]) },
  ];
  if (predictor !== 1) entries.push({ tag: 317, type: TYPE.SHORT, values: [predictor] });
  if (bands > 1) entries.push({ tag: 338, type: TYPE.SHORT, values: Array<number>(bands - 1).fill(0) });
  if (spec.georef) entries.push(...georefEntries(spec.georef));
  if (spec.scaling) entries.push({ tag: 42112, type: TYPE.ASCII, values: gdalMetadataXml(spec.scaling, bands) });
  if (spec.noData !== null && spec.noData !== undefined) entries.push({ tag: 42113, type: TYPE.ASCII, values: formatNoData(spec.noData) });
  entries.sort((a, b) => a.tag - b.tag);

  const { bytes: ifd, valueOffsets } = encodeIfd(entries, 8);
  const file = await open(path, 'w');
  try {
    await file.write(tiffHeader(8), 0, 8, 0);
    await file.write(ifd, 0, ifd.length, 8);
    const offsets = new Uint32Array(count);
    const counts = new Uint32Array(count);
    let at = 8 + ifd.length;
    for (let ty = 0; ty < down; ty++) {
      for (let tx = 0; tx < across; tx++) {
        const samples = tileAt(tx * tileSize, ty * tileSize, tileSize);
        if (samples.length !== tileSize * tileSize * bands) throw new RangeError(`tile ${tx},${ty} has ${samples.length} samples, expected ${tileSize * tileSize * bands}`);
        const raw = littleEndianBytes(samples, 0, samples.length);
        if (predictor === 2) applyHorizontalPredictor(raw, tileSize, tileSize, bands, sampleBytes);
        const block = compression === 'deflate' ? deflateSync(raw) : raw;
        if (at + block.length > 0xffffffff) throw new RangeError('image too large for a classic TIFF (4 GiB)');
        await file.write(block, 0, block.length, at);
        offsets[ty * across + tx] = at;
        counts[ty * across + tx] = block.length;
        at += block.length;
      }
    }
    await file.write(littleEndian32(offsets), 0, count * 4, valueOffsets.get(324)!);
    await file.write(littleEndian32(counts), 0, count * 4, valueOffsets.get(325)!);
    return at;
  } finally {
    await file.close();
  }
}

function littleEndian32(values: Uint32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v, true));
  return out;
}
