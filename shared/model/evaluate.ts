// Evaluates a model on scenes with ground truth through the worker's own per-image path
// (segmentImage): metrics per scene and overall, a confusion table, and a plot per scene.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ModelIdentity } from '../contracts/result-event.js';
import { CloudsegError, isCloudsegError } from '../errors.js';
import { isMaskCloud, MASK_VALUES } from '../imaging/mask-values.js';
import { SCALING_METADATA_KEYS, type ScalingSource } from '../imaging/scaling.js';
import type { Logger } from '../logging.js';
import { segmentImage } from '../worker/segment-image.js';
import { renderEvalPlot } from './eval-plot.js';
import { loadScene, type EvalScene } from './eval-scenes.js';
import type { TruthEncoding } from './mask-encodings.js';
import { agreementFromConfusion, compareMasks, type MaskAgreement } from './metrics.js';
import type { SegmentationModel } from './types.js';

export const EVAL_SCHEMA_ID = 'cloudseg.eval.v1';
export const METRICS_FILE = 'metrics.json';
export const CONFUSION_FILE = 'confusion.txt';
export const PLOTS_DIR = 'plots';

export interface InferenceSettings {
  /** Probability above which a pixel is cloud. @default the card's threshold */
  threshold?: number;
  /** @default the card's tile size */
  tileSize?: number;
  /** @default the card's overlap */
  overlap?: number;
}

export interface EvaluateOptions extends InferenceSettings {
  /** Folder for metrics.json, confusion.txt and plots/; nothing is written when absent. */
  outDir?: string;
  /** A preset of the card applied to every scene, as the CLI's --preset is (beats the scene's own). */
  preset?: string;
  maxPixels?: number;
  batchTiles?: number;
  /** @default true */
  plots?: boolean;
  logger?: Logger;
}

export interface SceneReport extends MaskAgreement {
  width: number;
  height: number;
  truthEncoding: TruthEncoding;
  scaling: { source: ScalingSource; scale: number[]; offset: number[] };
  inferMs: number;
}

export interface OverallReport extends MaskAgreement {
  scenes: number;
  /** Pixels compared (the confusion counts' sum); excludedPixels are the nodata ones left out. */
  pixels: number;
  /** Mean of the per-scene IoUs (the pooled `iou` weighs scenes by their pixels). */
  meanIou: number;
}

export interface EvaluationReport {
  schema: typeof EVAL_SCHEMA_ID;
  model: ModelIdentity;
  threshold: number;
  tile: { size: number; overlap: number };
  preset: string | null;
  overall: OverallReport;
  scenes: Record<string, SceneReport>;
  /** Scenes the model cannot run on (e.g. a 6-band model on a 4-band scene), with the reason. */
  skipped: Record<string, string>;
}

/** The model with the card's threshold and tiling replaced, for sweeps and params.yaml overrides. */
export function withInferenceSettings(model: SegmentationModel, settings: InferenceSettings): SegmentationModel {
  const card = {
    ...model.card,
    threshold: settings.threshold ?? model.card.threshold,
    tile: { size: settings.tileSize ?? model.card.tile.size, overlap: settings.overlap ?? model.card.tile.overlap },
  };
  // A class model takes its most probable class: it has no threshold to check.
  if (!card.classes && !(card.threshold > 0 && card.threshold < 1)) throw new CloudsegError('CONFIG_INVALID', `threshold must lie in (0, 1), got ${card.threshold}`);
  if (!Number.isInteger(card.tile.size) || card.tile.size < card.sizeMultiple) {
    throw new CloudsegError('CONFIG_INVALID', `tile size must be an integer of at least ${card.sizeMultiple}, got ${card.tile.size}`);
  }
  if (!Number.isInteger(card.tile.overlap) || card.tile.overlap < 0 || card.tile.overlap >= card.tile.size) {
    throw new CloudsegError('CONFIG_INVALID', `overlap must be an integer in [0, tile size), got ${card.tile.overlap}`);
  }
  return { identity: model.identity, backend: model.backend, parallelism: model.parallelism, outputChannels: model.outputChannels, card, predict: (...args) => model.predict(...args), dispose: () => model.dispose() };
}

export async function evaluateModel(model: SegmentationModel, scenes: EvalScene[], options: EvaluateOptions = {}): Promise<EvaluationReport> {
  const tuned = withInferenceSettings(model, options);
  const { card } = tuned;
  const plotsDir = options.outDir ? join(options.outDir, PLOTS_DIR) : null;
  if (plotsDir && options.plots !== false) await mkdir(plotsDir, { recursive: true });
  const report: EvaluationReport = {
    schema: EVAL_SCHEMA_ID,
    model: model.identity,
    threshold: card.threshold,
    tile: card.tile,
    preset: options.preset ?? null,
    overall: undefined as unknown as OverallReport,
    scenes: {},
    skipped: {},
  };
  const pooled = { truePositive: 0, falsePositive: 0, falseNegative: 0, trueNegative: 0 };
  let pooledExcluded = 0;
  for (const scene of scenes) {
    const loaded = await loadScene(scene, card.bands);
    if ('skipped' in loaded) {
      report.skipped[scene.name] = loaded.skipped;
      options.logger?.info({ scene: scene.name, reason: loaded.skipped }, 'scene skipped');
      continue;
    }
    const { bytes, fileName, truth, truthEncoding } = loaded.scene;
    const started = performance.now();
    let segmentation;
    try {
      segmentation = await segmentImage(
        tuned,
        {
          bytes,
          name: fileName,
          objectMetadata: scene.preset ? { [SCALING_METADATA_KEYS.preset]: scene.preset } : null,
          scalingOverride: options.preset ? { preset: options.preset } : null,
        },
        { maxPixels: options.maxPixels ?? Number.MAX_SAFE_INTEGER, ...(options.batchTiles ? { batchTiles: options.batchTiles } : {}) },
      );
    } catch (err) {
      const code = isCloudsegError(err) ? err.code : 'INTERNAL';
      throw new CloudsegError(code, `scene ${scene.name}: ${(err as Error).message}`, { cause: err });
    }
    if (segmentation.mask.length !== truth.length) {
      throw new CloudsegError('TRUTH_INVALID', `scene ${scene.name}: image is ${segmentation.width}x${segmentation.height} but its truth is ${loaded.scene.width}x${loaded.scene.height}`);
    }
    // Nodata in the prediction (the mask's 128) or the truth (loadScene's 128) is left out, not "clear".
    const agreement = compareMasks(segmentation.mask, truth, { predicted: isMaskCloud, predictedNodata: isMaskNodata, truthNodata: isMaskNodata });
    for (const key of Object.keys(pooled) as (keyof typeof pooled)[]) pooled[key] += agreement.confusion[key];
    pooledExcluded += agreement.excludedPixels;
    report.scenes[scene.name] = {
      ...agreement,
      width: segmentation.width,
      height: segmentation.height,
      truthEncoding,
      scaling: { source: segmentation.scalingSource, ...segmentation.scaling },
      inferMs: Math.round(performance.now() - started),
    };
    options.logger?.info({ scene: scene.name, iou: agreement.iou, accuracy: agreement.accuracy, excludedPixels: agreement.excludedPixels }, 'scene evaluated');
    if (plotsDir && options.plots !== false) {
      const png = await renderEvalPlot({
        raster: segmentation.raster,
        scaling: segmentation.scaling,
        rgbBands: rgbBandIndexes(card.bands),
        truth,
        predicted: segmentation.mask,
      });
      await writeFile(join(plotsDir, `${scene.name}.png`), png);
    }
  }
  const sceneReports = Object.values(report.scenes);
  report.overall = {
    ...agreementFromConfusion(pooled, pooledExcluded),
    scenes: sceneReports.length,
    pixels: pooled.truePositive + pooled.falsePositive + pooled.falseNegative + pooled.trueNegative,
    meanIou: sceneReports.length === 0 ? 0 : sceneReports.reduce((sum, s) => sum + s.iou, 0) / sceneReports.length,
  };
  if (options.outDir) {
    await mkdir(options.outDir, { recursive: true });
    await Promise.all([
      writeFile(join(options.outDir, METRICS_FILE), `${JSON.stringify(report, null, 2)}\n`),
      writeFile(join(options.outDir, CONFUSION_FILE), formatConfusionTable(report)),
    ]);
  }
  return report;
}

/** A plain-text table: one row per scene and one overall, counts and the headline ratios. */
export function formatConfusionTable(report: EvaluationReport): string {
  const header = ['scene', 'TP', 'FP', 'FN', 'TN', 'IoU', 'precision', 'recall', 'F1', 'accuracy', 'pred/true cloud', 'nodata'];
  const row = (name: string, a: MaskAgreement) => [
    name,
    String(a.confusion.truePositive),
    String(a.confusion.falsePositive),
    String(a.confusion.falseNegative),
    String(a.confusion.trueNegative),
    a.iou.toFixed(3),
    a.precision.toFixed(3),
    a.recall.toFixed(3),
    a.f1.toFixed(3),
    a.accuracy.toFixed(3),
    `${a.predictedCloudFraction.toFixed(3)}/${a.trueCloudFraction.toFixed(3)}`,
    String(a.excludedPixels),
  ];
  const rows = [header, ...Object.entries(report.scenes).map(([name, s]) => row(name, s)), row('overall (pooled)', report.overall)];
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  const lines = [
    `model ${report.model.name} ${report.model.version} (md5 ${report.model.md5}), threshold ${report.threshold}, tile ${report.tile.size}/${report.tile.overlap}`,
    'TP = cloud in both, FP = predicted cloud on clear truth, FN = missed cloud, TN = clear in both (pixels)',
    'nodata = pixels left out of every count and ratio: nodata in the prediction or in the truth',
    '',
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    ...Object.entries(report.skipped).map(([name, reason]) => `skipped ${name}: ${reason}`),
  ];
  return `${lines.join('\n')}\n`;
}

const isMaskNodata = (v: number) => v === MASK_VALUES.nodata;

function rgbBandIndexes(bands: readonly string[]): [number, number, number] {
  const at = (name: string, fallback: number) => (bands.includes(name) ? bands.indexOf(name) : Math.min(fallback, bands.length - 1));
  return [at('red', 2), at('green', 1), at('blue', 0)];
}
