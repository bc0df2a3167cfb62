// What DVC records about an output: `<path>.dvc` outs, dvc.lock (schema 2.0) stage outs, and the
// `artifacts:` of dvc.yaml; and the byte-exact `.dvc` text that `dvc add` (DVC 3) writes.
import { posix } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CloudsegError } from '../errors.js';

export interface DvcOut {
  path: string;
  /** md5 as recorded: a directory's ends in ".dir". */
  md5: string;
  size: number | null;
  nfiles: number | null;
  /** `hash: md5` marks DVC 3 outputs (objects under files/md5/); without it the output is DVC 2 (legacy). */
  legacy: boolean;
  /** `remote:` pinned on the output, if any. */
  remote: string | null;
}

const OutSchema = z.looseObject({
  path: z.string().min(1),
  md5: z.string().regex(/^[0-9a-f]{32}(\.dir)?$/).optional(),
  size: z.number().int().nonnegative().optional(),
  nfiles: z.number().int().nonnegative().optional(),
  hash: z.string().optional(),
  remote: z.string().optional(),
});
const DvcFileSchema = z.looseObject({ outs: z.array(OutSchema).optional(), wdir: z.string().optional() });
const LockSchema = z.looseObject({
  schema: z.string(),
  stages: z.record(z.string(), z.looseObject({ outs: z.array(OutSchema).optional() })).optional(),
});
const DvcYamlSchema = z.looseObject({
  artifacts: z.record(z.string(), z.looseObject({ path: z.string().min(1), type: z.string().optional() })).optional(),
});

function load(text: string, where: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
}

function check<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}: ${problems}`);
  }
  return parsed.data;
}

function toOut(o: z.infer<typeof OutSchema>, baseDir: string, where: string): DvcOut {
  if (!o.md5) throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}: output '${o.path}' has no md5 (not added or not pushed with md5 hashes)`);
  if (o.hash !== undefined && o.hash !== 'md5') throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}: output '${o.path}' uses hash '${o.hash}'; only md5 is supported`);
  return {
    path: posix.normalize(posix.join(baseDir, o.path)),
    md5: o.md5,
    size: o.size ?? null,
    nfiles: o.nfiles ?? null,
    legacy: o.hash === undefined,
    remote: o.remote ?? null,
  };
}

/** Outputs of a `.dvc` file at `dvcFilePath` (repo-relative, posix); paths come back repo-relative. */
export function parseDvcFile(text: string, dvcFilePath: string): DvcOut[] {
  const doc = check(DvcFileSchema, load(text, dvcFilePath), dvcFilePath);
  const base = posix.join(posix.dirname(dvcFilePath), doc.wdir ?? '.');
  return (doc.outs ?? []).map((o) => toOut(o, base, dvcFilePath));
}

/** Outputs of every stage in a dvc.lock at `lockPath` (schema 2.0 only; 1.x predates DVC 2). */
export function parseDvcLock(text: string, lockPath: string): DvcOut[] {
  const doc = check(LockSchema, load(text, lockPath), lockPath);
  if (doc.schema !== '2.0') throw new CloudsegError('REGISTRY_FILE_INVALID', `${lockPath}: lock schema '${doc.schema}' is not supported (2.0 is)`);
  const base = posix.dirname(lockPath);
  return Object.values(doc.stages ?? {}).flatMap((stage) => (stage.outs ?? []).map((o) => toOut(o, base, lockPath)));
}

/** `artifacts:` of a dvc.yaml: name -> repo-relative path. */
export function parseArtifacts(text: string, yamlPath: string): Record<string, string> {
  const doc = check(DvcYamlSchema, load(text, yamlPath) ?? {}, yamlPath);
  const base = posix.dirname(yamlPath);
  return Object.fromEntries(Object.entries(doc.artifacts ?? {}).map(([name, a]) => [name, posix.normalize(posix.join(base, a.path))]));
}

export interface DvcAddRecord {
  /** md5 with ".dir" for directories. */
  md5: string;
  size: number;
  nfiles: number | null;
  /** the output's name relative to the `.dvc` file's folder (its basename, as `dvc add` writes it). */
  path: string;
}

/** The `.dvc` text DVC 3's `dvc add` writes: md5, size, nfiles (directories), hash, path, in that order. */
export function formatDvcFile(record: DvcAddRecord): string {
  const lines = ['outs:', `- md5: ${record.md5}`, `  size: ${record.size}`];
  if (record.nfiles !== null) lines.push(`  nfiles: ${record.nfiles}`);
  lines.push('  hash: md5', `  path: ${yamlScalar(record.path)}`);
  return `${lines.join('\n')}\n`;
}

// ruamel leaves plain names plain; anything YAML would misread gets single quotes.
function yamlScalar(s: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_./-]*$/.test(s) && !/^(true|false|null|yes|no|on|off|~|[0-9.+-]+)$/i.test(s) ? s : `'${s.replace(/'/g, "''")}'`;
}
