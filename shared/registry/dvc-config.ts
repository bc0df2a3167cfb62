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
  // Null-prototype maps: a section or key named __proto__ (or constructor) in a registry's config
  // must be data, never a way to reach Object.prototype of the worker.
  const sections: Record<string, Record<string, string>> = dict();
  let current: Record<string, string> | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = stripInlineComment(raw.trim());
    if (line === '' || line.startsWith(';')) return;
    const header = SECTION.exec(line);
    if (header) {
      const name = (header[1] ?? header[2] ?? header[3] ?? '').trim();
      current = Object.hasOwn(sections, name) ? sections[name]! : (sections[name] = dict());
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || current === null) {
      throw new CloudsegError('REGISTRY_FILE_INVALID', `${where}:${index + 1}: cannot parse '${line}'`);
    }
    current[line.slice(0, eq).trim().toLowerCase()] = unquote(line.slice(eq + 1).trim());
  });
  const remotes: Record<string, Record<string, string>> = dict();
  for (const [name, options] of Object.entries(sections)) {
    const m = REMOTE_SECTION.exec(name);
    if (m) remotes[m[1]!] = options;
  }
  return { defaultRemote: (Object.hasOwn(sections, 'core') ? sections.core!.remote : undefined) ?? null, remotes: plain(remotes) };
}

/**
 * DVC's layering (Config.load: repo, then local): `.dvc/config.local` overrides the committed config
 * key by key, section by section, and may add remotes or change the default.
 */
export function layerDvcConfig(base: DvcConfig, local: DvcConfig): DvcConfig {
  const remotes: Record<string, Record<string, string>> = Object.assign(dict(), base.remotes);
  for (const [name, options] of Object.entries(local.remotes)) remotes[name] = Object.assign(dict(), Object.hasOwn(remotes, name) ? remotes[name] : {}, options);
  return { defaultRemote: local.defaultRemote ?? base.defaultRemote, remotes: plain(remotes) };
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
  const options = Object.hasOwn(config.remotes, chosen) ? config.remotes[chosen] : undefined;
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

function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

// Ordinary objects again for callers; Object.fromEntries defines keys as own data properties, so a
// key named __proto__ stays data there too.
function plain(remotes: Record<string, Record<string, string>>): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(remotes).map(([name, options]) => [name, Object.fromEntries(Object.entries(options))]));
}
