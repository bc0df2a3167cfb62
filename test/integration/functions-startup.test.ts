// A wrong setting stops the functions at start-up with the variable named: a deploy with a typo
// fails, instead of an instance that answers every request 500 and dead-letters every batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/config/project-root.js';

const run = promisify(execFile);
const ENTRY = join(projectRoot(), 'functions', 'index.ts');

async function start(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  try {
    // Importing the entry point is what the functions-framework does when an instance starts.
    await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `await import(${JSON.stringify(ENTRY)});`], {
      env: { ...process.env, ...env },
      cwd: projectRoot(),
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

test('the functions start with a valid configuration', async () => {
  assert.equal((await start({})).code, 0);
});

for (const [key, value] of [
  ['CLOUDSEG_MEMORY_BUDGET_MB', 'abc'],
  ['CLOUDSEG_FLUSH_TOKEN', ''],
  ['CLOUDSEG_INFERENCE_BACKEND', 'gpu'],
] as const) {
  test(`${key}=${JSON.stringify(value)} stops the functions at start-up, naming the variable`, async () => {
    const { code, stderr } = await start({ [key]: value });
    assert.notEqual(code, 0);
    assert.match(stderr, new RegExp(key));
  });
}
