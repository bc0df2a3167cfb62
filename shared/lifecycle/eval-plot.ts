// The evaluation's picture of one scene, four panels side by side: the image (true colour),
// the truth, the prediction, and the errors (agreement grey/white, false positives red, false
// negatives blue, nodata left out of the scores mid grey), composited with sharp into one PNG.
import sharp, { type KernelEnum, type Sharp } from 'sharp';
import { encodeOverlayPng } from '../imaging/encode.js';
import { MASK_VALUES } from '../imaging/mask-values.js';
import type { Raster, Scaling } from '../imaging/types.js';

/** Colours of the error panel (RGB). */
export const ERROR_COLOURS = {
  truePositive: [255, 255, 255],
  trueNegative: [40, 40, 40],
  falsePositive: [230, 30, 30],
  falseNegative: [30, 90, 240],
  /** Nodata in the truth or the prediction: scored as neither (see compareMasks). */
  excluded: [128, 128, 128],
} as const;

export const PLOT_PANELS = ['image', 'truth', 'prediction', 'errors'] as const;

const GAP_PX = 4;
// Large scenes are shown smaller: a plot is for looking at, not for measuring.
const MAX_PANEL_PX = 512;

export interface EvalPlotInput {
  raster: Raster;
  scaling: Scaling;
  /** Indexes of the red, green and blue bands in the raster. */
  rgbBands: [number, number, number];
  /** 1 (or 255) = cloud, MASK_VALUES.nodata = no data (both masks), row-major, width x height. */
  truth: Uint8Array;
  predicted: Uint8Array;
}

export async function renderEvalPlot(input: EvalPlotInput): Promise<Buffer> {
  const { raster, truth, predicted } = input;
  const { width, height } = raster;
  const pixels = width * height;
  if (truth.length !== pixels || predicted.length !== pixels) {
    throw new RangeError(`plot masks must have ${pixels} pixels, got truth ${truth.length}, prediction ${predicted.length}`);
  }
  const quickLook = await encodeOverlayPng(raster, input.scaling, new Uint8Array(pixels), { rgbBands: input.rgbBands });
  const truthRgb = new Uint8Array(pixels * 3);
  const predictedRgb = new Uint8Array(pixels * 3);
  const errorRgb = new Uint8Array(pixels * 3);
  for (let p = 0; p < pixels; p++) {
    const tNodata = truth[p] === MASK_VALUES.nodata;
    const yNodata = predicted[p] === MASK_VALUES.nodata;
    if (tNodata || yNodata) {
      truthRgb.set(tNodata ? ERROR_COLOURS.excluded : truth[p] !== 0 ? [255, 255, 255] : [0, 0, 0], p * 3);
      predictedRgb.set(yNodata ? ERROR_COLOURS.excluded : predicted[p] !== 0 ? [255, 255, 255] : [0, 0, 0], p * 3);
      errorRgb.set(ERROR_COLOURS.excluded, p * 3);
      continue;
    }
    const t = truth[p] !== 0;
    const y = predicted[p] !== 0;
    truthRgb.fill(t ? 255 : 0, p * 3, p * 3 + 3);
    predictedRgb.fill(y ? 255 : 0, p * 3, p * 3 + 3);
    const colour = t && y ? ERROR_COLOURS.truePositive : y ? ERROR_COLOURS.falsePositive : t ? ERROR_COLOURS.falseNegative : ERROR_COLOURS.trueNegative;
    errorRgb.set(colour, p * 3);
  }
  const scale = Math.min(1, MAX_PANEL_PX / Math.max(width, height));
  const panelWidth = Math.max(1, Math.round(width * scale));
  const panelHeight = Math.max(1, Math.round(height * scale));
  const panel = (image: Sharp, kernel: keyof KernelEnum) => image.resize(panelWidth, panelHeight, { kernel }).png().toBuffer();
  const raw = (rgb: Uint8Array) => sharp(rgb, { raw: { width, height, channels: 3 } });
  const panels = await Promise.all([
    panel(sharp(quickLook), 'lanczos3'),
    panel(raw(truthRgb), 'nearest'),
    panel(raw(predictedRgb), 'nearest'),
    panel(raw(errorRgb), 'nearest'),
  ]);
  return sharp({
    create: { width: panels.length * panelWidth + (panels.length - 1) * GAP_PX, height: panelHeight, channels: 3, background: { r: 255, g: 255, b: 255 } },
  })
    .composite(panels.map((png: Buffer, i: number) => ({ input: png, left: i * (panelWidth + GAP_PX), top: 0 })))
    .png()
    .toBuffer();
}
