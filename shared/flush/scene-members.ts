// Which uploads are the band files of a scene whose descriptor is beside them, so flush skips them
// (the descriptor's arrival starts the scene): TIFFs a STAC item in the same folder names as an
// asset, an `_MTL.txt` whose `_MTL.json` sibling exists, and a Landsat product's own STAC items
// (`_stac.json`, `_SR_stac.json`, `_ST_stac.json`) beside its MTL: USGS delivers all of them, and
// one product is one scene, described by its MTL (the JSON when both are there). Each folder is listed once per flush; never throws (the worker reports what this misses).
import pLimit from 'p-limit';
import type { Storage } from '@google-cloud/storage';
import type { ObjectDownloader } from '../cloud/object-download.js';
import { objectKey, type BatchItem } from '../contracts/batch.js';
import { describeError } from '../errors.js';
import type { Logger } from '../logging.js';
import { resolveMemberHref } from '../scenes/scene-members.js';

/** A STAC item is a few KB; one larger is not read here (the worker refuses it as a descriptor). */
export const MAX_FLUSH_ITEM_BYTES = 1024 * 1024;
/** JSON objects read per folder at most: a folder of thousands of JSONs is not a scene folder. */
export const MAX_ITEMS_PER_FOLDER = 50;
/**
 * Objects listed per folder (one list request): a product's folder holds a few dozen; the top of a
 * bucket of loose images is not listed whole on every flush.
 */
export const MAX_LISTED_PER_FOLDER = 1000;
const LIST_CONCURRENCY = 4;

export interface SceneMemberOptions {
  storage: Storage;
  downloader: ObjectDownloader;
  logger: Logger;
}

/** Object keys (bucket/name#generation) of `items` that are members of a scene described beside them. */
export type SceneMemberCheck = (items: readonly BatchItem[]) => Promise<Set<string>>;

interface Folder {
  /** Names of the folder's objects. */
  names: Set<string>;
  /** Objects the folder's STAC items name as assets. */
  assets: Set<string>;
}

// `<folder/><Landsat product id>_[SR_|ST_]stac.json`; group 1 is the path up to the product id.
const LANDSAT_PRODUCT_ITEM = /^(.*L[COTEM]0\d_L\w{3}_\d{6}_\d{8}_\d{8}_\d{2}_(?:T1|T2|RT))_(?:SR_|ST_)?stac\.json$/i;

/** A check for one flush: its folder listings are kept for the flush's later pulls, then dropped. */
export function sceneMemberCheck(options: SceneMemberOptions): SceneMemberCheck {
  const folders = new Map<string, Promise<Folder>>();
  const limit = pLimit(LIST_CONCURRENCY);
  const folderOf = (bucket: string, dir: string) => {
    const key = `${bucket}/${dir}`;
    let folder = folders.get(key);
    if (!folder) folders.set(key, (folder = limit(() => readFolder(options, bucket, dir))));
    return folder;
  };
  return async (items) => {
    const members = new Set<string>();
    await Promise.all(
      items.map(async (item) => {
        const mtlText = /_MTL\.txt$/i.test(item.name);
        const productItem = LANDSAT_PRODUCT_ITEM.exec(item.name);
        if (!mtlText && !productItem && !/\.tiff?$/i.test(item.name)) return;
        const folder = await folderOf(item.bucket, dirOf(item.name));
        const member = mtlText
          ? folder.names.has(item.name.replace(/\.txt$/i, '.json'))
          : productItem
            ? folder.names.has(`${productItem[1]}_MTL.json`) || folder.names.has(`${productItem[1]}_MTL.txt`)
            : folder.assets.has(item.name);
        if (member) members.add(objectKey(item));
      }),
    );
    return members;
  };
}

async function readFolder(options: SceneMemberOptions, bucket: string, dir: string): Promise<Folder> {
  const folder: Folder = { names: new Set(), assets: new Set() };
  try {
    const [files] = await options.storage.bucket(bucket).getFiles({ prefix: dir, delimiter: '/', autoPaginate: false, maxResults: MAX_LISTED_PER_FOLDER });
    for (const f of files) folder.names.add(f.name);
    const items = files.filter((f) => /\.json$/i.test(f.name) && !/_MTL\.json$/i.test(f.name) && Number(f.metadata.size ?? 0) <= MAX_FLUSH_ITEM_BYTES);
    for (const f of items.slice(0, MAX_ITEMS_PER_FOLDER)) {
      const ref = { bucket, name: f.name, generation: String(f.metadata.generation) };
      try {
        for (const name of stacAssetObjects(bucket, f.name, await options.downloader.download(ref))) folder.assets.add(name);
      } catch (err) {
        options.logger.debug({ err: describeError(err), object: `${bucket}/${f.name}` }, 'flush: a JSON beside the uploads could not be read as a STAC item');
      }
    }
  } catch (err) {
    options.logger.warn({ err: describeError(err), folder: `${bucket}/${dir}` }, 'flush: cannot list the folder for scene descriptors; its band files are treated as images');
  }
  return folder;
}

/** The object names in `bucket` that a STAC item's assets point to (none when it is no STAC item). */
export function stacAssetObjects(bucket: string, itemName: string, bytes: Uint8Array): string[] {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return [];
  }
  if (typeof doc !== 'object' || doc === null) return [];
  const { type, assets } = doc as { type?: unknown; assets?: unknown };
  if (type !== 'Feature' || typeof assets !== 'object' || assets === null) return [];
  const names: string[] = [];
  for (const [key, asset] of Object.entries(assets as Record<string, unknown>)) {
    const href = (asset as { href?: unknown } | null)?.href;
    if (typeof href !== 'string') continue;
    try {
      const location = resolveMemberHref({ kind: 'gcs', bucket, name: itemName }, href, `assets.${key}.href`);
      if (location.kind === 'gcs' && location.bucket === bucket) names.push(location.name);
    } catch {
      // An href the worker would refuse names nothing here.
    }
  }
  return names;
}

function dirOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? '' : name.slice(0, slash + 1);
}
