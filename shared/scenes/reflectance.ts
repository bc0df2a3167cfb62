// The conversions from stored numbers to reflectance that products state, as linear maps
// (reflectance = value * scale + offset) the band stack applies window by window.
import { CloudsegError } from '../errors.js';

export interface LinearScaling {
  scale: number;
  offset: number;
}

/**
 * Landsat Level-1 top-of-atmosphere reflectance with the sun term folded in:
 * (MULT * DN + ADD) / sin(elevation) = DN * (MULT / sin) + ADD / sin. USGS's MULT/ADD alone give
 * reflectance "without correction for the solar angle" (Landsat 8-9 Data Users Handbook, 5.1),
 * which is darker than the truth by sin(elevation).
 */
export function landsatToaScaling(mult: number, add: number, sunElevationDeg: number): LinearScaling {
  if (!Number.isFinite(mult) || mult === 0) throw invalid(`reflectance multiplier ${mult} is not a non-zero number`);
  if (!Number.isFinite(add)) throw invalid(`reflectance additive term ${add} is not a number`);
  if (!Number.isFinite(sunElevationDeg) || sunElevationDeg <= 0 || sunElevationDeg > 90) {
    // A night scene (negative elevation) has no reflectance to speak of; dividing would flip its sign.
    throw invalid(`sun elevation ${sunElevationDeg} degrees is outside (0, 90]: no top-of-atmosphere reflectance`);
  }
  const sinElevation = Math.sin((sunElevationDeg * Math.PI) / 180);
  return { scale: mult / sinElevation, offset: add / sinElevation };
}

/** ESA's quantification value of Sentinel-2 L1C (QUANTIFICATION_VALUE) and L2A (BOA_QUANTIFICATION_VALUE). */
export const SENTINEL2_QUANTIFICATION = 10000;
/** RADIO_ADD_OFFSET (L1C) and BOA_ADD_OFFSET (L2A) of every band from processing baseline 04.00 on. */
export const SENTINEL2_ADD_OFFSET = -1000;
/** The first baseline whose products carry the offset (in production from 25 January 2022). */
export const SENTINEL2_OFFSET_BASELINE = '04.00';

/** reflectance = (DN + addOffset) / quantification, as a linear map. */
export function sentinel2Scaling(addOffset: number, quantification: number = SENTINEL2_QUANTIFICATION): LinearScaling {
  if (!Number.isFinite(addOffset)) throw invalid(`Sentinel-2 add offset ${addOffset} is not a number`);
  if (!Number.isFinite(quantification) || quantification <= 0) {
    throw invalid(`Sentinel-2 quantification value ${quantification} is not a positive number`);
  }
  return { scale: 1 / quantification, offset: addOffset / quantification };
}

/** "04.00", "4.0", "05.10" -> [major, minor]; null for anything else. */
export function parseProcessingBaseline(text: string): [number, number] | null {
  const m = /^(\d{1,2})\.(\d{1,2})$/.exec(text.trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Whether a product of this baseline stores DN - ADD_OFFSET, i.e. needs the -1000 back. */
export function sentinel2BaselineHasOffset(baseline: [number, number]): boolean {
  return baseline[0] >= 4;
}

/** The add offset a bare Sentinel-2 product of this baseline needs: -1000 from 04.00 on, 0 before. */
export function sentinel2AddOffset(baseline: [number, number]): number {
  return sentinel2BaselineHasOffset(baseline) ? SENTINEL2_ADD_OFFSET : 0;
}

function invalid(message: string): CloudsegError {
  return new CloudsegError('SCENE_INVALID', message);
}
