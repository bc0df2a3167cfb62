// `npm run local`'s status page: watches the pipeline's topics, folds what it sees into counts,
// renders the latest masks as quick-looks, and serves it all live on a loopback URL.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import pLimit from 'p-limit';
import { projectRoot, type Config } from '../../../shared/config/index.js';
import type { Logger } from '../../../shared/logging.js';
import { watchPipeline } from './pipeline-watch.js';
import { renderQuickLook } from './quick-look.js';
import { emptyStatus, observe, snapshot, type MaskEntry, type StatusFact, type StatusLimits } from './status-model.js';
import { startStatusServer } from './status-server.js';

export interface StatusPageOptions {
  pubsub: PubSub;
  storage: Storage;
  config: Pick<Config, 'topics' | 'buckets'>;
  logger: Logger;
  /** The model the worker runs now and its engine; the page shows the engine when the md5 matches. */
  describeModel?: () => Promise<{ md5: string; engine: string }>;
  limits?: Partial<StatusLimits>;
  /** @default Date.now */
  now?: () => number;
  /** Inputs bigger than this are not downloaded for a quick-look (the mask is shown alone). @default 256 MiB */
  maxInputBytes?: number;
}

export interface StatusPage {
  url: string;
  stop(): Promise<void>;
}

/** What the page receives: the snapshot, each mask with its quick-look URL once rendered. */
export type StatusView = ReturnType<typeof snapshot> & { masks: Array<MaskEntry & { quickLook: string | null }> };

export async function startStatusPage(options: StatusPageOptions): Promise<StatusPage> {
  const { storage, config } = options;
  const logger = options.logger.child({ component: 'status-page' });
  const now = options.now ?? Date.now;
  const maxInputBytes = options.maxInputBytes ?? 256 * 2 ** 20;
  const state = emptyStatus(options.limits);
  const looks = new Map<string, Buffer>();
  const rendering = new Set<string>();
  // One render at a time: decoding an input is the heaviest thing the page does.
  const renderLimit = pLimit(1);
  const engineAsked = new Set<string>();
  let stopped = false;

  const view = (): StatusView => {
    const snap = snapshot(state, now());
    return { ...snap, masks: snap.masks.map((m) => ({ ...m, quickLook: looks.has(m.id) ? `quicklook/${m.id}.png` : null })) };
  };
  const pageHtml = await readFile(join(projectRoot(), 'infra', 'local', 'status', 'status-page.html'), 'utf8');
  const server = await startStatusServer({ pageHtml, state: view, quickLook: (id) => looks.get(id) });

  const render = async (mask: MaskEntry) => {
    try {
      const [maskPng] = await storage.bucket(mask.output.bucket).file(mask.output.name, { generation: mask.output.generation }).download();
      const inputBytes = mask.scene ? null : await readInput(mask);
      const look = await renderQuickLook({ maskPng, inputBytes, inputName: mask.input.name, classes: mask.classes });
      if (look.maskOnlyBecause) logger.debug({ input: mask.input.name, why: look.maskOnlyBecause }, 'status page: mask shown without its input');
      if (stopped || !state.masks.some((m) => m.id === mask.id)) return;
      looks.set(mask.id, look.png);
      server.changed();
    } catch (err) {
      if (!stopped) logger.warn({ err, mask: `${mask.output.bucket}/${mask.output.name}` }, 'status page: quick-look not rendered');
    } finally {
      rendering.delete(mask.id);
    }
  };
  const readInput = async (mask: MaskEntry): Promise<Uint8Array | null> => {
    const file = storage.bucket(mask.input.bucket).file(mask.input.name, { generation: mask.input.generation });
    try {
      const [metadata] = await file.getMetadata();
      if (Number(metadata.size) > maxInputBytes) return null;
      const [bytes] = await file.download();
      return bytes;
    } catch (err) {
      // Deleted after processing (CLOUDSEG_DELETE_INPUT) or replaced: the mask alone is still shown.
      logger.debug({ err, input: mask.input.name }, 'status page: input not readable for the quick-look');
      return null;
    }
  };
  const askEngine = (md5: string) => {
    if (!options.describeModel || engineAsked.has(md5)) return;
    engineAsked.add(md5);
    options
      .describeModel()
      .then((model) => {
        if (!stopped && observe(state, { kind: 'engine', ...model })) server.changed();
      })
      .catch((err: unknown) => {
        if (!stopped) logger.warn({ err }, 'status page: cannot tell which engine runs the model');
      });
  };

  const onFact = (fact: StatusFact) => {
    if (stopped || !observe(state, fact)) return;
    server.changed();
    if (fact.kind !== 'result') return;
    askEngine(fact.event.model.md5);
    for (const id of looks.keys()) if (!state.masks.some((m) => m.id === id)) looks.delete(id);
    for (const mask of state.masks) {
      if (looks.has(mask.id) || rendering.has(mask.id)) continue;
      rendering.add(mask.id);
      void renderLimit(() => (stopped ? undefined : render(mask)));
    }
  };

  let watch;
  try {
    watch = await watchPipeline({
      pubsub: options.pubsub,
      topics: { uploads: config.topics.uploads, work: config.topics.work, results: config.topics.results },
      inputBuckets: [config.buckets.input],
      onFact,
      logger,
    });
  } catch (err) {
    await server.stop();
    throw err;
  }
  logger.info({ url: server.url }, 'status page: listening');
  return {
    url: server.url,
    async stop() {
      stopped = true;
      renderLimit.clearQueue();
      await Promise.allSettled([server.stop(), watch.stop()]);
    },
  };
}

/** The status page of a local stack, with the engine read from the in-process worker. */
export function startLocalStatusPage(stack: { pubsub: PubSub; storage: Storage; config: Config }, logger: Logger): Promise<StatusPage> {
  return startStatusPage({
    pubsub: stack.pubsub,
    storage: stack.storage,
    config: stack.config,
    logger,
    describeModel: async () => {
      // Asked only after a result event: the worker has loaded its model by then.
      const { workerInstance } = await import('../../../functions/worker.js');
      const model = await workerInstance().runtime.model();
      return { md5: model.identity.md5, engine: model.backend };
    },
  });
}
