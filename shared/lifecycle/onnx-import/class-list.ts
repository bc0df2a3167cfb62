// `--classes name[:kind],...`: the classes of a class model in output channel order. Values are
// 0..N-1 in that order (the mask byte is the channel index); a kind left out is read off the name.
import { CloudsegError } from '../../errors.js';
import { CLASS_KINDS, type ClassKind } from '../../imaging/mask-values.js';
import type { CardClass } from '../../model/types.js';

// Names exporters and datasets use for the kinds (cloudFraction and shadowFraction count by kind,
// so a mis-kinded class silently skews every result: unknown names become `other`, never cloud).
const KIND_ALIASES: Readonly<Record<string, ClassKind>> = {
  thin: 'thin-cloud',
  'cloud-shadow': 'shadow',
  'no-data': 'nodata',
};

/** The kind a class name implies: a kind's own name or a known alias, else `other`. */
export function kindFromName(name: string): ClassKind {
  const key = name.trim().toLowerCase().replace(/[\s_]+/g, '-');
  if ((CLASS_KINDS as readonly string[]).includes(key)) return key as ClassKind;
  return KIND_ALIASES[key] ?? 'other';
}

/** Parses `clear,cloud,shadow:shadow`; CONFIG_INVALID for an empty name, an unknown kind or a repeated name. */
export function parseClassList(text: string): CardClass[] {
  const entries = text.split(',').map((e) => e.trim());
  const classes = entries.map((entry, value): CardClass => {
    const [rawName = '', rawKind, ...rest] = entry.split(':').map((p) => p.trim());
    if (!rawName || rest.length > 0 || rawKind === '') {
      throw new CloudsegError('CONFIG_INVALID', `--classes: "${entry}" is not name or name:kind (in "${text}")`);
    }
    if (rawKind !== undefined && !(CLASS_KINDS as readonly string[]).includes(rawKind)) {
      throw new CloudsegError('CONFIG_INVALID', `--classes: ${rawName} has kind "${rawKind}"; a kind is one of ${CLASS_KINDS.join(', ')}`);
    }
    return { value, name: rawName, kind: (rawKind as ClassKind | undefined) ?? kindFromName(rawName) };
  });
  const seen = new Set<string>();
  for (const c of classes) {
    if (seen.has(c.name)) throw new CloudsegError('CONFIG_INVALID', `--classes names ${c.name} twice (in "${text}")`);
    seen.add(c.name);
  }
  return classes;
}
