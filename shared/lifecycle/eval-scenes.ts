// The scenes an evaluation runs on: from a manifest (YAML/JSON) or from two folders, and how each
// becomes what the worker's per-image path takes (image bytes) plus the truth mask it is scored by.
import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CloudsegError } from '../errors.js';
import { decodeImage } from '../imaging/decode.js';
import { MASK_VALUES } from '../imaging/mask-values.js';
import { encodeRasterGeoTiff, stackBands } from '../imaging/stack.js';
import type { Raster } from '../imaging/types.js';
import { labelMapFromObject, parseLabelMapText, type LabelMapSpec } from './label-map.js';
import { detectTruthEncoding, TRUTH_ENCODINGS, truthCloudMask, type TruthEncoding } from './mask-encodings.js';
import { readNpz } from './npz.js';

const SceneSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" (it names output files)'),
    /** One multi-band GeoTIFF/PNG; bands in the model's order unless bandNames says otherwise. */
    image: z.string().min(1).optional(),
    /** One single-band file per band, by band name (e.g. blue: B02.tif). */
    bands: z.record(z.string().min(1), z.string().min(1)).optional(),
    /** A numpy .npz holding the image (H, W, C) and the mask (H, W[, 1]). */
    npz: z.string().min(1).optional(),
    imageKey: z.string().default('img'),
    maskKey: z.string().default('msk'),
    /** Names of the image's bands in file order (image, npz), so a model picks the ones it needs. */
    bandNames: z.array(z.string().min(1)).optional(),
    truth: z.string().min(1).optional(),
    truthEncoding: z.enum(TRUTH_ENCODINGS).optional(),
    /** The truth value meaning "no data" (left out of the scores). @default the truth file's GDAL_NODATA, if any */
    truthNodata: z.number().int().min(0).max(65535).optional(),
    /** A scaling preset of the model card, given to the per-image path as object metadata. */
    preset: z.string().min(1).optional(),
    /** Truth code -> class of a class model: `4:cloud,0:shadow,1-3:clear` or the same as a mapping (a cloud model reads truthEncoding). */
    labelMap: z.union([z.string().min(1), z.record(z.string(), z.union([z.string(), z.number()]))]).optional(),
  })
  .superRefine((s, ctx) => {
    const sources = [s.image, s.bands, s.npz].filter((v) => v !== undefined).length;
    if (sources !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of image, bands, npz' });
    if (s.npz === undefined && s.truth === undefined) ctx.addIssue({ code: 'custom', path: ['truth'], message: 'required (only an npz carries its own mask)' });
  });

const ManifestSchema = z.strictObject({
  /** Folder the scene paths are relative to (itself relative to the manifest). @default the manifest's folder */
  root: z.string().optional(),
  scenes: z.array(SceneSchema).min(1),
});

export type EvalSceneSpec = z.infer<typeof SceneSchema>;

/** A scene with every path made absolute and its label map parsed (checked against a card later). */
export type EvalScene = Omit<EvalSceneSpec, 'labelMap'> & { labelMap?: LabelMapSpec };

export async function readSceneManifest(path: string, options: { root?: string } = {}): Promise<EvalScene[]> {
  let raw: unknown;
  try {
    raw = parseYaml(await readFile(path, 'utf8'));
  } catch (err) {
    throw new CloudsegError('CONFIG_INVALID', `cannot read the scene manifest ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseSceneManifest(raw, resolve(path, '..'), path, options.root);
}

export function parseSceneManifest(raw: unknown, manifestDir: string, where = 'manifest', rootOverride?: string): EvalScene[] {
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CloudsegError('CONFIG_INVALID', `${where} invalid: ${problems.join('; ')}`);
  }
  const root = rootOverride !== undefined ? resolve(rootOverride) : resolve(manifestDir, parsed.data.root ?? '.');
  const names = new Set<string>();
  return parsed.data.scenes.map((scene) => {
    if (names.has(scene.name)) throw new CloudsegError('CONFIG_INVALID', `${where} invalid: scene name ${scene.name} appears twice`);
    names.add(scene.name);
    const at = (p: string) => resolve(root, p);
    const { labelMap, ...rest } = scene;
    const mapWhere = `${where} invalid: scenes.${scene.name}.labelMap`;
    return {
      ...rest,
      ...(labelMap !== undefined ? { labelMap: typeof labelMap === 'string' ? parseLabelMapText(labelMap, mapWhere) : labelMapFromObject(labelMap, mapWhere) } : {}),
      ...(scene.image ? { image: at(scene.image) } : {}),
      ...(scene.npz ? { npz: at(scene.npz) } : {}),
      ...(scene.truth ? { truth: at(scene.truth) } : {}),
      ...(scene.bands ? { bands: Object.fromEntries(Object.entries(scene.bands).map(([b, p]) => [b, at(p)])) } : {}),
    };
  });
}

const IMAGE_EXTENSIONS = ['.tif', '.tiff', '.png'];

/** `--images DIR --truth DIR`: each image paired with the truth file of the same name stem. */
export async function scenesFromFolders(imagesDir: string, truthDir: string): Promise<EvalScene[]> {
  const list = async (dir: string) => (await readdir(dir)).filter((f) => IMAGE_EXTENSIONS.includes(extname(f).toLowerCase())).sort();
  const [images, truths] = await Promise.all([list(imagesDir), list(truthDir)]);
  const stem = (f: string) => basename(f, extname(f));
  const truthByStem = new Map(truths.map((f) => [stem(f), f]));
  const unmatched = images.filter((f) => !truthByStem.has(stem(f)));
  if (unmatched.length > 0) {
    throw new CloudsegError('CONFIG_INVALID', `no truth mask in ${truthDir} for ${unmatched.join(', ')} (pair them by file name stem)`);
  }
  if (images.length === 0) throw new CloudsegError('CONFIG_INVALID', `no .tif/.png images in ${imagesDir}`);
  return images.map((f) => ({
    name: stem(f).replace(/[^A-Za-z0-9._-]/g, '_'),
    image: resolve(join(imagesDir, f)),
    truth: resolve(join(truthDir, truthByStem.get(stem(f))!)),
    imageKey: 'img',
    maskKey: 'msk',
  }));
}

export interface LoadedScene {
  /** What the per-image path decodes. */
  bytes: Uint8Array;
  fileName: string;
  /** 1 = cloud, 0 = not, MASK_VALUES.nodata = no truth there (left out of the scores); row-major. */
  truth: Uint8Array;
  /** How many truth pixels are nodata. */
  truthNodataPixels: number;
  truthEncoding: TruthEncoding;
  width: number;
  height: number;
}

export type SceneLoad = { scene: LoadedScene } | { skipped: string };

/** A scene's image bytes and its truth as stored (codes of the dataset, not yet read as cloud or classes). */
export interface RawScene {
  bytes: Uint8Array;
  fileName: string;
  truthValues: ArrayLike<number>;
  /** The truth value meaning "no label" (the scene's truthNodata, else the file's GDAL_NODATA). */
  truthNodata: number | null;
  /** Where the truth came from, for messages. */
  truthWhere: string;
  width: number;
  height: number;
}

export type RawSceneLoad = { scene: RawScene } | { skipped: string };

// Evaluation reads trusted local files; the limit only guards against absurd headers.
const SCENE_MAX_PIXELS = 1 << 28;

/** The scene's image restricted to `modelBands` (in that order) and its truth; skipped when a band is absent. */
export async function loadScene(scene: EvalScene, modelBands: readonly string[]): Promise<SceneLoad> {
  const loaded = await loadRawScene(scene, modelBands);
  if ('skipped' in loaded) return loaded;
  const { bytes, fileName, truthValues, truthNodata, truthWhere, width, height } = loaded.scene;
  const { truth, truthEncoding, truthNodataPixels } = readTruth(truthValues, truthNodata, scene.truthEncoding, truthWhere);
  return { scene: { bytes, fileName, truth, truthEncoding, truthNodataPixels, width, height } };
}

/** As loadScene, with the truth left as the dataset's codes (a class model maps them with a label map). */
export async function loadRawScene(scene: EvalScene, modelBands: readonly string[]): Promise<RawSceneLoad> {
  let bytes: Uint8Array;
  let fileName: string;
  let truthValues: ArrayLike<number>;
  let width: number;
  let height: number;
  let truthNodata: number | null = scene.truthNodata ?? null;
  if (scene.bands) {
    const missing = modelBands.filter((b) => !Object.hasOwn(scene.bands!, b));
    if (missing.length > 0) return { skipped: `no ${missing.join(', ')} band file (has ${Object.keys(scene.bands).join(', ')})` };
    bytes = await stackBands(await Promise.all(modelBands.map((b) => readFile(scene.bands![b]!))));
    fileName = `${scene.name}.tif`;
  } else if (scene.npz) {
    const arrays = readNpz(await readFile(scene.npz), scene.npz);
    const image = arrays.get(scene.imageKey);
    const mask = arrays.get(scene.maskKey);
    if (!image || !mask) throw new CloudsegError('CORRUPT_IMAGE', `${scene.npz} has no "${scene.imageKey}" or "${scene.maskKey}" array (has ${[...arrays.keys()].join(', ')})`);
    const [h, w, c] = image.shape as [number, number, number?];
    const raster: Raster = {
      width: w,
      height: h,
      bands: c ?? 1,
      dtype: image.dtype === '<f4' ? 'float32' : image.dtype === '<f8' ? 'float64' : image.dtype === '<u2' ? 'uint16' : 'uint8',
      data: image.data as Raster['data'],
      georef: null,
      fileScaling: null,
      noData: null,
    };
    const selected = selectBands(raster, scene.bandNames, modelBands);
    if ('skipped' in selected) return selected;
    bytes = await encodeRasterGeoTiff(selected.raster, { scaling: null });
    fileName = `${scene.name}.tif`;
    truthValues = mask.data;
  } else {
    const raw = await readFile(scene.image!);
    fileName = basename(scene.image!);
    if (scene.bandNames) {
      const raster = await decodeImage(raw, { name: scene.image!, maxPixels: SCENE_MAX_PIXELS });
      const selected = selectBands(raster, scene.bandNames, modelBands);
      if ('skipped' in selected) return selected;
      bytes = await encodeRasterGeoTiff(selected.raster);
    } else {
      bytes = raw;
    }
  }
  if (scene.truth) {
    const truth = await decodeImage(await readFile(scene.truth), { name: scene.truth, maxPixels: SCENE_MAX_PIXELS });
    if (truth.bands !== 1) throw new CloudsegError('TRUTH_INVALID', `${scene.truth} has ${truth.bands} bands; a truth mask has one`);
    truthValues = truth.data;
    truthNodata ??= truth.noData;
    width = truth.width;
    height = truth.height;
  } else {
    const probe = await decodeImage(bytes, { name: fileName, maxPixels: SCENE_MAX_PIXELS });
    width = probe.width;
    height = probe.height;
  }
  return { scene: { bytes, fileName, truthValues: truthValues!, truthNodata, truthWhere: scene.truth ?? `${scene.npz}:${scene.maskKey}`, width, height } };
}

/**
 * The truth as 1 = cloud, 0 = not, MASK_VALUES.nodata where it equals `nodata`; the encoding is
 * told from the other values (a 0/1 mask declaring nodata 255 is still cloud1).
 */
export function readTruth(
  values: ArrayLike<number>,
  nodata: number | null,
  encoding: TruthEncoding | undefined,
  where: string,
): { truth: Uint8Array; truthEncoding: TruthEncoding; truthNodataPixels: number } {
  const known = nodata === null ? values : Array.prototype.filter.call(values, (v: number) => v !== nodata) as number[];
  const truthEncoding = encoding ?? detectTruthEncoding(known, where);
  const truth = truthCloudMask(values, truthEncoding);
  let truthNodataPixels = 0;
  if (nodata !== null) {
    for (let i = 0; i < values.length; i++) {
      if (values[i] === nodata) {
        truth[i] = MASK_VALUES.nodata;
        truthNodataPixels++;
      }
    }
  }
  return { truth, truthEncoding, truthNodataPixels };
}

function selectBands(raster: Raster, bandNames: string[] | undefined, modelBands: readonly string[]): { raster: Raster } | { skipped: string } {
  if (!bandNames) return { raster };
  if (bandNames.length !== raster.bands) {
    throw new CloudsegError('BAND_MISMATCH', `bandNames lists ${bandNames.length} bands but the image has ${raster.bands}`);
  }
  const missing = modelBands.filter((b) => !bandNames.includes(b));
  if (missing.length > 0) return { skipped: `no ${missing.join(', ')} band (has ${bandNames.join(', ')})` };
  const index = modelBands.map((b) => bandNames.indexOf(b));
  const pixels = raster.width * raster.height;
  const Ctor = raster.data.constructor as new (n: number) => Raster['data'];
  const data = new Ctor(pixels * index.length);
  for (let p = 0; p < pixels; p++) {
    for (let k = 0; k < index.length; k++) data[p * index.length + k] = raster.data[p * raster.bands + index[k]!]!;
  }
  return { raster: { ...raster, bands: index.length, data, fileScaling: null } };
}
