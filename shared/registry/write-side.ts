// The registering side, writing what DVC 3 and GTO write: `add` (the .dvc file, the .gitignore line,
// objects in .dvc/cache), `push` (cached objects to a remote) and `promote` (GTO's annotated tags).
import { execFile } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Storage } from '@google-cloud/storage';
import { CloudsegError } from '../errors.js';
import { md5Hex, openContentCache } from './content-cache.js';
import { dirManifestJson, directoryManifest, md5File } from './dir-manifest.js';
import { parseDvcConfig, remoteOptions } from './dvc-config.js';
import { formatDvcFile, parseDvcFile } from './dvc-files.js';
import { isGtoName, isGtoVersion, nextAssignmentTag, parseGtoTag } from './gto-tags.js';
import { directoryRemote, gcsRemote, objectKey, type ObjectRemote } from './object-remotes.js';

const run = promisify(execFile);

export interface AddResult {
  dvcFile: string;
  /** md5 as written (".dir" suffix for a directory) */
  md5: string;
  size: number;
  nfiles: number | null;
}

/**
 * `dvc add <path>` as DVC 3 does it: hashes the file or directory, stores the objects (and the `.dir`
 * manifest) in <repo>/.dvc/cache/files/md5, writes `<path>.dvc` and git-ignores the output.
 */
export async function addOutput(repoDir: string, path: string): Promise<AddResult> {
  const root = resolve(repoDir);
  const target = resolve(root, path);
  const rel = relative(root, target).split(/[\\/]/).join('/');
  if (rel === '' || rel.startsWith('..')) throw new CloudsegError('CONFIG_INVALID', `${path} is not inside the repository ${root}`);
  const info = await stat(target).catch(() => null);
  if (!info) throw new CloudsegError('REGISTRY_OUTPUT_NOT_FOUND', `nothing to add: ${target} does not exist`);
  const cache = openContentCache(join(root, '.dvc', 'cache'));
  let md5: string;
  let size = 0;
  let nfiles: number | null = null;
  if (info.isDirectory()) {
    const entries = await directoryManifest(target);
    for (const e of entries) {
      const data = await readFile(join(target, ...e.relpath.split('/')));
      size += data.length;
      if (!(await cache.has(e.md5))) await cache.put(e.md5, data, `${rel}/${e.relpath}`);
    }
    const manifest = Buffer.from(dirManifestJson(entries), 'utf8');
    const dirMd5 = md5Hex(manifest);
    await cache.put(dirMd5, manifest, `${rel} directory manifest`);
    md5 = `${dirMd5}.dir`;
    nfiles = entries.length;
  } else {
    const data = await readFile(target);
    md5 = await md5File(target);
    size = data.length;
    await cache.put(md5, data, rel);
  }
  const dvcFile = `${target}.dvc`;
  await writeFile(dvcFile, formatDvcFile({ md5, size, nfiles, path: basename(target) }));
  await ignoreInGit(dirname(target), basename(target));
  return { dvcFile, md5, size, nfiles };
}

// DVC writes "/<name>" into the .gitignore beside the output.
async function ignoreInGit(dir: string, name: string): Promise<void> {
  const file = join(dir, '.gitignore');
  const current = await readFile(file, 'utf8').catch(() => '');
  const line = `/${name}`;
  if (current.split(/\r?\n/).includes(line)) return;
  await writeFile(file, `${current}${current === '' || current.endsWith('\n') ? '' : '\n'}${line}\n`);
}

export interface PushOptions {
  remote?: string;
  storage?: Storage;
  /** only these outputs (repo-relative paths); default: every .dvc file in the work tree */
  paths?: string[];
}

export interface PushResult {
  remote: string;
  url: string;
  uploaded: number;
  present: number;
}

/** `dvc push`: every object of the repo's .dvc outputs that the remote lacks is copied from .dvc/cache. */
export async function pushOutputs(repoDir: string, options: PushOptions = {}): Promise<PushResult> {
  const root = resolve(repoDir);
  const configText = await readFile(join(root, '.dvc', 'config'), 'utf8').catch(() => '');
  const chosen = remoteOptions(parseDvcConfig(configText, join(root, '.dvc', 'config')), options.remote, root);
  const url = chosen.options.url!;
  let remote: ObjectRemote;
  if (url.startsWith('gs://')) remote = gcsRemote(url, { ...(options.storage ? { storage: options.storage } : {}), ...pickGs(chosen.options) });
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `cannot push to ${url}: gs:// and directory remotes are supported`);
  else remote = directoryRemote(resolve(root, '.dvc', url));

  const cache = openContentCache(join(root, '.dvc', 'cache'));
  const dvcFiles = options.paths ? options.paths.map((p) => `${p.replace(/\/+$/, '')}.dvc`) : await findDvcFiles(root);
  let uploaded = 0;
  let present = 0;
  for (const file of dvcFiles) {
    const text = await readFile(join(root, file), 'utf8').catch(() => null);
    if (text === null) throw new CloudsegError('REGISTRY_OUTPUT_NOT_FOUND', `${file} not found in ${root}`);
    for (const out of parseDvcFile(text, file)) {
      const md5s = [out.md5];
      if (out.md5.endsWith('.dir')) {
        const manifest = await cache.get(out.md5.replace(/\.dir$/, ''));
        if (!manifest) throw new CloudsegError('REGISTRY_OBJECT_MISSING', `${out.path}: directory manifest ${out.md5} is not in ${cache.dir}; run add again`);
        for (const e of JSON.parse(manifest.toString('utf8')) as { md5: string }[]) md5s.push(e.md5);
      }
      for (const md5 of md5s) {
        const key = objectKey(md5, out.legacy);
        if (await remote.get(key)) {
          present++;
          continue;
        }
        const data = await cache.get(md5.replace(/\.dir$/, ''));
        if (!data) throw new CloudsegError('REGISTRY_OBJECT_MISSING', `${out.path}: object ${md5} is not in ${cache.dir}; run add again`);
        await remote.put(key, data);
        uploaded++;
      }
    }
  }
  return { remote: chosen.name, url: remote.url, uploaded, present };
}

/**
 * Every .dvc file in the work tree, skipping dot folders, node_modules and what `.dvcignore` lists.
 * Only plain path lines of .dvcignore are honoured here (no glob patterns).
 */
async function findDvcFiles(root: string): Promise<string[]> {
  const ignoreText = await readFile(join(root, '.dvcignore'), 'utf8').catch(() => '');
  const ignored = ignoreText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.replace(/^\/+|\/+$/g, ''));
  const found: string[] = [];
  const walk = async (dir: string) => {
    for (const d of await readdir(join(root, dir), { withFileTypes: true })) {
      const rel = dir ? posix.join(dir, d.name) : d.name;
      if (ignored.some((i) => rel === i || rel.startsWith(`${i}/`))) continue;
      if (d.isDirectory() && !d.name.startsWith('.') && d.name !== 'node_modules') await walk(rel);
      else if (d.isFile() && d.name.endsWith('.dvc')) found.push(rel);
    }
  };
  await walk('');
  return found.sort();
}

export interface PromoteOptions {
  stage: string;
  /** register this version at the commit first (name@vX.Y.Z), unless it already is */
  version?: string;
  /** the commit to promote (default HEAD, or the commit of `version` when it is registered) */
  ref?: string;
  message?: string;
}

export interface PromoteResult {
  commit: string;
  versionTag: string | null;
  stageTag: string;
}

/**
 * GTO's `assign`: an annotated tag name#stage#N (N one above the artifact's highest counter), preceded by
 * name@version when a new version is given. Uses the git CLI, as GTO does, so the user's identity,
 * signing and hooks apply.
 */
export async function promote(repoDir: string, name: string, options: PromoteOptions): Promise<PromoteResult> {
  if (!isGtoName(name)) throw new CloudsegError('CONFIG_INVALID', `'${name}' is not a valid GTO artifact name (letters, digits, '-', '_', '/', starting and ending with a letter or digit)`);
  if (!isGtoName(options.stage)) throw new CloudsegError('CONFIG_INVALID', `'${options.stage}' is not a valid GTO stage name`);
  if (options.version !== undefined && !isGtoVersion(options.version)) throw new CloudsegError('CONFIG_INVALID', `'${options.version}' is not a version like v1.2.3`);
  const git = async (...args: string[]) => (await run('git', ['-C', resolve(repoDir), ...args])).stdout.trim();
  const tags = (await git('tag', '--list')).split('\n').filter(Boolean);
  let commit = await git('rev-parse', '--verify', `${options.ref ?? 'HEAD'}^{commit}`).catch(() => {
    throw new CloudsegError('REGISTRY_REV_NOT_FOUND', `rev '${options.ref ?? 'HEAD'}' not found in ${repoDir}`);
  });
  let versionTag: string | null = null;
  if (options.version) {
    versionTag = `${name}@${options.version}`;
    if (tags.includes(versionTag)) {
      const tagged = await git('rev-parse', `${versionTag}^{commit}`);
      if (options.ref && tagged !== commit) throw new CloudsegError('CONFIG_INVALID', `${versionTag} already registers ${tagged.slice(0, 12)}, not ${commit.slice(0, 12)}`);
      commit = tagged;
    } else {
      const existing = tags.map(parseGtoTag).filter((p) => p?.artifact === name && p.action === 'register');
      if (existing.length > 0 && (await commitHasVersion(git, tags, name, commit))) {
        throw new CloudsegError('CONFIG_INVALID', `commit ${commit.slice(0, 12)} already has a registered version of ${name}`);
      }
      await git('tag', '-a', versionTag, '-m', options.message ?? `Registering artifact ${name} version ${options.version}`, commit);
      tags.push(versionTag);
    }
  }
  const stageTag = nextAssignmentTag(tags, name, options.stage);
  await git('tag', '-a', stageTag, '-m', options.message ?? `Assigning stage ${options.stage} to artifact ${name} ${options.version ?? `commit ${commit.slice(0, 7)}`}`, commit);
  return { commit, versionTag, stageTag };
}

async function commitHasVersion(git: (...a: string[]) => Promise<string>, tags: string[], name: string, commit: string): Promise<boolean> {
  for (const t of tags) {
    const p = parseGtoTag(t);
    if (p?.artifact === name && p.action === 'register' && (await git('rev-parse', `${t}^{commit}`)) === commit) return true;
  }
  return false;
}

function pickGs(o: Record<string, string>): { credentialpath?: string; projectname?: string } {
  return { ...(o.credentialpath ? { credentialpath: o.credentialpath } : {}), ...(o.projectname ? { projectname: o.projectname } : {}) };
}
