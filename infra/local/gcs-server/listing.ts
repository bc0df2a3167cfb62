// Object listing as the JSON API pages it: names filtered by prefix and offsets, collapsed into
// `prefixes` at the delimiter, objects and prefixes counted together against maxResults.
import { badRequest } from './errors.js';

export interface ListQuery {
  prefix: string;
  delimiter: string;
  maxResults: number;
  pageToken: string | null;
  startOffset: string;
  endOffset: string;
}

export interface ListPage {
  names: string[];
  prefixes: string[];
  nextPageToken: string | null;
}

export const MAX_LIST_RESULTS = 1000;

export function parseListQuery(query: URLSearchParams): ListQuery {
  const max = query.get('maxResults');
  const maxResults = max === null || max === '' ? MAX_LIST_RESULTS : Number(max);
  if (!Number.isInteger(maxResults) || maxResults < 1) throw badRequest(`Invalid maxResults '${max}'`);
  const token = query.get('pageToken');
  return {
    prefix: query.get('prefix') ?? '',
    delimiter: query.get('delimiter') ?? '',
    maxResults: Math.min(maxResults, MAX_LIST_RESULTS),
    pageToken: token ? decodeToken(token) : null,
    startOffset: query.get('startOffset') ?? '',
    endOffset: query.get('endOffset') ?? '',
  };
}

/** One page over `sortedNames` (sorted ascending). The token is the last entry handed out. */
export function listPage(sortedNames: readonly string[], q: ListQuery): ListPage {
  const page: ListPage = { names: [], prefixes: [], nextPageToken: null };
  let lastPrefix: string | null = null;
  let count = 0;
  let lastKey: string | null = null;
  for (const name of sortedNames) {
    if (!name.startsWith(q.prefix)) continue;
    if (q.startOffset && name < q.startOffset) continue;
    if (q.endOffset && name >= q.endOffset) continue;
    let key = name;
    let isPrefix = false;
    if (q.delimiter) {
      const at = name.indexOf(q.delimiter, q.prefix.length);
      if (at >= 0) {
        key = name.slice(0, at + q.delimiter.length);
        isPrefix = true;
      }
    }
    if (isPrefix && key === lastPrefix) continue; // names under one prefix are contiguous
    if (isPrefix) lastPrefix = key;
    if (q.pageToken !== null && key <= q.pageToken) continue;
    if (count === q.maxResults) {
      page.nextPageToken = encodeToken(lastKey ?? '');
      break;
    }
    if (isPrefix) page.prefixes.push(key);
    else page.names.push(key);
    lastKey = key;
    count += 1;
  }
  return page;
}

function encodeToken(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  return Buffer.from(token, 'base64url').toString('utf8');
}
