// Pure tiling and stitching for tiled inference: where the tiles of a scene lie, how a tile is cut
// out of an HWC image (reflect-padded to the model's size multiple) and how tile outputs are stitched.
// No tf here: everything is plain typed arrays so it can be table-tested.

export interface Tile {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * A planned tile plus the part of the output it owns (`core`, absolute coordinates). The cores of
 * a plan partition the image: every pixel is written by exactly one tile, the one in which it lies
 * farthest from a seam (cuts sit in the middle of each overlap).
 */
export interface PlannedTile extends Tile {
  core: Tile;
}

/** One axis of a plan: where each tile starts and ends, and the [from, to) part it owns. */
export interface AxisSpan {
  start: number;
  end: number;
  ownFrom: number;
  ownTo: number;
}

/**
 * Tiles covering a `length`-pixel axis: as few as keep at least `overlap` pixels between
 * neighbours, then shrunk to share the axis evenly (inference cost is per pixel, so a 1000-pixel
 * axis runs as three ~376-pixel tiles, not three 512-pixel ones). Starts are multiples of
 * `alignTo`, so a model with stride-2 pooling sees each tile on the same pooling grid as the whole
 * image (tiling then reproduces a whole-image pass away from seams). The last tile ends at the end
 * of the axis and may be narrower than the others by less than `alignTo`.
 */
export function planAxis(length: number, tileSize: number, overlap: number, alignTo = 1): AxisSpan[] {
  assertPositiveInt('length', length);
  assertPositiveInt('tileSize', tileSize);
  assertPositiveInt('alignTo', alignTo);
  if (!Number.isInteger(overlap) || overlap < 0) throw new RangeError(`overlap must be a non-negative integer, got ${overlap}`);
  if (tileSize % alignTo !== 0) throw new RangeError(`tileSize ${tileSize} must be a multiple of alignTo ${alignTo}`);
  if (overlap > tileSize - alignTo) throw new RangeError(`overlap ${overlap} leaves no step for tileSize ${tileSize} (alignTo ${alignTo})`);
  if (length <= tileSize) return [{ start: 0, end: length, ownFrom: 0, ownTo: length }];
  const fewest = Math.ceil((length - overlap) / (tileSize - overlap));
  const spans = (starts: number[], size: number) =>
    withOwnership(starts.map((start) => ({ start, end: Math.min(start + size, length), ownFrom: 0, ownTo: length })));
  for (let count = fewest; count <= fewest + 2; count++) {
    const even = padToMultiple(Math.ceil((length + (count - 1) * overlap) / count), alignTo);
    for (let size = Math.min(even, tileSize); size <= tileSize; size += alignTo) {
      const starts = alignedStarts(length, size, count, alignTo);
      if (starts && starts.every((s, i) => i === 0 || Math.min(starts[i - 1]! + size, length) - s >= overlap)) return spans(starts, size);
    }
  }
  // Fallback that always satisfies the overlap: full tiles every aligned step, the last one pushed
  // to the end (it starts at most one step after the one before it).
  const step = Math.floor((tileSize - overlap) / alignTo) * alignTo;
  const starts: number[] = [];
  for (let s = 0; s + tileSize < length; s += step) starts.push(s);
  starts.push(Math.ceil((length - tileSize) / alignTo) * alignTo);
  return spans(starts, tileSize);
}

// `count` starts spread evenly from 0 to the last aligned start whose tile reaches the end; null
// when two of them coincide (too many tiles for this size).
function alignedStarts(length: number, size: number, count: number, alignTo: number): number[] | null {
  const last = Math.ceil((length - size) / alignTo) * alignTo;
  const starts: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = i === count - 1 ? last : Math.floor(((i * last) / (count - 1)) / alignTo) * alignTo;
    if (i > 0 && start <= starts[i - 1]!) return null;
    starts.push(start);
  }
  return starts;
}

// Each neighbour pair splits its overlap in the middle, where both tiles are farthest from an edge.
function withOwnership(spans: AxisSpan[]): AxisSpan[] {
  for (let i = 0; i + 1 < spans.length; i++) {
    const left = spans[i]!;
    const right = spans[i + 1]!;
    const cut = Math.floor((right.start + left.end) / 2);
    left.ownTo = cut;
    right.ownFrom = cut;
  }
  return spans;
}

/**
 * The tiles of a width x height scene, row-major. `alignTo` (the model's size multiple) keeps tile
 * starts on the model's pooling grid; the default 1 means no alignment.
 */
export function planTiles(width: number, height: number, tileSize: number, overlap: number, alignTo = 1): PlannedTile[] {
  const xs = planAxis(width, tileSize, overlap, alignTo);
  const ys = planAxis(height, tileSize, overlap, alignTo);
  const tiles: PlannedTile[] = [];
  for (const y of ys) {
    for (const x of xs) {
      tiles.push({
        x: x.start,
        y: y.start,
        width: x.end - x.start,
        height: y.end - y.start,
        core: { x: x.ownFrom, y: y.ownFrom, width: x.ownTo - x.ownFrom, height: y.ownTo - y.ownFrom },
      });
    }
  }
  return tiles;
}

/** The smallest multiple of `multiple` that is >= n. */
export function padToMultiple(n: number, multiple: number): number {
  return Math.ceil(n / multiple) * multiple;
}

/**
 * numpy's 'reflect' padding index (mirror without repeating the edge pixel): for an axis of `n`
 * samples, the source index of position `i`, which may lie beyond either end.
 */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/**
 * Copies `tile` of an HWC image into `out` at `outOffset` as a paddedHeight x paddedWidth x bands
 * block; rows and columns beyond the tile are mirrored from inside it (tiles only end short of their
 * padded size at the image border, so this is reflection at the image edge).
 */
export function extractTile(
  image: Float32Array,
  imageWidth: number,
  bands: number,
  tile: Tile,
  paddedWidth: number,
  paddedHeight: number,
  out: Float32Array,
  outOffset = 0,
): void {
  if (paddedWidth < tile.width || paddedHeight < tile.height) throw new RangeError('padded size smaller than the tile');
  const rowLength = tile.width * bands;
  for (let py = 0; py < paddedHeight; py++) {
    const srcY = tile.y + reflectIndex(py, tile.height);
    const srcRow = (srcY * imageWidth + tile.x) * bands;
    const dstRow = outOffset + py * paddedWidth * bands;
    out.set(image.subarray(srcRow, srcRow + rowLength), dstRow);
    for (let px = tile.width; px < paddedWidth; px++) {
      const src = srcRow + reflectIndex(px, tile.width) * bands;
      const dst = dstRow + px * bands;
      for (let b = 0; b < bands; b++) out[dst + b] = image[src + b]!;
    }
  }
}

/**
 * Writes the part of one tile's output that the tile owns (`tile.core`) into the scene's output.
 * `tileOutput` holds the padded tile, paddedWidth pixels of `channels` values per row, starting at
 * value `tileOffset`.
 */
export function stitchTile(
  output: Float32Array,
  imageWidth: number,
  tile: PlannedTile,
  tileOutput: Float32Array,
  paddedWidth: number,
  tileOffset = 0,
  channels = 1,
): void {
  const { core } = tile;
  // Values per pixel (a class model's probabilities) travel together: every index scales by channels.
  for (let y = core.y; y < core.y + core.height; y++) {
    const src = tileOffset + ((y - tile.y) * paddedWidth + (core.x - tile.x)) * channels;
    output.set(tileOutput.subarray(src, src + core.width * channels), (y * imageWidth + core.x) * channels);
  }
}

function assertPositiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
