// What a worker instance keeps between invocations: the clients and the loaded model, created
// lazily once. handleMessage() is the whole CloudEvent handler minus the framework.
import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import { createPubSub } from '../cloud/pubsub.js';
import { createResultPublisher } from '../cloud/result-publisher.js';
import { createStorage } from '../cloud/storage.js';
import type { Config } from '../config/index.js';
import type { PublishedMessage } from '../contracts/pubsub-cloudevent.js';
import { parseBatchMessage } from '../contracts/pubsub-message.js';
import { CloudsegError, isCloudsegError } from '../errors.js';
import type { Logger } from '../logging.js';
import { loadModelFromDir } from '../model/load.js';
import type { SegmentationModel } from '../model/types.js';
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
    maxPixels: config.worker.maxPixels,
    batchTiles: config.model.batchTiles,
    concurrency: config.worker.concurrency,
    deleteInput: config.worker.deleteInput,
    writeGeoTiff: config.worker.writeGeoTiff,
  };
}

export function createWorkerRuntime(config: Config, logger: Logger, clients?: { storage?: Storage; pubsub?: PubSub }): WorkerRuntime {
  const storage = clients?.storage ?? createStorage(config.projectId);
  const pubsub = clients?.pubsub ?? createPubSub(config.projectId);
  const publishResult = createResultPublisher(pubsub, config.topics.results);
  let model: Promise<SegmentationModel> | undefined;

  const getModel = (): Promise<SegmentationModel> => {
    if (model) return model;
    const loading = loadModelFromDir(config.model.dir, { backend: config.model.backend, batchTiles: config.model.batchTiles, logger }).catch(
      (cause: unknown) => {
        model = undefined; // the next invocation tries again
        throw isCloudsegError(cause)
          ? cause
          : new CloudsegError('MODEL_LOAD_FAILED', `cannot load the model from ${config.model.dir}`, { retryable: true, cause });
      },
    );
    model = loading;
    return loading;
  };

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
      const deps: WorkerDeps = { storage, publishResult, model: await getModel(), settings: workerSettings(config), logger: log };
      return processBatch(deps, batch);
    },
    model: getModel,
    async close() {
      if (model) (await model.catch(() => null))?.dispose();
      await pubsub.close();
    },
  };
}
