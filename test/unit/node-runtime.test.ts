// The project runs on the Node it pins (the `node` devDependency), not on whatever Node the machine
// has: npm scripts find it first on PATH, and the ones a person starts say so before anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../shared/config/index.js';

const ROOT = projectRoot();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
  devDependencies: Record<string, string>;
  allowScripts: Record<string, boolean>;
};

test('the tests run on the pinned Node 24', () => {
  assert.match(pkg.devDependencies.node ?? '', /^24\.\d+\.\d+$/, 'an exact Node 24 version');
  assert.equal(process.version, `v${pkg.devDependencies.node}`);
  // The node package installs its binary in a preinstall script: npm must be allowed to run it.
  assert.equal(pkg.allowScripts.node, true);
});

test('test, demo, local and the CLI check and print the runtime first', () => {
  for (const name of ['test', 'test:unit', 'demo', 'local', 'cloudseg']) {
    assert.match(pkg.scripts[name] ?? '', /^node scripts\/node-runtime\.mjs && /, `npm run ${name}`);
  }
});

test('the runtime check prints `node <version>` on stderr and accepts the pinned Node', async () => {
  const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(ROOT, 'scripts', 'node-runtime.mjs')]);
  assert.equal(stdout, '', 'stdout stays the command\'s own');
  assert.match(stderr, new RegExp(`^node v${pkg.devDependencies.node!.replaceAll('.', '\\.')} \\(`));
});
