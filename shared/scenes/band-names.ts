// Band names across the vocabularies a scene arrives in: the model card's names (blue .. swir2),
// STAC common names (eo:common_name: nir08, swir16, swir22, ...), Landsat band numbers by sensor
// and Sentinel-2 MSI band names (B02, B8A).

/**
 * The STAC common names that can stand for a model card band, best first. The cards name the
 * Landsat-era bands; STAC names SWIR by wavelength, and calls Landsat OLI's B5 (and Sentinel-2's
 * B8A) `nir08` while Sentinel-2's broad B08 is `nir` — the broad band is preferred when both exist.
 */
const CARD_BAND_COMMON_NAMES: Readonly<Record<string, readonly string[]>> = {
  coastal: ['coastal'],
  blue: ['blue'],
  green: ['green'],
  red: ['red'],
  nir: ['nir', 'nir08'],
  swir1: ['swir16'],
  swir2: ['swir22'],
};

/** Common names acceptable for a card band; a name the table does not know stands for itself. */
export function commonNamesFor(cardBand: string): readonly string[] {
  const key = cardBand.trim().toLowerCase();
  return Object.hasOwn(CARD_BAND_COMMON_NAMES, key) ? CARD_BAND_COMMON_NAMES[key]! : [key];
}

/** The Landsat instruments whose band numbering differs (USGS Collection 2 product guides). */
export const LANDSAT_SENSORS = ['oli', 'etm-tm', 'mss-1-3', 'mss-4-5'] as const;
export type LandsatSensor = (typeof LANDSAT_SENSORS)[number];

// Band number -> STAC common name, reflective bands only (thermal bands are no reflectance).
const LANDSAT_BAND_COMMON_NAMES: Record<LandsatSensor, Readonly<Record<number, string>>> = {
  // Landsat 8/9 OLI: B1 coastal aerosol, B8 pan, B9 cirrus
  oli: { 1: 'coastal', 2: 'blue', 3: 'green', 4: 'red', 5: 'nir08', 6: 'swir16', 7: 'swir22', 9: 'cirrus' },
  // Landsat 4/5 TM and 7 ETM+: B6 is thermal, B8 (ETM+) pan
  'etm-tm': { 1: 'blue', 2: 'green', 3: 'red', 4: 'nir08', 5: 'swir16', 7: 'swir22' },
  // MSS numbers its bands 4..7 on Landsat 1-3 and 1..4 on Landsat 4/5; it has no blue and no SWIR
  'mss-1-3': { 4: 'green', 5: 'red', 6: 'nir08', 7: 'nir09' },
  'mss-4-5': { 1: 'green', 2: 'red', 3: 'nir08', 4: 'nir09' },
};

/** Reflective band numbers and their common names for a sensor, in band order. */
export function landsatBands(sensor: LandsatSensor): Array<{ band: number; commonName: string }> {
  return Object.entries(LANDSAT_BAND_COMMON_NAMES[sensor])
    .map(([band, commonName]) => ({ band: Number(band), commonName }))
    .sort((a, b) => a.band - b.band);
}

/**
 * Which numbering a product uses, from the MTL's SPACECRAFT_ID (LANDSAT_9) and SENSOR_ID
 * (OLI_TIRS, OLI, ETM, TM, MSS); null when neither names a Landsat instrument.
 */
export function landsatSensor(spacecraftId: string, sensorId: string): LandsatSensor | null {
  const sensor = sensorId.trim().toUpperCase();
  const mission = /^LANDSAT_(\d)$/.exec(spacecraftId.trim().toUpperCase());
  const number = mission ? Number(mission[1]) : null;
  if (sensor.startsWith('OLI')) return 'oli';
  if (sensor === 'ETM' || sensor === 'ETM+' || sensor === 'TM') return 'etm-tm';
  if (sensor === 'MSS') return number !== null && number <= 3 ? 'mss-1-3' : 'mss-4-5';
  if (sensor === '' && number !== null) {
    if (number >= 8) return 'oli';
    if (number >= 4) return 'etm-tm';
  }
  return null;
}

/** A Sentinel-2 MSI band as ESA names it (B02, B8A), with its bandId in the product XML. */
export interface Sentinel2Band {
  band: string;
  /** The index ESA's product XML keys per-band values by (RADIO_ADD_OFFSET band_id, Spectral_Information bandId). */
  bandId: number;
  commonName: string;
  /** Native ground sampling distance in metres. */
  resolutionM: number;
}

// Sentinel-2 MSI bands (ESA Sentinel-2 User Handbook; common names after the STAC eo extension).
const SENTINEL2_BANDS: readonly Sentinel2Band[] = [
  { band: 'B01', bandId: 0, commonName: 'coastal', resolutionM: 60 },
  { band: 'B02', bandId: 1, commonName: 'blue', resolutionM: 10 },
  { band: 'B03', bandId: 2, commonName: 'green', resolutionM: 10 },
  { band: 'B04', bandId: 3, commonName: 'red', resolutionM: 10 },
  { band: 'B05', bandId: 4, commonName: 'rededge071', resolutionM: 20 },
  { band: 'B06', bandId: 5, commonName: 'rededge075', resolutionM: 20 },
  { band: 'B07', bandId: 6, commonName: 'rededge078', resolutionM: 20 },
  { band: 'B08', bandId: 7, commonName: 'nir', resolutionM: 10 },
  { band: 'B8A', bandId: 8, commonName: 'nir08', resolutionM: 20 },
  { band: 'B09', bandId: 9, commonName: 'nir09', resolutionM: 60 },
  { band: 'B10', bandId: 10, commonName: 'cirrus', resolutionM: 60 },
  { band: 'B11', bandId: 11, commonName: 'swir16', resolutionM: 20 },
  { band: 'B12', bandId: 12, commonName: 'swir22', resolutionM: 20 },
];

/** The MSI bands in bandId order. */
export function sentinel2Bands(): readonly Sentinel2Band[] {
  return SENTINEL2_BANDS;
}

/** "B2", "b02", "B8A" -> the band ("B02", "B8A"); null for anything that names no MSI band. */
export function sentinel2Band(name: string): Sentinel2Band | null {
  const m = /^B(\d{1,2}|8A)$/i.exec(name.trim());
  if (!m) return null;
  const key = m[1]!.toUpperCase() === '8A' ? 'B8A' : `B${m[1]!.padStart(2, '0')}`;
  return SENTINEL2_BANDS.find((b) => b.band === key) ?? null;
}
