// The values of a cloud mask (PNG and GeoTIFF alike): what each byte means, one place for all.

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
