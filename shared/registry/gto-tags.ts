// GTO's git-tag grammar and stage resolution, pure: tag names in, the version a stage points at out.
// name@vX.Y.Z registers, name@vX.Y.Z! deregisters, name#stage#N assigns, name#stage!#N unassigns.

export const GTO_ACTIONS = ['register', 'deregister', 'assign', 'unassign', 'create', 'deprecate'] as const;
export type GtoAction = (typeof GTO_ACTIONS)[number];

export interface GtoTagName {
  artifact: string;
  action: GtoAction;
  version: string | null;
  stage: string | null;
  counter: number | null;
}

/** An annotated tag as read from git: its name, the commit it points at and the tagger time. */
export interface GtoTagRecord {
  name: string;
  commit: string;
  taggerTimeSec: number;
}

// Same grammar as gto/constants.py tag_re (names: lowercase, digits, '-', '/'; dirname prefix 'dir=').
const NAME = '[a-z0-9](?:[a-z0-9-/]*[a-z0-9])?';
const SEMVER =
  '(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-(?:(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?';
const TAG_RE = new RegExp(
  `^(?<artifact>(?:[a-z0-9-_./]+=)?${NAME})(?:(?:#(?<stage>${NAME})|@(?<version>v${SEMVER}))(?<cancel>!?)|@(?<special>deprecated|created))(?:#(?<counter>[0-9]+))?$`,
);
const NAME_RE = new RegExp(`^${NAME}$`);
const VERSION_RE = new RegExp(`^v${SEMVER}$`);

export const isGtoName = (s: string): boolean => NAME_RE.test(s);
export const isGtoVersion = (s: string): boolean => VERSION_RE.test(s);

/** Parses a tag name; null when it is not a GTO tag (GTO ignores those too). */
export function parseGtoTag(tag: string): GtoTagName | null {
  const m = TAG_RE.exec(tag);
  if (!m?.groups) return null;
  const g = m.groups;
  const artifact = g.artifact!.replace(/=/g, ':');
  const counter = g.counter ? Number(g.counter) : null;
  const cancel = g.cancel === '!';
  if (g.special) return { artifact, action: g.special === 'deprecated' ? 'deprecate' : 'create', version: null, stage: null, counter };
  if (g.version) return { artifact, action: cancel ? 'deregister' : 'register', version: g.version, stage: null, counter };
  return { artifact, action: cancel ? 'unassign' : 'assign', version: null, stage: g.stage!, counter };
}

export interface StageResolution {
  commit: string;
  /** the assignment tag that selected the commit */
  tag: string;
  /** the version registered at that commit, when one is */
  version: string | null;
}

/**
 * Which commit `stage` of `artifact` points at: the newest assignment (by tagger time, then GTO's
 * counter, which breaks same-second ties) whose version was not unassigned from the stage after it
 * and not deregistered. Null when the stage has no live assignment.
 */
export function resolveStage(tags: GtoTagRecord[], artifact: string, stage: string): StageResolution | null {
  const events = tags
    .map((t) => ({ ...t, parsed: parseGtoTag(t.name) }))
    .filter((t): t is typeof t & { parsed: GtoTagName } => t.parsed !== null && t.parsed.artifact === artifact)
    .sort((a, b) => a.taggerTimeSec - b.taggerTimeSec || (a.parsed.counter ?? 0) - (b.parsed.counter ?? 0) || a.name.localeCompare(b.name));

  // Every event in order: the last word on (commit, stage) and on each commit's registration wins.
  const stageState = new Map<string, { live: boolean; tag: string; order: number }>();
  const registered = new Map<string, { version: string; live: boolean }>();
  events.forEach((e, order) => {
    const p = e.parsed;
    if (p.action === 'register' || p.action === 'deregister') registered.set(e.commit, { version: p.version!, live: p.action === 'register' });
    if ((p.action === 'assign' || p.action === 'unassign') && p.stage === stage) stageState.set(e.commit, { live: p.action === 'assign', tag: e.name, order });
  });
  let best: { commit: string; tag: string; order: number } | null = null;
  for (const [commit, s] of stageState) {
    if (!s.live || registered.get(commit)?.live === false) continue;
    if (!best || s.order > best.order) best = { commit, tag: s.tag, order: s.order };
  }
  if (!best) return null;
  const reg = registered.get(best.commit);
  return { commit: best.commit, tag: best.tag, version: reg?.live ? reg.version : null };
}

/** The version registered (and not deregistered) at `commit`, with its tag. */
export function versionAt(tags: GtoTagRecord[], artifact: string | null, commit: string): { version: string; tag: string } | null {
  const regs = tags
    .filter((t) => t.commit === commit)
    .map((t) => ({ ...t, parsed: parseGtoTag(t.name) }))
    .filter((t) => t.parsed && (artifact === null || t.parsed.artifact === artifact) && (t.parsed.action === 'register' || t.parsed.action === 'deregister'))
    .sort((a, b) => a.taggerTimeSec - b.taggerTimeSec);
  const last = regs.at(-1);
  return last && last.parsed!.action === 'register' ? { version: last.parsed!.version!, tag: last.name } : null;
}

/** The next assignment tag name: GTO numbers them with one counter per artifact (max + 1). */
export function nextAssignmentTag(existingTags: string[], artifact: string, stage: string, unassign = false): string {
  let max = 0;
  for (const t of existingTags) {
    const p = parseGtoTag(t);
    if (p && p.artifact === artifact && p.counter !== null && p.counter > max) max = p.counter;
  }
  return `${artifact.replace(/:/g, '=')}#${stage}${unassign ? '!' : ''}#${max + 1}`;
}
