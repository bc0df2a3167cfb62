// Evaluates a model on scenes with ground truth through the worker's own per-image path
// (segmentImage): metrics per scene and overall, a confusion table, and a plot per scene. A class
// model is scored per class (truth codes mapped onto its classes) and, like every model, cloud vs not.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ModelIdentity } from '../contracts/result-event.js';
import { CloudsegError, isCloudsegError } from '../errors.js';
import { CLOUD_KINDS, isMaskCloud, MASK_VALUES, type MaskLegend } from '../imaging/mask-values.js';
import { SCALING_METADATA_KEYS, type ScalingSource } from '../imaging/scaling.js';
import type { Logger } from '../logging.js';
import { segmentImage } from '../worker/segment-image.js';
import { cardLegend } from '../model/card.js';
import {
  classAgreement,
  classConfusion,
  cloudAgreementFromClasses,
  emptyClassConfusion,
  formatClassReport,
  poolClassConfusion,
  TRUTH_NODATA,
  type ClassAgreement,
} from './class-metrics.js';
import { renderEvalPlot } from './eval-plot.js';
import { loadRawScene, loadScene, type EvalScene, type RawScene } from './eval-scenes.js';
import { applyLabelMap, defaultLabelMap, describeLabelMap, resolveLabelMap, type LabelMapSpec, type ResolvedLabelMap } from './label-map.js';
import { detectTruthEncoding, type TruthEncoding } from './mask-encodings.js';
import { agreementFromConfusion, compareMasks, type MaskAgreement } from './metrics.js';
import type { SegmentationModel } from '../model/types.js';

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
  /** Class models: truth code -> class for every scene, as --label-map, beating the scenes' own. */
  labelMap?: LabelMapSpec;
  logger?: Logger;
}

/**
 * A class model's scores, besides the cloud-vs-not ones every report has (there the classes of a
 * cloud kind are cloud, so a class model compares with a one-channel model on the same fields).
 */
export type ClassScores = Pick<ClassAgreement, 'classes' | 'classConfusion' | 'classAccuracy' | 'meanClassIou'>;

export interface SceneReport extends MaskAgreement, Partial<ClassScores> {
  width: number;
  height: number;
  /** null: a class model's scene whose truth was read through a label map alone. */
  truthEncoding: TruthEncoding | null;
  /** Class models: the truth code -> class name map applied. */
  labelMap?: Record<string, string>;
  scaling: { source: ScalingSource; scale: number[]; offset: number[] };
  inferMs: number;
}

export interface OverallReport extends MaskAgreement, Partial<ClassScores> {
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
  /** Class models: the classes counted as cloud in the cloud-vs-not fields. */
  cloudClasses?: string[];
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
  // A class model takes its most probable class: it has no threshold to check, nor to sweep.
  if (model.card.classes && settings.threshold !== undefined) throw new CloudsegError('CONFIG_INVALID', `${model.card.name} is a class model (most probable class): it has no threshold to set`);
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
  const legend = cardLegend(card);
  if (legend.kind === 'classes') return evaluateClassModel(tuned, legend, scenes, options);
  // Silently scoring cloud vs not would hide that the map was never used.
  if (options.labelMap) throw new CloudsegError('CONFIG_INVALID', `--label-map is for class models; ${card.name}'s card lists no classes (its truth is read by truthEncoding)`);
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
    const { truth, truthEncoding } = loaded.scene;
    const started = performance.now();
    const segmentation = await segmentScene(tuned, scene, loaded.scene, truth.length, options);
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
    if (plotsDir && options.plots !== false) await writePlot(plotsDir, scene.name, segmentation, card.bands, truth, segmentation.mask);
  }
  const sceneReports = Object.values(report.scenes);
  report.overall = {
    ...agreementFromConfusion(pooled, pooledExcluded),
    scenes: sceneReports.length,
    pixels: pooled.truePositive + pooled.falsePositive + pooled.falseNegative + pooled.trueNegative,
    meanIou: sceneReports.length === 0 ? 0 : sceneReports.reduce((sum, s) => sum + s.iou, 0) / sceneReports.length,
  };
  await writeReport(report, options.outDir);
  return report;
}

/**
 * A class model: the truth's codes mapped onto the card's classes (the --label-map, else the
 * scene's, else the one its encoding implies), an N x N confusion per scene and pooled, and the
 * cloud-vs-not numbers folded from it.
 */
async function evaluateClassModel(model: SegmentationModel, legend: MaskLegend, scenes: EvalScene[], options: EvaluateOptions): Promise<EvaluationReport> {
  const { card } = model;
  // A wrong class name in --label-map fails before any inference.
  const globalMap = options.labelMap ? resolveLabelMap(options.labelMap, legend, '--label-map') : null;
  const plotsDir = options.outDir && options.plots !== false ? join(options.outDir, PLOTS_DIR) : null;
  if (plotsDir) await mkdir(plotsDir, { recursive: true });
  const report: EvaluationReport = {
    schema: EVAL_SCHEMA_ID,
    model: model.identity,
    threshold: card.threshold,
    tile: card.tile,
    preset: options.preset ?? null,
    cloudClasses: legend.classes.filter((c) => CLOUD_KINDS.includes(c.kind)).map((c) => c.name),
    overall: undefined as unknown as OverallReport,
    scenes: {},
    skipped: {},
  };
  const pooled = emptyClassConfusion(legend);
  let pooledExcluded = 0;
  for (const scene of scenes) {
    const loaded = await loadRawScene(scene, card.bands);
    if ('skipped' in loaded) {
      report.skipped[scene.name] = loaded.skipped;
      options.logger?.info({ scene: scene.name, reason: loaded.skipped }, 'scene skipped');
      continue;
    }
    const raw = loaded.scene;
    const { map, truthEncoding } = sceneLabelMap(scene, raw, legend, globalMap);
    // Mapped before inference: a code the map misses fails the scene without spending the model's time.
    const { truth } = applyLabelMap(raw.truthValues, map, raw.truthNodata, `scene ${scene.name} (${raw.truthWhere})`);
    const started = performance.now();
    const segmentation = await segmentScene(model, scene, raw, truth.length, options);
    const { confusion, excludedPixels } = classConfusion(segmentation.mask, truth, legend);
    poolClassConfusion(pooled, confusion);
    pooledExcluded += excludedPixels;
    const { classes, classConfusion: matrix, classAccuracy, meanClassIou } = classAgreement(confusion, legend, excludedPixels);
    const cloud = cloudAgreementFromClasses(confusion, legend, excludedPixels);
    report.scenes[scene.name] = {
      ...cloud,
      classes,
      classConfusion: matrix,
      classAccuracy,
      meanClassIou,
      width: segmentation.width,
      height: segmentation.height,
      truthEncoding,
      labelMap: describeLabelMap(map, legend),
      scaling: { source: segmentation.scalingSource, ...segmentation.scaling },
      inferMs: Math.round(performance.now() - started),
    };
    options.logger?.info({ scene: scene.name, meanClassIou, classAccuracy, cloudIou: cloud.iou, excludedPixels }, 'scene evaluated');
    if (plotsDir) {
      // The plot stays cloud vs not: the classes of a cloud kind against the rest.
      const isCloud = new Uint8Array(256);
      for (const c of legend.classes) if (CLOUD_KINDS.includes(c.kind)) isCloud[c.value] = 1;
      const predicted = segmentation.mask.map((v) => (v === legend.nodata ? MASK_VALUES.nodata : isCloud[v] ? MASK_VALUES.cloud : MASK_VALUES.clear));
      const truthCloud = truth.map((v) => (v === TRUTH_NODATA ? MASK_VALUES.nodata : isCloud[v]!));
      await writePlot(plotsDir, scene.name, segmentation, card.bands, truthCloud, predicted);
    }
  }
  const sceneReports = Object.values(report.scenes);
  const overallClasses = classAgreement(pooled, legend, pooledExcluded);
  const overallCloud = cloudAgreementFromClasses(pooled, legend, pooledExcluded);
  report.overall = {
    ...overallCloud,
    classes: overallClasses.classes,
    classConfusion: overallClasses.classConfusion,
    classAccuracy: overallClasses.classAccuracy,
    meanClassIou: overallClasses.meanClassIou,
    scenes: sceneReports.length,
    pixels: overallClasses.comparedPixels,
    meanIou: sceneReports.length === 0 ? 0 : sceneReports.reduce((sum, s) => sum + s.iou, 0) / sceneReports.length,
  };
  await writeReport(report, options.outDir);
  return report;
}

/** The label map of a scene, resolved against the card: the run's, the scene's, or its encoding's. */
function sceneLabelMap(scene: EvalScene, raw: RawScene, legend: MaskLegend, globalMap: ResolvedLabelMap | null): { map: ResolvedLabelMap; truthEncoding: TruthEncoding | null } {
  if (globalMap) return { map: globalMap, truthEncoding: scene.truthEncoding ?? null };
  if (scene.labelMap) return { map: resolveLabelMap(scene.labelMap, legend, `scene ${scene.name} labelMap`), truthEncoding: scene.truthEncoding ?? null };
  const known = raw.truthNodata === null ? raw.truthValues : (Array.prototype.filter.call(raw.truthValues, (v: number) => v !== raw.truthNodata) as number[]);
  const where = `scene ${scene.name} (${raw.truthWhere})`;
  let truthEncoding: TruthEncoding;
  try {
    truthEncoding = scene.truthEncoding ?? detectTruthEncoding(known, where);
  } catch (err) {
    // A class model need not know the encoding: a label map says what each code is.
    throw new CloudsegError('TRUTH_INVALID', `${(err as Error).message}, or map its codes onto the model's classes (--label-map or the scene's labelMap)`, { cause: err });
  }
  return { map: resolveLabelMap(defaultLabelMap(truthEncoding, legend, where), legend, where), truthEncoding };
}

/** The scene's image through the worker's per-image path; errors name the scene. */
async function segmentScene(
  model: SegmentationModel,
  scene: EvalScene,
  loaded: { bytes: Uint8Array; fileName: string; width: number; height: number },
  truthPixels: number,
  options: EvaluateOptions,
) {
  let segmentation;
  try {
    segmentation = await segmentImage(
      model,
      {
        bytes: loaded.bytes,
        name: loaded.fileName,
        objectMetadata: scene.preset ? { [SCALING_METADATA_KEYS.preset]: scene.preset } : null,
        scalingOverride: options.preset ? { preset: options.preset } : null,
      },
      { maxPixels: options.maxPixels ?? Number.MAX_SAFE_INTEGER, ...(options.batchTiles ? { batchTiles: options.batchTiles } : {}) },
    );
  } catch (err) {
    const code = isCloudsegError(err) ? err.code : 'INTERNAL';
    throw new CloudsegError(code, `scene ${scene.name}: ${(err as Error).message}`, { cause: err });
  }
  if (segmentation.mask.length !== truthPixels) {
    throw new CloudsegError('TRUTH_INVALID', `scene ${scene.name}: image is ${segmentation.width}x${segmentation.height} but its truth is ${loaded.width}x${loaded.height}`);
  }
  return segmentation;
}

async function writePlot(
  plotsDir: string,
  name: string,
  segmentation: Awaited<ReturnType<typeof segmentImage>>,
  bands: readonly string[],
  truth: Uint8Array,
  predicted: Uint8Array,
): Promise<void> {
  const png = await renderEvalPlot({ raster: segmentation.raster, scaling: segmentation.scaling, rgbBands: rgbBandIndexes(bands), truth, predicted });
  await writeFile(join(plotsDir, `${name}.png`), png);
}

async function writeReport(report: EvaluationReport, outDir: string | undefined): Promise<void> {
  if (!outDir) return;
  await mkdir(outDir, { recursive: true });
  await Promise.all([
    writeFile(join(outDir, METRICS_FILE), `${JSON.stringify(report, null, 2)}\n`),
    writeFile(join(outDir, CONFUSION_FILE), formatConfusionTable(report)),
  ]);
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
  const classes = report.overall.classes && report.overall.classConfusion ? report.overall : null;
  const lines = [
    `model ${report.model.name} ${report.model.version} (md5 ${report.model.md5}), ${classes ? `${classes.classes!.length} classes (most probable)` : `threshold ${report.threshold}`}, tile ${report.tile.size}/${report.tile.overlap}`,
    ...(report.cloudClasses ? [`cloud vs not: ${report.cloudClasses.join(' + ')} against the other classes`] : []),
    'TP = cloud in both, FP = predicted cloud on clear truth, FN = missed cloud, TN = clear in both (pixels)',
    'nodata = pixels left out of every count and ratio: nodata in the prediction or in the truth',
    '',
    line(rows[0]!),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    ...Object.entries(report.skipped).map(([name, reason]) => `skipped ${name}: ${reason}`),
    ...(classes
      ? [
          '',
          formatClassReport(
            { classes: classes.classes!, classConfusion: classes.classConfusion!, classAccuracy: classes.classAccuracy ?? null, meanClassIou: classes.meanClassIou ?? null },
            Object.entries(report.scenes).map(([name, s]) => ({ name, classes: s.classes ?? [], meanClassIou: s.meanClassIou ?? null, labelMap: s.labelMap ?? {} })),
          ).trimEnd(),
        ]
      : []),
  ];
  return `${lines.join('\n')}\n`;
}

const isMaskNodata = (v: number) => v === MASK_VALUES.nodata;

function rgbBandIndexes(bands: readonly string[]): [number, number, number] {
  const at = (name: string, fallback: number) => (bands.includes(name) ? bands.indexOf(name) : Math.min(fallback, bands.length - 1));
  return [at('red', 2), at('green', 1), at('blue', 0)];
}
