// The DVC model registry client: a reference (repo + path/artifact + rev/stage) resolves to a commit
// and a DVC md5; pull materialises its files from the remote through the md5-checked cache.
import { randomUUID } from 'node:crypto';
import { cp, mkdir, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve as resolvePath, sep } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import pLimit from 'p-limit';
import { CloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { openContentCache, type ContentCache } from './content-cache.js';
import { parseDvcConfig, remoteOptions } from './dvc-config.js';
import { parseArtifacts, parseDvcFile, parseDvcLock, type DvcOut } from './dvc-files.js';
import { openGitSource, type GitSource } from './git-source.js';
import { isGtoName, parseGtoTag, resolveStage, versionAt, type GtoTagRecord } from './gto-tags.js';
import { directoryRemote, gcsRemote, httpsRemote, inRepoRemote, objectKey, type ObjectRemote } from './object-remotes.js';

export { addOutput, pushOutputs, promote } from './write-side.js';
export type { AddResult, PushResult, PromoteResult } from './write-side.js';

export interface RegistryRef {
  repo: string;
  path?: string;
  artifact?: string;
  rev?: string;
  stage?: string;
  remote?: string;
  remoteConfig?: Record<string, string>;
}

/** A reference from optional settings (flags, config): unset ones are left out, not undefined. */
export function registryRef(fields: { repo: string } & { [K in Exclude<keyof RegistryRef, 'repo'>]?: RegistryRef[K] | undefined }): RegistryRef {
  const ref: RegistryRef = { repo: fields.repo };
  if (fields.path) ref.path = fields.path;
  if (fields.artifact) ref.artifact = fields.artifact;
  if (fields.rev) ref.rev = fields.rev;
  if (fields.stage) ref.stage = fields.stage;
  if (fields.remote) ref.remote = fields.remote;
  if (fields.remoteConfig) ref.remoteConfig = fields.remoteConfig;
  return ref;
}

export interface ResolvedModel {
  ref: RegistryRef;
  commit: string;
  tag: string | null;
  version: string | null;
  md5: string;
  isDir: boolean;
  files: { relpath: string; md5: string; size: number | null }[];
  remoteUrl: string;
  /** repo-relative path of the output */
  path: string;
  /** the remote's name in .dvc/config ('' when given only through remoteConfig.url) */
  remoteName: string;
  /** DVC 2 output: objects at <remote>/xx/rest instead of <remote>/files/md5/xx/rest */
  legacy: boolean;
}

export interface RegistryOptions {
  cacheDir: string;
  storage?: Storage;
  logger?: Logger;
  cloneDir?: string;
  /** @default 8. Objects downloaded at once. */
  downloadConcurrency?: number;
}

export interface Registry {
  resolve(ref: RegistryRef): Promise<ResolvedModel>;
  pull(resolved: ResolvedModel): Promise<string>;
}

interface ResolvedRemote {
  remote: ObjectRemote;
  name: string;
}

export function openRegistry(options: RegistryOptions): Registry {
  const cache = openContentCache(options.cacheDir);
  const cloneDir = options.cloneDir ?? options.cacheDir;
  const sources = new Map<string, Promise<GitSource>>();
  // The remote each resolution chose, so pull() reads from the same place without re-reading git.
  const remotes = new Map<string, ResolvedRemote>();
  const limit = pLimit(options.downloadConcurrency ?? 8);
  const log = options.logger?.child({ component: 'registry' });

  const sourceFor = (repo: string) => {
    let s = sources.get(repo);
    if (!s) {
      s = openGitSource(repo, cloneDir);
      s.catch(() => sources.delete(repo));
      sources.set(repo, s);
    }
    return s;
  };

  async function resolve(ref: RegistryRef): Promise<ResolvedModel> {
    if (ref.path === undefined && ref.artifact === undefined) {
      throw new CloudsegError('CONFIG_INVALID', 'registry ref needs a path or an artifact name');
    }
    if (ref.rev !== undefined && ref.stage !== undefined) throw new CloudsegError('CONFIG_INVALID', 'registry ref takes a rev or a stage, not both');
    const started = performance.now();
    const source = await sourceFor(ref.repo);
    const gtoName = ref.artifact ?? gtoNameOf(ref.path!);

    let commit: string;
    let tag: string | null;
    let version: string | null = null;
    if (ref.stage !== undefined) {
      const tags = await source.listAnnotatedTags();
      const hit = resolveStage(tags, gtoName, ref.stage);
      if (!hit) throw stageNotFound(tags, gtoName, ref.stage, source.location);
      ({ commit, tag, version } = hit);
    } else {
      ({ commit, tag } = await source.resolveRev(ref.rev));
      const parsed = tag ? parseGtoTag(tag) : null;
      if (parsed?.action === 'register') version = parsed.version;
      else if (source.workTree !== null || /^[a-z]:|^\//i.test(source.location)) {
        // Local tags are cheap to read. Without an artifact name any version registered at the commit counts.
        const tags = await source.listAnnotatedTags();
        version = (versionAt(tags, gtoName, commit) ?? (ref.artifact === undefined ? versionAt(tags, null, commit) : null))?.version ?? null;
      }
    }

    const path = ref.path ?? (await artifactPath(source, commit, ref.artifact!));
    const out = await findOutput(source, commit, path);
    const { remote, name: remoteName } = await chooseRemote(source, commit, ref, out);
    remotes.set(remoteKey(ref.repo, commit, remoteName, remote.url), { remote, name: remoteName });

    const isDir = out.md5.endsWith('.dir');
    const md5 = out.md5.replace(/\.dir$/, '');
    const files = isDir
      ? await readManifest(cache, remote, out)
      : [{ relpath: posix.basename(out.path), md5, size: out.size }];
    log?.info({ repo: ref.repo, path, commit, tag, version, md5, remote: remote.url, ms: Math.round(performance.now() - started) }, 'registry: resolved');
    return { ref, commit, tag, version, md5, isDir, files, remoteUrl: remote.url, path, remoteName, legacy: out.legacy };
  }

  async function pull(resolved: ResolvedModel): Promise<string> {
    const tree = join(options.cacheDir, 'trees', resolved.md5);
    if (await stat(tree).then((s) => s.isDirectory(), () => false)) return tree;
    const started = performance.now();
    let remote = remotes.get(remoteKey(resolved.ref.repo, resolved.commit, resolved.remoteName, resolved.remoteUrl))?.remote;
    let downloaded = 0;
    await Promise.all(
      resolved.files.map((f) =>
        limit(async () => {
          if (await cache.has(f.md5)) return;
          remote ??= (await resolveAgain(resolved)).remote;
          const data = await remote.get(objectKey(f.md5, resolved.legacy));
          if (!data) throw objectMissing(remote, f.relpath, f.md5, resolved.legacy);
          await cache.put(f.md5, data, `${resolved.path}/${f.relpath} (from ${remote.url})`);
          downloaded++;
        }),
      ),
    );
    // Unique per call: two pulls in one process (or one millisecond) must never share a temp tree.
    const tmp = `${tree}.${process.pid}.${randomUUID()}.tmp`;
    for (const f of resolved.files) {
      const dest = join(tmp, ...f.relpath.split('/'));
      if (!dest.startsWith(tmp + sep)) throw new CloudsegError('REGISTRY_FILE_INVALID', `manifest of ${resolved.path} has an unsafe relpath '${f.relpath}'`);
      await mkdir(join(dest, '..'), { recursive: true });
      await cp(cache.pathOf(f.md5), dest);
    }
    await mkdir(join(options.cacheDir, 'trees'), { recursive: true });
    try {
      await rename(tmp, tree);
    } catch (err) {
      // Another process built the same tree first: theirs is identical, keep it.
      await rm(tmp, { recursive: true, force: true });
      if (!(await stat(tree).then(() => true, () => false))) throw err;
    }
    log?.info({ md5: resolved.md5, files: resolved.files.length, downloaded, ms: Math.round(performance.now() - started) }, 'registry: pulled');
    return tree;
  }

  async function resolveAgain(resolved: ResolvedModel): Promise<ResolvedRemote> {
    const source = await sourceFor(resolved.ref.repo);
    const out: DvcOut = { path: resolved.path, md5: resolved.md5, size: null, nfiles: null, legacy: resolved.legacy, remote: resolved.remoteName || null };
    return chooseRemote(source, resolved.commit, resolved.ref, out);
  }

  async function chooseRemote(source: GitSource, commit: string, ref: RegistryRef, out: DvcOut): Promise<ResolvedRemote> {
    const where = `${source.location}@${commit.slice(0, 12)}`;
    const configText = await source.readFile(commit, '.dvc/config');
    const config = parseDvcConfig(configText?.toString('utf8') ?? '', `${where}:.dvc/config`);
    let name = '';
    let opts: Record<string, string>;
    if (ref.remoteConfig?.url && !ref.remote && !out.remote && !config.defaultRemote) {
      opts = { ...ref.remoteConfig };
    } else {
      const chosen = remoteOptions(config, ref.remote ?? out.remote ?? undefined, where);
      name = chosen.name;
      opts = { ...chosen.options, ...(ref.remoteConfig ?? {}) };
    }
    const url = opts.url!;
    if (url.startsWith('gs://')) {
      return { name, remote: gcsRemote(url, { ...(options.storage && !opts.credentialpath ? { storage: options.storage } : {}), ...pick(opts, 'credentialpath', 'projectname') }) };
    }
    if (/^https?:\/\//.test(url)) return { name, remote: httpsRemote(url) };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
      throw new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `${where}: remote '${name}' has an unsupported scheme (${url}); gs://, https:// and directories are`);
    }
    const localUrl = url.startsWith('file://') ? new URL(url).pathname : url;
    if (isAbsolute(localUrl)) return { name, remote: directoryRemote(localUrl) };
    // DVC resolves a relative remote against the config file's folder (.dvc/).
    const inRepo = posix.normalize(posix.join('.dvc', localUrl.split(sep).join('/')));
    if (inRepo.startsWith('../')) {
      if (source.workTree === null && !isAbsolute(source.location)) {
        throw new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `${where}: remote '${name}' (${url}) lies outside the repository; pass an override remote`);
      }
      return { name, remote: directoryRemote(resolvePath(source.workTree ?? source.location, '.dvc', localUrl)) };
    }
    return { name, remote: inRepoRemote(source, commit, inRepo) };
  }

  return { resolve, pull };
}

/** GTO names are lowercase: a path's basename becomes one (landsatbiomeRGBI6 -> landsatbiomergbi6). */
export function gtoNameOf(path: string): string {
  const base = posix.basename(path).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return isGtoName(base) ? base : 'model';
}

async function artifactPath(source: GitSource, commit: string, name: string): Promise<string> {
  const text = await source.readFile(commit, 'dvc.yaml');
  const artifacts = text ? parseArtifacts(text.toString('utf8'), 'dvc.yaml') : {};
  const path = artifacts[name];
  if (!path) {
    throw new CloudsegError('REGISTRY_ARTIFACT_NOT_FOUND', `artifact '${name}' is not declared in dvc.yaml at ${source.location}@${commit.slice(0, 12)} (declared: ${Object.keys(artifacts).join(', ') || 'none'})`, {
      details: { artifact: name, commit },
    });
  }
  return path;
}

async function findOutput(source: GitSource, commit: string, rawPath: string): Promise<DvcOut> {
  const path = posix.normalize(rawPath.replace(/\\/g, '/')).replace(/\/+$/, '');
  const dvcFile = await source.readFile(commit, `${path}.dvc`);
  if (dvcFile) {
    const out = parseDvcFile(dvcFile.toString('utf8'), `${path}.dvc`).find((o) => o.path === path);
    if (out) return out;
  }
  const lock = await source.readFile(commit, 'dvc.lock');
  if (lock) {
    const out = parseDvcLock(lock.toString('utf8'), 'dvc.lock').find((o) => o.path === path);
    if (out) return out;
  }
  throw new CloudsegError('REGISTRY_OUTPUT_NOT_FOUND', `'${path}' is not a DVC output at ${source.location}@${commit.slice(0, 12)} (no ${path}.dvc, not in dvc.lock)`, {
    details: { path, commit },
  });
}

async function readManifest(cache: ContentCache, remote: ObjectRemote, out: DvcOut): Promise<ResolvedModel['files']> {
  const md5 = out.md5.replace(/\.dir$/, '');
  let data = await cache.get(md5);
  if (!data) {
    data = await remote.get(objectKey(out.md5, out.legacy));
    if (!data) throw objectMissing(remote, '(directory manifest)', out.md5, out.legacy, out.path);
    await cache.put(md5, data, `${out.path} directory manifest ${out.md5} (from ${remote.url})`);
  }
  let list: unknown;
  try {
    list = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `directory manifest ${out.md5} is not JSON`, { cause: err });
  }
  if (!Array.isArray(list) || !list.every((e) => typeof e?.md5 === 'string' && typeof e?.relpath === 'string')) {
    throw new CloudsegError('REGISTRY_FILE_INVALID', `directory manifest ${out.md5} is not a list of {md5, relpath}`);
  }
  return (list as { md5: string; relpath: string; size?: number }[]).map((e) => ({ relpath: e.relpath, md5: e.md5, size: typeof e.size === 'number' ? e.size : null }));
}

function objectMissing(remote: ObjectRemote, relpath: string, md5: string, legacy: boolean, path = ''): CloudsegError {
  const key = objectKey(md5, legacy);
  return new CloudsegError('REGISTRY_OBJECT_MISSING', `${path ? `${path}: ` : ''}${relpath} (md5 ${md5}) is not in remote ${remote.url} (looked for ${key}); was it pushed?`, {
    details: { remote: remote.url, key, relpath },
  });
}

function stageNotFound(tags: GtoTagRecord[], artifact: string, stage: string, where: string): CloudsegError {
  const stages = new Set(tags.map((t) => parseGtoTag(t.name)).filter((p) => p?.artifact === artifact && p.stage).map((p) => p!.stage!));
  return new CloudsegError('REGISTRY_STAGE_NOT_FOUND', `stage '${stage}' of artifact '${artifact}' has no live assignment in ${where} (stages seen: ${[...stages].join(', ') || 'none'})`, {
    details: { artifact, stage, known: [...stages] },
  });
}

function remoteKey(repo: string, commit: string, name: string, url: string): string {
  return `${repo}\n${commit}\n${name}\n${url}`;
}

function pick(o: Record<string, string>, ...keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]!]));
}

