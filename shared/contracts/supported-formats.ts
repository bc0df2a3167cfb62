// Which uploads the pipeline accepts: decided by content type, else by file extension (users
// often upload with a generic type such as application/octet-stream).
export const SUPPORTED_FORMATS = ['geotiff', 'png'] as const;
export type SupportedFormat = (typeof SUPPORTED_FORMATS)[number];

const BY_CONTENT_TYPE: Record<string, SupportedFormat> = {
  'image/tiff': 'geotiff',
  'image/tif': 'geotiff',
  'image/geotiff': 'geotiff',
  'image/png': 'png',
};
const BY_EXTENSION: Record<string, SupportedFormat> = { tif: 'geotiff', tiff: 'geotiff', png: 'png' };
const GENERIC_TYPES = new Set(['', 'application/octet-stream', 'binary/octet-stream']);

/** The format of an upload, or null when cloudseg cannot process it. */
export function formatOf(name: string, contentType: string | undefined): SupportedFormat | null {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (!GENERIC_TYPES.has(type)) return BY_CONTENT_TYPE[type] ?? null;
  const ext = /\.([^./]+)$/.exec(name)?.[1]?.toLowerCase();
  return ext ? (BY_EXTENSION[ext] ?? null) : null;
}
