// Where every tile's tile-parts lie in the file: from the TLM marker when the main header has one
// (no reads), otherwise by walking the SOT markers (one small read per tile-part). Bounded, and
// checked: every tile present, no tile-part past the end (a truncated file), no stray bytes.
import { CloudsegError } from '../../errors.js';
import type { ReadBytes } from './boxes.js';
import { MARKER, MAX_TILES, parseSot, tileGrid, type Jp2MainHeader } from './codestream.js';

/** One tile-part's bytes in the file (from its SOT marker on). */
export interface TilePartRange {
  offset: number;
  length: number;
}

export interface TileIndexOptions {
  label: string;
  /** Refuse codestreams with more tile-parts than this. @default 65536 */
  maxTileParts?: number;
}

/** Tile-parts per tile, in codestream order. */
export type TileIndex = TilePartRange[][];

// Isot addresses 65535 tiles and Sentinel-2 writes a handful of tile-parts per tile; a file with
// millions is hostile and would take millions of reads to walk.
const DEFAULT_MAX_TILE_PARTS = 65536;
// SOT (12 bytes) plus SOD (2): the smallest tile-part.
const MIN_TILE_PART_BYTES = 14;

/**
 * Indexes the tile-parts of the codestream at `codestream` (file offsets). Throws CORRUPT_IMAGE when a
 * tile-part runs past the codestream (truncated), a marker is not where a tile-part should start,
 * a tile is missing or incomplete, or there are more tile-parts than `maxTileParts`.
 */
export async function indexTileParts(read: ReadBytes, codestream: { offset: number; length: number }, header: Jp2MainHeader, options: TileIndexOptions): Promise<TileIndex> {
  const { label } = options;
  const maxTileParts = options.maxTileParts ?? DEFAULT_MAX_TILE_PARTS;
  const tiles = tileGrid(header.siz).count;
  if (tiles > MAX_TILES) throw corrupt(label, `has ${tiles} tiles, more than tile-parts can address (${MAX_TILES}): its tiles cannot cover the image`);
  const tail = await read(codestream.offset + codestream.length - 2, codestream.offset + codestream.length);
  // Psot 0 means "up to EOC"; without EOC (a truncated file) the codestream's end.
  const end = tail.length === 2 && ((tail[0]! << 8) | tail[1]!) === MARKER.EOC ? codestream.length - 2 : codestream.length;
  const parts: { tile: number; offset: number; length: number; part: number; parts: number | null }[] = [];
  if (header.tlm) {
    if (header.tlm.length > maxTileParts) throw tooMany(label, header.tlm.length, maxTileParts);
    let at = header.length;
    header.tlm.forEach((entry, i) => {
      // Without Ttlm, TLM lists one tile-part per tile in tile order (A.7.1).
      parts.push({ tile: entry.tile ?? i, offset: at, length: entry.length, part: -1, parts: null });
      at += entry.length;
    });
  } else {
    let at = header.length;
    while (at < end) {
      if (parts.length >= maxTileParts) throw tooMany(label, parts.length + 1, maxTileParts);
      const bytes = await read(codestream.offset + at, codestream.offset + Math.min(end, at + 12));
      const sot = parseSot(bytes);
      if (!sot) throw corrupt(label, `has no SOT marker where tile-part ${parts.length} should start (byte ${at}); truncated or garbage`);
      const length = sot.length === 0 ? end - at : sot.length;
      parts.push({ tile: sot.tile, offset: at, length, part: sot.part, parts: sot.parts || null });
      at += length;
      if (sot.length === 0) break;
    }
  }
  const index: TileIndex = Array.from({ length: tiles }, () => []);
  const declared = new Array<number | null>(tiles).fill(null);
  for (const p of parts) {
    if (p.length < MIN_TILE_PART_BYTES) throw corrupt(label, `has a tile-part of ${p.length} bytes at byte ${p.offset}`);
    if (p.offset + p.length > end) {
      throw corrupt(label, `is truncated (a tile-part of tile ${p.tile} ends at byte ${p.offset + p.length}, the codestream has ${end})`);
    }
    if (p.tile >= tiles) throw corrupt(label, `has a tile-part of tile ${p.tile}; the tile grid has ${tiles} tiles`);
    const list = index[p.tile]!;
    if (p.part >= 0 && p.part !== list.length) throw corrupt(label, `has tile-part ${p.part} of tile ${p.tile} where part ${list.length} was expected`);
    if (p.parts !== null) declared[p.tile] = p.parts;
    list.push({ offset: codestream.offset + p.offset, length: p.length });
  }
  index.forEach((list, tile) => {
    if (list.length === 0) throw corrupt(label, `has no data for tile ${tile} of ${tiles}: its tiles do not cover the image`);
    const expected = declared[tile];
    if (expected !== null && expected !== undefined && expected !== list.length) {
      throw corrupt(label, `has ${list.length} of the ${expected} tile-parts tile ${tile} declares; truncated?`);
    }
  });
  return index;
}

function corrupt(label: string, why: string): CloudsegError {
  return new CloudsegError('CORRUPT_IMAGE', `${label}: JPEG 2000 codestream ${why}`);
}

function tooMany(label: string, count: number, max: number): CloudsegError {
  return new CloudsegError('CORRUPT_IMAGE', `${label}: JPEG 2000 codestream has ${count} tile-parts or more, over the limit of ${max}`, { details: { maxTileParts: max } });
}
