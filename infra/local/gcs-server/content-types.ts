// The content type a file dropped into a bucket folder gets, from its extension, since nobody
// told the server one (uploads through the API carry their own).
import { extname } from 'node:path';

const BY_EXTENSION: Record<string, string> = {
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.json': 'application/json',
  '.geojson': 'application/geo+json',
  '.txt': 'text/plain',
  '.csv': 'text/csv',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.npz': 'application/zip',
  '.zip': 'application/zip',
};

export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export function contentTypeForName(name: string): string {
  return BY_EXTENSION[extname(name).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}
