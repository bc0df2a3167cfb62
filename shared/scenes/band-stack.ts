// Windows of a scene stored one band per object (a STAC item's assets, a Landsat band set, a SAFE
// product's JP2s): each band is a TIFF or JPEG 2000 read window by window through its own
// RangeSource (band-reader.ts), and a window of the stack is the model's input for that rectangle,
// bands in the card's order, each band's reflectance conversion applied. Every band's header is
// checked (size, georeference, sample) before any pixel; a band at an integer fraction of the
// finest resolution (Sentinel-2 20 m in a 10 m stack) is upsampled.
import { CloudsegError } from '../errors.js';
import type { RangeSource } from '../imaging/range-source.js';
import type { Tile } from '../imaging/tiling.js';
import { bytesPerSample, type Georeference, type RasterDtype, type RasterHeader } from '../imaging/types.js';
import { openBandReader, type BandReader } from './band-reader.js';
import type { SceneBand, SceneGrid } from './types.js';

/** One band of the stack: what the descriptor says about it and a way to read its object. */
export interface StackBand {
  band: SceneBand;
  source: RangeSource;
}

/** What the headers say about the stack, before any pixel is read. */
export interface StackHeader {
  width: number;
  height: number;
  /** Bands of the stack (the model's). */
  bands: number;
  /** The widest stored window sample of any band file: what one pixel of one band costs to read. */
  bytesPerPixelRead: number;
  /** Per band, in the stack's order. */
  dtypes: RasterDtype[];
}

export interface BandStackOptions {
  /** Only for messages (the descriptor's name). */
  label: string;
  /** Decoded blocks all bands together may cache. @default 64 MiB */
  blockCacheBytes?: number;
  /**
   * The product's own grid (a SAFE granule's Tile_Geocoding): every band is placed on it by its
   * size, a band file with a georeference of its own must agree on the CRS (see placeOnGrid).
   */
  grid?: SceneGrid;
  /**
   * Called after each band's header with the stack so far and the block cache bytes of the bands
   * opened so far, before that band's block tables or any pixel are read; throw to refuse. The
   * last call sees every band.
   */
  admit?: (header: StackHeader, blockCacheBytes: number) => void;
}

/** One window of the stack: HWC float32 reflectance in the stack's band order, and its valid pixels. */
export interface StackWindow {
  input: Float32Array;
  /** 1 where every band holds a value, 0 where any band is nodata, NaN or infinite. */
  valid: Uint8Array;
  validCount: number;
}

export interface BandStack {
  header: StackHeader;
  /** The first band's georeference: the mask's. */
  georef: Georeference | null;
  readWindow(window: Tile): Promise<StackWindow>;
}

const DEFAULT_BLOCK_CACHE_BYTES = 64 * 1024 * 1024;

export async function openBandStack(bands: readonly StackBand[], options: BandStackOptions): Promise<BandStack> {
  const { label } = options;
  if (bands.length === 0) throw new CloudsegError('SCENE_INVALID', `${label}: the scene names no bands`);
  // The cache budget is shared: a stack of four bands caches no more than one four-band file would.
  const perBandCache = Math.floor((options.blockCacheBytes ?? DEFAULT_BLOCK_CACHE_BYTES) / bands.length);
  const opened: BandReader[] = [];
  let cacheSoFar = 0;
  for (const entry of bands) {
    const name = `${label} band ${entry.band.band} (${entry.band.href})`;
    const reader = await openBandReader(entry.source, {
      label: name,
      blockCacheBytes: perBandCache,
      ...(options.grid ? { grid: options.grid } : {}),
      admit: (header, blockCacheBytes) => {
        const headers = [...opened.map((o) => o.header), header];
        const finest = headers.reduce((a, b) => (b.width > a.width ? b : a));
        // Every band so far on the finest band's grid, at one resolution or an integer fraction of it.
        for (const h of headers) {
          const grid = onGrid(finest, h);
          if (grid !== 'ok') throw mismatch(label, bands, headers, grid);
        }
        if (!Number.isInteger(entry.band.sample) || entry.band.sample < 0 || entry.band.sample >= header.bands) {
          throw new CloudsegError('SCENE_INVALID', `${name}: sample ${entry.band.sample} asked for, the file has ${header.bands}`, {
            details: { band: entry.band.band, href: entry.band.href, sample: entry.band.sample, samples: header.bands },
          });
        }
        cacheSoFar += blockCacheBytes;
        options.admit?.(
          {
            width: finest.width,
            height: finest.height,
            bands: bands.length,
            bytesPerPixelRead: Math.max(...headers.map((h) => h.bands * bytesPerSample(h.dtype))),
            dtypes: headers.map((h) => h.dtype),
          },
          cacheSoFar,
        );
      },
    });
    opened.push(reader);
  }
  // The stack is on the finest grid (the first band of it gives the mask's georeference); a coarser
  // band (Sentinel-2's 20 m SWIR in a 10 m stack) is upsampled by nearest neighbour, `factor` times.
  const finest = opened.map((o) => o.header).reduce((a, b) => (b.width > a.width ? b : a));
  const factors = opened.map((o) => finest.width / o.header.width);
  const header: StackHeader = {
    width: finest.width,
    height: finest.height,
    bands: bands.length,
    bytesPerPixelRead: Math.max(...opened.map((o) => o.header.bands * bytesPerSample(o.header.dtype))),
    dtypes: opened.map((o) => o.header.dtype),
  };
  // The descriptor's nodata wins (all its values: a SAFE product's NODATA and SATURATED); a band
  // it says nothing about keeps its file's.
  const noData = bands.map((b, i) => noDataTest(b.band.noDataValues ?? [b.band.noData ?? opened[i]!.header.noData]));

  const readWindow = async (window: Tile): Promise<StackWindow> => {
    const rasters = await Promise.all(opened.map((o, b) => o.readWindow(coarseWindow(window, factors[b]!))));
    const pixels = window.width * window.height;
    const count = bands.length;
    const input = new Float32Array(pixels * count);
    const valid = new Uint8Array(pixels).fill(1);
    for (let b = 0; b < count; b++) {
      const { data, bands: stride, width: rasterWidth } = rasters[b]!;
      const { scale, offset, sample } = bands[b]!.band;
      const isNoData = noData[b]!;
      const factor = factors[b]!;
      const put = (p: number, v: number) => {
        // A nodata sample is 0 in the input (as toModelInput does for a stacked file) and its pixel
        // nodata; NaN and infinities are never data (a NaN nodata among them).
        if (!Number.isFinite(v) || isNoData(v)) {
          input[p * count + b] = 0;
          valid[p] = 0;
        } else {
          input[p * count + b] = v * scale + offset;
        }
      };
      if (factor === 1) {
        for (let p = 0, i = sample; p < pixels; p++, i += stride) put(p, data[i]!);
        continue;
      }
      // Each pixel of the window takes the sample of the coarse pixel covering it.
      const x0 = Math.floor(window.x / factor);
      const y0 = Math.floor(window.y / factor);
      for (let y = 0, p = 0; y < window.height; y++) {
        const row = (Math.floor((window.y + y) / factor) - y0) * rasterWidth;
        for (let x = 0; x < window.width; x++, p++) put(p, data[(row + Math.floor((window.x + x) / factor) - x0) * stride + sample]!);
      }
    }
    let validCount = 0;
    for (let p = 0; p < pixels; p++) validCount += valid[p]!;
    return { input, valid, validCount };
  };
  return { header, georef: finest.georef, readWindow };
}

/** Whether a stored value is one of `values` (nulls ignored; NaN needs no entry: it is never data). */
function noDataTest(values: readonly (number | null)[]): (v: number) => boolean {
  const finite = [...new Set(values.filter((v): v is number => v !== null && Number.isFinite(v)))];
  if (finite.length === 0) return () => false;
  if (finite.length === 1) {
    const a = finite[0]!;
    return (v) => v === a;
  }
  if (finite.length === 2) {
    const [a, b] = finite as [number, number];
    return (v) => v === a || v === b;
  }
  const set = new Set(finite);
  return (v) => set.has(v);
}

/** The window of a band `factor` times coarser that covers `window` of the stack's grid. */
function coarseWindow(window: Tile, factor: number): Tile {
  if (factor === 1) return window;
  const x = Math.floor(window.x / factor);
  const y = Math.floor(window.y / factor);
  return { x, y, width: Math.floor((window.x + window.width - 1) / factor) - x + 1, height: Math.floor((window.y + window.height - 1) / factor) - y + 1 };
}

/**
 * Whether `band` lies on the grid of the finest band: the same size and georeference, or an exact
 * integer fraction of its size whose pixels are that many times larger, from the same origin.
 */
function onGrid(finest: RasterHeader, band: RasterHeader): 'ok' | 'size' | 'georeference' {
  const factor = finest.width / band.width;
  if (!Number.isInteger(factor) || band.height * factor !== finest.height) return 'size';
  if (factor === 1) return sameGeoreference(finest.georef, band.georef) ? 'ok' : 'georeference';
  const a = finest.georef;
  const b = band.georef;
  // Without a georeference only the sizes can say; with one, the coarse pixel is `factor` fine ones.
  if (a === null || b === null) return a === b ? 'ok' : 'georeference';
  const scaled = a.modelPixelScale && b.modelPixelScale && a.modelPixelScale.slice(0, 2).every((v, i) => near(v * factor, b.modelPixelScale![i]!));
  const sameOrigin = sameNumbers(a.modelTiepoint, b.modelTiepoint);
  const keys = JSON.stringify(sortedKeys(a.geoKeys)) === JSON.stringify(sortedKeys(b.geoKeys));
  return scaled && sameOrigin && keys && a.modelTransformation === null && b.modelTransformation === null ? 'ok' : 'georeference';
}

function near(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
}

function mismatch(label: string, bands: readonly StackBand[], headers: { width: number; height: number; georef: Georeference | null }[], what: 'size' | 'georeference'): CloudsegError {
  const described = headers.map((h, i) => `${bands[i]!.band.band} ${h.width}x${h.height}${what === 'georeference' ? ` at ${placement(h.georef)}` : ''}`);
  return new CloudsegError('SCENE_INVALID', `${label}: the bands do not share one ${what === 'size' ? 'size' : 'georeference'} (${described.join(', ')})`, {
    details: { bands: headers.map((h, i) => ({ band: bands[i]!.band.band, href: bands[i]!.band.href, width: h.width, height: h.height })) },
  });
}

function placement(georef: Georeference | null): string {
  if (!georef) return 'no georeference';
  const origin = georef.modelTiepoint ? `${georef.modelTiepoint[3]},${georef.modelTiepoint[4]}` : 'transform';
  const pixel = georef.modelPixelScale ? `${georef.modelPixelScale[0]} m` : '';
  return `${origin} ${pixel}`.trim();
}

/** Same CRS and the same pixel grid: what lets one window mean one place in every band. */
export function sameGeoreference(a: Georeference | null, b: Georeference | null): boolean {
  if (a === null || b === null) return a === b;
  return (
    JSON.stringify(sortedKeys(a.geoKeys)) === JSON.stringify(sortedKeys(b.geoKeys)) &&
    sameNumbers(a.modelTiepoint, b.modelTiepoint) &&
    sameNumbers(a.modelPixelScale, b.modelPixelScale) &&
    sameNumbers(a.modelTransformation, b.modelTransformation)
  );
}

function sortedKeys(keys: Georeference['geoKeys']): [string, unknown][] {
  return Object.entries(keys).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}

function sameNumbers(a: number[] | null, b: number[] | null): boolean {
  if (a === null || b === null) return a === b;
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
