// Validation of bucket and object names before they become paths on disk: a name that could escape
// its bucket folder, or that no file path can represent, is refused with a 400 like GCS's own.
import { badRequest } from './errors.js';

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const MAX_OBJECT_NAME_BYTES = 1024;

/** GCS's bucket naming rules that a folder name could break; Google's own names are reserved too. */
export function checkBucketName(name: string): string {
  if (!BUCKET_NAME.test(name) || name.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw badRequest(`Invalid bucket name: '${name}'`);
  }
  if (name.startsWith('goog') || /g[o0][o0]g[l1]e/.test(name)) {
    throw badRequest(`Invalid bucket name: '${name}' (names starting with 'goog' or containing 'google' are reserved)`);
  }
  return name;
}

/**
 * GCS's own object name rules: 1-1024 bytes of UTF-8, not `.` or `..`, no carriage return or line
 * feed, not under `.well-known/acme-challenge/`. This server also refuses the other control
 * characters (GCS only discourages them), which no file name should carry. Names a file path
 * cannot hold (`dir/`, `a//b`, `a/../b`, or `a` beside `a/b`) are valid: see `plainSegments`.
 */
export function checkObjectName(name: string): string {
  if (name.length === 0) throw badRequest('Object name is required', 'required');
  if (Buffer.byteLength(name, 'utf8') > MAX_OBJECT_NAME_BYTES) throw badRequest('Object name longer than 1024 bytes');
  if (name === '.' || name === '..') throw badRequest(`Object name '${name}' is not valid in GCS`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badRequest(`Object name has control characters: ${JSON.stringify(name)}`);
  if (name.startsWith('.well-known/acme-challenge/')) throw badRequest(`Object name '${name}' is reserved by GCS`);
  return name;
}

/**
 * The path segments of the file that holds this object in its bucket folder, or null when no
 * file can: an empty, `.` or `..` segment (a trailing `/` is an empty one) would be dropped or
 * resolved by the file system. Such objects live in the overflow store instead.
 */
export function plainSegments(name: string): string[] | null {
  const segments = checkObjectName(name).split('/');
  return segments.every((s) => s !== '' && s !== '.' && s !== '..') ? segments : null;
}
