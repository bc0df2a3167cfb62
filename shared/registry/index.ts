// The DVC model registry client: a reference (repo + path/artifact + rev/stage) resolves to a commit
// and a DVC md5; pull materialises its files from the remote through the md5-checked cache.
import { randomUUID } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { isAbsolute, join, posix, resolve as resolvePath, sep } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import pLimit from 'p-limit';
import { CloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { openContentCache, type ContentCache } from './content-cache.js';
import { layerDvcConfig, parseDvcConfig, remoteOptions } from './dvc-config.js';
import { parseArtifactLocations, parseArtifactsYaml, type ArtifactPath, type DvcOut } from './dvc-files.js';
import { findOutput } from './find-output.js';
import { openGitSource, type GitCredentials, type GitSource } from './git-source.js';
import { deprecationOf, isGtoName, parseGtoTag, resolveStage, versionAt, type GtoTagRecord, type StageSelection } from './gto-tags.js';
import { directoryRemote, gcsRemote, gitContentRemote, httpsRemote, inRepoRemote, objectKey, unusableRemote, type ObjectRemote } from './object-remotes.js';

export { addOutput, pushOutputs, promote } from './write-side.js';
export { STAGE_SELECTIONS, type StageSelection } from './gto-tags.js';
export type { AddResult, PushResult, PromoteResult } from './write-side.js';

export interface RegistryRef {
  repo: string;
  path?: string;
  artifact?: string;
  rev?: string;
  stage?: string;
  /** @default 'newest'. Which live assignment of `stage` wins (see STAGE_SELECTIONS). */
  stageSelection?: StageSelection;
  /** the default remote for outputs that do not name their own (`remote:`), as dvc.api.open's remote= */
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
  if (fields.stageSelection) ref.stageSelection = fields.stageSelection;
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
  /** DVC 2 output: objects at <remote>/xx/rest instead of <remote>/files/md5/xx/rest, text hashed dos2unix */
  legacy: boolean;
  /** plain git content (not a DVC output): files are read from the commit, as dvc.api.open does */
  fromGit: boolean;
}

export interface RegistryOptions {
  cacheDir: string;
  /** For a private https registry repo. */
  credentials?: GitCredentials;
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
      s = openGitSource(repo, cloneDir, options.credentials);
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
    const gtoName = ref.artifact !== undefined ? artifactId(ref.artifact) : gtoNameOf(ref.path!);

    let commit: string;
    let tag: string | null;
    let version: string | null = null;
    if (ref.stage !== undefined) {
      const tags = await source.listAnnotatedTags();
      const deprecated = deprecationOf(tags, gtoName);
      if (deprecated) {
        throw new CloudsegError('REGISTRY_STAGE_NOT_FOUND', `artifact '${gtoName}' is deprecated (${deprecated} is its newest event) in ${source.location}; gto show hides it too. Register or assign a version to revive it, or pin a rev`, {
          details: { artifact: gtoName, stage: ref.stage, deprecated },
        });
      }
      const hit = resolveStage(tags, gtoName, ref.stage, ref.stageSelection);
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
    const found = await findOutput(source, commit, path);
    if (found.kind === 'git') {
      const remote = gitContentRemote(source, commit, gitPaths(found.path, found.isDir, found.files));
      remotes.set(remoteKey(ref.repo, commit, '', remote.url), { remote, name: '' });
      log?.info({ repo: ref.repo, path, commit, tag, version, md5: found.md5, remote: remote.url, ms: Math.round(performance.now() - started) }, 'registry: resolved (git content)');
      return { ref, commit, tag, version, md5: found.md5, isDir: found.isDir, files: found.files, remoteUrl: remote.url, path: found.path, remoteName: '', legacy: false, fromGit: true };
    }
    const out = found.out;
    const { remote, name: remoteName } = await chooseRemote(source, commit, ref, out);
    remotes.set(remoteKey(ref.repo, commit, remoteName, remote.url), { remote, name: remoteName });

    const isDir = out.md5.endsWith('.dir');
    const md5 = out.md5.replace(/\.dir$/, '');
    const files = isDir
      ? await readManifest(cache, remote, out)
      : [{ relpath: posix.basename(out.path), md5, size: out.size }];
    log?.info({ repo: ref.repo, path, commit, tag, version, md5, remote: remote.url, ms: Math.round(performance.now() - started) }, 'registry: resolved');
    return { ref, commit, tag, version, md5, isDir, files, remoteUrl: remote.url, path: out.path, remoteName, legacy: out.legacy, fromGit: false };
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
          await cache.put(f.md5, data, `${resolved.path}/${f.relpath} (from ${remote.url})`, resolved.legacy);
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
    if (resolved.fromGit) return { name: '', remote: gitContentRemote(source, resolved.commit, gitPaths(resolved.path, resolved.isDir, resolved.files)) };
    const out: DvcOut = { path: resolved.path, md5: resolved.md5, size: null, nfiles: null, legacy: resolved.legacy, remote: resolved.remoteName || null };
    return chooseRemote(source, resolved.commit, resolved.ref, out);
  }

  async function chooseRemote(source: GitSource, commit: string, ref: RegistryRef, out: DvcOut): Promise<ResolvedRemote> {
    const where = `${source.location}@${commit.slice(0, 12)}`;
    const configText = await source.readFile(commit, '.dvc/config');
    let config = parseDvcConfig(configText?.toString('utf8') ?? '', `${where}:.dvc/config`);
    // DVC layers the uncommitted .dvc/config.local of a local repo over the committed config.
    if (source.workTree !== null) {
      const localPath = join(source.workTree, '.dvc', 'config.local');
      const local = await readFile(localPath, 'utf8').catch(() => null);
      if (local !== null) config = layerDvcConfig(config, parseDvcConfig(local, localPath));
    }
    let name = '';
    let opts: Record<string, string>;
    if (ref.remoteConfig?.url && !ref.remote && !out.remote && !config.defaultRemote) {
      opts = { ...ref.remoteConfig };
    } else {
      // The output's own remote: wins; ref.remote only replaces the default, as dvc.api.open(remote=) does.
      const chosen = remoteOptions(config, out.remote ?? ref.remote ?? undefined, where);
      name = chosen.name;
      opts = { ...chosen.options, ...(ref.remoteConfig ?? {}) };
    }
    const url = opts.url!;
    if (url.startsWith('gs://')) {
      return { name, remote: gcsRemote(url, { ...(options.storage && !opts.credentialpath ? { storage: options.storage } : {}), ...pick(opts, 'credentialpath', 'projectname') }) };
    }
    if (/^https?:\/\//.test(url)) return { name, remote: httpsRemote(url) };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
      const err = new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `${where}: remote '${name}' has an unsupported scheme (${url}); gs://, https:// and directories are`, { details: { remote: name, url } });
      return { name, remote: unusableRemote(url, err) };
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

/**
 * The GTO name of a path-only reference: the basename, kept in its case as GTO >= 1.5 does, with
 * characters GTO's grammar refuses turned into '-' (landsatbiomeRGBI6 stays landsatbiomeRGBI6).
 */
export function gtoNameOf(path: string): string {
  const base = posix.basename(path).replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return isGtoName(base) ? base : 'model';
}

/** DVC's artifact id: `dir/dvc.yaml:name` is written `dir:name`, as GTO tags it (dvc/repo/artifacts.py). */
export function artifactId(name: string): string {
  const i = name.lastIndexOf(':');
  if (i < 0) return name;
  const dir = name.slice(0, i);
  const dirname = posix.basename(dir) === 'dvc.yaml' ? posix.dirname(dir) : dir;
  return dirname === '.' || dirname === '' ? name.slice(i + 1) : `${dirname}:${name.slice(i + 1)}`;
}

/**
 * The repo path of artifact `name` at `commit`: `dir:name` from `dir/dvc.yaml` (its path relative to
 * `dir`), a bare name from the root dvc.yaml, else from GTO's artifacts.yaml (GTO 1.x still reads it).
 */
async function artifactPath(source: GitSource, commit: string, name: string): Promise<string> {
  const id = artifactId(name);
  const i = id.lastIndexOf(':');
  const dir = i < 0 ? '' : id.slice(0, i);
  const short = i < 0 ? id : id.slice(i + 1);
  const where = `${source.location}@${commit.slice(0, 12)}`;
  const yamlPath = dir ? posix.join(dir, 'dvc.yaml') : 'dvc.yaml';
  const text = await source.readFile(commit, yamlPath);
  const declared: Record<string, ArtifactPath> = text ? parseArtifactLocations(text.toString('utf8'), yamlPath) : {};
  let hit = declared[short];
  let file = yamlPath;
  if (!hit && !dir) {
    const legacy = await source.readFile(commit, 'artifacts.yaml');
    if (legacy) {
      hit = parseArtifactsYaml(legacy.toString('utf8'), 'artifacts.yaml')[short];
      file = 'artifacts.yaml';
    }
  }
  if (!hit) {
    throw new CloudsegError('REGISTRY_ARTIFACT_NOT_FOUND', `artifact '${id}' is not declared in ${yamlPath}${dir ? '' : ' or artifacts.yaml'} at ${where} (declared in ${yamlPath}: ${Object.keys(declared).join(', ') || 'none'})`, {
      details: { artifact: id, commit },
    });
  }
  if (hit.external) {
    throw new CloudsegError('REGISTRY_OUTPUT_NOT_FOUND', `artifact '${id}' is external (${file} says path: ${hit.path}); it lives outside the repository and its remotes, so the registry cannot read it`, {
      details: { artifact: id, commit, path: hit.path },
    });
  }
  return hit.path;
}

/** md5 -> repo path of each file of a git-content output. */
function gitPaths(path: string, isDir: boolean, files: ResolvedModel['files']): Map<string, string> {
  return new Map(files.map((f) => [f.md5, isDir ? posix.join(path, f.relpath) : path]));
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

