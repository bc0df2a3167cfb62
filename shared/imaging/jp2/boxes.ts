// The JP2 file format's boxes (ITU-T T.800 annex I) walked with ranged reads: where the codestream
// is, and the metadata boxes that may georeference it (GeoJP2's uuid box, GMLJP2's asoc/xml boxes).
// A bare codestream (.j2k) has no boxes and is its own codestream.
import { CloudsegError } from '../../errors.js';

/** Reads bytes [start, end) of the file; shorter only past its end. */
export type ReadBytes = (start: number, end: number) => Promise<Uint8Array>;

export interface Jp2Layout {
  /** Where the codestream (SOC ... EOC) lies in the file. */
  codestream: { offset: number; length: number };
  /** The GeoTIFF held by a GeoJP2 uuid box, when there is one. */
  geoJp2: Uint8Array | null;
  /** The XML of GMLJP2 boxes (xml boxes inside asoc boxes), in file order. */
  gmlXml: string[];
}

const SIGNATURE = [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a];
// GeoJP2 ("GeoTIFF box"): a uuid box with this id whose payload is a degenerate GeoTIFF.
export const GEOJP2_UUID = [0xb1, 0x4b, 0xf8, 0xbd, 0x08, 0x3d, 0x4b, 0x43, 0xa5, 0xae, 0x8c, 0xd7, 0xd5, 0xa6, 0xce, 0x03];
// A real file has a dozen top-level boxes; this bounds the walk of a hostile one.
const MAX_TOP_LEVEL_BOXES = 4096;
// Metadata boxes larger than this are not read: georeferencing takes a few KB, and a GMLJP2 box
// with embedded features could be anything.
const MAX_METADATA_BOX_BYTES = 4 * 1024 * 1024;

export type Jp2Container = 'jp2' | 'j2k';

/** 'jp2' for the JP2 file format, 'j2k' for a bare codestream, null for neither. */
export function sniffJp2(head: Uint8Array): Jp2Container | null {
  if (head.length >= 12 && SIGNATURE.every((b, i) => head[i] === b)) return 'jp2';
  if (head.length >= 4 && head[0] === 0xff && head[1] === 0x4f && head[2] === 0xff && head[3] === 0x51) return 'j2k';
  return null;
}

interface BoxHeader {
  type: string;
  /** Offset of the box's contents, after LBox/TBox/XLBox. */
  contentOffset: number;
  /** End of the box (exclusive). */
  end: number;
}

/** The box header at `bytes[at]`; `limit` is where its container ends (LBox 0 runs to it). */
export function parseBoxHeader(bytes: Uint8Array, at: number, base: number, limit: number, label: string): BoxHeader {
  if (at + 8 > bytes.length) throw truncated(label, base + at);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lbox = view.getUint32(at);
  const type = String.fromCharCode(bytes[at + 4]!, bytes[at + 5]!, bytes[at + 6]!, bytes[at + 7]!);
  let headerBytes = 8;
  let length: number;
  if (lbox === 1) {
    if (at + 16 > bytes.length) throw truncated(label, base + at);
    length = Number(view.getBigUint64(at + 8));
    headerBytes = 16;
  } else if (lbox === 0) {
    length = limit - (base + at);
  } else {
    length = lbox;
  }
  if (length < headerBytes) throw new CloudsegError('CORRUPT_IMAGE', `${label}: JP2 box '${printable(type)}' at byte ${base + at} has length ${length}`);
  const end = base + at + length;
  if (end > limit) throw new CloudsegError('CORRUPT_IMAGE', `${label}: JP2 is truncated (box '${printable(type)}' at byte ${base + at} ends at ${end}, past ${limit})`);
  return { type, contentOffset: base + at + headerBytes, end };
}

/**
 * Finds the codestream and the georeferencing boxes, reading only box headers and the small
 * metadata boxes. Throws UNSUPPORTED_FORMAT when the bytes are not JPEG 2000, CORRUPT_IMAGE when
 * the boxes are truncated or there is no codestream.
 */
export async function readJp2Layout(read: ReadBytes, size: number, label: string): Promise<Jp2Layout> {
  const head = await read(0, Math.min(size, 16));
  const container = sniffJp2(head);
  if (container === null) throw new CloudsegError('UNSUPPORTED_FORMAT', `${label} is not JPEG 2000 (no JP2 signature box and no SOC/SIZ)`);
  if (container === 'j2k') return { codestream: { offset: 0, length: size }, geoJp2: null, gmlXml: [] };
  let geoJp2: Uint8Array | null = null;
  const gmlXml: string[] = [];
  let codestream: Jp2Layout['codestream'] | null = null;
  let at = 0;
  for (let count = 0; at < size; count++) {
    if (count >= MAX_TOP_LEVEL_BOXES) throw new CloudsegError('CORRUPT_IMAGE', `${label}: JP2 has more than ${MAX_TOP_LEVEL_BOXES} top-level boxes`);
    const box = parseBoxHeader(await read(at, Math.min(size, at + 16)), 0, at, size, label);
    const contentBytes = box.end - box.contentOffset;
    if (box.type === 'jp2c') {
      // GDAL may put the geo boxes after the codestream (GEOBOXES_AFTER_JP2C): keep walking.
      codestream ??= { offset: box.contentOffset, length: contentBytes };
    } else if (box.type === 'uuid' && contentBytes >= 16 && contentBytes <= MAX_METADATA_BOX_BYTES && geoJp2 === null) {
      const content = await read(box.contentOffset, box.end);
      // A copy: `content` may be a view into a larger (pooled) buffer.
      if (GEOJP2_UUID.every((b, i) => content[i] === b)) geoJp2 = new Uint8Array(content.subarray(16));
    } else if (box.type === 'asoc' && contentBytes <= MAX_METADATA_BOX_BYTES) {
      const content = await read(box.contentOffset, box.end);
      collectXml(content, box.contentOffset, label, gmlXml, 0);
    }
    at = box.end;
  }
  if (!codestream) throw new CloudsegError('CORRUPT_IMAGE', `${label}: JP2 has no codestream box (jp2c); truncated?`);
  return { codestream, geoJp2, gmlXml };
}

// The xml boxes anywhere inside an asoc box (GMLJP2 nests asoc > lbl + asoc > lbl + xml).
function collectXml(content: Uint8Array, base: number, label: string, out: string[], depth: number): void {
  if (depth > 8) return;
  let at = 0;
  while (at + 8 <= content.length) {
    const box = parseBoxHeader(content, at, base, base + content.length, label);
    const inner = content.subarray(box.contentOffset - base, box.end - base);
    if (box.type === 'xml ') out.push(new TextDecoder().decode(inner));
    else if (box.type === 'asoc') collectXml(inner, box.contentOffset, label, out, depth + 1);
    at = box.end - base;
  }
}

function truncated(label: string, at: number): CloudsegError {
  return new CloudsegError('CORRUPT_IMAGE', `${label}: JP2 is truncated (box header at byte ${at} cut short)`);
}

function printable(type: string): string {
  return type.replace(/[^\x20-\x7e]/g, '?');
}
