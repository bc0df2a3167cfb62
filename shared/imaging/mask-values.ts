// The values of a mask (PNG and GeoTIFF alike): what each byte means, one place for all. A model
// with one cloud channel writes the cloud mask (0 clear, 255 cloud, 128 nodata); a model whose card
// lists classes writes class values (the card's), nodata 255. A MaskLegend says which.

export const MASK_VALUES = {
  clear: 0,
  cloud: 255,
  /** No data in the input (every band nodata/NaN): neither clear nor cloud; GDAL_NODATA of the GeoTIFF mask. */
  nodata: 128,
} as const;

/** Whether a mask value is cloud (nodata is not). */
export function isMaskCloud(value: number): boolean {
  return value === MASK_VALUES.cloud;
}

/** The MASK_VALUES byte a mask byte stands for: 0 clear, nodata nodata, anything else cloud. */
export function toMaskValue(value: number): number {
  return value === MASK_VALUES.clear || value === MASK_VALUES.nodata ? value : MASK_VALUES.cloud;
}

/**
 * What a class means, whatever the model calls it: cloudFraction sums cloud + thin-cloud and
 * shadowFraction sums shadow, so both mean the same for every model.
 */
export const CLASS_KINDS = ['clear', 'cloud', 'thin-cloud', 'shadow', 'snow', 'water', 'nodata', 'other'] as const;
export type ClassKind = (typeof CLASS_KINDS)[number];

/** The kinds counted in cloudFraction. */
export const CLOUD_KINDS: readonly ClassKind[] = ['cloud', 'thin-cloud'];

/** The nodata value of a class mask: 255, so class values 0..254 are free for the card. */
export const CLASS_MASK_NODATA = 255;

export interface LegendClass {
  /** The mask byte of the class. */
  value: number;
  name: string;
  kind: ClassKind;
  /** Display colour, [r, g, b] 0..255 (palette PNG, COG colour table, overlays). */
  rgb: readonly [number, number, number];
}

/** How to read a mask's bytes. */
export interface MaskLegend {
  /** 'cloud': MASK_VALUES (0 / 255 / 128, today's contract); 'classes': the card's class values, nodata 255. */
  kind: 'cloud' | 'classes';
  nodata: number;
  classes: readonly LegendClass[];
}

/** The legend of every one-channel model without classes: the contract masks have always had. */
export const CLOUD_LEGEND: MaskLegend = Object.freeze({
  kind: 'cloud',
  nodata: MASK_VALUES.nodata,
  classes: Object.freeze([
    Object.freeze({ value: MASK_VALUES.clear, name: 'clear', kind: 'clear', rgb: [0, 0, 0] as const }),
    Object.freeze({ value: MASK_VALUES.cloud, name: 'cloud', kind: 'cloud', rgb: [255, 255, 255] as const }),
  ]),
});

/** The colour a kind gets when the card names none (distinct, and readable over imagery). */
export const KIND_COLOURS: Readonly<Record<ClassKind, readonly [number, number, number]>> = {
  clear: [34, 139, 34],
  cloud: [255, 255, 255],
  'thin-cloud': [0, 191, 255],
  shadow: [105, 105, 105],
  snow: [255, 0, 255],
  water: [0, 0, 205],
  nodata: [0, 0, 0],
  other: [255, 165, 0],
};

/** The class a mask byte stands for (undefined for nodata and for bytes the legend does not name). */
export function legendClass(legend: MaskLegend, value: number): LegendClass | undefined {
  return legend.classes.find((c) => c.value === value);
}

/** The mask byte as the legend stores it: a cloud mask folds stray bytes onto MASK_VALUES, a class mask keeps them. */
export function normalizeMaskValue(legend: MaskLegend, value: number): number {
  return legend.kind === 'cloud' ? toMaskValue(value) : value;
}
