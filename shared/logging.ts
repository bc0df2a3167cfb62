// Structured JSON logs that Cloud Logging understands: pino, with `severity` instead of pino's
// numeric level and the trace field that links a log line to its request in Cloud Trace.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LoggerOptions {
  level: LogLevel;
  name?: string;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'cloudseg',
      messageKey: 'message',
      base: undefined,
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT', level: label }),
      },
      serializers: { err: pino.stdSerializers.errWithCause },
    },
    options.destination,
  );
}

/**
 * A child logger whose lines carry `logging.googleapis.com/trace`, taken from the
 * `traceparent` or `X-Cloud-Trace-Context` header of the request that caused them.
 */
export function withTrace(logger: Logger, projectId: string, traceHeader: string | undefined): Logger {
  const traceId = parseTraceId(traceHeader);
  if (!traceId) return logger;
  return logger.child({ 'logging.googleapis.com/trace': `projects/${projectId}/traces/${traceId}` });
}

export function parseTraceId(header: string | undefined): string | null {
  if (!header) return null;
  const w3c = /^[\da-f]{2}-([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/i.exec(header.trim());
  if (w3c) return w3c[1]!;
  const google = /^([\da-f]{32})(\/|;|$)/i.exec(header.trim());
  return google ? google[1]! : null;
}
