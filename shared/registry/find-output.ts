// Where a path's content is recorded at a commit, as DVC's repo index finds it: in any `.dvc` file (its
// `wdir:` honoured) or any `dvc.lock` of the tree, else as plain git content (dvc.api.open reads that too).
import { posix } from 'node:path';
import { CloudsegError } from '../errors.js';
import { md5Hex } from './content-cache.js';
import { dirManifestMd5 } from './dir-manifest.js';
import { listDvcFileOuts, listLockOuts, toDvcOut, type DvcOut, type OutEntry } from './dvc-files.js';
import type { GitSource } from './git-source.js';

export type FoundOutput =
  | { kind: 'dvc'; out: DvcOut; files?: undefined }
  | { kind: 'git'; path: string; isDir: boolean; md5: string; files: { relpath: string; md5: string; size: number | null }[] };

const isDvcFile = (p: string) => p.endsWith('.dvc') && posix.basename(p) !== '.dvc' && !p.startsWith('.dvc/');
const isLock = (p: string) => posix.basename(p) === 'dvc.lock';
// A lock or .dvc file can only record a path under its own folder (wdir aside), so its errors matter
// for that path; a broken file elsewhere in the repo must not make an unrelated path unreadable.
const covers = (file: string, path: string) => {
  const dir = posix.dirname(file);
  return dir === '.' || path === dir || path.startsWith(`${dir}/`);
};

export async function findOutput(source: GitSource, commit: string, rawPath: string): Promise<FoundOutput> {
  const path = posix.normalize(rawPath.replace(/\\/g, '/')).replace(/\/+$/, '');
  const where = `${source.location}@${commit.slice(0, 12)}`;
  // The usual place first: `dvc add PATH` writes PATH.dvc, found without listing the tree.
  const own = await source.readFile(commit, `${path}.dvc`);
  if (own) {
    const hit = listDvcFileOuts(own.toString('utf8'), `${path}.dvc`).find((o) => o.path === path);
    if (hit) return { kind: 'dvc', out: toDvcOut(hit) };
  }

  const problems: CloudsegError[] = [];
  const search = async (file: string, text: string | null): Promise<DvcOut | null> => {
    if (text === null) return null;
    let outs: OutEntry[];
    try {
      outs = isLock(file) ? listLockOuts(text, file) : listDvcFileOuts(text, file);
    } catch (err) {
      if (err instanceof CloudsegError && covers(file, path)) problems.push(err);
      return null;
    }
    const hit = outs.find((o) => o.path === path);
    return hit ? toDvcOut(hit) : null;
  };
  // Then the dvc.lock of each enclosing folder (where a stage's outputs usually are), read directly...
  const ancestorLocks: string[] = [];
  for (let dir = posix.dirname(path); ; dir = posix.dirname(dir)) {
    ancestorLocks.push(dir === '.' ? 'dvc.lock' : `${dir}/dvc.lock`);
    if (dir === '.' || dir === '/') break;
  }
  for (const file of ancestorLocks) {
    const out = await search(file, (await source.readFile(commit, file))?.toString('utf8') ?? null);
    if (out) return { kind: 'dvc', out };
  }
  // ...and only then every other .dvc and dvc.lock of the commit (wdir: can point anywhere).
  const tree = await source.listFiles(commit);
  const seen = new Set([`${path}.dvc`, ...ancestorLocks]);
  for (const file of tree.filter((p) => (isLock(p) || isDvcFile(p)) && !seen.has(p))) {
    const out = await search(file, (await source.readFile(commit, file))?.toString('utf8') ?? '');
    if (out) return { kind: 'dvc', out };
  }
  // A file that could have recorded the path but cannot be read says more than "not found".
  if (problems.length > 0) throw problems[0]!;

  const inGit = tree.filter((p) => p === path || p.startsWith(`${path}/`));
  if (inGit.length > 0) return readGitContent(source, commit, path, inGit);
  throw new CloudsegError('REGISTRY_OUTPUT_NOT_FOUND', `'${path}' is not at ${where}: no .dvc file or dvc.lock records it and git does not track it`, {
    details: { path, commit },
  });
}

/** A git-tracked file or folder, hashed as DVC would (a folder gets a `.dir` manifest md5). */
async function readGitContent(source: GitSource, commit: string, path: string, paths: string[]): Promise<FoundOutput> {
  const isDir = !(paths.length === 1 && paths[0] === path);
  const files: { relpath: string; md5: string; size: number | null }[] = [];
  for (const p of paths) {
    const data = (await source.readFile(commit, p))!;
    files.push({ relpath: isDir ? p.slice(path.length + 1) : posix.basename(p), md5: md5Hex(data), size: data.length });
  }
  const md5 = isDir ? dirManifestMd5(files) : files[0]!.md5;
  return { kind: 'git', path, isDir, md5, files };
}
