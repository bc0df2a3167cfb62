// The backlog scenario in its small size: 2000 buffered upload notifications drained by the real
// flush function (Terraform defaults) to a no-op consumer of the work topic; every upload must be
// released exactly once and the buffer left empty (bench/backlog.ts checks, prints, exits 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';
import type { BacklogResult } from '../../bench/backlog.js';
import { EMULATOR_MISSING } from '../support/emulator.js';

const UPLOADS = 2000;

test(`backlog (${UPLOADS}): every upload released exactly once, buffer drained`, { skip: EMULATOR_MISSING, timeout: 5 * 60_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'bench', 'backlog.ts'), '--uploads', String(UPLOADS), '--time-limit-minutes', '4'], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Killed before the test's own timeout, so a hang fails here with what it printed.
  const killer = setTimeout(() => child.kill('SIGKILL'), 4.5 * 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  console.log(out);
  assert.equal(code, 0, 'bench/backlog.ts reports a failure');
  const line = out.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  assert.ok(line, 'no BENCH_RESULT line');
  const r = JSON.parse(line.slice('BENCH_RESULT '.length)) as BacklogResult;
  assert.equal(r.uploads, UPLOADS);
  assert.equal(r.releasedOnce, UPLOADS);
  assert.equal(r.lost, 0);
  assert.equal(r.releasedTwice, 0);
  assert.equal(r.unknownKeys, 0);
  assert.equal(r.leftInBuffer, 0);
  assert.equal(r.calls.non200, 0);
  // Terraform's defaults: at most max_batches x max_batch_items released by one call.
  assert.ok(r.perCall.itemsMean <= r.settings.maxBatches * r.settings.maxBatchItems);
  assert.ok(r.calls.releasing >= Math.ceil(UPLOADS / (r.settings.maxBatches * r.settings.maxBatchItems)));
});
