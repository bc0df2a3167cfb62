// Errors the local GCS server answers with, shaped like the JSON API's own error body so the real
// client turns them into ApiErrors whose `code` is the HTTP status, exactly as against Google.

export const GCS_ERROR_REASONS = {
  400: 'invalid',
  403: 'forbidden',
  404: 'notFound',
  409: 'conflict',
  412: 'conditionNotMet',
  413: 'uploadTooLarge',
  416: 'requestedRangeNotSatisfiable',
  500: 'backendError',
  501: 'notImplemented',
} as const;

export type GcsErrorStatus = keyof typeof GCS_ERROR_REASONS;

export class GcsApiError extends Error {
  readonly status: GcsErrorStatus;
  readonly reason: string;

  constructor(status: GcsErrorStatus, message: string, options: { reason?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GcsApiError';
    this.status = status;
    this.reason = options.reason ?? GCS_ERROR_REASONS[status];
  }

  /** The body GCS sends: `{error: {code, message, errors: [{domain, reason, message}]}}`. */
  toBody(): { error: { code: number; message: string; errors: { domain: string; reason: string; message: string }[] } } {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ domain: 'global', reason: this.reason, message: this.message }],
      },
    };
  }
}

export const badRequest = (message: string, reason = 'invalid') => new GcsApiError(400, message, { reason });
export const notFound = (message: string) => new GcsApiError(404, message);
export const forbidden = (message: string) => new GcsApiError(403, message);
export const notImplemented = (message: string) => new GcsApiError(501, message);
export const conflict = (message: string) => new GcsApiError(409, message);
export const preconditionFailed = (message = 'At least one of the pre-conditions you specified did not hold.') =>
  new GcsApiError(412, message);

/** Maps file-system failures on a user path to what GCS would answer; anything else stays a 500. */
export function fromFsError(err: unknown, what: string): GcsApiError {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ENOENT') return notFound(`No such object: ${what}`);
  if (code === 'ENOTDIR' || code === 'EISDIR' || code === 'EEXIST' || code === 'ENOTEMPTY') {
    // A bucket folder cannot hold both a file `a` and a folder `a/`: GCS can, this server cannot.
    return conflict(`${what} clashes with another object on disk (a file and a folder of the same name): ${String(code)}`);
  }
  if (code === 'ENAMETOOLONG') return badRequest(`Object name too long for the local file system: ${what}`);
  return new GcsApiError(500, `Local storage failed for ${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}
