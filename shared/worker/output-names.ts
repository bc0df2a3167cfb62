// Where the masks of an input go: `<prefix><input bucket>/<input name>.mask.png` (always) and
// `.mask.tif` (when the input is georeferenced). The whole input name, extension included, and its
// bucket are kept, so the mapping is injective: `a.tif`, `a.png` and `a.TIF`, or the same name in
// two buckets, never share a mask (bucket names cannot contain "/").

export interface MaskNames {
  png: string;
  geotiff: string;
  /** The record of a permanent failure: the `failed` event as JSON (what reconcile reads). */
  failure: string;
}

/** `bucket` null: local files (the CLI), named by their file name alone. */
export function maskNames(input: { bucket: string | null; name: string }, outputPrefix: string): MaskNames {
  const base = `${outputPrefix}${input.bucket === null ? '' : `${input.bucket}/`}${input.name}`;
  return { png: `${base}.mask.png`, geotiff: `${base}.mask.tif`, failure: `${base}.failed.json` };
}
