// The flush HTTP contract: POST only, an optional bearer token, and a JSON summary whose status
// tells Cloud Scheduler whether everything accepted was published (200) or not (503).
import { createHash, timingSafeEqual } from 'node:crypto';
import { describeError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { FlushSummary } from './run-flush.js';

export interface FlushRequest {
  method: string;
  /** Header lookup, case-insensitive (express's `req.get`). */
  header: (name: string) => string | undefined;
}

export interface FlushResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface FlushHttpContext {
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token: string | undefined;
  logger: Logger;
  flush: () => Promise<FlushSummary>;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export async function handleFlushRequest(request: FlushRequest, ctx: FlushHttpContext): Promise<FlushResponse> {
  if (request.method !== 'POST') {
    return { status: 405, headers: { ...JSON_HEADERS, allow: 'POST' }, body: { error: 'use POST' } };
  }
  if (ctx.token !== undefined && !bearerMatches(request.header('authorization'), ctx.token)) {
    // Never the presented value: only that one was presented, so a misconfigured scheduler shows.
    ctx.logger.warn({ authorization: request.header('authorization') ? 'wrong' : 'missing' }, 'flush refused: bearer token missing or wrong');
    return { status: 401, headers: { ...JSON_HEADERS, 'www-authenticate': 'Bearer' }, body: { error: 'missing or wrong bearer token' } };
  }
  let summary: FlushSummary;
  try {
    summary = await ctx.flush();
  } catch (err) {
    // Nothing was acked that was not published, so a failed run loses nothing; say so and fail.
    ctx.logger.error({ err }, 'flush failed');
    return { status: 500, headers: JSON_HEADERS, body: { error: describeError(err) } };
  }
  const ok = summary.failedBatches === 0 && summary.stoppedBecause !== 'pull-failed';
  // A scheduled flush that found nothing is the common case; keep it out of the info stream.
  const level = !ok ? 'error' : summary.pulled === 0 ? 'debug' : 'info';
  ctx.logger[level]({ summary }, ok ? 'flush done' : 'flush incomplete: failed work was nacked');
  return { status: ok ? 200 : 503, headers: JSON_HEADERS, body: summary };
}

/** Constant-time comparison: both sides are hashed first so their lengths leak nothing either. */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  const presented = match?.[1] ?? '';
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(token).digest();
  return timingSafeEqual(a, b) && presented.length > 0;
}
