// Writing responses: JSON resources, GCS-shaped errors, and the bare statuses (204, 304, 308).
import type { ServerResponse } from 'node:http';
import { GcsApiError } from './errors.js';
import { isNotModified } from './preconditions.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': payload.length, ...headers });
  res.end(payload);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Length': 0, ...headers });
  res.end();
}

/** Answers any failure: GcsApiErrors as GCS would, 304 for NotModified, anything else a 500. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (isNotModified(err)) return sendEmpty(res, 304);
  const apiError =
    err instanceof GcsApiError ? err : new GcsApiError(500, `Internal error: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  sendJson(res, apiError.status, apiError.toBody());
}
