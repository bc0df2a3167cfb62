// Windows of a scene stored one band per object (a STAC item's assets, a Landsat band set): each
// band is a TIFF read window by window through its own RangeSource, and a window of the stack is
// the model's input for that rectangle, bands in the card's order, each band's reflectance
// conversion applied. Every band's header is checked (size, georeference, sample) before any pixel.
import { CloudsegError } from '../errors.js';
import type { RangeSource } from '../imaging/range-source.js';
import { openTiffWindows, type TiffWindows } from '../imaging/tiff-windows.js';
import type { Tile } from '../imaging/tiling.js';
import type { Georeference, RasterDtype } from '../imaging/types.js';
import type { SceneBand } from './types.js';

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
  const opened: TiffWindows[] = [];
  let cacheSoFar = 0;
  for (const [i, entry] of bands.entries()) {
    const name = `${label} band ${entry.band.band} (${entry.band.href})`;
    const windows = await openTiffWindows(entry.source, {
      label: name,
      blockCacheBytes: perBandCache,
      admit: (header, blockCacheBytes) => {
        const first = i === 0 ? header : opened[0]!.header;
        if (header.width !== first.width || header.height !== first.height) {
          throw mismatch(label, bands, [...opened.map((o) => o.header), header], 'size');
        }
        if (i > 0 && !sameGeoreference(first.georef, header.georef)) {
          throw mismatch(label, bands, [...opened.map((o) => o.header), header], 'georeference');
        }
        if (!Number.isInteger(entry.band.sample) || entry.band.sample < 0 || entry.band.sample >= header.bands) {
          throw new CloudsegError('SCENE_INVALID', `${name}: sample ${entry.band.sample} asked for, the file has ${header.bands}`, {
            details: { band: entry.band.band, href: entry.band.href, sample: entry.band.sample, samples: header.bands },
          });
        }
        cacheSoFar += blockCacheBytes;
        const headers = [...opened.map((o) => o.header), header];
        options.admit?.(
          {
            width: header.width,
            height: header.height,
            bands: bands.length,
            bytesPerPixelRead: Math.max(...headers.map((h) => h.bands * bytesPerSample(h.dtype))),
            dtypes: headers.map((h) => h.dtype),
          },
          cacheSoFar,
        );
      },
    });
    opened.push(windows);
  }
  const first = opened[0]!.header;
  const header: StackHeader = {
    width: first.width,
    height: first.height,
    bands: bands.length,
    bytesPerPixelRead: Math.max(...opened.map((o) => o.header.bands * bytesPerSample(o.header.dtype))),
    dtypes: opened.map((o) => o.header.dtype),
  };
  // The descriptor's nodata wins; a band it says nothing about keeps its file's.
  const noData = bands.map((b, i) => b.band.noData ?? opened[i]!.header.noData);

  const readWindow = async (window: Tile): Promise<StackWindow> => {
    const rasters = await Promise.all(opened.map((o) => o.readWindow(window)));
    const pixels = window.width * window.height;
    const count = bands.length;
    const input = new Float32Array(pixels * count);
    const valid = new Uint8Array(pixels).fill(1);
    for (let b = 0; b < count; b++) {
      const { data, bands: stride } = rasters[b]!;
      const { scale, offset, sample } = bands[b]!.band;
      const nd = noData[b]!;
      const ndIsNaN = nd !== null && Number.isNaN(nd);
      for (let p = 0, i = sample; p < pixels; p++, i += stride) {
        const v = data[i]!;
        // A nodata sample is 0 in the input (as toModelInput does for a stacked file) and its pixel nodata.
        if (v === nd || !Number.isFinite(v) || (ndIsNaN && Number.isNaN(v))) {
          input[p * count + b] = 0;
          valid[p] = 0;
        } else {
          input[p * count + b] = v * scale + offset;
        }
      }
    }
    let validCount = 0;
    for (let p = 0; p < pixels; p++) validCount += valid[p]!;
    return { input, valid, validCount };
  };
  return { header, georef: first.georef, readWindow };
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

export function bytesPerSample(dtype: RasterDtype): number {
  return dtype === 'uint8' ? 1 : dtype === 'uint16' || dtype === 'int16' ? 2 : dtype === 'float64' ? 8 : 4;
}
