// `cloudseg segment`'s progress bar as a user sees it: the real CLI under a pseudo-terminal
// (util-linux `script`) on a generated multi-tile GeoTIFF draws one redrawn line on stderr while
// stdout holds exactly the JSON event; with stderr piped, or --no-progress, nothing is drawn.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/config/project-root.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import { writeTiledGeoTiffFile } from '../../shared/imaging/tiled-geotiff-write.js';

const run = promisify(execFile);
const CLI = join(projectRoot(), 'functions', 'cli.ts');
const SCRIPT = '/usr/bin/script';
const NO_PTY = existsSync(SCRIPT) ? false : `${SCRIPT} (util-linux) not found: cannot run the CLI under a pseudo-terminal`;
if (NO_PTY) console.warn(`!!! SKIPPING the progress bar's terminal test: ${NO_PTY}`);

const WIDTH = 2000;
const HEIGHT = 1500;
const COLUMNS = 100;

let dir: string;
let scene: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cloudseg-cli-progress-'));
  scene = join(dir, 'scene.tif');
  // 4 bands uint16, Sentinel-2-like DNs: a bright band across the middle over darker ground.
  await writeTiledGeoTiffFile(scene, { width: WIDTH, height: HEIGHT, bands: 4, dtype: 'uint16', tileSize: 256 }, (x0, y0, size) => {
    const samples = new Uint16Array(size * size * 4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const bright = Math.abs(y0 + y - HEIGHT / 2) < 300;
        const base = bright ? 7000 : 900 + ((x0 + x) % 200);
        for (let b = 0; b < 4; b++) samples[(y * size + x) * 4 + b] = base + b * 150;
      }
    }
    return samples;
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The environment a person at a terminal has: not CI, a real TERM. */
function terminalEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm' };
  delete env.CI;
  delete env.TF_BUILD;
  return env;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `cloudseg segment` with stderr on a pty of COLUMNS columns and stdout to a file. */
async function segmentOnTerminal(extra: string[]): Promise<{ terminal: string; stdout: string }> {
  const stdoutFile = join(dir, `stdout-${extra.join('_') || 'default'}.jsonl`);
  const command = [
    `stty cols ${COLUMNS} rows 24;`,
    [process.execPath, '--import', 'tsx', CLI, 'segment', scene, '--out', join(dir, 'out'), ...extra].map(quote).join(' '),
    `> ${quote(stdoutFile)}`,
  ].join(' ');
  // -q no start/done banners, -f flush as written, -e the command's exit code, log to /dev/null.
  const { stdout: terminal } = await run(SCRIPT, ['-qefc', command, '/dev/null'], { cwd: projectRoot(), env: terminalEnv(), maxBuffer: 1 << 24 });
  return { terminal, stdout: await readFile(stdoutFile, 'utf8') };
}

function assertOneEvent(stdout: string): void {
  const lines = stdout.split('\n');
  assert.equal(lines.length, 2, `stdout is one JSON line and its newline: ${JSON.stringify(stdout.slice(0, 300))}`);
  const event = ResultEventSchema.parse(JSON.parse(lines[0]!));
  assert.equal(event.status, 'succeeded');
  assert.deepEqual([event.width, event.height], [WIDTH, HEIGHT]);
}

test('on a terminal: one redrawn progress line on stderr, ended with a newline; stdout is exactly the event', { skip: NO_PTY }, async () => {
  const { terminal, stdout } = await segmentOnTerminal([]);
  assertOneEvent(stdout);
  // The pty turns \n into \r\n; each redraw starts with \r.
  const text = terminal.replace(/\r\n/g, '\n');
  assert.ok(text.endsWith('\n'), 'the line is finished with a newline');
  const draws = text.split('\n').filter((l) => l.includes('scene.tif ['));
  assert.equal(draws.length, 1, `one line for one image: ${JSON.stringify(text)}`);
  const frames = draws[0]!.split('\r').filter((f) => f.length > 0);
  assert.ok(frames.length >= 2, `redrawn as tiles finish: ${JSON.stringify(frames)}`);
  const parsed = frames.map((f) => /^scene\.tif \[[#.]+\] +(\d+)\/(\d+) +(\d+)% (\d+:\d\d)( ETA (-:--|\d+:\d\d))? *$/.exec(f));
  parsed.forEach((m, i) => assert.ok(m, `frame ${i} reads as a progress line: ${JSON.stringify(frames[i])}`));
  for (const f of frames) assert.ok(f.length <= COLUMNS - 1, `fits the ${COLUMNS}-column terminal: ${f.length}`);
  const done = parsed.map((m) => Number(m![1]));
  const total = Number(parsed[0]![2]);
  assert.ok(total > 12, `a ${WIDTH}x${HEIGHT} scene is many tiles (${total})`);
  assert.deepEqual(done, [...done].sort((a, b) => a - b), 'tiles done only grow');
  const last = parsed.at(-1)!;
  assert.deepEqual([Number(last[1]), Number(last[3]), last[5]], [total, 100, undefined], 'the last frame: every tile, 100 %, no ETA');
  assert.ok(!text.includes('{'), 'no JSON on the terminal (stderr): it went to stdout');
});

test('stderr piped (not a terminal): nothing drawn; on a terminal with --no-progress: nothing drawn', async () => {
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, 'segment', scene, '--out', join(dir, 'out')], { cwd: projectRoot(), env: terminalEnv(), maxBuffer: 1 << 24 });
  assertOneEvent(stdout);
  assert.doesNotMatch(stderr, /scene\.tif \[|\r/, `nothing drawn on a pipe: ${JSON.stringify(stderr.slice(0, 300))}`);
  if (NO_PTY) return;
  const quiet = await segmentOnTerminal(['--no-progress']);
  assertOneEvent(quiet.stdout);
  assert.doesNotMatch(quiet.terminal, /scene\.tif \[|\r(?!\n)/, `nothing drawn with --no-progress: ${JSON.stringify(quiet.terminal.slice(0, 300))}`);
});
