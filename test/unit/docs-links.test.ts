// The documentation's links and commands, checked: every relative link in README.md, docs/*.md and
// the other READMEs people read from it leads to a file that exists (and to a heading that exists,
// anchors computed as GitHub does), and every `npm run <script>` / `npm test` they name is a script of
// package.json. A broken copy (in a temporary folder) shows the check reports both kinds of break.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { projectRoot } from '../../shared/config/index.js';

export interface DocsProblem {
  /** the markdown file, relative to the root, with `/` separators */
  file: string;
  line: number;
  message: string;
}

/** The markdown files checked: the front page, docs/, and the READMEs the docs send readers to. */
export function docFiles(rootDir: string): string[] {
  const fixed = ['README.md', 'infra/gcp/README.md', 'infra/local/gcs-server/README.md', 'samples/README.md'];
  const inFolder = (folder: string) =>
    existsSync(join(rootDir, folder))
      ? readdirSync(join(rootDir, folder)).filter((f) => f.endsWith('.md')).sort().map((f) => `${folder}/${f}`)
      : [];
  return [...fixed, ...inFolder('docs'), ...inFolder('models/docs')].filter((f) => existsSync(join(rootDir, f)));
}

/** GitHub's heading id: lower case, punctuation dropped, each space a hyphen (github-slugger). */
export function githubSlug(headingText: string): string {
  const plain = headingText
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .trim()
    .toLowerCase();
  return plain.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

interface MarkdownLine {
  line: number;
  text: string;
  inFence: boolean;
}

function markdownLines(text: string): MarkdownLine[] {
  let fence: string | null = null;
  return text.split('\n').map((raw, i) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(raw)?.[1];
    if (marker !== undefined) {
      if (fence === null) fence = marker;
      else if (marker.startsWith(fence) && raw.trim() === marker) fence = null;
      return { line: i + 1, text: raw, inFence: true };
    }
    return { line: i + 1, text: raw, inFence: fence !== null };
  });
}

/** Every anchor a link may name in this file: its ATX headings (numbered when repeated) and `<a id>`s. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { text: line, inFence } of markdownLines(text)) {
    if (inFence) continue;
    const heading = /^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line);
    if (heading) {
      const slug = githubSlug(heading[1]!);
      const n = seen.get(slug) ?? 0;
      seen.set(slug, n + 1);
      anchors.add(n === 0 ? slug : `${slug}-${n}`);
    }
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
  }
  return anchors;
}

/** The relative link targets of a markdown text (inline links, images, reference definitions), with lines. */
export function linksOf(text: string): { line: number; target: string }[] {
  const links: { line: number; target: string }[] = [];
  for (const { line, text: raw, inFence } of markdownLines(text)) {
    if (inFence) continue;
    const noCode = raw.replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length));
    for (const m of noCode.matchAll(/\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
      links.push({ line, target: m[1]!.replace(/^<|>$/g, '') });
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(noCode);
    if (definition) links.push({ line, target: definition[1]!.replace(/^<|>$/g, '') });
  }
  return links.filter(({ target }) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && target !== '');
}

/** The npm scripts a text tells people to run: `npm run NAME` (and `npm run-script`), `npm test`. */
export function npmScriptsOf(text: string): { line: number; script: string }[] {
  const found: { line: number; script: string }[] = [];
  text.split('\n').forEach((raw, i) => {
    for (const m of raw.matchAll(/\bnpm\s+(?:run(?:-script)?\s+([A-Za-z0-9][\w:.-]*)|(test|start)\b)/g)) {
      const script = (m[1] ?? m[2]!).replace(/[.:-]+$/, '');
      found.push({ line: i + 1, script });
    }
  });
  return found;
}

/** A link target split into the repository path it leads to (null when it leaves the repository) and its anchor. */
export function resolveLink(fromFile: string, target: string): { path: string | null; anchor: string | null } {
  const hashAt = target.indexOf('#');
  const pathPart = decodeURIComponent(hashAt < 0 ? target : target.slice(0, hashAt));
  const anchor = hashAt < 0 ? null : decodeURIComponent(target.slice(hashAt + 1));
  const path = pathPart === '' ? fromFile : posix.normalize(posix.join(posix.dirname(fromFile), pathPart)).replace(/\/$/, '');
  const outside = path === '..' || path.startsWith('../') || posix.isAbsolute(path);
  return { path: outside ? null : path, anchor };
}

/** Every broken relative link, missing anchor and unknown npm script in the documentation under `rootDir`. */
export function checkDocs(rootDir: string): DocsProblem[] {
  const problems: DocsProblem[] = [];
  const scripts = new Set(Object.keys((JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }).scripts ?? {}));
  const anchorCache = new Map<string, Set<string>>();
  const anchorsIn = (file: string) => {
    let anchors = anchorCache.get(file);
    if (!anchors) anchorCache.set(file, (anchors = anchorsOf(readFileSync(join(rootDir, file), 'utf8'))));
    return anchors;
  };

  for (const file of docFiles(rootDir)) {
    const text = readFileSync(join(rootDir, file), 'utf8');
    for (const { line, target } of linksOf(text)) {
      const { path: resolved, anchor } = resolveLink(file, target);
      const report = (message: string) => problems.push({ file, line, message: `link ${target}: ${message}` });
      if (resolved === null) {
        report('leaves the repository');
        continue;
      }
      const onDisk = join(rootDir, ...resolved.split('/'));
      if (!existsSync(onDisk)) {
        report(`${resolved} does not exist`);
        continue;
      }
      if (anchor === null || anchor === '') continue;
      if (!resolved.endsWith('.md') || statSync(onDisk).isDirectory()) {
        report(`an anchor into ${resolved}, which is not a markdown file`);
        continue;
      }
      if (!anchorsIn(resolved).has(anchor)) report(`no heading with id "${anchor}" in ${resolved}`);
    }
    for (const { line, script } of npmScriptsOf(text)) {
      if (!scripts.has(script)) problems.push({ file, line, message: `npm script "${script}" is not in package.json` });
    }
  }
  return problems;
}

const format = (problems: DocsProblem[]) => problems.map((p) => `${p.file}:${p.line}: ${p.message}`).join('\n');

test('GitHub heading ids: punctuation dropped, code spans kept as text, repeats numbered', () => {
  assert.equal(githubSlug('Bring your PyTorch model (`format: onnx`)'), 'bring-your-pytorch-model-format-onnx');
  assert.equal(githubSlug('Result events (`cloudseg.result.v1`)'), 'result-events-cloudsegresultv1');
  assert.equal(githubSlug('Scenes of any size, in bounded memory'), 'scenes-of-any-size-in-bounded-memory');
  assert.equal(githubSlug('What `npm run demo` does'), 'what-npm-run-demo-does');
  assert.equal(githubSlug('Deploying to [Google Cloud](https://cloud.google.com) -- how'), 'deploying-to-google-cloud----how');
  assert.equal(githubSlug('snake_case_name and Ünïcode'), 'snake_case_name-and-ünïcode');
  assert.deepEqual([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n### A ###\n<a id="here"></a>\n')], ['a', 'a-1', 'a-2', 'here']);
});

test('links and npm scripts are found in prose and tables, not in code; commands in code blocks count', () => {
  const text = [
    'See [the CLI](docs/cli.md#the-cli), ![a picture](img/p.png "title") and [the web](https://example.com).',
    '`[not a link](nowhere.md)` | [in a table](docs/x.md) |',
    '```sh',
    'npm run demo     # [not a link](nowhere.md)',
    '```',
    '[ref]: ../up.md',
    'run `npm test`, `npm run model:import`, then npm run bench. Not a script: every `npm run`/`npm test`.',
  ].join('\n');
  assert.deepEqual(linksOf(text), [
    { line: 1, target: 'docs/cli.md#the-cli' },
    { line: 1, target: 'img/p.png' },
    { line: 2, target: 'docs/x.md' },
    { line: 6, target: '../up.md' },
  ]);
  assert.deepEqual(npmScriptsOf(text).map((s) => `${s.line}:${s.script}`), ['4:demo', '7:test', '7:model:import', '7:bench', '7:test']);
});

test('README.md and docs/: every relative link, anchor and npm script exists', () => {
  const root = projectRoot();
  const files = docFiles(root);
  assert.ok(files.includes('README.md'), 'README.md is checked');
  assert.ok(files.some((f) => f.startsWith('docs/')), 'docs/*.md are checked');
  const problems = checkDocs(root);
  assert.deepEqual(problems, [], format(problems));
});

/** The checked markdown, package.json and every existing link target, copied to a temporary folder. */
function copyDocumentation(rootDir: string, dest: string): void {
  const copy = (path: string) => {
    if (statSync(join(rootDir, path)).isDirectory()) mkdirSync(join(dest, path), { recursive: true });
    else cpSync(join(rootDir, path), join(dest, path));
  };
  copy('package.json');
  for (const file of docFiles(rootDir)) {
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    copy(file);
    for (const { target } of linksOf(readFileSync(join(rootDir, file), 'utf8'))) {
      const { path } = resolveLink(file, target);
      if (path === null || !existsSync(join(rootDir, path))) continue;
      mkdirSync(dirname(join(dest, path)), { recursive: true });
      copy(path);
    }
  }
}

test('a deliberately broken copy: a missing page, a missing heading and an unknown npm script are each reported', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudseg-docs-'));
  try {
    copyDocumentation(projectRoot(), dir);
    assert.deepEqual(checkDocs(dir), [], `the faithful copy is clean:\n${format(checkDocs(dir))}`);

    // README.md: one docs page link pointed at a page that is not there, `npm run demo` misspelt.
    const readme = readFileSync(join(dir, 'README.md'), 'utf8');
    const pageLink = /\]\((docs\/[\w-]+\.md)(#[\w-]+)?\)/.exec(readme);
    assert.ok(pageLink, 'README.md links a docs page');
    assert.match(readme, /npm run demo\b/);
    writeFileSync(join(dir, 'README.md'), readme.replace(pageLink[0], '](docs/no-such-page.md)').replace('npm run demo', 'npm run demoo'));

    // A heading some docs page links to, renamed: that anchor now leads nowhere.
    const anchored = docFiles(dir)
      .filter((f) => f.startsWith('docs/'))
      .flatMap((file) => linksOf(readFileSync(join(dir, file), 'utf8')).map(({ target }) => resolveLink(file, target)))
      .find((l) => l.path !== null && l.path.startsWith('docs/') && l.anchor);
    assert.ok(anchored, 'some docs page links to a heading of a docs page');
    const { path: headingPage, anchor } = anchored as { path: string; anchor: string };
    const pageText = readFileSync(join(dir, headingPage), 'utf8');
    const renamed = pageText
      .split('\n')
      .map((l) => (/^#{1,6}\s/.test(l) && githubSlug(l.replace(/^#+\s+/, '')) === anchor ? `${l} (renamed)` : l))
      .join('\n');
    assert.notEqual(renamed, pageText, 'the linked heading is renamed');
    writeFileSync(join(dir, headingPage), renamed);

    const messages = checkDocs(dir).map((p) => `${p.file}: ${p.message}`);
    const all = messages.join('\n');
    assert.ok(messages.includes('README.md: link docs/no-such-page.md: docs/no-such-page.md does not exist'), all);
    assert.ok(messages.includes('README.md: npm script "demoo" is not in package.json'), all);
    assert.ok(messages.some((m) => m.endsWith(`no heading with id "${anchor}" in ${headingPage}`)), all);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
