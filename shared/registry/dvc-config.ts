// DVC's `.dvc/config` (INI, as configobj reads it): the default remote and each remote's options.
// Both header spellings DVC has written over the years are accepted: [remote "x"] and ['remote "x"'].
import { CloudsegError } from '../errors.js';

export interface DvcConfig {
  /** `core.remote`: the default remote's name, if any. */
  defaultRemote: string | null;
  /** remote name -> its options (url, credentialpath, projectname, ...). */
  remotes: Record<string, Record<string, string>>;
}

const SECTION = /^\[\s*(?:'([^']*)'|"([^"]*)"|([^\]]*?))\s*\]$/;
const REMOTE_SECTION = /^remote\s+"([^"]+)"$/;

/** Parses the INI text; comments (# ;) and blank lines are skipped, values are trimmed and unquoted. */
export function parseDvcConfig(text: string, where = '.dvc/config'): DvcConfig {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = stripInlineComment(raw.trim());
    if (line === '' || line.startsWith(';')) return;
    const header = SECTION.exec(line);
    if (header) {
      const name = (header[1] ?? header[2] ?? header[3] ?? '').trim();
      current = sections[name] ??= {};
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || current === null) {
      throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}:${index + 1}: cannot parse '${line}'`);
    }
    current[line.slice(0, eq).trim().toLowerCase()] = unquote(line.slice(eq + 1).trim());
  });
  const remotes: Record<string, Record<string, string>> = {};
  for (const [name, options] of Object.entries(sections)) {
    const m = REMOTE_SECTION.exec(name);
    if (m) remotes[m[1]!] = options;
  }
  return { defaultRemote: sections.core?.remote ?? null, remotes };
}

/**
 * DVC's layering (Config.load: repo, then local): `.dvc/config.local` overrides the committed config
 * key by key, section by section, and may add remotes or change the default.
 */
export function layerDvcConfig(base: DvcConfig, local: DvcConfig): DvcConfig {
  const remotes: Record<string, Record<string, string>> = { ...base.remotes };
  for (const [name, options] of Object.entries(local.remotes)) remotes[name] = { ...(remotes[name] ?? {}), ...options };
  return { defaultRemote: local.defaultRemote ?? base.defaultRemote, remotes };
}

/**
 * The options of `name` (or of the default remote); a typed error names what is missing.
 * `url = remote://base/sub` takes base's options with its url extended by `sub` (DVC's
 * _resolve_remote_refs), the referring remote's own options winning.
 */
export function remoteOptions(config: DvcConfig, name: string | undefined, where: string, seen: string[] = []): { name: string; options: Record<string, string> } {
  const chosen = name ?? config.defaultRemote;
  if (!chosen) {
    throw new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `${where}: no remote given and no default remote (core.remote) configured`);
  }
  const options = config.remotes[chosen];
  if (!options?.url) {
    const known = Object.keys(config.remotes);
    throw new CloudsegError('REGISTRY_REMOTE_NOT_FOUND', `${where}: remote '${chosen}' is not configured (known: ${known.length ? known.join(', ') : 'none'})`, { details: { remote: chosen, known } });
  }
  const ref = /^remote:\/\/([^/]+)\/?(.*)$/.exec(options.url);
  if (!ref) return { name: chosen, options };
  if (seen.includes(chosen)) throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}: remotes refer to each other in a loop (${[...seen, chosen].join(' -> ')})`);
  const base = remoteOptions(config, ref[1]!, where, [...seen, chosen]).options;
  const sub = ref[2]!.replace(/^\/+/, '');
  return { name: chosen, options: { ...base, ...options, url: sub ? `${base.url!.replace(/\/+$/, '')}/${sub}` : base.url! } };
}

// configobj drops an inline comment: from the first '#' outside quotes to the end of the line.
function stripInlineComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#') return line.slice(0, i).trimEnd();
  }
  return line;
}

function unquote(v: string): string {
  if (v.length >= 2 && ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'")))) return v.slice(1, -1);
  return v;
}
