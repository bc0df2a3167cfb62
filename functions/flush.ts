// The flush HTTP function: Cloud Scheduler POSTs here; it batches the buffered upload events
// onto the work topic. Wiring only: the logic is in shared/flush.
import * as functions from '@google-cloud/functions-framework';
import type { PubSub } from '@google-cloud/pubsub';
import { createDownloadStorage, objectDownloader } from '../shared/cloud/object-download.js';
import { createPubSub, createSubscriberClient, subscriptionPath } from '../shared/cloud/pubsub.js';
import { loadConfig, type Config } from '../shared/config/index.js';
import { silenceKnownClientWarnings } from '../shared/known-warnings.js';
import { handleFlushRequest } from '../shared/flush/http.js';
import { probePixels } from '../shared/flush/pixel-probe.js';
import { sceneMemberCheck } from '../shared/flush/scene-members.js';
import { createStorage } from '../shared/cloud/storage.js';
import { createBatchPublisher } from '../shared/flush/publisher.js';
import { runFlush, type FlushDeps } from '../shared/flush/run-flush.js';
import { createLogger, withTrace, type Logger } from '../shared/logging.js';

interface Instance {
  config: Config;
  logger: Logger;
  pubsub: PubSub;
  deps: Omit<FlushDeps, 'logger'> & { subscriber: ReturnType<typeof createSubscriberClient> };
}
let instance: Instance | undefined;

// A wrong setting stops the instance at start-up (the deploy fails, with the variable named)
// instead of answering every request 500 and sending every batch to the dead-letter topic.
loadConfig(process.env);
silenceKnownClientWarnings();

/** The per-instance clients and config, created on the first request and kept. */
export function flushInstance(): Instance {
  if (!instance) {
    const config = loadConfig(process.env);
    const logger = createLogger({ level: config.logLevel, name: 'flush' });
    const pubsub = createPubSub(config.projectId);
    // Header reads for planning by pixels: the download client that retries itself (see object-download.ts).
    const downloader = objectDownloader(createDownloadStorage(config.projectId));
    // Listings and metadata for scenes: which uploads are band files, what a descriptor's bands hold.
    const storage = createStorage(config.projectId);
    const objectInfo = async (bucket: string, name: string) => {
      const [meta] = await storage.bucket(bucket).file(name).getMetadata();
      return { generation: String(meta.generation), size: Number(meta.size ?? 0) };
    };
    instance = {
      config,
      logger,
      pubsub,
      deps: {
        subscriber: createSubscriberClient(pubsub),
        publishBatch: createBatchPublisher(pubsub, config.topics.work),
        subscription: subscriptionPath(config.projectId, config.subscriptions.uploadsBuffer),
        inputBuckets: [config.buckets.input],
        settings: config.flush,
        countPixels: (items, deadline) => probePixels(items, { downloader, logger, deadline, objectInfo }),
        sceneMembers: () => sceneMemberCheck({ storage, downloader, logger }),
      },
    };
  }
  return instance;
}

/** Closes the clients and forgets them (tests; a later request builds them again). */
export async function closeFlushInstance(): Promise<void> {
  const current = instance;
  instance = undefined;
  await current?.deps.subscriber.close();
  await current?.pubsub.close();
}

export async function flush(req: functions.Request, res: functions.Response): Promise<void> {
  const { config, logger, deps } = flushInstance();
  const log = withTrace(logger, config.projectId, req.get('traceparent') ?? req.get('x-cloud-trace-context'));
  const outcome = await handleFlushRequest(
    { method: req.method, header: (name) => req.get(name) },
    { token: config.flush.token, logger: log, flush: () => runFlush({ ...deps, logger: log }) },
  );
  res.status(outcome.status).set(outcome.headers).json(outcome.body);
}

functions.http('flush', flush);
