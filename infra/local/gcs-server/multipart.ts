// A parser for the multipart/related bodies of multipart uploads: part one is the object's JSON
// metadata, part two its bytes (binary, so the body is handled as a Buffer, never as text).
import { badRequest } from './errors.js';

export interface BodyPart {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * The boundary parameter of a multipart Content-Type. apitools (gcloud, gsutil) writes it with
 * Python's %r, so it arrives in single quotes (`boundary='===1234=='`); RFC 2046 quotes use `"`.
 */
export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=(?:"([^"]+)"|'([^']+)'|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2] ?? match?.[3];
  if (!boundary) throw badRequest(`Multipart upload without a boundary in Content-Type '${contentType ?? ''}'`);
  return boundary;
}

export function parseMultipart(body: Buffer, boundary: string): BodyPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: BodyPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw badRequest('Multipart body has no boundary line');
  for (;;) {
    let start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    start = skipLineBreak(body, start);
    const next = body.indexOf(delimiter, start);
    if (next < 0) throw badRequest('Multipart body is not terminated');
    // The CRLF before a delimiter belongs to the delimiter, not to the part.
    let end = next;
    if (body[end - 1] === 0x0a) end -= 1;
    if (body[end - 1] === 0x0d) end -= 1;
    parts.push(splitPart(body.subarray(start, Math.max(start, end))));
    at = next;
  }
  return parts;
}

function splitPart(part: Buffer): BodyPart {
  let headerEnd = part.indexOf('\r\n\r\n');
  let sepLength = 4;
  if (headerEnd < 0) {
    headerEnd = part.indexOf('\n\n');
    sepLength = 2;
  }
  if (headerEnd < 0) {
    // No headers at all: a part may start directly with its blank line.
    if (part.subarray(0, 2).toString() === '\r\n') return { headers: {}, body: part.subarray(2) };
    throw badRequest('Multipart part without a header block');
  }
  const headers: Record<string, string> = {};
  for (const line of part.subarray(0, headerEnd).toString('utf8').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: part.subarray(headerEnd + sepLength) };
}

function skipLineBreak(body: Buffer, at: number): number {
  if (body[at] === 0x0d && body[at + 1] === 0x0a) return at + 2;
  if (body[at] === 0x0a) return at + 1;
  return at;
}
