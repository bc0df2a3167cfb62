// The deployed functions carry only what they run: walks the import graph of functions/worker.ts
// and functions/flush.ts (static imports and exports, import(...) of a literal or of a module-level
// string constant, and worker-thread entry points named by `new URL(..., import.meta.url)`; type-only
// imports are erased and skipped) and fails if a lifecycle module (shared/lifecycle/), h5wasm or a
// development dependency is reachable. A temporary module graph shows the walk reports each kind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../../shared/config/index.js';

export interface ImportGraph {
  /** Project modules reached, relative to the root with `/` separators, in the order first reached. */
  modules: string[];
  /** Bare packages reached (their names, without a subpath), sorted. */
  packages: string[];
  /** Who first imported each module or package (for the failure message). */
  via: Map<string, string>;
}

const BUILTINS = new Set(builtinModules);

/** The specifiers a module loads at run time. */
export function runtimeSpecifiers(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const constants = new Map<string, string>();
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    for (const d of statement.declarationList.declarations) {
      if (ts.isIdentifier(d.name) && d.initializer && ts.isStringLiteralLike(d.initializer)) constants.set(d.name.text, d.initializer.text);
    }
  }
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause !== undefined && (clause.isTypeOnly || (!clause.name && clause.namedBindings !== undefined && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
      if (!typeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = node.isTypeOnly || (node.exportClause !== undefined && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 && node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) found.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword && node.arguments.length > 0) {
      const arg = node.arguments[0]!;
      if (ts.isStringLiteralLike(arg)) found.push(arg.text);
      else if (ts.isIdentifier(arg) && constants.has(arg.text)) found.push(constants.get(arg.text)!);
    } else if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && node.expression.text === 'URL' && node.arguments?.length === 2) {
      // new URL('./thread.js', import.meta.url), or `./thread${ext}`: a module a Worker starts.
      const [arg, base] = node.arguments;
      if (base!.getText(source) === 'import.meta.url') {
        const spec = ts.isStringLiteralLike(arg!) ? arg.text : ts.isTemplateExpression(arg!) ? arg.head.text : null;
        if (spec?.startsWith('.')) found.push(spec);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** `./x.js` -> x.ts (or x.js, x/index.ts); null when nothing is there. */
function resolveRelative(fromFile: string, spec: string): string | null {
  const base = resolve(dirname(fromFile), spec);
  const stem = base.replace(/\.(js|ts|mjs)$/, '');
  for (const candidate of [`${stem}.ts`, base, `${stem}.js`, `${stem}.mjs`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && !candidate.endsWith(sep)) return candidate;
  }
  return null;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Every module and package reachable from `entries` (paths relative to `rootDir`). */
export function importGraph(rootDir: string, entries: string[]): ImportGraph {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const via = new Map<string, string>();
  const rel = (p: string) => relative(rootDir, p).split(sep).join('/');
  const queue = entries.map((e) => resolve(rootDir, e));
  for (const e of queue) seen.add(e);
  while (queue.length > 0) {
    const file = queue.shift()!;
    for (const spec of runtimeSpecifiers(file, readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const target = resolveRelative(file, spec);
        if (target === null) throw new Error(`${rel(file)} imports ${spec}, which does not resolve`);
        if (!seen.has(target)) {
          seen.add(target);
          via.set(rel(target), rel(file));
          queue.push(target);
        }
      } else if (!spec.startsWith('node:') && !BUILTINS.has(spec)) {
        const name = packageName(spec);
        if (!packages.has(name)) via.set(name, rel(file));
        packages.add(name);
      }
    }
  }
  return { modules: [...seen].map(rel), packages: [...packages].sort(), via };
}

/** What must not be reachable from a deployed function, each with the chain that reaches it. */
export function runtimeViolations(rootDir: string, graph: ImportGraph): string[] {
  const pkg = JSON.parse(readFileSync(join(rootDir, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  const dev = new Set(Object.keys(pkg.devDependencies ?? {}));
  const chain = (name: string): string => {
    const steps = [name];
    for (let at = graph.via.get(name); at !== undefined && steps.length < 50; at = graph.via.get(at)) steps.push(at);
    return steps.reverse().join(' -> ');
  };
  return [
    ...graph.modules.filter((m) => m.startsWith('shared/lifecycle/')).map((m) => `lifecycle module: ${chain(m)}`),
    ...graph.modules.filter((m) => !m.startsWith('shared/') && !m.startsWith('functions/')).map((m) => `module outside shared/ and functions/: ${chain(m)}`),
    ...graph.modules.filter((m) => m.startsWith('functions/cli')).map((m) => `CLI module: ${chain(m)}`),
    ...graph.packages.filter((p) => p === 'h5wasm').map((p) => `h5wasm (the Keras import's HDF5 reader): ${chain(p)}`),
    ...graph.packages.filter((p) => dev.has(p)).map((p) => `development dependency ${p}: ${chain(p)}`),
  ];
}

const root = projectRoot();

for (const entry of ['functions/worker.ts', 'functions/flush.ts']) {
  test(`${entry} reaches no lifecycle module, h5wasm or development dependency`, () => {
    const graph = importGraph(root, [entry]);
    console.log(`${entry}: ${graph.modules.length} modules; packages: ${graph.packages.join(', ')}`);
    assert.deepEqual(runtimeViolations(root, graph), []);
    assert.ok(graph.modules.length > 5, 'the walk followed the imports');
  });
}

test('the worker reaches the engines, the model formats and the optional tfjs-node it may load', () => {
  const graph = importGraph(root, ['functions/worker.ts']);
  for (const m of ['shared/model/load.ts', 'shared/model/formats/index.ts', 'shared/engines/onnxruntime/session-thread.ts']) assert.ok(graph.modules.includes(m), m);
  for (const p of ['onnxruntime-node', 'onnxruntime-web', '@tensorflow/tfjs', '@tensorflow/tfjs-node']) assert.ok(graph.packages.includes(p), p);
});

test('a broken module graph is reported: a lifecycle module, h5wasm and a development package, each by a path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloudseg-import-graph-'));
  try {
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    };
    write('package.json', JSON.stringify({ dependencies: { 'p-limit': '1' }, devDependencies: { 'dev-only': '1', 'types-only': '1' } }));
    write('functions/worker.ts', "import pLimit from 'p-limit';\nimport { run } from '../shared/worker/run.js';\nexport { pLimit, run };\n");
    write('shared/worker/run.ts', "import { readFile } from 'node:fs/promises';\nimport type { T } from 'types-only';\nexport { readFile };\nexport const run = () => import('../model/index.js');\nexport type { T };\n");
    write('shared/model/index.ts', "import { score } from '../lifecycle/metrics.js';\nconst TOOL = 'dev-only/cli';\nexport const tool = () => import(TOOL);\nexport { score };\n");
    write('shared/lifecycle/metrics.ts', "import h5wasm from 'h5wasm/node';\nexport const score = h5wasm;\n");

    const graph = importGraph(dir, ['functions/worker.ts']);
    assert.deepEqual(graph.modules, ['functions/worker.ts', 'shared/worker/run.ts', 'shared/model/index.ts', 'shared/lifecycle/metrics.ts']);
    assert.deepEqual(graph.packages, ['dev-only', 'h5wasm', 'p-limit'], 'node: builtins and type-only imports are not packages reached');
    assert.deepEqual(runtimeViolations(dir, graph), [
      'lifecycle module: functions/worker.ts -> shared/worker/run.ts -> shared/model/index.ts -> shared/lifecycle/metrics.ts',
      "h5wasm (the Keras import's HDF5 reader): functions/worker.ts -> shared/worker/run.ts -> shared/model/index.ts -> shared/lifecycle/metrics.ts -> h5wasm",
      'development dependency dev-only: functions/worker.ts -> shared/worker/run.ts -> shared/model/index.ts -> dev-only',
    ]);

    // Mended, the same graph passes.
    write('shared/model/index.ts', 'export const score = 1;\n');
    assert.deepEqual(runtimeViolations(dir, importGraph(dir, ['functions/worker.ts'])), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
