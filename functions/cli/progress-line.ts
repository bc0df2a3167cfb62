// What `cloudseg segment`'s progress bar says, as pure functions: when to draw one at all, the ETA
// from the rate so far, and the one line (name, bar, tiles, percent, elapsed, ETA) fitted to a width.

/** Scenes with at most this many tiles finish in about a second (~70 ms a tile): no bar for them. */
export const PROGRESS_MIN_TILES = 12;

/** The rate of the first tiles says little (model warm-up, the header read): no ETA before this many. */
export const ETA_MIN_TILES = 3;

/** At most this many redraws a second. */
export const REDRAW_INTERVAL_MS = 100;

export interface ProgressContext {
  /** Whether stderr is a terminal. */
  isTTY: boolean;
  env: Readonly<Record<string, string | undefined>>;
  /** `--no-progress` sets this false. */
  wanted: boolean;
}

/**
 * Cargo's rule for `term.progress.when = auto`: draw only on a terminal, not when TERM is "dumb"
 * (no carriage-return redraws) and not under CI (CI or TF_BUILD set: logs would fill with redraws).
 * NO_COLOR does not turn it off: it is about colour (no-color.org) and the bar has none.
 */
export function shouldDrawProgress(context: ProgressContext): boolean {
  const { env } = context;
  return context.wanted && context.isTTY && env.TERM !== 'dumb' && env.CI === undefined && env.TF_BUILD === undefined;
}

/** Milliseconds left at the rate so far, or null while too few tiles are done to say. */
export function estimateEtaMs(tilesDone: number, tilesTotal: number, elapsedMs: number): number | null {
  if (tilesDone < Math.min(ETA_MIN_TILES, tilesTotal) || tilesDone <= 0 || elapsedMs <= 0) return null;
  return Math.max(0, ((tilesTotal - tilesDone) * elapsedMs) / tilesDone);
}

/** m:ss under an hour, h:mm:ss above. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export interface ProgressState {
  /** The file name shown first (shortened from the left when the line is narrow). */
  label: string;
  tilesDone: number;
  tilesTotal: number;
  elapsedMs: number;
  /** Terminal width; the line is kept one shorter so it never wraps (a wrapped line cannot be redrawn). */
  columns: number;
}

const MIN_BAR = 10;
const MAX_BAR = 40;
const MIN_LABEL = 8;

/**
 * One progress line, e.g. `scene.tif [########........] 12/20  60% 0:07 ETA 0:05`, never longer
 * than columns - 1: the bar shrinks first, then the label (keeping its end), then both go.
 */
export function formatProgressLine(state: ProgressState): string {
  const total = Math.max(0, state.tilesTotal);
  const done = Math.min(Math.max(0, state.tilesDone), total);
  const fraction = total === 0 ? 1 : done / total;
  // Floor, so 100 % means every tile is done.
  const percent = `${String(Math.floor(fraction * 100)).padStart(3)}%`;
  const eta = done === total ? null : estimateEtaMs(done, total, state.elapsedMs);
  const timing = done === total ? formatDuration(state.elapsedMs) : `${formatDuration(state.elapsedMs)} ETA ${eta === null ? '-:--' : formatDuration(eta)}`;
  const stats = `${String(done).padStart(String(total).length)}/${total} ${percent} ${timing}`;
  const room = Math.max(0, Math.floor(state.columns) - 1);
  const label = [...state.label];

  const bar = (width: number) => {
    const filled = Math.floor(fraction * width);
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
  };
  // label + ' ' + [bar] + ' ' + stats
  const fixed = stats.length + 4;
  const barWidth = Math.min(MAX_BAR, room - fixed - label.length);
  if (barWidth >= MIN_BAR) return `${state.label} ${bar(barWidth)} ${stats}`;
  const labelRoom = room - fixed - MIN_BAR;
  if (labelRoom >= MIN_LABEL) return `${shorten(label, labelRoom)} ${bar(MIN_BAR)} ${stats}`;
  if (room - stats.length - 1 >= MIN_LABEL) return `${shorten(label, room - stats.length - 1)} ${stats}`;
  return stats.slice(0, room);
}

function shorten(chars: string[], width: number): string {
  return chars.length <= width ? chars.join('') : `…${chars.slice(chars.length - (width - 1)).join('')}`;
}
