// Says which Node runs the npm scripts, and refuses any but the pinned one. package.json pins Node
// as the `node` devDependency; npm puts its bin first on every script's PATH, so `npm ci` alone
// gives every machine the same runtime whatever Node it has installed (these have Node 20, EOL).
// Plain JavaScript on purpose: it must run, and explain, even on an old system Node.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const pinned = `v${pkg.devDependencies.node}`;

// stderr, so that stdout stays the command's own output (JSON lines of `cloudseg segment`/`results`).
process.stderr.write(`node ${process.version} (${process.execPath})\n`);

if (process.version !== pinned) {
  process.stderr.write(
    `cloudseg runs on Node ${pinned} (package.json devDependencies.node), not ${process.version}. ` +
      'Run `npm ci` (install scripts on: the node package installs its binary in its preinstall) ' +
      'and start the command through `npm run`/`npm test`, which put node_modules/.bin first on PATH.\n',
  );
  process.exit(1);
}
