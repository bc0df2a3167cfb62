// Lint: typescript-eslint's recommended rules, the house rule that only the config module reads
// process.env (modules receive config; they never fetch it), and the import boundaries between the
// areas (docs/architecture.md draws the same table): each area names what it may import.
import { readdirSync, readFileSync } from 'node:fs';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Who may import whom inside shared/ (an area is a folder, or one of the leaf modules errors,
 * logging, known-warnings). Everything not listed is forbidden, and no shared module imports the
 * entry points, the tools or the tests. `model/formats` may use model/types.ts only (the card's types).
 */
export const MAY_IMPORT = {
  errors: [],
  logging: [],
  'known-warnings': [],
  config: ['errors', 'logging'],
  imaging: ['errors'],
  scenes: ['errors', 'imaging'],
  contracts: ['errors', 'imaging', 'scenes'],
  cloud: ['errors', 'contracts', 'imaging'],
  registry: ['errors', 'logging'],
  engines: ['errors', 'logging', 'config'],
  'model/formats': ['errors', 'logging', 'engines'],
  model: ['errors', 'logging', 'contracts', 'imaging', 'registry', 'engines'],
  flush: ['errors', 'logging', 'config', 'contracts', 'cloud', 'imaging', 'scenes'],
  worker: ['errors', 'logging', 'config', 'contracts', 'cloud', 'imaging', 'scenes', 'registry', 'model'],
  operations: ['errors', 'logging', 'contracts', 'cloud', 'scenes', 'flush', 'worker'],
  lifecycle: ['errors', 'logging', 'contracts', 'imaging', 'model', 'worker'],
};
const LEAF_MODULES = ['errors', 'logging', 'known-warnings'];
const OUTSIDE_SHARED = ['functions', 'bench', 'test', 'infra', 'scripts'];
// What only the model lifecycle and development need never enters the deployed functions.
const devDependencies = Object.keys(JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')).devDependencies ?? {});
const LIFECYCLE_ONLY_PACKAGES = ['h5wasm'];
// model/ modules a format may not use (all but the card's types), read so a new one is covered.
const modelModules = readdirSync(new URL('./shared/model/', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'types.ts')
  .map((f) => f.slice(0, -3));

const escape = (name) => name.replace(/[.*+?^${}()|[\]\\/]/g, (c) => (c === '/' ? '\\x2F' : `\\${c}`));
// A relative specifier climbing to a sibling named `names` (a folder or a .js module).
const climbingTo = (names) => `^(\\.\\.\\x2F)+(${names.map(escape).join('|')})(\\x2F|\\.js$)`;
// A bare specifier of one of `packages` (the package itself or a path inside it).
const packageNamed = (packages) => `^(${packages.map(escape).join('|')})(\\x2F|$)`;
const PACKAGE_MESSAGE = 'a lifecycle or development package: the deployed functions do not carry it (docs/architecture.md)';

function boundary(files, ignores, forbidden, packages, message) {
  const patterns = [
    ...(forbidden.length > 0 ? [{ regex: climbingTo(forbidden), message }] : []),
    ...(packages.length > 0 ? [{ regex: packageNamed(packages), message: PACKAGE_MESSAGE }] : []),
  ];
  // The same for import(...), which no-restricted-imports does not see.
  const syntax = [
    ...(forbidden.length > 0 ? [{ selector: `ImportExpression[source.value=/${climbingTo(forbidden)}/]`, message }] : []),
    ...(packages.length > 0 ? [{ selector: `ImportExpression[source.value=/${packageNamed(packages)}/]`, message: PACKAGE_MESSAGE }] : []),
  ];
  return {
    files,
    ...(ignores.length > 0 ? { ignores } : {}),
    rules: { 'no-restricted-imports': ['error', { patterns }], 'no-restricted-syntax': ['error', ...syntax] },
  };
}

const areas = Object.keys(MAY_IMPORT);
const runtimeBoundaries = areas.map((area) => {
  const allowed = new Set([area, ...MAY_IMPORT[area]]);
  const top = area.split('/')[0];
  // The names a relative specifier can climb to: shared's areas, and from shared the folders outside it.
  const forbidden = [...new Set([...areas.map((a) => a.split('/')[0]), ...OUTSIDE_SHARED])].filter((name) => !allowed.has(name) && name !== top);
  if (area === 'model/formats') forbidden.push('model', ...modelModules);
  const files = LEAF_MODULES.includes(area) ? [`shared/${area}.ts`] : [`shared/${area}/**/*.ts`];
  const ignores = area === 'model' ? ['shared/model/formats/**'] : [];
  const packages = area === 'lifecycle' ? [] : [...LIFECYCLE_ONLY_PACKAGES, ...devDependencies];
  const may = MAY_IMPORT[area].length > 0 ? MAY_IMPORT[area].join(', ') : 'no other area';
  return boundary(files, ignores, forbidden, packages, `shared/${area} may import ${may} (docs/architecture.md)`);
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'out/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['shared/**/*.ts'],
    ignores: ['shared/config/**'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through shared/config and pass it down.' }],
    },
  },
  ...runtimeBoundaries,
  // The deployed functions run no lifecycle tool, no CLI, no local tooling and no development package.
  boundary(
    ['functions/worker.ts', 'functions/flush.ts', 'functions/index.ts'],
    [],
    ['bench', 'test', 'infra', 'scripts', 'shared/lifecycle'],
    [...LIFECYCLE_ONLY_PACKAGES, ...devDependencies],
    'the deployed functions import the runtime only: not shared/lifecycle, the CLI, infra, scripts, bench or tests (docs/architecture.md)',
  ),
);
