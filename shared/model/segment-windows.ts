// Tiled segmentation of a scene that is never in memory: each tile's input is read when the tile
// runs, its probability thresholded straight into the uint8 mask, so only the mask (one byte per
// pixel) and the tiles in flight are held. Tiles without a valid pixel are not run at all.
import pLimit from 'p-limit';
import { CloudsegError } from '../errors.js';
import type { MaskLegend } from '../imaging/mask-values.js';
import { extractTile, padToMultiple, type PlannedTile, type Tile } from '../imaging/tiling.js';
import { maskRule, summarizeMask, type MaskRule, type MaskSummary } from './mask-rule.js';
import { batchesOfSameSize, sceneTilePlan, type SegmentOptions } from './segment.js';
import type { SegmentationModel } from './types.js';

/** One tile's model input (HWC float32, the tile's own size) and which of its pixels hold data. */
export interface TileInput {
  input: Float32Array;
  /** 1 per pixel with data, 0 for nodata. */
  valid: Uint8Array;
  validCount: number;
}

export interface WindowedSegmentation {
  /** The mask by the model's rule, row-major. */
  mask: Uint8Array;
  /** What the mask's bytes mean. */
  legend: MaskLegend;
  /** Cloud (and thin cloud) pixels over valid pixels (0 when there are none). */
  cloudFraction: number;
  summary: MaskSummary;
  validPixels: number;
  tilesRun: number;
  tilesSkipped: number;
}

/**
 * Segments a width x height scene whose tiles come from `readTile` (called once per planned tile,
 * at most model.parallelism x batchTiles at a time). Same tiles, same stitching and rule as
 * segmentScene + applyMaskRule, so the masks are equal.
 */
export async function segmentWindows(
  model: SegmentationModel,
  width: number,
  height: number,
  readTile: (tile: Tile) => Promise<TileInput>,
  options: SegmentOptions = {},
  rule: MaskRule = maskRule(model.card),
): Promise<WindowedSegmentation> {
  const { card } = model;
  const channels = rule.channels;
  const nodata = rule.legend.nodata;
  const bands = card.bands.length;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new CloudsegError('CORRUPT_IMAGE', `invalid scene size ${width}x${height}`);
  }
  const { multiple, batchTiles, tiles } = sceneTilePlan(card, width, height, options);
  const mask = new Uint8Array(width * height);
  let tilesRun = 0;
  let tilesSkipped = 0;

  // Writes the part of the tile it owns: nodata where the input has none, else the rule's value.
  // `offset` is the tile's first pixel in `values` (channels values per pixel).
  const settle = (tile: PlannedTile, read: TileInput, values: Float32Array | null, paddedWidth: number, offset: number) => {
    const { core } = tile;
    for (let y = core.y; y < core.y + core.height; y++) {
      const row = y * width;
      const local = (y - tile.y) * tile.width - tile.x;
      const padded = offset + (y - tile.y) * paddedWidth - tile.x;
      for (let x = core.x; x < core.x + core.width; x++) {
        mask[row + x] = read.valid[local + x] === 0 ? nodata : rule.classify(values!, (padded + x) * channels);
      }
    }
  };

  const limit = pLimit(Math.max(1, model.parallelism));
  const runGroup = async (group: PlannedTile[]) => {
    const reads = await Promise.all(group.map((tile) => readTile({ x: tile.x, y: tile.y, width: tile.width, height: tile.height })));
    reads.forEach((read, i) => {
      const tile = group[i]!;
      if (read.input.length !== tile.width * tile.height * bands) {
        throw new CloudsegError('BAND_MISMATCH', `tile ${tile.width}x${tile.height} with ${bands} bands needs ${tile.width * tile.height * bands} values, got ${read.input.length}`);
      }
    });
    const live = group.map((tile, i) => ({ tile, read: reads[i]! })).filter(({ read }) => read.validCount > 0);
    for (const { tile, read } of group.map((tile, i) => ({ tile, read: reads[i]! })).filter(({ read }) => read.validCount === 0)) {
      settle(tile, read, null, 0, 0);
      tilesSkipped++;
    }
    if (live.length === 0) return;
    const paddedWidth = padToMultiple(group[0]!.width, multiple);
    const paddedHeight = padToMultiple(group[0]!.height, multiple);
    const perTile = paddedWidth * paddedHeight * bands;
    const batch = new Float32Array(live.length * perTile);
    live.forEach(({ tile, read }, i) => extractTile(read.input, tile.width, bands, { x: 0, y: 0, width: tile.width, height: tile.height }, paddedWidth, paddedHeight, batch, i * perTile));
    const probability = await model.predict(batch, live.length, paddedHeight, paddedWidth);
    live.forEach(({ tile, read }, i) => settle(tile, read, probability, paddedWidth, i * paddedWidth * paddedHeight));
    tilesRun += live.length;
  };
  const runAndReport = async (group: PlannedTile[]) => {
    await runGroup(group);
    options.onProgress?.(tilesRun + tilesSkipped, tiles.length);
  };
  await Promise.all([...batchesOfSameSize(tiles, multiple, batchTiles)].map((group) => limit(() => runAndReport(group))));
  const summary = summarizeMask(mask, rule.legend);
  return { mask, legend: rule.legend, cloudFraction: summary.cloudFraction, summary, validPixels: summary.validPixels, tilesRun, tilesSkipped };
}
