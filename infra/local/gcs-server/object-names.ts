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
 * Object names become relative paths, one folder per `/`. GCS allows more than a file system can
 * hold, so empty, `.` and `..` segments (`a//b`, `a/`, `../x`) and control characters are refused.
 */
export function checkObjectName(name: string): string {
  if (name.length === 0) throw badRequest('Object name is required', 'required');
  if (Buffer.byteLength(name, 'utf8') > MAX_OBJECT_NAME_BYTES) throw badRequest('Object name longer than 1024 bytes');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badRequest(`Object name has control characters: ${JSON.stringify(name)}`);
  for (const segment of name.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw badRequest(`Object name '${name}' has an empty, '.' or '..' segment; the local server stores objects as files`);
    }
  }
  return name;
}
