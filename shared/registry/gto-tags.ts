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

// Same grammar as gto/constants.py tag_re since GTO 1.5: names of letters (either case, never folded),
// digits, '-', '_', '/', starting and ending with a letter or digit; a dirname prefix 'dir=' in tags.
const NAME = '[a-zA-Z0-9](?:[a-zA-Z0-9\\-/_]*[a-zA-Z0-9])?';
const SEMVER =
  '(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-(?:(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?';
const TAG_RE = new RegExp(
  `^(?<artifact>(?:[a-zA-Z0-9\\-_./]+=)?${NAME})(?:(?:#(?<stage>${NAME})|@(?<version>v${SEMVER}))(?<cancel>!?)|@(?<special>deprecated|created))(?:#(?<counter>[0-9]+))?$`,
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
 * How a stage picks among several live assignments. GTO's own tools differ: `gto show NAME#STAGE` and
 * `dvc artifacts get --stage` take the newest assignment ('newest', the default here); gto's Python API
 * (`get_vstages`, sorted by SemVer) takes the highest registered version carrying the stage ('semver').
 */
export const STAGE_SELECTIONS = ['newest', 'semver'] as const;
export type StageSelection = (typeof STAGE_SELECTIONS)[number];

function artifactEvents(tags: GtoTagRecord[], artifact: string) {
  return tags
    .map((t) => ({ ...t, parsed: parseGtoTag(t.name) }))
    .filter((t): t is typeof t & { parsed: GtoTagName } => t.parsed !== null && t.parsed.artifact === artifact)
    .sort((a, b) => a.taggerTimeSec - b.taggerTimeSec || (a.parsed.counter ?? 0) - (b.parsed.counter ?? 0) || a.name.localeCompare(b.name));
}

/**
 * GTO's `is_active`: an artifact is deprecated when its newest event is `name@deprecated`; a later
 * registration or assignment makes it active again. gto show hides deprecated artifacts.
 */
export function deprecationOf(tags: GtoTagRecord[], artifact: string): string | null {
  const last = artifactEvents(tags, artifact).at(-1);
  return last?.parsed.action === 'deprecate' ? last.name : null;
}

/**
 * Which commit `stage` of `artifact` points at, among the live assignments (not unassigned from the
 * stage after, version not deregistered): the newest one by tagger time, then GTO's counter (which
 * breaks same-second ties), or with `selection: 'semver'` the one whose registered version is highest
 * (commits without a version last). Null when the stage has no live assignment.
 */
export function resolveStage(tags: GtoTagRecord[], artifact: string, stage: string, selection: StageSelection = 'newest'): StageResolution | null {
  const events = artifactEvents(tags, artifact);
  // Every event in order: the last word on (commit, stage) and on each commit's registration wins.
  const stageState = new Map<string, { live: boolean; tag: string; order: number }>();
  const registered = new Map<string, { version: string; live: boolean }>();
  events.forEach((e, order) => {
    const p = e.parsed;
    if (p.action === 'register' || p.action === 'deregister') registered.set(e.commit, { version: p.version!, live: p.action === 'register' });
    if ((p.action === 'assign' || p.action === 'unassign') && p.stage === stage) stageState.set(e.commit, { live: p.action === 'assign', tag: e.name, order });
  });
  const liveVersion = (commit: string) => (registered.get(commit)?.live ? registered.get(commit)!.version : null);
  let best: { commit: string; tag: string; order: number } | null = null;
  for (const [commit, s] of stageState) {
    if (!s.live || registered.get(commit)?.live === false) continue;
    const candidate = { commit, tag: s.tag, order: s.order };
    if (!best) best = candidate;
    else if (selection === 'semver') {
      const cmp = compareVersions(liveVersion(commit), liveVersion(best.commit));
      if (cmp > 0 || (cmp === 0 && s.order > best.order)) best = candidate;
    } else if (s.order > best.order) best = candidate;
  }
  if (!best) return null;
  return { commit: best.commit, tag: best.tag, version: liveVersion(best.commit) };
}

/** SemVer 2.0 precedence of two "vX.Y.Z[-pre][+build]" strings; null (no version) sorts lowest. */
export function compareVersions(a: string | null, b: string | null): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  const split = (v: string) => {
    const [core, pre] = v.replace(/^v/, '').split('+')[0]!.split(/-(.*)/s) as [string, string | undefined];
    return { nums: core.split('.').map(Number), pre: pre === undefined ? null : pre.split('.') };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return x.nums[i]! - y.nums[i]!;
  // A pre-release ranks below its release; identifiers compare numerically when both are numbers.
  if (x.pre === null || y.pre === null) return x.pre === y.pre ? 0 : x.pre === null ? 1 : -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
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
