// The terminal side of `cloudseg segment`'s progress bar: one line per image on stderr, redrawn in
// place with a carriage return at most every REDRAW_INTERVAL_MS, ended with a newline.
import { performance } from 'node:perf_hooks';
import { formatProgressLine, PROGRESS_MIN_TILES, REDRAW_INTERVAL_MS } from './progress-line.js';

/** Where the line goes: process.stderr, or anything with write() (and a width when it is a terminal). */
export interface ProgressOutput {
  write(text: string): unknown;
  /** Terminal width; 0 or absent (a pty without a size) means 80. */
  columns?: number;
}

export interface ProgressBar {
  /** segmentFile's onProgress: tiles done / total so far. */
  update: (tilesDone: number, tilesTotal: number) => void;
  /** Draws the last state and ends the line; nothing when the bar was never drawn. */
  finish: () => void;
}

export interface ProgressBarOptions {
  /** @default PROGRESS_MIN_TILES: scenes of this many tiles or fewer get no bar */
  minTiles?: number;
  /** @default REDRAW_INTERVAL_MS */
  intervalMs?: number;
  /** Milliseconds on a monotonic clock. @default performance.now */
  now?: () => number;
}

const DEFAULT_COLUMNS = 80;

export function createProgressBar(out: ProgressOutput, label: string, options: ProgressBarOptions = {}): ProgressBar {
  const now = options.now ?? (() => performance.now());
  const minTiles = options.minTiles ?? PROGRESS_MIN_TILES;
  const intervalMs = options.intervalMs ?? REDRAW_INTERVAL_MS;
  const started = now();
  let latest: { done: number; total: number } | null = null;
  let drawnState: { done: number; total: number } | null = null;
  let lastDrawAt = -Infinity;
  let lastLength = 0;
  let finished = false;

  const draw = (at: number) => {
    const { done, total } = latest!;
    const line = formatProgressLine({ label, tilesDone: done, tilesTotal: total, elapsedMs: at - started, columns: out.columns || DEFAULT_COLUMNS });
    // Spaces over what a longer previous line left, instead of an erase-line escape: works on any terminal.
    out.write(`\r${line.padEnd(lastLength)}`);
    lastLength = line.length;
    lastDrawAt = at;
    drawnState = latest;
  };

  return {
    update(tilesDone, tilesTotal) {
      if (finished || tilesTotal <= minTiles) return;
      latest = { done: tilesDone, total: tilesTotal };
      const at = now();
      if (tilesDone >= tilesTotal || at - lastDrawAt >= intervalMs) draw(at);
    },
    finish() {
      if (finished) return;
      finished = true;
      if (!latest) return;
      if (drawnState !== latest) draw(now());
      out.write('\n');
    },
  };
}
