// The one error family of cloudseg: a stable `code` callers branch on and a `retryable` flag that
// decides between a `failed` result event (permanent) and a redelivery (transient).

export const ERROR_CODES = [
  // input problems: permanent, they become `failed` result events
  'INPUT_NOT_FOUND',
  'INPUT_UNREADABLE',
  'OUTPUT_UNWRITABLE',
  'INFERENCE_FAILED',
  'EMPTY_OBJECT',
  'UNSUPPORTED_FORMAT',
  'CORRUPT_IMAGE',
  'BAND_MISMATCH',
  'IMAGE_TOO_LARGE',
  'INVALID_SCALING',
  'NO_VALID_PIXELS',
  // a scene of several objects (STAC item, Landsat MTL band set)
  'SCENE_INVALID',
  'BANDS_MISSING',
  'INVALID_MESSAGE',
  // model problems
  'MODEL_NOT_FOUND',
  'MODEL_CARD_INVALID',
  'MODEL_CHECKSUM_MISMATCH',
  'MODEL_LOAD_FAILED',
  'BACKEND_UNAVAILABLE',
  'MODEL_EXPORT_UNSUPPORTED',
  // model registry (DVC/GTO)
  'REGISTRY_REPO_UNAVAILABLE',
  'REGISTRY_REV_NOT_FOUND',
  'REGISTRY_STAGE_NOT_FOUND',
  'REGISTRY_ARTIFACT_NOT_FOUND',
  'REGISTRY_OUTPUT_NOT_FOUND',
  'REGISTRY_REMOTE_NOT_FOUND',
  'REGISTRY_OBJECT_MISSING',
  'REGISTRY_FILE_INVALID',
  // configuration
  'CONFIG_INVALID',
  // infrastructure: usually transient
  'STORAGE_UNAVAILABLE',
  'PUBSUB_UNAVAILABLE',
  'TIMEOUT',
  'BATCH_INCOMPLETE',
  'INTERNAL',
  // model lifecycle (import and evaluation): permanent
  'MODEL_IMPORT_UNSUPPORTED',
  'MODEL_IMPORT_INVALID',
  'TRUTH_INVALID',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface CloudsegErrorOptions {
  retryable?: boolean;
  cause?: unknown;
  details?: Record<string, unknown>;
}

export class CloudsegError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: CloudsegErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CloudsegError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

export function isCloudsegError(err: unknown): err is CloudsegError {
  return err instanceof CloudsegError;
}

// gRPC status codes worth another try (google.rpc.Code numbers).
const RETRYABLE_GRPC_CODES = new Set([
  4, // DEADLINE_EXCEEDED
  8, // RESOURCE_EXHAUSTED
  10, // ABORTED
  13, // INTERNAL
  14, // UNAVAILABLE
]);
const RETRYABLE_NODE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'ESOCKETTIMEDOUT',
  'UND_ERR_SOCKET',
]);

/**
 * Whether trying the same operation again may succeed. CloudsegErrors carry their own answer;
 * client errors are judged by gRPC code, HTTP status or Node network code, following the Google
 * clients' own retry rules (408, 429 and 5xx; UNAVAILABLE, DEADLINE_EXCEEDED, ...).
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CloudsegError) return err.retryable;
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; status?: unknown; statusCode?: unknown; cause?: unknown };
  const httpStatus = numberOrNull(e.status) ?? numberOrNull(e.statusCode) ?? httpFromCode(e.code);
  if (httpStatus !== null) return httpStatus === 408 || httpStatus === 429 || httpStatus >= 500;
  if (typeof e.code === 'number' && RETRYABLE_GRPC_CODES.has(e.code)) return true;
  if (typeof e.code === 'string' && RETRYABLE_NODE_CODES.has(e.code)) return true;
  if (e.cause !== undefined && e.cause !== err) return isRetryable(e.cause);
  return false;
}

/** A 412 from a create-only or generation-matched write: somebody else's write got there first. */
export function isPreconditionFailed(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; status?: unknown };
  return e.code === 412 || e.status === 412;
}

/** A 404 from storage: the object (or that generation of it) is gone. */
export function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; status?: unknown };
  return e.code === 404 || e.status === 404;
}

function numberOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

// @google-cloud/storage puts the HTTP status in `code` (a number >= 100); gRPC codes are 0..16.
function httpFromCode(code: unknown): number | null {
  return typeof code === 'number' && code >= 100 ? code : null;
}

/** Serialises an error for logs and result events without leaking stacks into events. */
export function describeError(err: unknown): { code: ErrorCode; message: string } {
  if (err instanceof CloudsegError) return { code: err.code, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message };
}
