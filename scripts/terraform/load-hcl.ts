// Reads a Terraform directory without terraform: every .tf file parsed by @cdktf/hcl2json (the
// HCL parser Terraform itself uses, compiled to wasm), kept per file so problems can name it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@cdktf/hcl2json';

/** hcl2json's shape: each block is a list of bodies; attributes are values, expressions `${...}` strings. */
export type HclBody = Record<string, unknown>;

export interface HclFile {
  file: string;
  text: string;
  json: Record<string, unknown>;
}

export async function parseHcl(file: string, text: string): Promise<HclFile> {
  return { file, text, json: (await parse(file, text)) as Record<string, unknown> };
}

export async function loadTerraformDir(dir: string): Promise<HclFile[]> {
  const names = readdirSync(dir).filter((f) => f.endsWith('.tf')).sort();
  return Promise.all(names.map((name) => parseHcl(name, readFileSync(join(dir, name), 'utf8'))));
}

/** Every `resource`/`data` block: kind, type, name and its body. */
export function typedBlocks(files: HclFile[]): { file: string; kind: 'resource' | 'data'; type: string; name: string; body: HclBody }[] {
  const out = [];
  for (const { file, json } of files) {
    for (const kind of ['resource', 'data'] as const) {
      const byType = (json[kind] ?? {}) as Record<string, Record<string, HclBody[]>>;
      for (const [type, byName] of Object.entries(byType)) {
        for (const [name, bodies] of Object.entries(byName)) {
          for (const body of bodies) out.push({ file, kind, type, name, body });
        }
      }
    }
  }
  return out;
}
