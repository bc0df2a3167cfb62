// The project runs on the Node it pins (the `node` devDependency), not on whatever Node the machine
// has: npm scripts find it first on PATH, and the ones a person starts say so before anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import semver from 'semver';
import { projectRoot } from '../../shared/config/index.js';

const ROOT = projectRoot();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
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

interface LockedPackage { version: string; dev?: boolean; optional?: boolean; os?: string[]; cpu?: string[]; engines?: { node?: string } | string[] }
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> };

/** Locked packages npm installs on this platform (platform-specific optional ones elsewhere are not). */
function installedHere(entry: LockedPackage): boolean {
  const fits = (list: string[] | undefined, value: string) =>
    !list || (list.some((x) => x === value) || (list.every((x) => x.startsWith('!')) && !list.includes(`!${value}`)));
  return fits(entry.os, process.platform) && fits(entry.cpu, process.arch);
}

test('engines asks for exactly what the production dependencies need, and the pinned Node and both runtimes meet it', () => {
  const ours = pkg.engines.node;
  assert.ok(semver.validRange(ours), `engines.node ${ours}`);
  const tooWide: string[] = [];
  let checked = 0;
  for (const [path, entry] of Object.entries(lock.packages)) {
    const theirs = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (!path || !theirs || !installedHere(entry)) continue;
    // Dev tools run only on the pinned Node; what ships must run on every Node engines admits.
    if (entry.dev) {
      assert.ok(semver.satisfies(pkg.devDependencies.node!, theirs), `${path} (dev) wants Node ${theirs}`);
      continue;
    }
    checked++;
    if (!semver.subset(ours, theirs)) tooWide.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants ${theirs}`);
  }
  assert.ok(checked > 100, `checked the production packages (${checked})`);
  assert.deepEqual(tooWide, [], `engines.node ${ours} admits Node versions these refuse`);
  // Not wider than needed either: the Google clients' own floor is Node 22.
  assert.ok(!semver.intersects(ours, '<22'), 'no Node below 22');
  assert.ok(semver.satisfies(pkg.devDependencies.node!, ours), 'the pinned Node meets engines');
  for (const major of [22, 24]) assert.ok(semver.intersects(ours, `^${major}`), `the nodejs${major} runtime (latest ${major}.x) meets engines`);
});
