// Generation preconditions (ifGenerationMatch & co.) and the `generation` selector, checked against
// the live object the way GCS does: a failed condition is a 412, a generation that is not live a 404.
import { badRequest, notFound, preconditionFailed } from './errors.js';

export interface Preconditions {
  generation?: string;
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

const KEYS = ['generation', 'ifGenerationMatch', 'ifGenerationNotMatch', 'ifMetagenerationMatch', 'ifMetagenerationNotMatch'] as const;

export function parsePreconditions(query: URLSearchParams): Preconditions {
  const out: Preconditions = {};
  for (const key of KEYS) {
    const value = query.get(key);
    if (value === null || value === '') continue;
    if (!/^\d+$/.test(value)) throw badRequest(`Invalid value for ${key}: '${value}'`);
    out[key] = BigInt(value).toString();
  }
  return out;
}

export interface LiveVersion {
  generation: string;
  metageneration: string;
}

/**
 * Checks a write (upload) against the live object, or null when there is none. ifGenerationMatch=0
 * means "only if no live object".
 */
export function checkWrite(live: LiveVersion | null, p: Preconditions): void {
  if (p.ifGenerationMatch !== undefined) {
    const ok = p.ifGenerationMatch === '0' ? live === null : live?.generation === p.ifGenerationMatch;
    if (!ok) throw preconditionFailed();
  }
  if (p.ifGenerationNotMatch !== undefined) {
    const ok = p.ifGenerationNotMatch === '0' ? live !== null : live?.generation !== p.ifGenerationNotMatch;
    if (!ok) throw preconditionFailed();
  }
  if (p.ifMetagenerationMatch !== undefined && live?.metageneration !== p.ifMetagenerationMatch) throw preconditionFailed();
  if (p.ifMetagenerationNotMatch !== undefined && live !== null && live.metageneration === p.ifMetagenerationNotMatch) {
    throw preconditionFailed();
  }
}

/**
 * Checks a read, patch or delete of an existing object. Only the live generation is kept, so asking
 * for any other is a 404. `notModified` picks GCS's 304 for failed *NotMatch conditions on reads.
 */
export function checkExisting(live: LiveVersion, p: Preconditions, what: string, options: { notModified?: boolean } = {}): void {
  if (p.generation !== undefined && p.generation !== live.generation) {
    throw notFound(`No such object: ${what}#${p.generation} (only the live generation ${live.generation} is kept)`);
  }
  if (p.ifGenerationMatch !== undefined && p.ifGenerationMatch !== live.generation) throw preconditionFailed();
  if (p.ifMetagenerationMatch !== undefined && p.ifMetagenerationMatch !== live.metageneration) throw preconditionFailed();
  const notMatchFailed =
    (p.ifGenerationNotMatch !== undefined && p.ifGenerationNotMatch === live.generation) ||
    (p.ifMetagenerationNotMatch !== undefined && p.ifMetagenerationNotMatch === live.metageneration);
  if (notMatchFailed) throw options.notModified ? new NotModified() : preconditionFailed();
}

/** A read whose *NotMatch condition failed: answered 304 with no body, as GCS does. */
export class NotModified extends Error {
  constructor() {
    super('Not Modified');
    this.name = 'NotModified';
  }
}

export function isNotModified(err: unknown): err is NotModified {
  return err instanceof NotModified;
}
