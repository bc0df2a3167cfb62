// `npm run local`: keeps the whole pipeline running on this machine until Ctrl-C, tells the user
// where to drop files, and prints each result event as it arrives.
import { join, resolve } from 'node:path';
import { projectRoot } from '../../shared/config/index.js';
import { ResultEventSchema } from '../../shared/contracts/result-event.js';
import type { Logger } from '../../shared/logging.js';
import { cloudSdkEnv, gsutilNote } from './gcs-server/cloud-sdk-env.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './stack.js';
import { startLocalStatusPage } from './status/index.js';

export interface RunLocalOptions {
  rootDir?: string;
  flushEverySeconds: number;
  logger: Logger;
  print?: (line: string) => void;
  /** Fixed ports (see LocalStackOptions.ports). */
  ports?: LocalStackOptions['ports'];
}

export const LOCAL_RESULTS_SUBSCRIPTION = 'cloudseg-results-local';

export async function runLocal(options: RunLocalOptions): Promise<LocalStack & { statusUrl: string }> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const rootDir = resolve(options.rootDir ?? join(projectRoot(), 'out', 'local'));
  const stack = await startLocalStack({
    rootDir,
    logger: options.logger,
    watch: true,
    flushEveryMs: options.flushEverySeconds * 1000,
    resultSubscriptions: [LOCAL_RESULTS_SUBSCRIPTION, `${LOCAL_RESULTS_SUBSCRIPTION}-cli`],
    ...(options.ports ? { ports: options.ports } : {}),
  });
  const { config } = stack;
  const results = stack.pubsub.subscription(LOCAL_RESULTS_SUBSCRIPTION);
  results.on('message', (message) => {
    const parsed = ResultEventSchema.safeParse(JSON.parse(message.data.toString()));
    message.ack();
    if (!parsed.success) return;
    const e = parsed.data;
    const cloud = e.cloudFraction === null ? '' : ` cloud ${(e.cloudFraction * 100).toFixed(1)} %`;
    const out = e.output ? ` -> ${stack.bucketDir(e.output.bucket)}/${e.output.name}` : '';
    const err = e.error ? ` ${e.error.code}: ${e.error.message}` : '';
    print(`[result] ${e.status} ${e.input.name}${cloud}${out}${err}`);
  });
  const status = await startLocalStatusPage(stack, options.logger).catch(async (err: unknown) => {
    await results.close();
    await stack.stop();
    throw err;
  });
  print(
    localInstructions({
      inputDir: stack.bucketDir(config.buckets.input),
      outputDir: stack.bucketDir(config.buckets.output),
      flushEverySeconds: options.flushEverySeconds,
      gcsUrl: stack.urls.gcs,
      pubsubHost: stack.urls.pubsub,
      projectId: config.projectId,
      inputBucket: config.buckets.input,
      outputBucket: config.buckets.output,
    }),
  );
  print(`  Status page (live counts, latest masks):  ${status.url}\n`);
  // An open streaming pull keeps the Pub/Sub client alive: close it before the stack.
  return {
    ...stack,
    statusUrl: status.url,
    stop: async () => {
      await Promise.all([status.stop(), results.close()]);
      await stack.stop();
    },
  };
}

export interface LocalInstructionsInput {
  inputDir: string;
  outputDir: string;
  flushEverySeconds: number;
  gcsUrl: string;
  pubsubHost: string;
  projectId: string;
  inputBucket: string;
  outputBucket: string;
}

/**
 * What `npm run local` prints. The `export` lines are meant to be pasted into another shell as
 * they are; the gcloud test runs `gcloud storage` with exactly the CLOUDSDK_* ones printed here.
 */
export function localInstructions(i: LocalInstructionsInput): string {
  const sdk = Object.entries(cloudSdkEnv(i.gcsUrl, i.projectId))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `
cloudseg is running locally.
  Drop images here (GeoTIFF or PNG, bands blue,green,red,nir):  ${i.inputDir}
  Masks appear here:                                          ${i.outputDir}
  Flush runs every ${i.flushEverySeconds} s; results are printed below as they arrive.
  From another shell, with the real Google clients:
    export STORAGE_EMULATOR_HOST=${i.gcsUrl} PUBSUB_EMULATOR_HOST=${i.pubsubHost} METADATA_SERVER_DETECTION=none GOOGLE_CLOUD_PROJECT=${i.projectId}
    npm run cloudseg -- results --subscription ${LOCAL_RESULTS_SUBSCRIPTION}-cli
  With gcloud storage (these variables override its properties for that shell only):
    export ${sdk}
    gcloud storage cp scene.tif gs://${i.inputBucket}/
    gcloud storage ls -l gs://${i.outputBucket}
  ${gsutilNote(i.gcsUrl)}.
  Ctrl-C stops everything.
`;
}
