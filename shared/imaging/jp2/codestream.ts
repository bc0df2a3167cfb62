// The JPEG 2000 codestream's main header (ITU-T T.800 annex A), read without decoding a pixel:
// image and tile geometry from SIZ, decomposition levels from COD/COC, tile-part lengths from TLM,
// and the rewrite that turns one tile of the image into a codestream of its own.
import { CloudsegError } from '../../errors.js';

export const MARKER = {
  SOC: 0xff4f,
  SIZ: 0xff51,
  COD: 0xff52,
  COC: 0xff53,
  TLM: 0xff55,
  PLM: 0xff57,
  PPM: 0xff60,
  SOT: 0xff90,
  SOD: 0xff93,
  EOC: 0xffd9,
} as const;

/** One image component as SIZ declares it. */
export interface Jp2Component {
  /** Bits per sample, 1..38. */
  precision: number;
  signed: boolean;
  /** Horizontal and vertical sub-sampling on the reference grid. */
  dx: number;
  dy: number;
}

/**
 * SIZ: the image area [x0, x1) x [y0, y1) on the reference grid and the tile grid anchored at
 * (tileX0, tileY0) with tiles of tileWidth x tileHeight.
 */
export interface Jp2Siz {
  rsiz: number;
  x1: number;
  y1: number;
  x0: number;
  y0: number;
  tileWidth: number;
  tileHeight: number;
  tileX0: number;
  tileY0: number;
  components: Jp2Component[];
}

/** A tile-part's length from TLM, in codestream order; tile is null when TLM leaves it implicit. */
export interface TlmEntry {
  tile: number | null;
  length: number;
}

export interface Jp2MainHeader {
  siz: Jp2Siz;
  /** Bytes from SOC up to the first SOT. */
  length: number;
  /** The fewest wavelet decompositions of any component (COD, overridden per component by COC). */
  decompositionLevels: number;
  /** Quality layers (COD). */
  layers: number;
  /** Tile-part lengths in codestream order, when the header has TLM markers. */
  tlm: TlmEntry[] | null;
  /** Marker segments of the main header after SOC, in order (offsets into the header). */
  segments: { marker: number; offset: number; length: number }[];
}

/** The tile grid SIZ implies. */
export interface Jp2TileGrid {
  columns: number;
  rows: number;
  count: number;
}

/** Isot is 16 bits: no codestream can address more tiles than this. */
export const MAX_TILES = 65535;
// Csiz is at most 16384 (A.5.1).
const MAX_COMPONENTS = 16384;

function corrupt(label: string, why: string): CloudsegError {
  return new CloudsegError('CORRUPT_IMAGE', `${label}: JPEG 2000 codestream ${why}`);
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) >>> 0) + (b[at + 1]! << 16) + (b[at + 2]! << 8) + b[at + 3]!;
}

/**
 * Parses the main header at the start of `bytes` (which start at SOC). Returns null when `bytes`
 * end before the first SOT: the caller reads more and asks again. Throws CORRUPT_IMAGE on marker
 * garbage and UNSUPPORTED_FORMAT on what the windowed reader cannot split into tiles (PPM).
 */
export function parseMainHeader(bytes: Uint8Array, label: string): Jp2MainHeader | null {
  if (bytes.length < 4) return null;
  if (u16(bytes, 0) !== MARKER.SOC) throw corrupt(label, `does not start with SOC (found ${u16(bytes, 0).toString(16)})`);
  if (u16(bytes, 2) !== MARKER.SIZ) throw corrupt(label, 'has no SIZ right after SOC');
  const segments: Jp2MainHeader['segments'] = [];
  let siz: Jp2Siz | null = null;
  let codLevels: number | null = null;
  let layers = 1;
  const cocLevels = new Map<number, number>();
  const tlmSegments: { index: number; entries: TlmEntry[] }[] = [];
  let at = 2;
  for (;;) {
    if (at + 2 > bytes.length) return null;
    const marker = u16(bytes, at);
    if (marker === MARKER.SOT) break;
    if (marker >> 8 !== 0xff || marker < 0xff30) throw corrupt(label, `has garbage in its main header at byte ${at} (${marker.toString(16)})`);
    // FF30..FF3F carry no segment (A.1.4); everything else in a main header does.
    if (marker <= 0xff3f) {
      at += 2;
      continue;
    }
    if (marker === MARKER.SOD || marker === MARKER.EOC || marker === MARKER.SOC) throw corrupt(label, `has ${marker.toString(16)} in its main header at byte ${at}`);
    if (at + 4 > bytes.length) return null;
    const length = u16(bytes, at + 2);
    if (length < 2) throw corrupt(label, `has a marker segment of length ${length} at byte ${at}`);
    if (at + 2 + length > bytes.length) return null;
    const body = bytes.subarray(at + 4, at + 2 + length);
    segments.push({ marker, offset: at, length: 2 + length });
    if (marker === MARKER.SIZ) {
      if (siz) throw corrupt(label, 'has two SIZ markers');
      siz = parseSiz(body, label);
    } else if (marker === MARKER.COD) {
      if (body.length < 10) throw corrupt(label, 'has a short COD');
      layers = u16(body, 2);
      codLevels = body[5]!;
    } else if (marker === MARKER.COC) {
      const wide = (siz?.components.length ?? 0) >= 257;
      if (body.length < (wide ? 3 : 2) + 1) throw corrupt(label, 'has a short COC');
      const component = wide ? u16(body, 0) : body[0]!;
      cocLevels.set(component, body[(wide ? 2 : 1) + 1]!);
    } else if (marker === MARKER.TLM) {
      tlmSegments.push(parseTlm(body, label));
    } else if (marker === MARKER.PPM) {
      // Packed packet headers of every tile live in the main header: one tile cannot be cut out.
      throw new CloudsegError('UNSUPPORTED_FORMAT', `${label}: JPEG 2000 codestream uses packed packet headers (PPM), which windowed reading does not support`);
    }
    at += 2 + length;
  }
  if (!siz) throw corrupt(label, 'has no SIZ');
  if (codLevels === null) throw corrupt(label, 'has no COD');
  let decompositionLevels = codLevels;
  for (let c = 0; c < siz.components.length; c++) decompositionLevels = Math.min(decompositionLevels, cocLevels.get(c) ?? codLevels);
  tlmSegments.sort((a, b) => a.index - b.index);
  const tlm = tlmSegments.length ? tlmSegments.flatMap((s) => s.entries) : null;
  return { siz, length: at, decompositionLevels, layers, tlm, segments };
}

function parseSiz(body: Uint8Array, label: string): Jp2Siz {
  if (body.length < 36) throw corrupt(label, 'has a short SIZ');
  const count = u16(body, 34);
  if (count < 1 || count > MAX_COMPONENTS || body.length !== 36 + 3 * count) throw corrupt(label, `SIZ declares ${count} components in ${body.length + 2} bytes`);
  const components: Jp2Component[] = [];
  for (let c = 0; c < count; c++) {
    const ssiz = body[36 + 3 * c]!;
    const dx = body[37 + 3 * c]!;
    const dy = body[38 + 3 * c]!;
    const precision = (ssiz & 0x7f) + 1;
    if (precision > 38 || dx < 1 || dy < 1) throw corrupt(label, `SIZ component ${c} is invalid (Ssiz ${ssiz}, XRsiz ${dx}, YRsiz ${dy})`);
    components.push({ precision, signed: (ssiz & 0x80) !== 0, dx, dy });
  }
  const siz: Jp2Siz = {
    rsiz: u16(body, 0),
    x1: u32(body, 2),
    y1: u32(body, 6),
    x0: u32(body, 10),
    y0: u32(body, 14),
    tileWidth: u32(body, 18),
    tileHeight: u32(body, 22),
    tileX0: u32(body, 26),
    tileY0: u32(body, 30),
    components,
  };
  checkSiz(siz, label);
  return siz;
}

// The constraints of A.5.1 that make the tile grid cover the image exactly.
function checkSiz(s: Jp2Siz, label: string): void {
  if (s.x1 <= s.x0 || s.y1 <= s.y0) throw corrupt(label, `SIZ gives an empty image (${s.x0}..${s.x1} x ${s.y0}..${s.y1})`);
  if (s.tileWidth < 1 || s.tileHeight < 1) throw corrupt(label, `SIZ gives tiles of ${s.tileWidth}x${s.tileHeight}`);
  if (s.tileX0 > s.x0 || s.tileY0 > s.y0 || s.tileX0 + s.tileWidth <= s.x0 || s.tileY0 + s.tileHeight <= s.y0) {
    throw corrupt(label, `tiles (origin ${s.tileX0},${s.tileY0}, ${s.tileWidth}x${s.tileHeight}) do not cover the image (origin ${s.x0},${s.y0})`);
  }
}

function parseTlm(body: Uint8Array, label: string): { index: number; entries: TlmEntry[] } {
  if (body.length < 2) throw corrupt(label, 'has a short TLM');
  const index = body[0]!;
  const stlm = body[1]!;
  const tileBytes = (stlm >> 4) & 3;
  const lengthBytes = (stlm >> 6) & 1 ? 4 : 2;
  if (tileBytes === 3) throw corrupt(label, `has a TLM with Stlm ${stlm}`);
  const entryBytes = tileBytes + lengthBytes;
  if ((body.length - 2) % entryBytes !== 0) throw corrupt(label, `has a TLM of ${body.length + 2} bytes, not whole entries of ${entryBytes}`);
  const entries: TlmEntry[] = [];
  for (let at = 2; at < body.length; at += entryBytes) {
    const tile = tileBytes === 0 ? null : tileBytes === 1 ? body[at]! : u16(body, at);
    const length = lengthBytes === 2 ? u16(body, at + tileBytes) : u32(body, at + tileBytes);
    entries.push({ tile, length });
  }
  return { index, entries };
}

export function tileGrid(s: Jp2Siz): Jp2TileGrid {
  const columns = Math.ceil((s.x1 - s.tileX0) / s.tileWidth);
  const rows = Math.ceil((s.y1 - s.tileY0) / s.tileHeight);
  return { columns, rows, count: columns * rows };
}

/** Tile `index`'s area on the reference grid, clipped to the image (B.3). */
export function tileBounds(s: Jp2Siz, index: number): { x0: number; y0: number; x1: number; y1: number } {
  const { columns } = tileGrid(s);
  const p = index % columns;
  const q = Math.floor(index / columns);
  return {
    x0: Math.max(s.tileX0 + p * s.tileWidth, s.x0),
    y0: Math.max(s.tileY0 + q * s.tileHeight, s.y0),
    x1: Math.min(s.tileX0 + (p + 1) * s.tileWidth, s.x1),
    y1: Math.min(s.tileY0 + (q + 1) * s.tileHeight, s.y1),
  };
}

/** ceil(a / 2^r): a reference-grid coordinate at resolution reduced r times (B.5). */
export function reduceCoordinate(a: number, reduce: number): number {
  return Math.ceil(a / 2 ** reduce);
}

/** The image size at `reduce` levels below full resolution. */
export function reducedImageSize(s: Jp2Siz, reduce: number): { width: number; height: number } {
  return {
    width: reduceCoordinate(s.x1, reduce) - reduceCoordinate(s.x0, reduce),
    height: reduceCoordinate(s.y1, reduce) - reduceCoordinate(s.y0, reduce),
  };
}

/** The bytes of a SIZ marker segment. */
export function encodeSiz(s: Jp2Siz): Uint8Array {
  const out = new Uint8Array(40 + 3 * s.components.length);
  const view = new DataView(out.buffer);
  view.setUint16(0, MARKER.SIZ);
  view.setUint16(2, 38 + 3 * s.components.length);
  view.setUint16(4, s.rsiz);
  [s.x1, s.y1, s.x0, s.y0, s.tileWidth, s.tileHeight, s.tileX0, s.tileY0].forEach((v, i) => view.setUint32(6 + 4 * i, v));
  view.setUint16(38, s.components.length);
  s.components.forEach((c, i) => {
    out[40 + 3 * i] = (c.signed ? 0x80 : 0) | (c.precision - 1);
    out[41 + 3 * i] = c.dx;
    out[42 + 3 * i] = c.dy;
  });
  return out;
}

/**
 * A main header for a codestream whose whole image is tile `index` of the original: the image area
 * becomes the tile's area and one tile covers it. Coordinates stay absolute, so the code-block and
 * precinct partitions (anchored at the reference grid's origin) and therefore the decoded samples
 * are those of the original. TLM and PLM are dropped: they describe the original's tile-parts.
 */
export function singleTileMainHeader(header: Uint8Array, parsed: Jp2MainHeader, index: number): Uint8Array {
  const b = tileBounds(parsed.siz, index);
  const siz = encodeSiz({ ...parsed.siz, x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1, tileX0: b.x0, tileY0: b.y0, tileWidth: b.x1 - b.x0, tileHeight: b.y1 - b.y0 });
  const parts: Uint8Array[] = [header.subarray(0, 2)];
  for (const s of parsed.segments) {
    if (s.marker === MARKER.SIZ) parts.push(siz);
    else if (s.marker !== MARKER.TLM && s.marker !== MARKER.PLM) parts.push(header.subarray(s.offset, s.offset + s.length));
  }
  return concat(parts);
}

/** SOT fields (A.4.2) of the tile-part starting at `bytes[at]`, or null when no SOT is there. */
export function parseSot(bytes: Uint8Array, at = 0): { tile: number; length: number; part: number; parts: number } | null {
  if (bytes.length < at + 12 || u16(bytes, at) !== MARKER.SOT || u16(bytes, at + 2) !== 10) return null;
  return { tile: u16(bytes, at + 4), length: u32(bytes, at + 6), part: bytes[at + 10]!, parts: bytes[at + 11]! };
}

/**
 * A single-tile codestream: the rewritten main header, the tile's tile-parts (in codestream order)
 * renumbered as tile 0 with their exact lengths, and EOC.
 */
export function singleTileCodestream(mainHeader: Uint8Array, tileParts: Uint8Array[]): Uint8Array {
  const total = mainHeader.length + tileParts.reduce((n, p) => n + p.length, 0) + 2;
  const out = new Uint8Array(total);
  out.set(mainHeader, 0);
  let at = mainHeader.length;
  for (const part of tileParts) {
    out.set(part, at);
    const view = new DataView(out.buffer, at);
    view.setUint16(4, 0);
    // Psot 0 (up to EOC) is only right for a codestream's last tile-part: say the length.
    view.setUint32(6, part.length);
    at += part.length;
  }
  out[at] = 0xff;
  out[at + 1] = 0xd9;
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
