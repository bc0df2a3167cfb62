// Renders a finished mask for the status page: the input in true colour with the mask tinted over it
// (the classes in the mask's own palette colours), small enough for a browser grid.
import { decode as decodePng } from 'fast-png';
import sharp from 'sharp';
import type { ClassFractionRecord } from '../../../shared/contracts/result-event.js';
import { decodeImage } from '../../../shared/imaging/decode.js';
import { encodeOverlayPng } from '../../../shared/imaging/encode.js';
import { CLASS_MASK_NODATA, CLOUD_LEGEND, KIND_COLOURS, type MaskLegend } from '../../../shared/imaging/mask-values.js';

export interface QuickLookInput {
  /** The mask PNG as the worker wrote it (grey cloud mask or palette class mask). */
  maskPng: Uint8Array;
  /** The input image's bytes; null when there is no single image (a scene) or it is gone. */
  inputBytes: Uint8Array | null;
  inputName: string;
  /** The event's classes (names and kinds of the palette's values); null for a cloud mask. */
  classes: ClassFractionRecord[] | null;
}

export interface QuickLookOptions {
  /** Longest side of the PNG served. @default 480 */
  maxSide?: number;
  /** Inputs with more pixels are not decoded; the mask alone is shown. @default 64 Mpx */
  maxInputPixels?: number;
}

export interface QuickLook {
  png: Buffer;
  /** Why the mask is shown alone instead of over the input; null when it lies over the input. */
  maskOnlyBecause: string | null;
}

/**
 * A PNG quick-look: the overlay when the input decodes and matches the mask, else the mask itself
 * in its colours (a scene, a deleted input, an input of another size). Throws only for a bad mask.
 */
export async function renderQuickLook(input: QuickLookInput, options: QuickLookOptions = {}): Promise<QuickLook> {
  const maxSide = options.maxSide ?? 480;
  const mask = decodePng(input.maskPng);
  if ((mask.channels ?? 1) !== 1 || (mask.depth ?? 8) !== 8) throw new Error(`${input.inputName}: mask PNG is not one 8-bit channel`);
  const maskBytes = Uint8Array.from(mask.data);
  const legend = mask.palette ? paletteLegend(mask.palette, input.classes) : CLOUD_LEGEND;
  let png: Buffer | null = null;
  let maskOnlyBecause: string | null = 'no single input image';
  if (input.inputBytes) {
    try {
      const raster = await decodeImage(input.inputBytes, { name: input.inputName, maxPixels: options.maxInputPixels ?? 64_000_000 });
      // The stretch is per band and by percentiles, so the file's own scale/offset are enough here.
      const scaling = raster.fileScaling ?? { scale: [1], offset: [0] };
      png = await encodeOverlayPng(raster, scaling, maskBytes, { legend });
      maskOnlyBecause = null;
    } catch (err) {
      // An input that changed or does not decode still has a mask worth showing; the caller logs why.
      maskOnlyBecause = err instanceof Error ? err.message : String(err);
    }
  }
  png ??= await maskColours(maskBytes, mask.width, mask.height, legend);
  const small = await sharp(png).resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true }).png().toBuffer();
  return { png: small, maskOnlyBecause };
}

/** A class mask's legend from its own palette, named and kinded by the event's classes. */
function paletteLegend(palette: ReadonlyArray<readonly number[]>, classes: ClassFractionRecord[] | null): MaskLegend {
  const rgbOf = (value: number): [number, number, number] => {
    const [r = 0, g = 0, b = 0] = palette[value] ?? [];
    return [r, g, b];
  };
  const known = classes ?? [];
  return {
    kind: 'classes',
    nodata: CLASS_MASK_NODATA,
    classes: known.map((c) => ({ value: c.value, name: c.name, kind: c.kind, rgb: rgbOf(c.value) })),
  };
}

async function maskColours(mask: Uint8Array, width: number, height: number, legend: MaskLegend): Promise<Buffer> {
  const rgb = new Uint8Array(width * height * 3);
  const colours = new Map(legend.classes.map((c) => [c.value, c.rgb]));
  for (let p = 0; p < mask.length; p++) {
    const value = mask[p]!;
    const colour = value === legend.nodata ? KIND_COLOURS.nodata : (colours.get(value) ?? (legend.kind === 'cloud' ? KIND_COLOURS.cloud : KIND_COLOURS.other));
    rgb.set(colour, p * 3);
  }
  return sharp(rgb, { raw: { width, height, channels: 3 } }).png().toBuffer();
}
