// The chaos suite in its small size, as CI runs it: storage faults, two worker SIGKILLs, an
// emulator restart, duplicated notifications and the poison set; nothing may be lost, written
// twice or end other than expected (test/chaos/run.ts checks and prints the table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';
import { EMULATOR_MISSING } from '../support/emulator.js';

test('chaos (small): 0 lost, 0 written twice, every poison input failed with its code', { skip: EMULATOR_MISSING, timeout: 8 * 60_000 }, async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(projectRoot(), 'test', 'chaos', 'run.ts'), '--quick', '--uploads', '60'], {
    cwd: projectRoot(),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // Killed before the test's own timeout: a run that hangs fails here with what it printed, instead
  // of leaving a process that keeps the whole suite waiting.
  const killer = setTimeout(() => child.kill('SIGKILL'), 7 * 60_000);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  console.log(out);
  assert.equal(code, 0, 'the chaos run reports a failure');
  assert.match(out, /nothing lost, nothing written twice, every input as expected/);
});
