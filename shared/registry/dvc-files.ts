// What DVC records about an output: `.dvc` outs, dvc.lock (schema 2.0) stage outs, the `artifacts:` of
// dvc.yaml (and GTO's older artifacts.yaml); and the byte-exact `.dvc` text that `dvc add` (DVC 3) writes.
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

// Outputs are checked one at a time (toDvcOut), only when asked for: DVC itself tolerates outputs it
// cannot use here (external s3:// outs with etag:, md5: null before a first run) beside the one we want.
const OutEntrySchema = z.looseObject({ path: z.string().min(1) });
const DvcFileSchema = z.looseObject({ outs: z.array(OutEntrySchema).nullish(), wdir: z.string().nullish() });
const LockSchema = z.looseObject({
  schema: z.string(),
  stages: z.record(z.string(), z.looseObject({ outs: z.array(OutEntrySchema).nullish() })).nullish(),
});
const OutFieldsSchema = z.looseObject({
  // DVC lowercases md5s when it reads them (HashInfo); hand-edited or old files may carry upper case.
  md5: z.string().regex(/^[0-9a-fA-F]{32}(\.dir)?$/),
  size: z.number().int().nonnegative().nullish(),
  nfiles: z.number().int().nonnegative().nullish(),
  hash: z.string().nullish(),
  remote: z.string().nullish(),
});
const ArtifactSchema = z.looseObject({ path: z.string().min(1), type: z.string().optional() });
const DvcYamlSchema = z.looseObject({ artifacts: z.record(z.string(), ArtifactSchema).nullish() });
const ArtifactsYamlSchema = z.record(z.string(), ArtifactSchema);

/** An output as listed in a .dvc or dvc.lock, not yet checked: its repo-relative path and raw fields. */
export interface OutEntry {
  /** repo-relative posix path, or the URL of an external output (s3://..., as written) */
  path: string;
  /** true when the output lives outside the repo (a URL such as s3://, gs://, hdfs://) */
  external: boolean;
  /** the file it was read from, for messages */
  where: string;
  raw: Record<string, unknown>;
}

const URL_PATH = /^[a-z][a-z0-9+.-]*:\/\//i;

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

function entry(o: { path: string } & Record<string, unknown>, baseDir: string, where: string): OutEntry {
  // DVC keeps a URL path as written; joining it to the folder would turn s3://b/k into s3:/b/k.
  const external = URL_PATH.test(o.path);
  return { path: external ? o.path : posix.normalize(posix.join(baseDir, o.path)), external, where, raw: o };
}

/** The checked output: md5 present (lowercased), md5 hash only; the error names the output and the file. */
export function toDvcOut(e: OutEntry): DvcOut {
  if (e.external) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${e.where}: '${e.path}' is an external output (outside the repository); dvc.api.open cannot read it from the registry either`);
  }
  if (e.raw.md5 === undefined || e.raw.md5 === null) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${e.where}: output '${e.path}' has no md5 (not added, not run yet, or hashed as ${Object.keys(e.raw).filter((k) => ['etag', 'checksum', 'version_id'].includes(k)).join('/') || 'something else'})`);
  }
  const o = check(OutFieldsSchema, e.raw, `${e.where}: output '${e.path}'`);
  if (o.hash !== undefined && o.hash !== null && o.hash !== 'md5') {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${e.where}: output '${e.path}' uses hash '${o.hash}'; only md5 is supported`);
  }
  return {
    path: e.path,
    md5: o.md5.toLowerCase(),
    size: o.size ?? null,
    nfiles: o.nfiles ?? null,
    legacy: o.hash === undefined || o.hash === null,
    remote: o.remote ?? null,
  };
}

/** Outputs listed in a `.dvc` file at `dvcFilePath` (repo-relative, posix), `wdir:` honoured. */
export function listDvcFileOuts(text: string, dvcFilePath: string): OutEntry[] {
  const doc = load(text, dvcFilePath);
  if (doc && typeof doc === 'object' && 'cmd' in doc) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${dvcFilePath}: a DVC 0.x stage file (it has cmd:); DVC 1+ keeps stages in dvc.yaml and DVC 3 refuses this file too: migrate it with DVC 2 or re-add the output`);
  }
  const parsed = check(DvcFileSchema, doc ?? {}, dvcFilePath);
  const base = posix.join(posix.dirname(dvcFilePath), parsed.wdir ?? '.');
  return (parsed.outs ?? []).map((o) => entry(o, base, dvcFilePath));
}

/** Outputs of every stage in a dvc.lock at `lockPath` (schema 2.0, what DVC 2 and 3 write). */
export function listLockOuts(text: string, lockPath: string): OutEntry[] {
  const doc = load(text, lockPath) ?? {};
  // The format first: a DVC 1 lock (no schema:, stages at the top) would otherwise fail on its shape.
  const schema = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>).schema : undefined;
  if (schema === undefined) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `${lockPath}: lock format 1.0 (DVC 1, no schema: field) is not supported; DVC 3 refuses it too: run \`dvc repro\` or \`dvc commit\` with DVC 2+ to rewrite it as 2.0`);
  }
  if (schema !== '2.0') throw new CloudsegError('REGISTRY_FILE_INVALID', `${lockPath}: lock schema '${String(schema)}' is not supported (2.0 is)`);
  const parsed = check(LockSchema, doc, lockPath);
  const base = posix.dirname(lockPath);
  return Object.values(parsed.stages ?? {}).flatMap((stage) => (stage.outs ?? []).map((o) => entry(o, base, lockPath)));
}

/** Every output of a `.dvc` file, each checked (the write side's own files). */
export function parseDvcFile(text: string, dvcFilePath: string): DvcOut[] {
  return listDvcFileOuts(text, dvcFilePath).map(toDvcOut);
}

/** Every output of a dvc.lock, each checked. */
export function parseDvcLock(text: string, lockPath: string): DvcOut[] {
  return listLockOuts(text, lockPath).map(toDvcOut);
}

/** An artifact's location: a repo-relative path, or the URL of an external artifact. */
export interface ArtifactPath {
  path: string;
  external: boolean;
}

function artifactEntries(artifacts: Record<string, { path: string }>, base: string): Record<string, ArtifactPath> {
  return Object.fromEntries(
    Object.entries(artifacts).map(([name, a]) => [name, URL_PATH.test(a.path) ? { path: a.path, external: true } : { path: posix.normalize(posix.join(base, a.path)), external: false }]),
  );
}

/** `artifacts:` of a dvc.yaml: name -> location, paths relative to the dvc.yaml's folder made repo-relative. */
export function parseArtifactLocations(text: string, yamlPath: string): Record<string, ArtifactPath> {
  const doc = check(DvcYamlSchema, load(text, yamlPath) ?? {}, yamlPath);
  return artifactEntries(doc.artifacts ?? {}, posix.dirname(yamlPath));
}

/** GTO's artifacts.yaml (before DVC 3 took over annotations; GTO 1.x still reads it): name -> location. */
export function parseArtifactsYaml(text: string, yamlPath: string): Record<string, ArtifactPath> {
  const doc = check(ArtifactsYamlSchema, load(text, yamlPath) ?? {}, yamlPath);
  return artifactEntries(doc, posix.dirname(yamlPath));
}

/** `artifacts:` of a dvc.yaml: name -> repo-relative path. */
export function parseArtifacts(text: string, yamlPath: string): Record<string, string> {
  return Object.fromEntries(Object.entries(parseArtifactLocations(text, yamlPath)).map(([n, a]) => [n, a.path]));
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
