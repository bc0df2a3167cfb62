// Tiled segmentation of a whole scene: cut the scaled HWC image into overlapping tiles on the
// model's size grid, run them a few at a time, stitch each pixel's values (the cloud probability,
// or every class's) from the tile where it is farthest from a seam, then make the mask (maskRule).
import pLimit from 'p-limit';
import { CloudsegError } from '../errors.js';
import { extractTile, padToMultiple, planTiles, stitchTile, type PlannedTile } from '../imaging/tiling.js';
import { summarizeMask, type MaskRule, type MaskSummary } from './mask-rule.js';
import type { SegmentationModel } from './types.js';

export interface SegmentOptions {
  /** Tiles per predict() call; only this many tiles' inputs are held at once. @default 1 */
  batchTiles?: number;
  /** @default card.tile.size */
  tileSize?: number;
  /** @default card.tile.overlap */
  overlap?: number;
  /**
   * Called after each group of tiles settles with the tiles done (run or skipped) and the total,
   * so a terminal can show progress on a large scene. Only the windowed path calls it.
   */
  onProgress?: (tilesDone: number, tilesTotal: number) => void;
}

/**
 * The model's values per pixel (height x width x model.outputChannels, row-major: the cloud
 * probability, or each class's) of a scene given as HWC float32 already scaled to the model's
 * input, bands in the card's order. Any size works: tiles are clamped to the image and
 * reflect-padded to the card's sizeMultiple.
 */
export async function segmentScene(
  model: SegmentationModel,
  input: Float32Array,
  width: number,
  height: number,
  options: SegmentOptions = {},
): Promise<Float32Array> {
  const { card } = model;
  const bands = card.bands.length;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new CloudsegError('CORRUPT_IMAGE', `invalid scene size ${width}x${height}`);
  }
  if (input.length !== width * height * bands) {
    throw new CloudsegError('BAND_MISMATCH', `scene ${width}x${height} with ${bands} bands (${card.bands.join(', ')}) needs ${width * height * bands} values, got ${input.length}`);
  }
  const { multiple, batchTiles, tiles } = sceneTilePlan(card, width, height, options);
  const channels = model.outputChannels;
  const output = new Float32Array(width * height * channels);
  // Up to model.parallelism groups in flight: an engine off the event loop never waits for the
  // next tile to be cut out. Tiles own disjoint parts of the output, so stitch order is free.
  const limit = pLimit(Math.max(1, model.parallelism));
  const runGroup = async (group: PlannedTile[]) => {
    const paddedWidth = padToMultiple(group[0]!.width, multiple);
    const paddedHeight = padToMultiple(group[0]!.height, multiple);
    const perTile = paddedWidth * paddedHeight * bands;
    // A scene that is one unpadded tile is its own batch: no copy.
    const wholeScene = group.length === 1 && paddedWidth === width && paddedHeight === height;
    const batch = wholeScene ? input : new Float32Array(group.length * perTile);
    if (!wholeScene) group.forEach((tile, i) => extractTile(input, width, bands, tile, paddedWidth, paddedHeight, batch, i * perTile));
    const probability = await model.predict(batch, group.length, paddedHeight, paddedWidth);
    group.forEach((tile, i) => stitchTile(output, width, tile, probability, paddedWidth, i * paddedWidth * paddedHeight * channels, channels));
  };
  await Promise.all([...batchesOfSameSize(tiles, multiple, batchTiles)].map((group) => limit(() => runGroup(group))));
  return output;
}

/**
 * The tiles a scene is cut into for this card and options: the whole-scene and the windowed paths
 * share it, which is what makes their masks equal.
 */
export function sceneTilePlan(
  card: SegmentationModel['card'],
  width: number,
  height: number,
  options: SegmentOptions = {},
): { multiple: number; tileSize: number; batchTiles: number; tiles: PlannedTile[] } {
  const multiple = card.sizeMultiple;
  // A tile size off the size grid is rounded down onto it (never below one multiple).
  const tileSize = Math.max(multiple, Math.floor((options.tileSize ?? card.tile.size) / multiple) * multiple);
  const overlap = Math.min(options.overlap ?? card.tile.overlap, tileSize - multiple);
  const batchTiles = Math.max(1, Math.floor(options.batchTiles ?? 1));
  return { multiple, tileSize, batchTiles, tiles: planTiles(width, height, tileSize, overlap, multiple) };
}

/**
 * The mask of a scene's values (segmentScene's output) by the model's rule, nodata where `valid`
 * is 0, and what it holds.
 */
export function applyMaskRule(values: Float32Array, rule: MaskRule, valid?: Uint8Array): { mask: Uint8Array; summary: MaskSummary } {
  const pixels = values.length / rule.channels;
  const mask = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    mask[i] = valid && valid[i] === 0 ? rule.legend.nodata : rule.classify(values, i * rule.channels);
  }
  return { mask, summary: summarizeMask(mask, rule.legend) };
}

// Only tiles whose padded sizes agree can share one NHWC tensor; plan order keeps them adjacent.
export function* batchesOfSameSize(tiles: PlannedTile[], multiple: number, batchTiles: number): Generator<PlannedTile[]> {
  let current: PlannedTile[] = [];
  let key = '';
  for (const tile of tiles) {
    const k = `${padToMultiple(tile.width, multiple)}x${padToMultiple(tile.height, multiple)}`;
    if (current.length > 0 && (k !== key || current.length === batchTiles)) {
      yield current;
      current = [];
    }
    key = k;
    current.push(tile);
  }
  if (current.length > 0) yield current;
}
