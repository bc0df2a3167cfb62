// Where the masks of an input go: the input's name without its extension, under the output
// prefix, with `.mask.png` (always) and `.mask.tif` (when the input is georeferenced).

export interface MaskNames {
  png: string;
  geotiff: string;
}

export function maskNames(inputName: string, outputPrefix: string): MaskNames {
  const stem = inputName.replace(/\.(tiff?|png)$/i, '');
  const base = `${outputPrefix}${stem}`;
  return { png: `${base}.mask.png`, geotiff: `${base}.mask.tif` };
}
