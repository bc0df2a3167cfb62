// A scene made of several objects: a descriptor (a STAC Item, a Landsat Collection 2 MTL, a
// Sentinel-2 SAFE product's MTD_MSIL1C.xml / MTD_MSIL2A.xml) naming one
// object per band the model reads, with each band's conversion from stored numbers to reflectance,
// taken from the product's own metadata. The descriptor is parsed without touching the bands;
// reading them window by window is the band stack's job.
import type { ScalingPresetTable } from '../imaging/scaling.js';
import type { Georeference } from '../imaging/types.js';

/** Where an object lives. Hrefs in a descriptor are resolved against the descriptor's own location. */
export type ObjectLocation = { kind: 'gcs'; bucket: string; name: string } | { kind: 'file'; path: string };

export const SCENE_KINDS = ['stac-item', 'landsat-mtl', 'sentinel2-safe'] as const;
export type SceneKind = (typeof SCENE_KINDS)[number];

export interface SceneBand {
  /** The model card's band name (blue, green, red, nir, swir1, swir2). */
  band: string;
  /** As written in the descriptor (messages, the result event). */
  href: string;
  /** The object holding the band: the href resolved against the descriptor. */
  location: ObjectLocation;
  /** Which sample of that object holds the band (0 for the usual single-band asset). */
  sample: number;
  /** Reflectance = stored value * scale + offset (a sun-elevation term already folded in). */
  scale: number;
  offset: number;
  /** The stored value meaning "no data" (Landsat and Sentinel-2 fill is 0), or null. */
  noData: number | null;
  /**
   * Every stored value to treat as no data, when there is more than one: a SAFE product's
   * Special_Values (NODATA 0 and SATURATED 65535). Includes `noData`; absent means just `noData`.
   */
  noDataValues?: readonly number[];
}

export const REFLECTANCE_CONVERSIONS = [
  // (REFLECTANCE_MULT * DN + REFLECTANCE_ADD) / sin(sun elevation): Landsat Level-1 TOA reflectance
  'landsat-l1-toa',
  // DN * scale + offset as the product states it (STAC raster:bands, Sentinel-2 BOA/RADIO_ADD_OFFSET)
  'linear',
  // nothing in the product said: the model card's preset for bare files
  'preset',
] as const;
export type ReflectanceConversion = (typeof REFLECTANCE_CONVERSIONS)[number];

export const REFLECTANCE_SOURCES = ['mtl', 'stac-raster-bands', 'stac-processing-baseline', 'safe-product-xml', 'preset'] as const;
export type ReflectanceSource = (typeof REFLECTANCE_SOURCES)[number];

/** Which conversion to reflectance was applied and where its numbers came from. */
export interface ReflectanceRecord {
  conversion: ReflectanceConversion;
  source: ReflectanceSource;
  /**
   * Degrees, when the conversion divides by sin(sun elevation), or when the product states it
   * beside a conversion that needs none (a SAFE granule's Mean_Sun_Angle: 90 - zenith).
   */
  sunElevation: number | null;
  /** Sentinel-2 processing baseline (e.g. "05.10"), when the product gives one. */
  processingBaseline: string | null;
  /** The preset used, when conversion is 'preset'. */
  preset: string | null;
  /** Per model band, in the card's order: what is applied to the stored values. */
  scale: number[];
  offset: number[];
}

export interface SceneDescription {
  kind: SceneKind;
  /** The STAC item id or the Landsat product id (LANDSAT_PRODUCT_ID). */
  id: string;
  /** One per model band, in the card's order. */
  bands: SceneBand[];
  reflectance: ReflectanceRecord;
  /**
   * Where the product's pixels lie as its metadata states it (a SAFE granule's Tile_Geocoding),
   * for band files that carry no georeference of their own (a JP2 without GeoJP2/GMLJP2 box).
   */
  grid?: SceneGrid;
}

/** A product's tile grid at each resolution it delivers, finest first. */
export interface SceneGrid {
  /** Where it was read, for messages: the granule's MTD_TL.xml. */
  source: string;
  /** As the product writes it ("EPSG:32634"). */
  crs: string;
  epsg: number;
  resolutions: SceneGridResolution[];
}

export interface SceneGridResolution {
  /** Metres per pixel (10, 20, 60). */
  resolutionM: number;
  width: number;
  height: number;
  /** The GeoTIFF placement a band file of this size lies on (PixelIsArea, upper-left corner). */
  georef: Georeference;
}

export interface DescribeSceneArgs {
  /** The descriptor's own location: relative hrefs (and MTL band file names) resolve against it. */
  location: ObjectLocation;
  bytes: Uint8Array;
  /** The model card's band names, in order. */
  cardBands: readonly string[];
  /** The card's presets and default: what a descriptor that says nothing about scaling gets. */
  presets: ScalingPresetTable;
  defaultPreset: string;
  /**
   * The bytes of the product's MTL when the descriptor is a Landsat Level-1 STAC item that names one
   * (USGS's own items state no reflectance scaling: it lives in the MTL). See companionMtlOf.
   */
  companionMtl?: Uint8Array;
  /**
   * The bytes of a SAFE product's granule metadata (GRANULE/<granule>/MTD_TL.xml): sun angles and
   * the tile's geocoding live there, not in the product XML. See granuleMetadataOf.
   */
  granuleMetadata?: Uint8Array;
}
