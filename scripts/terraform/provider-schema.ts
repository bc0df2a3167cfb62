// The compact copy of the google provider's schema that infra/gcp is checked against: only the
// resource and data source types infra/gcp uses, with attribute and block names, which are
// required, and which are deprecated. scripts/terraform/extract-schema.ts writes it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';

export interface SchemaAttribute {
  required?: true;
  /** The provider's deprecation message. */
  deprecated?: string;
}

export interface SchemaBlock {
  attributes: Record<string, SchemaAttribute>;
  blocks: Record<string, SchemaNestedBlock>;
  deprecated?: string;
}

export interface SchemaNestedBlock {
  /** At least one such block must be written. */
  required?: true;
  deprecated?: string;
  block: SchemaBlock;
}

export const BLOCK_KINDS = ['resource', 'data'] as const;
export type BlockKind = (typeof BLOCK_KINDS)[number];

export interface ProviderSchema {
  provider: string;
  providerVersion: string;
  /** Where the names and required flags come from: an npm package generated from that provider's schema. */
  source: { package: string; version: string; integrity: string };
  /** Where the deprecations come from (the bindings do not carry them). */
  deprecationsSource: string;
  /** Every type the provider has, so a misspelled type is told apart from one not extracted yet. */
  allTypes: Record<BlockKind, string[]>;
  schemas: Record<BlockKind, Record<string, SchemaBlock>>;
}

export const SCHEMA_DIR = join(projectRoot(), 'infra', 'gcp', 'schema');
export const SCHEMA_FILE = join(SCHEMA_DIR, 'google-provider.json');
export const DEPRECATIONS_FILE = join(SCHEMA_DIR, 'deprecations.json');

export function loadProviderSchema(file = SCHEMA_FILE): ProviderSchema {
  return JSON.parse(readFileSync(file, 'utf8')) as ProviderSchema;
}
