// The one place that reads the environment: a zod schema with defaults, parsed once at start-up
// into a typed Config that is passed down. Errors name the variable that is wrong.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { ONNX_LAYOUTS, type OnnxLayout } from './onnx-layouts.js';
import { CloudsegError } from '../errors.js';
import { LOG_LEVELS } from '../logging.js';
import { projectRoot } from './project-root.js';
import { RESOURCE_ENV, RESOURCE_NAMES } from './resource-names.js';

export { RESOURCE_NAMES, RESOURCE_ENV } from './resource-names.js';
export { projectRoot } from './project-root.js';

export const INFERENCE_BACKENDS = ['auto', 'onnxruntime', 'tfjs-node', 'wasm', 'tfjs-wasm', 'cpu'] as const;
export type InferenceBackendChoice = (typeof INFERENCE_BACKENDS)[number];

const MiB = 1024 * 1024;

const int = (min: number, fallback: number) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');
const positive = (fallback: number) => z.coerce.number().positive().finite().default(fallback);
const name = (fallback: string) => z.string().min(1).default(fallback);

/** The shipped model's path inside the registry (this repository, by default). */
export const DEFAULT_MODEL_PATH = 'models/landsatbiomeRGBI6';
export const DEFAULT_MODEL_DIR = () => join(projectRoot(), ...DEFAULT_MODEL_PATH.split('/'));

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
  CLOUDSEG_FLUSH_MAX_BATCHES: int(1, 20),
  // Well below the worker's 540 s timeout: the seconds are an estimate (a slow download, a cold
  // model load, a busier instance), and a batch over the timeout is redelivered whole, forever.
  CLOUDSEG_FLUSH_MAX_BATCH_SECONDS: positive(300),
  CLOUDSEG_FLUSH_PULL_SIZE: int(1, 500),
  CLOUDSEG_FLUSH_EMPTY_PULLS: int(1, 3),
  CLOUDSEG_FLUSH_TIME_BUDGET_MS: int(100, 60_000),
  CLOUDSEG_MODEL_DIR: z.string().min(1).optional(),
  CLOUDSEG_MODEL_REPO: z.string().min(1).optional(),
  CLOUDSEG_MODEL_REPO_TOKEN: z.string().min(1).optional(),
  CLOUDSEG_MODEL_REPO_USERNAME: z.string().min(1).default('x-access-token'),
  CLOUDSEG_MODEL_PATH: z.string().min(1).optional(),
  CLOUDSEG_MODEL_ARTIFACT: z.string().min(1).optional(),
  CLOUDSEG_MODEL_REV: z.string().min(1).optional(),
  CLOUDSEG_MODEL_STAGE: z.string().min(1).optional(),
  CLOUDSEG_MODEL_REMOTE: z.string().min(1).optional(),
  CLOUDSEG_MODEL_REMOTE_CONFIG: z
    .string()
    .transform((text, ctx) => {
      try {
        return z.record(z.string(), z.string()).parse(JSON.parse(text));
      } catch {
        ctx.addIssue({ code: 'custom', message: 'expected a JSON object of strings, e.g. {"credentialpath":"/k.json"}' });
        return z.NEVER;
      }
    })
    .optional(),
  CLOUDSEG_MODEL_REFRESH_SECONDS: int(0, 60),
  CLOUDSEG_MODEL_CACHE_DIR: z.string().min(1).optional(),
  CLOUDSEG_INFERENCE_BACKEND: z.enum(INFERENCE_BACKENDS).default('auto'),
  // One image at a time by default: wasm inference holds the event loop, so overlapping items only
  // blurs their timings (measured: no throughput gain). With tfjs-node, raise it.
  // Unset: as many images in flight as the engine can use (see SegmentationModel.parallelism).
  CLOUDSEG_WORKER_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  CLOUDSEG_INFERENCE_THREADS: z.coerce.number().int().min(1).optional(),
  CLOUDSEG_ONNX_LAYOUT: z.enum(ONNX_LAYOUTS).default('intra-op'),
  CLOUDSEG_INFER_BATCH_TILES: int(1, 1),
  // Memory one image may take, estimated from its header (windowed TIFFs: the uint8 mask, the tiles
  // in flight and the block cache; PNGs: the whole image); more is IMAGE_TOO_LARGE.
  CLOUDSEG_MEMORY_BUDGET_MB: int(64, 2048),
  // Worker seconds per megapixel of input, for flush's planning. Measured: the whole ONNX Runtime
  // pipeline (download, decode, overlapping tiles, inference, encode, upload) does ~1.8 Mpx/s on
  // the worker's 2 vCPU, so ~0.56 s/Mpx, rounded up. TF.js wasm is ~7x slower (~4 s/Mpx): raise it with that engine.
  CLOUDSEG_WORKER_SECONDS_PER_MPX: positive(0.6),
  CLOUDSEG_DELETE_INPUT: bool(false),
  CLOUDSEG_WRITE_GEOTIFF: bool(true),
  // Buckets besides the descriptor's own whose objects a scene (STAC item) may name as bands, comma
  // separated, e.g. a public mirror such as gcp-public-data-landsat. Empty: only the descriptor's
  // bucket, so an uploaded item cannot make the worker read (and mask) what its uploader cannot.
  CLOUDSEG_SCENE_BAND_BUCKETS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const buckets = text.split(',').map((b) => b.trim()).filter((b) => b !== '');
      const bad = buckets.filter((b) => !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(b));
      if (bad.length > 0) ctx.addIssue({ code: 'custom', message: `not bucket names: ${bad.join(', ')}` });
      return buckets;
    }),
  // A scene is many objects arriving in any order (`gcloud storage cp -r X.SAFE`): for this long
  // after its descriptor landed, a band or companion not there yet is waited for (the batch is
  // redelivered) instead of failing the scene. Within the work subscription's redelivery window.
  CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(600),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
});

/** Where the model comes from: a plain directory, or a DVC registry reference (rev or stage). */
export type ModelSourceConfig =
  | { kind: 'dir'; dir: string }
  | {
      kind: 'registry';
      repo: string;
      path: string | undefined;
      artifact: string | undefined;
      rev: string | undefined;
      stage: string | undefined;
      remote: string | undefined;
      remoteConfig: Record<string, string> | undefined;
      refreshSeconds: number;
      cacheDir: string;
      /** HTTP basic credentials for a private https repo (a token as the password); never logged. */
      credentials: { username: string; password: string } | undefined;
    };

/** Every environment variable the code reads (checked against what the Terraform sets). */
export const CONFIG_ENV_KEYS: readonly string[] = Object.keys(EnvSchema.shape);

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
    /** Most expected worker seconds per batch (pixels x workerSecondsPerMpx): below the worker's timeout. */
    maxBatchSeconds: number;
    /** The worker's measured seconds per megapixel (CLOUDSEG_WORKER_SECONDS_PER_MPX), for planning. */
    workerSecondsPerMpx: number;
    /** Stop pulling after this many messages in one flush. */
    maxMessages: number;
    /** Release at most this many batches per flush (backpressure: what the workers can start). */
    maxBatches: number;
    pullSize: number;
    /** Stop after this many consecutive empty pulls: short pulls are normal, empty ones end it. */
    emptyPullsToStop: number;
    timeBudgetMs: number;
  };
  worker: {
    /** Images in flight per instance; undefined = what the engine can keep busy. */
    concurrency: number | undefined;
    /** What one image may take in memory (bytes), estimated from its header. */
    memoryBudgetBytes: number;
    deleteInput: boolean;
    writeGeoTiff: boolean;
    /** Buckets other than the descriptor's own that a scene may read band objects from. */
    sceneBandBuckets: string[];
    /** How long after a scene descriptor's upload its missing members are waited for. */
    sceneArrivalGraceSeconds: number;
  };
  model: {
    source: ModelSourceConfig;
    backend: InferenceBackendChoice;
    batchTiles: number;
    /** Cores inference may use; undefined = all the instance has. */
    threads: number | undefined;
    onnxLayout: OnnxLayout;
  };
  logLevel: (typeof LOG_LEVELS)[number];
}

/** Parses the environment (pure: pass `process.env` at the entry point, a literal in tests). */
export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty means unset for every other variable; for the flush secret that would switch
  // authentication off without a word, so an empty one is refused.
  if (env.CLOUDSEG_FLUSH_TOKEN !== undefined && env.CLOUDSEG_FLUSH_TOKEN.trim() === '') {
    throw new CloudsegError('CONFIG_INVALID', 'invalid configuration: CLOUDSEG_FLUSH_TOKEN is set but empty; unset it (no bearer check) or give a secret of at least 16 characters');
  }
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
      maxBatchSeconds: e.CLOUDSEG_FLUSH_MAX_BATCH_SECONDS,
      workerSecondsPerMpx: e.CLOUDSEG_WORKER_SECONDS_PER_MPX,
      maxMessages: e.CLOUDSEG_FLUSH_MAX_MESSAGES,
      maxBatches: e.CLOUDSEG_FLUSH_MAX_BATCHES,
      pullSize: e.CLOUDSEG_FLUSH_PULL_SIZE,
      emptyPullsToStop: e.CLOUDSEG_FLUSH_EMPTY_PULLS,
      timeBudgetMs: e.CLOUDSEG_FLUSH_TIME_BUDGET_MS,
    },
    worker: {
      concurrency: e.CLOUDSEG_WORKER_CONCURRENCY,
      memoryBudgetBytes: e.CLOUDSEG_MEMORY_BUDGET_MB * 2 ** 20,
      deleteInput: e.CLOUDSEG_DELETE_INPUT,
      writeGeoTiff: e.CLOUDSEG_WRITE_GEOTIFF,
      sceneBandBuckets: e.CLOUDSEG_SCENE_BAND_BUCKETS,
      sceneArrivalGraceSeconds: e.CLOUDSEG_SCENE_ARRIVAL_GRACE_SECONDS,
    },
    model: {
      source: modelSource(e),
      backend: e.CLOUDSEG_INFERENCE_BACKEND,
      batchTiles: e.CLOUDSEG_INFER_BATCH_TILES,
      threads: e.CLOUDSEG_INFERENCE_THREADS,
      onnxLayout: e.CLOUDSEG_ONNX_LAYOUT,
    },
    logLevel: e.LOG_LEVEL,
  };
}

/** Where registry objects are cached: shared by the worker and the CLI on one machine. */
export function registryCacheDir(env: { CLOUDSEG_MODEL_CACHE_DIR?: string | undefined }): string {
  return env.CLOUDSEG_MODEL_CACHE_DIR || join(tmpdir(), 'cloudseg-registry-cache');
}

function modelSource(e: z.infer<typeof EnvSchema>): ModelSourceConfig {
  if (e.CLOUDSEG_MODEL_REV && e.CLOUDSEG_MODEL_STAGE) {
    throw new CloudsegError('CONFIG_INVALID', 'invalid configuration: CLOUDSEG_MODEL_REV and CLOUDSEG_MODEL_STAGE exclude each other');
  }
  if (e.CLOUDSEG_MODEL_PATH && e.CLOUDSEG_MODEL_ARTIFACT) {
    throw new CloudsegError('CONFIG_INVALID', 'invalid configuration: CLOUDSEG_MODEL_PATH and CLOUDSEG_MODEL_ARTIFACT exclude each other');
  }
  if (e.CLOUDSEG_MODEL_DIR) return { kind: 'dir', dir: e.CLOUDSEG_MODEL_DIR };
  return {
    kind: 'registry',
    // The repository itself is the default registry: its model is DVC-tracked with a committed remote.
    repo: e.CLOUDSEG_MODEL_REPO ?? projectRoot(),
    path: e.CLOUDSEG_MODEL_ARTIFACT ? undefined : (e.CLOUDSEG_MODEL_PATH ?? DEFAULT_MODEL_PATH),
    artifact: e.CLOUDSEG_MODEL_ARTIFACT,
    rev: e.CLOUDSEG_MODEL_REV,
    stage: e.CLOUDSEG_MODEL_STAGE,
    remote: e.CLOUDSEG_MODEL_REMOTE,
    remoteConfig: e.CLOUDSEG_MODEL_REMOTE_CONFIG,
    refreshSeconds: e.CLOUDSEG_MODEL_REFRESH_SECONDS,
    cacheDir: registryCacheDir(e),
    credentials: e.CLOUDSEG_MODEL_REPO_TOKEN ? { username: e.CLOUDSEG_MODEL_REPO_USERNAME, password: e.CLOUDSEG_MODEL_REPO_TOKEN } : undefined,
  };
}

// An exported-but-empty variable means "not set" (what a shell user expects of FOO= ).
function stripEmpty(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}
