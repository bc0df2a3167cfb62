// What `terraform validate` would say about names, without terraform: every resource/data block is
// checked against the provider schema — the type exists, every attribute and nested block is known,
// required ones are there, deprecated ones are reported. Values and expressions are not evaluated.
import type { HclBody, HclFile } from './load-hcl.js';
import { typedBlocks } from './load-hcl.js';
import type { BlockKind, ProviderSchema, SchemaBlock } from './provider-schema.js';

export interface SchemaProblem {
  file: string;
  /** `resource.google_x.name` */
  address: string;
  /** Where inside the block: `build_config.source.storage_source`, or '' for the block itself. */
  path: string;
  kind: 'unknown-type' | 'type-not-extracted' | 'unknown-name' | 'missing-required' | 'block-as-attribute' | 'deprecated';
  message: string;
}

// Terraform's own arguments on every resource/data block (the language, not the provider).
const META_ATTRIBUTES = new Set(['count', 'for_each', 'depends_on', 'provider']);
const META_BLOCKS: Record<BlockKind, Set<string>> = {
  resource: new Set(['lifecycle', 'provisioner', 'connection']),
  data: new Set(['lifecycle']),
};
const LIFECYCLE_KEYS = new Set(['create_before_destroy', 'prevent_destroy', 'ignore_changes', 'replace_triggered_by', 'precondition', 'postcondition']);

// Resource types of Terraform's built-in provider (terraform.io/builtin/terraform), from the
// Terraform language docs: terraform_data takes `input` and `triggers_replace`, both optional.
const BUILTIN_RESOURCES: Record<string, SchemaBlock> = {
  terraform_data: { attributes: { input: {}, triggers_replace: {} }, blocks: {} },
};

export function checkAgainstSchema(files: HclFile[], schema: ProviderSchema): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  for (const { file, kind, type, name, body } of typedBlocks(files)) {
    const address = `${kind}.${type}.${name}`;
    const report = (path: string, problemKind: SchemaProblem['kind'], message: string) => problems.push({ file, address, path, kind: problemKind, message });
    const block = kind === 'resource' && BUILTIN_RESOURCES[type] ? BUILTIN_RESOURCES[type] : schema.schemas[kind][type];
    if (!block) {
      if (schema.allTypes[kind].includes(type)) {
        report('', 'type-not-extracted', `${kind} type ${type} is in the provider but not in the compact schema: run npm run infra:schema`);
      } else {
        const hint = closest(type, schema.allTypes[kind]);
        report('', 'unknown-type', `${schema.provider} ${schema.providerVersion} has no ${kind} type ${type}${hint ? ` (did you mean ${hint}?)` : ''}`);
      }
      continue;
    }
    if (block.deprecated) report('', 'deprecated', `${type} is deprecated: ${block.deprecated}`);
    const meta = Object.fromEntries(Object.entries(body).filter(([key]) => META_ATTRIBUTES.has(key) || META_BLOCKS[kind].has(key)));
    for (const lifecycle of (meta.lifecycle ?? []) as HclBody[]) {
      for (const key of Object.keys(lifecycle)) if (!LIFECYCLE_KEYS.has(key)) report(`lifecycle.${key}`, 'unknown-name', `lifecycle has no argument ${key}`);
    }
    const own = Object.fromEntries(Object.entries(body).filter(([key]) => !(key in meta)));
    checkBody(own, block, [], report);
  }
  return problems;
}

function checkBody(body: HclBody, block: SchemaBlock, path: string[], report: (path: string, kind: SchemaProblem['kind'], message: string) => void): void {
  const at = (name: string) => [...path, name].join('.');
  const present = new Set<string>();
  for (const [key, value] of Object.entries(body)) {
    if (key === 'dynamic') {
      // dynamic "name" { for_each = ...; content { ... } } generates blocks `name`.
      for (const [name, generators] of Object.entries(value as Record<string, HclBody[]>)) {
        const nested = block.blocks[name];
        if (!nested) {
          report(at(name), 'unknown-name', unknownMessage(name, block, path));
          continue;
        }
        present.add(name);
        if (nested.deprecated) report(at(name), 'deprecated', `${at(name)} is deprecated: ${nested.deprecated}`);
        for (const generator of generators) {
          for (const content of (generator.content ?? []) as HclBody[]) checkBody(content, nested.block, [...path, name], report);
        }
      }
      continue;
    }
    present.add(key);
    const attribute = block.attributes[key];
    if (attribute) {
      if (attribute.deprecated) report(at(key), 'deprecated', `${at(key)} is deprecated: ${attribute.deprecated}`);
      continue;
    }
    const nested = block.blocks[key];
    if (!nested) {
      report(at(key), 'unknown-name', unknownMessage(key, block, path));
      continue;
    }
    if (nested.deprecated) report(at(key), 'deprecated', `${at(key)} is deprecated: ${nested.deprecated}`);
    // hcl2json gives a block as a list of bodies; `key = ...` (an attribute) gives anything else.
    if (!Array.isArray(value) || !value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      report(at(key), 'block-as-attribute', `${at(key)} is a block: write ${key} { ... }, not ${key} = ...`);
      continue;
    }
    for (const nestedBody of value as HclBody[]) checkBody(nestedBody, nested.block, [...path, key], report);
  }
  for (const [name, attribute] of Object.entries(block.attributes)) {
    if (attribute.required && !present.has(name)) report(at(name), 'missing-required', `missing required attribute ${at(name)}`);
  }
  for (const [name, nested] of Object.entries(block.blocks)) {
    if (nested.required && !present.has(name)) report(at(name), 'missing-required', `missing required block ${at(name)}`);
  }
}

function unknownMessage(name: string, block: SchemaBlock, path: string[]): string {
  const where = path.length ? `block ${path.join('.')}` : 'this type';
  const hint = closest(name, [...Object.keys(block.attributes), ...Object.keys(block.blocks)]);
  return `${where} has no attribute or block ${name}${hint ? ` (did you mean ${hint}?)` : ''}`;
}

/** The candidate within a few edits of `name`, to turn a typo into a suggestion. */
function closest(name: string, candidates: string[]): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance <= Math.max(2, Math.floor(name.length / 4)) && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
