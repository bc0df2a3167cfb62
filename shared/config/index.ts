// The one place that reads the environment: a zod schema with defaults, parsed once at start-up
// into a typed Config that is passed down. Errors name the variable that is wrong.
import { join } from 'node:path';
import { z } from 'zod';
import { CloudsegError } from '../errors.js';
import { LOG_LEVELS } from '../logging.js';
import { projectRoot } from './project-root.js';
import { RESOURCE_ENV, RESOURCE_NAMES } from './resource-names.js';

export { RESOURCE_NAMES, RESOURCE_ENV } from './resource-names.js';
export { projectRoot } from './project-root.js';

export const INFERENCE_BACKENDS = ['auto', 'tfjs-node', 'wasm', 'cpu'] as const;
export type InferenceBackendChoice = (typeof INFERENCE_BACKENDS)[number];

const MiB = 1024 * 1024;

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const name = (fallback: string) => z.string().min(1).default(fallback);

export const DEFAULT_MODEL_DIR = () => join(projectRoot(), 'models', 'landsatbiomeRGBI6');

const EnvSchema = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().min(1).optional(),
  GCLOUD_PROJECT: z.string().min(1).optional(),
  [RESOURCE_ENV.inputBucket]: name(RESOURCE_NAMES.inputBucket),
  [RESOURCE_ENV.outputBucket]: name(RESOURCE_NAMES.outputBucket),
  [RESOURCE_ENV.uploadsTopic]: name(RESOURCE_NAMES.uploadsTopic),
  [RESOURCE_ENV.uploadsBufferSubscription]: name(RESOURCE_NAMES.uploadsBufferSubscription),
  [RESOURCE_ENV.workTopic]: name(RESOURCE_NAMES.workTopic),
  [RESOURCE_ENV.resultsTopic]: name(RESOURCE_NAMES.resultsTopic),
  [RESOURCE_ENV.deadLetterTopic]: name(RESOURCE_NAMES.deadLetterTopic),
  CLOUDSEG_OUTPUT_PREFIX: z.string().default(''),
  CLOUDSEG_FLUSH_TOKEN: z.string().min(16, 'use at least 16 characters').optional(),
  CLOUDSEG_FLUSH_MAX_BATCH_ITEMS: int(1, 8),
  CLOUDSEG_FLUSH_MAX_BATCH_BYTES: int(1, 512 * MiB),
  CLOUDSEG_FLUSH_MAX_MESSAGES: int(1, 2000),
  CLOUDSEG_FLUSH_PULL_SIZE: int(1, 500),
  CLOUDSEG_FLUSH_EMPTY_PULLS: int(1, 3),
  CLOUDSEG_FLUSH_TIME_BUDGET_MS: int(100, 60_000),
  CLOUDSEG_MODEL_DIR: z.string().min(1).optional(),
  CLOUDSEG_INFERENCE_BACKEND: z.enum(INFERENCE_BACKENDS).default('auto'),
  // One image at a time by default: wasm inference holds the event loop, so overlapping items only
  // blurs their timings (measured: no throughput gain). With tfjs-node, raise it.
  CLOUDSEG_WORKER_CONCURRENCY: int(1, 1),
  CLOUDSEG_INFER_BATCH_TILES: int(1, 1),
  CLOUDSEG_MAX_PIXELS: int(1, 40_000_000),
  CLOUDSEG_DELETE_INPUT: bool(false),
  CLOUDSEG_WRITE_GEOTIFF: bool(true),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

export interface Config {
  projectId: string;
  buckets: { input: string; output: string; outputPrefix: string };
  topics: { uploads: string; work: string; results: string; deadLetter: string };
  subscriptions: { uploadsBuffer: string };
  flush: {
    /** When set, flush requires `Authorization: Bearer <token>` (local); production uses OIDC. */
    token: string | undefined;
    maxBatchItems: number;
    maxBatchBytes: number;
    /** Stop pulling after this many messages in one flush. */
    maxMessages: number;
    pullSize: number;
    /** Stop after this many consecutive empty pulls: short pulls are normal, empty ones end it. */
    emptyPullsToStop: number;
    timeBudgetMs: number;
  };
  worker: {
    concurrency: number;
    maxPixels: number;
    deleteInput: boolean;
    writeGeoTiff: boolean;
  };
  model: {
    dir: string;
    backend: InferenceBackendChoice;
    batchTiles: number;
  };
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Parses the environment (pure: pass `process.env` at the entry point, a literal in tests). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(stripEmpty(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new CloudsegError('CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const e = parsed.data;
  return {
    projectId: e.GOOGLE_CLOUD_PROJECT ?? e.GCLOUD_PROJECT ?? 'cloudseg-local',
    buckets: {
      input: e[RESOURCE_ENV.inputBucket],
      output: e[RESOURCE_ENV.outputBucket],
      outputPrefix: e.CLOUDSEG_OUTPUT_PREFIX,
    },
    topics: {
      uploads: e[RESOURCE_ENV.uploadsTopic],
      work: e[RESOURCE_ENV.workTopic],
      results: e[RESOURCE_ENV.resultsTopic],
      deadLetter: e[RESOURCE_ENV.deadLetterTopic],
    },
    subscriptions: { uploadsBuffer: e[RESOURCE_ENV.uploadsBufferSubscription] },
    flush: {
      token: e.CLOUDSEG_FLUSH_TOKEN,
      maxBatchItems: e.CLOUDSEG_FLUSH_MAX_BATCH_ITEMS,
      maxBatchBytes: e.CLOUDSEG_FLUSH_MAX_BATCH_BYTES,
      maxMessages: e.CLOUDSEG_FLUSH_MAX_MESSAGES,
      pullSize: e.CLOUDSEG_FLUSH_PULL_SIZE,
      emptyPullsToStop: e.CLOUDSEG_FLUSH_EMPTY_PULLS,
      timeBudgetMs: e.CLOUDSEG_FLUSH_TIME_BUDGET_MS,
    },
    worker: {
      concurrency: e.CLOUDSEG_WORKER_CONCURRENCY,
      maxPixels: e.CLOUDSEG_MAX_PIXELS,
      deleteInput: e.CLOUDSEG_DELETE_INPUT,
      writeGeoTiff: e.CLOUDSEG_WRITE_GEOTIFF,
    },
    model: {
      dir: e.CLOUDSEG_MODEL_DIR ?? DEFAULT_MODEL_DIR(),
      backend: e.CLOUDSEG_INFERENCE_BACKEND,
      batchTiles: e.CLOUDSEG_INFER_BATCH_TILES,
    },
    logLevel: e.LOG_LEVEL,
  };
}

// An exported-but-empty variable means "not set" (what a shell user expects of FOO= ).
function stripEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
