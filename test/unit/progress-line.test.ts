// `cloudseg segment`'s progress bar: the pure line (table tests at the edges), when one is drawn,
// and the terminal shell's throttling and ending, with a recording stream and a hand-driven clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressBar } from '../../functions/cli/progress-bar.js';
import { estimateEtaMs, formatDuration, formatProgressLine, PROGRESS_MIN_TILES, shouldDrawProgress } from '../../functions/cli/progress-line.js';

test('formatProgressLine: zero, one, many, done, unknown ETA', () => {
  const line = (tilesDone: number, tilesTotal: number, elapsedMs: number, columns = 80, label = 'scene.tif') => formatProgressLine({ label, tilesDone, tilesTotal, elapsedMs, columns });
  const cases: [string, string, string][] = [
    // [what, got, expected]
    ['zero done: empty bar, no ETA yet', line(0, 20, 0), `scene.tif [${'.'.repeat(40)}]  0/20   0% 0:00 ETA -:--`],
    ['one done: too early for an ETA', line(1, 20, 900), `scene.tif [##${'.'.repeat(38)}]  1/20   5% 0:01 ETA -:--`],
    ['many: ETA from the rate so far (10 tiles in 5 s, 10 left)', line(10, 20, 5000), `scene.tif [${'#'.repeat(20)}${'.'.repeat(20)}] 10/20  50% 0:05 ETA 0:05`],
    ['almost done: 99 %, not 100', line(199, 200, 99_500), `scene.tif [${'#'.repeat(39)}.] 199/200  99% 1:40 ETA 0:01`],
    ['done: full bar, elapsed only', line(20, 20, 61_000), `scene.tif [${'#'.repeat(40)}] 20/20 100% 1:01`],
    ['hours', line(1, 3, 3_600_000), `scene.tif [#############${'.'.repeat(27)}] 1/3  33% 1:00:00 ETA -:--`],
    ['a scene with no tiles is done', line(0, 0, 10), `scene.tif [${'#'.repeat(40)}] 0/0 100% 0:00`],
  ];
  for (const [what, got, expected] of cases) assert.equal(got, expected, what);
});

test('formatProgressLine fits narrow terminals: bar shrinks, then the label keeps its end, then only the numbers', () => {
  const line = (columns: number, label = 'LC09_L1TP_044034_20241001_B4.TIF') => formatProgressLine({ label, tilesDone: 5, tilesTotal: 20, elapsedMs: 2000, columns });
  for (const columns of [200, 80, 60, 50, 40, 35, 30, 20, 10, 1, 0]) {
    const got = line(columns);
    assert.ok(got.length <= Math.max(0, columns - 1), `${columns} columns: ${JSON.stringify(got)} is ${got.length} long`);
  }
  assert.equal(line(200), `LC09_L1TP_044034_20241001_B4.TIF [##########${'.'.repeat(30)}]  5/20  25% 0:02 ETA 0:06`, 'wide: the bar stops at 40');
  assert.equal(line(60), '…4034_20241001_B4.TIF [##........]  5/20  25% 0:02 ETA 0:06', 'exactly 59: the label gives way to a bar of 10');
  assert.match(line(50), /^…[^ ]*B4\.TIF \[##\.{8}\] {2}5\/20 {2}25% 0:02 ETA 0:06$/, 'narrower: the label is shortened from the left, bar of 10');
  assert.match(line(35), /^…\S*TIF {2}5\/20 {2}25% 0:02 ETA 0:06$/, 'narrower still: no bar');
  assert.equal(line(20), ' 5/20  25% 0:02 ETA', 'only the numbers, cut at the width');
  assert.equal(line(0), '');
});

test('estimateEtaMs: none before a few tiles or any time, zero when done', () => {
  assert.equal(estimateEtaMs(0, 10, 1000), null);
  assert.equal(estimateEtaMs(2, 10, 1000), null);
  assert.equal(estimateEtaMs(3, 10, 0), null);
  assert.equal(estimateEtaMs(3, 12, 3000), 9000);
  assert.equal(estimateEtaMs(2, 2, 500), 0, 'a two-tile scene that is done needs no more tiles to tell');
  assert.equal(estimateEtaMs(10, 10, 5000), 0);
});

test('formatDuration', () => {
  assert.deepEqual([0, 499, 500, 59_499, 60_000, 3_599_000, 3_600_000, 36_061_000].map(formatDuration), ['0:00', '0:00', '0:01', '0:59', '1:00', '59:59', '1:00:00', '10:01:01']);
});

test('shouldDrawProgress: a terminal, wanted, not dumb, not CI', () => {
  const cases: [boolean, Record<string, string>, boolean, boolean][] = [
    [true, {}, true, true],
    [false, {}, true, false], // piped or redirected stderr
    [true, {}, false, false], // --no-progress
    [true, { TERM: 'dumb' }, true, false],
    [true, { TERM: 'xterm-256color' }, true, true],
    [true, { CI: 'true' }, true, false],
    [true, { CI: '' }, true, false], // set at all, as cargo checks it
    [true, { TF_BUILD: 'True' }, true, false],
    [true, { NO_COLOR: '1' }, true, true], // colour only; the bar has none
  ];
  for (const [isTTY, env, wanted, expected] of cases) assert.equal(shouldDrawProgress({ isTTY, env, wanted }), expected, JSON.stringify({ isTTY, env, wanted }));
});

function recorder(columns = 80) {
  const writes: string[] = [];
  return { writes, out: { columns, write: (text: string) => writes.push(text) } };
}

test('createProgressBar: at most one redraw per interval, the last state always drawn, a newline at the end', () => {
  let clock = 1000;
  const { writes, out } = recorder();
  const bar = createProgressBar(out, 'a.tif', { now: () => clock, intervalMs: 100, minTiles: 2 });
  for (let done = 1; done <= 50; done++) {
    clock += 10; // a tile every 10 ms: 500 ms in all
    bar.update(done, 50);
  }
  bar.finish();
  assert.ok(writes.length >= 5 && writes.length <= 7, `${writes.length} writes for 500 ms at <= 10 a second (plus the last and the newline)`);
  assert.ok(writes.slice(0, -1).every((w) => w.startsWith('\r') && !w.includes('\n')), 'redraws stay on one line');
  assert.match(writes.at(-2)!, /^\ra\.tif \[#{40}\] 50\/50 100% 0:01 *$/, 'the last state, padded over the longer line with an ETA');
  assert.equal(writes.at(-1), '\n');
  bar.update(1, 50);
  bar.finish();
  assert.equal(writes.at(-1), '\n', 'nothing after finish');
});

test('createProgressBar: a shorter line is padded over the longer one before it', () => {
  let clock = 0;
  const { writes, out } = recorder();
  const bar = createProgressBar(out, 'a.tif', { now: () => clock, intervalMs: 0, minTiles: 0 });
  clock = 3000;
  bar.update(5, 20); // with an ETA
  clock = 4000;
  bar.update(20, 20); // done: no ETA, shorter
  bar.finish();
  assert.equal(writes[1]!.length, writes[0]!.length);
  assert.match(writes[1]!, /100% 0:04 +$/);
  assert.deepEqual(writes.slice(2), ['\n'], 'the done state was drawn already: only the newline');
});

test('createProgressBar: small scenes draw nothing at all, not even the newline', () => {
  const { writes, out } = recorder();
  const bar = createProgressBar(out, 'chip.tif');
  bar.update(1, PROGRESS_MIN_TILES);
  bar.update(PROGRESS_MIN_TILES, PROGRESS_MIN_TILES);
  bar.finish();
  assert.deepEqual(writes, []);
  const never = createProgressBar(out, 'failed-before-any-tile.tif');
  never.finish();
  assert.deepEqual(writes, []);
});
