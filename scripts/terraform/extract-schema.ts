// Regenerates infra/gcp/schema/google-provider.json: the schema of the resource and data source types
// infra/gcp uses, taken from @cdktf/provider-google (bindings generated from a released google
// provider's `terraform providers schema -json`; its jsii assembly keeps every attribute and block
// with its Terraform name, and whether it is optional). The package is ~300 MB unpacked, so it is not
// a devDependency: `npm pack` fetches it into a temporary folder, and only what infra/gcp needs is
// kept. Deprecations are not in the bindings: they come from infra/gcp/schema/deprecations.json.
//
//   npm run infra:schema            (after adding a resource type to infra/gcp, or to move the provider)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';
import { loadTerraformDir, typedBlocks } from './load-hcl.js';
import { BLOCK_KINDS, DEPRECATIONS_FILE, SCHEMA_FILE, type BlockKind, type ProviderSchema, type SchemaBlock } from './provider-schema.js';

/** The last @cdktf/provider-google release; it carries google provider 6.50.0 (cdktf is discontinued). */
const BINDINGS = { package: '@cdktf/provider-google', version: '16.12.1' };

interface JsiiType {
  fqn: string;
  kind: string;
  datatype?: boolean;
  docs?: { summary?: string; remarks?: string };
  properties?: JsiiProperty[];
}
interface JsiiProperty {
  name: string;
  optional?: boolean;
  docs?: { summary?: string; remarks?: string };
  type: JsiiTypeRef;
}
interface JsiiTypeRef {
  primitive?: string;
  fqn?: string;
  collection?: { kind: string; elementtype: JsiiTypeRef };
  union?: { types: JsiiTypeRef[] };
}

/** Deprecated attributes and blocks per type, by dotted path ("block.attribute"), with the provider's message. */
interface Deprecations {
  source: string;
  /** Every type listed was looked up; an empty object means it has no deprecated field. */
  types: Record<string, Record<string, string>>;
}

function fetchBindings(dir: string): { jsii: { types: Record<string, JsiiType> }; provider: { name: string; version: string }; integrity: string } {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', `${BINDINGS.package}@${BINDINGS.version}`, '--pack-destination', dir, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 }),
  ) as { filename: string; integrity: string }[];
  const tarball = join(dir, packed[0]!.filename);
  execFileSync('tar', ['-xzf', tarball, '-C', dir, 'package/.jsii', 'package/package.json']);
  const pkg = JSON.parse(readFileSync(join(dir, 'package', 'package.json'), 'utf8')) as { cdktf: { provider: { name: string; version: string } } };
  const jsii = JSON.parse(readFileSync(join(dir, 'package', '.jsii'), 'utf8')) as { types: Record<string, JsiiType> };
  return { jsii, provider: pkg.cdktf.provider, integrity: packed[0]!.integrity };
}

/** The Terraform type a binding class represents, from its doc link (`.../docs/resources/x google_x`). */
function representedType(cls: JsiiType): { kind: BlockKind; type: string } | undefined {
  const m = /\/docs\/(resources|data-sources)\/\w+ (\w+)\}/.exec(cls.docs?.summary ?? '');
  if (!m) return undefined;
  return { kind: m[1] === 'resources' ? 'resource' : 'data', type: m[2]! };
}

/** Properties whose name had to be derived from the camelCase one (printed, to be looked at). */
const derivedNames: string[] = [];

/**
 * The Terraform name of a property: the anchor of its registry doc link (cdktf renames some, e.g.
 * reserved words). A few descriptions break jsii's doc parser and lose the link; then the name is the
 * snake_case of the camelCase one, which is how cdktf derived it.
 */
function terraformName(struct: string, prop: JsiiProperty): string {
  const anchor = /\/docs\/(?:resources|data-sources)\/\w+#([a-z0-9_]+) /.exec(`${prop.docs?.summary ?? ''} ${prop.docs?.remarks ?? ''}`)?.[1];
  if (anchor) return anchor;
  const derived = prop.name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  derivedNames.push(`${struct}.${prop.name} -> ${derived}`);
  return derived;
}

function toBlock(types: Record<string, JsiiType>, fqn: string): SchemaBlock {
  const struct = types[fqn];
  if (!struct?.datatype) throw new Error(`${fqn} is not a struct`);
  const block: SchemaBlock = { attributes: {}, blocks: {} };
  for (const prop of struct.properties ?? []) {
    const name = terraformName(fqn, prop);
    // `id` is added to every SDKv2 resource by the generator; it is computed, not something to set.
    if (name === 'id') continue;
    const nested = structOf(types, prop.type);
    if (nested) block.blocks[name] = { ...(prop.optional ? {} : { required: true as const }), block: toBlock(types, nested) };
    else block.attributes[name] = prop.optional ? {} : { required: true };
  }
  return sortBlock(block);
}

/** A property whose type is (a list/set of) a generated struct is a nested block. */
function structOf(types: Record<string, JsiiType>, ref: JsiiTypeRef): string | undefined {
  if (ref.fqn) return types[ref.fqn]?.datatype ? ref.fqn : undefined;
  if (ref.collection) return structOf(types, ref.collection.elementtype);
  for (const member of ref.union?.types ?? []) {
    const found = structOf(types, member);
    if (found) return found;
  }
  return undefined;
}

function sortBlock(block: SchemaBlock): SchemaBlock {
  const sorted = <T>(o: Record<string, T>) => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  return { ...block, attributes: sorted(block.attributes), blocks: sorted(block.blocks) };
}

function applyDeprecations(block: SchemaBlock, type: string, fields: Record<string, string>): void {
  for (const [path, message] of Object.entries(fields)) {
    const parts = path.split('.');
    let at = block;
    for (const part of parts.slice(0, -1)) {
      const next = at.blocks[part];
      if (!next) throw new Error(`deprecations.json: ${type}.${path}: no block ${part}`);
      at = next.block;
    }
    const last = parts.at(-1)!;
    const target = at.attributes[last] ?? at.blocks[last];
    if (!target) throw new Error(`deprecations.json: ${type}.${path} is not in the schema`);
    target.deprecated = message;
  }
}

async function main(): Promise<void> {
  const used = new Map<string, { kind: BlockKind; type: string }>();
  // Only google_* types: terraform_data and friends are Terraform's own (checked in the test).
  for (const { kind, type } of typedBlocks(await loadTerraformDir(join(projectRoot(), 'infra', 'gcp')))) {
    if (type.startsWith('google_')) used.set(`${kind}.${type}`, { kind, type });
  }

  const deprecations = JSON.parse(readFileSync(DEPRECATIONS_FILE, 'utf8')) as Deprecations;
  const dir = mkdtempSync(join(tmpdir(), 'cloudseg-provider-schema-'));
  try {
    const { jsii, provider, integrity } = fetchBindings(dir);
    const classes = new Map<string, JsiiType>();
    const allTypes: Record<BlockKind, string[]> = { resource: [], data: [] };
    for (const t of Object.values(jsii.types)) {
      const represented = t.kind === 'class' ? representedType(t) : undefined;
      if (!represented) continue;
      classes.set(`${represented.kind}.${represented.type}`, t);
      allTypes[represented.kind].push(represented.type);
    }
    const schemas: ProviderSchema['schemas'] = { resource: {}, data: {} };
    for (const [key, { kind, type }] of [...used].sort()) {
      const cls = classes.get(key);
      if (!cls) throw new Error(`${kind} ${type} is not in ${provider.name} ${provider.version}`);
      const block = toBlock(jsii.types, `${cls.fqn}Config`);
      const fields = deprecations.types[key];
      if (!fields) throw new Error(`${key}: look up its deprecated fields in the provider source and list them in ${DEPRECATIONS_FILE}`);
      applyDeprecations(block, key, fields);
      schemas[kind][type] = block;
    }
    const schema: ProviderSchema = {
      provider: provider.name,
      providerVersion: provider.version,
      source: { ...BINDINGS, integrity },
      deprecationsSource: deprecations.source,
      allTypes: { resource: [...new Set(allTypes.resource)].sort(), data: [...new Set(allTypes.data)].sort() },
      schemas,
    };
    for (const kind of BLOCK_KINDS) if (schema.allTypes[kind].length < 100) throw new Error(`only ${schema.allTypes[kind].length} ${kind} types found`);
    writeFileSync(SCHEMA_FILE, `${JSON.stringify(schema, null, 1)}\n`);
    for (const line of derivedNames) process.stderr.write(`name derived, not read from the docs: ${line}\n`);
    process.stdout.write(`${SCHEMA_FILE}: ${provider.name} ${provider.version}, ${used.size} types of ${schema.allTypes.resource.length} resources and ${schema.allTypes.data.length} data sources\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
