// The worker CloudEvent function: Eventarc (or an emulator push) delivers one work batch per call.
// Returning means "acked"; throwing makes Pub/Sub redeliver (items already done are skipped).
import * as functions from '@google-cloud/functions-framework';
import { loadConfig, type Config } from '../shared/config/index.js';
import { silenceKnownClientWarnings } from '../shared/known-warnings.js';
import { messageFromCloudEvent } from '../shared/contracts/pubsub-cloudevent.js';
import { createLogger, withTrace, type Logger } from '../shared/logging.js';
import { createWorkerRuntime, type WorkerRuntime } from '../shared/worker/runtime.js';

interface Instance {
  config: Config;
  logger: Logger;
  runtime: WorkerRuntime;
}
let instance: Instance | undefined;

// A wrong setting stops the instance at start-up (the deploy fails, with the variable named)
// instead of answering every request 500 and sending every batch to the dead-letter topic.
loadConfig(process.env);
silenceKnownClientWarnings();

/** The per-instance state, created on first use (config is read when the first event arrives). */
export function workerInstance(): Instance {
  if (!instance) {
    const config = loadConfig(process.env);
    const logger = createLogger({ level: config.logLevel, name: 'worker' });
    instance = { config, logger, runtime: createWorkerRuntime(config, logger) };
  }
  return instance;
}

export async function worker(event: functions.CloudEvent<unknown>): Promise<void> {
  const { config, logger, runtime } = workerInstance();
  const traceparent = typeof event.traceparent === 'string' ? event.traceparent : undefined;
  const log = withTrace(logger, config.projectId, traceparent).child({ eventId: event.id });
  let message;
  try {
    message = messageFromCloudEvent(event.data);
  } catch (err) {
    log.error({ err }, 'dropping an event that carries no Pub/Sub message');
    return;
  }
  await runtime.handleMessage(message, log);
}

functions.cloudEvent('worker', worker);
