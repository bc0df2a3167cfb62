// Read-only git access for the registry (isomorphic-git, no work tree): a local repo is read in place,
// an https repo is fetched shallow (just the ref needed) into <cacheDir>/git/<hash of url>.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { CloudsegError } from '../errors.js';
import { parseGtoTag, type GtoTagRecord } from './gto-tags.js';

export interface RevResolution {
  commit: string;
  /** the tag name when `rev` named a tag */
  tag: string | null;
}

export interface GitSource {
  /** where the repo is read from: an absolute path, or the https URL */
  readonly location: string;
  /** the work tree of a local non-bare repo (objects of an in-repo remote may sit there uncommitted) */
  readonly workTree: string | null;
  resolveRev(rev: string | undefined): Promise<RevResolution>;
  /** a file's bytes at `commit`, null when the path does not exist there */
  readFile(commit: string, path: string): Promise<Buffer | null>;
  /** every annotated tag with its target commit and tagger time (lightweight tags are not GTO's) */
  listAnnotatedTags(): Promise<GtoTagRecord[]>;
  /** every file path committed at `commit` (posix, repo-relative) */
  listFiles(commit: string): Promise<string[]>;
}

interface Location {
  dir?: string;
  gitdir: string;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** Credentials for a private https registry (HTTP basic: a token as the password). */
export interface GitCredentials {
  username: string;
  password: string;
}

export async function openGitSource(repo: string, cacheDir: string, credentials?: GitCredentials): Promise<GitSource> {
  if (/^https?:\/\//.test(repo)) return openRemote(repo, join(cacheDir, 'git', createHash('sha256').update(repo).digest('hex').slice(0, 24)), credentials);
  const path = repo.startsWith('file://') ? fileURLToPath(repo) : resolve(repo);
  return openLocal(path);
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function openLocal(path: string): Promise<GitSource> {
  let loc: Location;
  if (await exists(join(path, '.git'))) loc = { dir: path, gitdir: join(path, '.git') };
  else if ((await exists(join(path, 'HEAD'))) && (await exists(join(path, 'objects')))) loc = { gitdir: path };
  else throw new CloudsegError('REGISTRY_REPO_UNAVAILABLE', `registry repo '${path}' is not a git repository (no .git, not a bare repo)`, { details: { repo: path } });
  return {
    location: path,
    workTree: loc.dir ?? null,
    resolveRev: (rev) => resolveLocalRev(loc, rev, path),
    readFile: (commit, p) => readFileAt(loc, commit, p),
    listAnnotatedTags: () => listAnnotatedTags(loc),
    listFiles: (commit) => git.listFiles({ fs, ...loc, ref: commit }),
  };
}

async function openRemote(url: string, gitdir: string, credentials?: GitCredentials): Promise<GitSource> {
  const loc: Location = { gitdir };
  // Handed to isomorphic-git only when the server asks (a 401); never part of the URL, so never logged.
  const auth = credentials ? { onAuth: () => ({ username: credentials.username, password: credentials.password }) } : {};
  if (!(await exists(join(gitdir, 'HEAD')))) {
    await git.init({ fs, gitdir, bare: true });
    await git.addRemote({ fs, gitdir, remote: 'origin', url, force: true });
  }
  const fetchRef = async (ref: string | undefined, tags: boolean) => {
    try {
      return await git.fetch({ fs, http, gitdir, remote: 'origin', ...(ref ? { ref } : {}), singleBranch: true, depth: 1, tags, ...auth });
    } catch (err) {
      const e = err as { code?: string; data?: { statusCode?: number } };
      if (e.code === 'NotFoundError' || e.code === 'CommitNotFetchedError') {
        throw new CloudsegError('REGISTRY_REV_NOT_FOUND', `rev '${ref ?? 'HEAD'}' not found in ${url}`, { cause: err, details: { repo: url, rev: ref } });
      }
      const status = e.data?.statusCode;
      throw new CloudsegError('REGISTRY_REPO_UNAVAILABLE', `cannot fetch ${url}${status ? ` (HTTP ${status})` : ''}: ${(err as Error).message}`, {
        cause: err,
        retryable: status === undefined || status >= 500 || status === 429 || status === 408,
        details: { repo: url },
      });
    }
  };
  return {
    location: url,
    workTree: null,
    async resolveRev(rev) {
      // A commit sha already fetched never changes: no network at all.
      if (rev && FULL_SHA.test(rev) && (await hasCommit(loc, rev))) return { commit: rev, tag: null };
      // A ref whose commit is already here costs one ref listing, not a fetch (the warm refresh path).
      if (!rev || !FULL_SHA.test(rev)) {
        const known = await advertisedCommit(url, rev, auth).catch(() => null);
        if (known && (await hasCommit(loc, known.commit))) return known;
      }
      const result = await fetchRef(rev, false);
      if (!result.fetchHead) throw new CloudsegError('REGISTRY_REV_NOT_FOUND', `rev '${rev ?? 'HEAD'}' not found in ${url}`, { details: { repo: url, rev } });
      const commit = await peel(loc, result.fetchHead);
      const isTag = (result.fetchHeadDescription ?? '').startsWith('tag ');
      return { commit, tag: isTag ? rev ?? null : null };
    },
    readFile: (commit, p) => readFileAt(loc, commit, p),
    listFiles: (commit) => git.listFiles({ fs, ...loc, ref: commit }),
    async listAnnotatedTags() {
      // One ref listing per call (so a refresh sees new promotions); only GTO tags whose tag object is not
      // here yet are fetched, each shallow, so a warm instance fetches just the newest promotion.
      let refs: { ref: string; oid: string }[];
      try {
        refs = await git.listServerRefs({ http, url, prefix: 'refs/tags/', peelTags: true, ...auth });
      } catch (err) {
        throw new CloudsegError('REGISTRY_REPO_UNAVAILABLE', `cannot list tags of ${url}: ${(err as Error).message}`, { cause: err, retryable: true, details: { repo: url } });
      }
      const out: GtoTagRecord[] = [];
      for (const { ref, oid } of refs) {
        const name = ref.slice('refs/tags/'.length);
        if (name.endsWith('^{}') || parseGtoTag(name) === null) continue;
        if (!(await hasObject(loc, oid))) await fetchRef(ref, false);
        const record = await tagRecord(loc, name, oid);
        if (record) out.push(record);
      }
      return out;
    },
  };
}

/** The commit a branch/tag/HEAD points at on the server (tags peeled), in git's precedence: tags, then branches. */
async function advertisedCommit(url: string, rev: string | undefined, auth: { onAuth?: () => GitCredentials }): Promise<RevResolution | null> {
  const refs = await git.listServerRefs({ http, url, peelTags: true, symrefs: true, ...auth });
  const byName = new Map(refs.map((r) => [r.ref, r]));
  if (!rev) {
    const head = byName.get('HEAD');
    return head ? { commit: head.oid, tag: null } : null;
  }
  const tag = byName.get(`refs/tags/${rev.replace(/^refs\/tags\//, '')}`);
  if (tag && !rev.startsWith('refs/heads/')) return { commit: tag.peeled ?? tag.oid, tag: rev.replace(/^refs\/tags\//, '') };
  const branch = byName.get(`refs/heads/${rev.replace(/^refs\/heads\//, '')}`) ?? byName.get(rev);
  return branch ? { commit: branch.peeled ?? branch.oid, tag: null } : null;
}

async function hasCommit(loc: Location, oid: string): Promise<boolean> {
  try {
    await git.readCommit({ fs, ...loc, oid });
    return true;
  } catch {
    return false;
  }
}

/** Follows annotated tags down to the commit. */
async function peel(loc: Location, oid: string): Promise<string> {
  let current = oid;
  for (let i = 0; i < 10; i++) {
    const { type } = await git.readObject({ fs, ...loc, oid: current, format: 'parsed' });
    if (type !== 'tag') return current;
    current = (await git.readTag({ fs, ...loc, oid: current })).tag.object;
  }
  return current;
}

async function resolveLocalRev(loc: Location, rev: string | undefined, where: string): Promise<RevResolution> {
  const name = rev ?? 'HEAD';
  if (FULL_SHA.test(name)) {
    if (await hasCommit(loc, name)) return { commit: name, tag: null };
    throw new CloudsegError('REGISTRY_REV_NOT_FOUND', `commit ${name} not found in ${where}`, { details: { repo: where, rev: name } });
  }
  let oid: string;
  try {
    oid = await git.resolveRef({ fs, ...loc, ref: name });
  } catch {
    try {
      oid = /^[0-9a-f]{4,39}$/.test(name) ? await git.expandOid({ fs, ...loc, oid: name }) : '';
    } catch {
      oid = '';
    }
    if (!oid) throw new CloudsegError('REGISTRY_REV_NOT_FOUND', `rev '${name}' not found in ${where} (no such branch, tag or commit)`, { details: { repo: where, rev: name } });
  }
  const tags = rev ? await git.listTags({ fs, ...loc }) : [];
  // git's own precedence (refs/tags before refs/heads) is what resolveRef applies too.
  const isTag = rev !== undefined && tags.includes(rev.replace(/^refs\/tags\//, '')) && !(await isBranch(loc, rev));
  return { commit: await peel(loc, oid), tag: isTag ? rev.replace(/^refs\/tags\//, '') : null };
}

async function isBranch(loc: Location, rev: string): Promise<boolean> {
  if (rev.startsWith('refs/tags/')) return false;
  if (rev.startsWith('refs/heads/')) return true;
  const branches = await git.listBranches({ fs, ...loc });
  const tags = await git.listTags({ fs, ...loc });
  return branches.includes(rev) && !tags.includes(rev);
}

async function readFileAt(loc: Location, commit: string, path: string): Promise<Buffer | null> {
  try {
    const { blob } = await git.readBlob({ fs, ...loc, oid: commit, filepath: path });
    return Buffer.from(blob);
  } catch (err) {
    if ((err as { code?: string }).code === 'NotFoundError') return null;
    throw err;
  }
}

async function listAnnotatedTags(loc: Location): Promise<GtoTagRecord[]> {
  const names = await git.listTags({ fs, ...loc });
  const out: GtoTagRecord[] = [];
  for (const name of names) {
    const oid = await git.resolveRef({ fs, ...loc, ref: `refs/tags/${name}` }).catch(() => null);
    const record = oid ? await tagRecord(loc, name, oid) : null;
    if (record) out.push(record);
  }
  return out;
}

/** An annotated tag's target commit and tagger time; null for lightweight tags (GTO ignores them too). */
async function tagRecord(loc: Location, name: string, oid: string): Promise<GtoTagRecord | null> {
  try {
    const { type } = await git.readObject({ fs, ...loc, oid, format: 'parsed' });
    if (type !== 'tag') return null;
    const { tag } = await git.readTag({ fs, ...loc, oid });
    return { name, commit: await peel(loc, tag.object), taggerTimeSec: tag.tagger.timestamp };
  } catch {
    return null;
  }
}

async function hasObject(loc: Location, oid: string): Promise<boolean> {
  try {
    await git.readObject({ fs, ...loc, oid, format: 'deflated' });
    return true;
  } catch {
    return false;
  }
}
