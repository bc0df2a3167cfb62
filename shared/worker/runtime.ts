// What a worker instance keeps between invocations: the clients and the loaded model, created
// lazily once. handleMessage() is the whole CloudEvent handler minus the framework.
import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import { createPubSub } from '../cloud/pubsub.js';
import { createResultPublisher } from '../cloud/result-publisher.js';
import { createDownloadStorage, objectDownloader } from '../cloud/object-download.js';
import { createStorage } from '../cloud/storage.js';
import type { Config } from '../config/index.js';
import type { PublishedMessage } from '../contracts/pubsub-cloudevent.js';
import { parseBatchMessage } from '../contracts/pubsub-message.js';
import { isCloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { SegmentationModel } from '../model/types.js';
import { modelSourceFromConfig } from './model-source-from-config.js';
import type { ModelSource } from './model-source.js';
import { processBatch, type BatchOutcome } from './process-batch.js';
import type { WorkerDeps, WorkerSettings } from './process-item.js';

export type MessageOutcome = BatchOutcome | { ignored: string };

export interface WorkerRuntime {
  handleMessage(message: PublishedMessage, log?: Logger): Promise<MessageOutcome>;
  model(): Promise<SegmentationModel>;
  close(): Promise<void>;
}

export function workerSettings(config: Config): WorkerSettings {
  return {
    outputBucket: config.buckets.output,
    outputPrefix: config.buckets.outputPrefix,
    memoryBudgetBytes: config.worker.memoryBudgetBytes,
    batchTiles: config.model.batchTiles,
    concurrency: config.worker.concurrency,
    deleteInput: config.worker.deleteInput,
    writeGeoTiff: config.worker.writeGeoTiff,
    sceneBandBuckets: config.worker.sceneBandBuckets,
    sceneArrivalGraceSeconds: config.worker.sceneArrivalGraceSeconds,
  };
}

export interface RuntimeParts {
  storage?: Storage;
  pubsub?: PubSub;
  models?: ModelSource;
}

export function createWorkerRuntime(config: Config, logger: Logger, parts: RuntimeParts = {}): WorkerRuntime {
  const storage = parts.storage ?? createStorage(config.projectId);
  const downloader = objectDownloader(createDownloadStorage(config.projectId));
  const pubsub = parts.pubsub ?? createPubSub(config.projectId);
  const publishResult = createResultPublisher(pubsub, config.topics.results);
  const models = parts.models ?? modelSourceFromConfig(config, logger, { storage });

  return {
    async handleMessage(message, log = logger) {
      let batch;
      try {
        batch = parseBatchMessage(message.data);
      } catch (err) {
        // A malformed batch can never succeed: log it and let it be acked rather than loop forever.
        log.error({ err, messageId: message.messageId }, 'dropping malformed work message');
        return { ignored: isCloudsegError(err) ? err.message : String(err) };
      }
      // The batch runs on the model it started with, even if a newer one is swapped in meanwhile.
      const lease = await models.acquire();
      try {
        const deps: WorkerDeps = { storage, downloader, publishResult, model: lease.model, settings: workerSettings(config), logger: log };
        return await processBatch(deps, batch);
      } finally {
        lease.release();
      }
    },
    async model() {
      const lease = await models.acquire();
      lease.release();
      return lease.model;
    },
    async close() {
      await models.close();
      await pubsub.close();
    },
  };
}
