// Image size from header bytes only: hand-written PNG/TIFF/BigTIFF headers in both byte orders and
// IFD layouts, hostile headers, and the real samples and fixtures (checked against sharp).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { projectRoot } from '../../shared/config/project-root.js';
import { FIRST_READ_BYTES, NEXT_READ_BYTES, probeImageSize, type ByteWindow, type SizeProbe } from '../../shared/imaging/probe-size.js';
import { fixture, fixturesMissing } from '../support/fixtures.js';
import { smallTiff, withClaimedSize } from '../support/tiff-surgery.js';

/** Reads the way flush does (first bytes, then what the probe asks for) and counts the bytes read. */
function probeFile(file: Uint8Array, firstRead = FIRST_READ_BYTES): { probe: SizeProbe; reads: number; bytesRead: number } {
  const windows: ByteWindow[] = [];
  const read = (start: number, length: number) => windows.push({ start, bytes: file.subarray(start, Math.min(file.length, start + length)) });
  read(0, firstRead);
  for (;;) {
    const probe = probeImageSize(windows, file.length);
    if (probe.kind !== 'need' || windows.length >= 5) return { probe, reads: windows.length, bytesRead: windows.reduce((s, w) => s + w.bytes.length, 0) };
    read(probe.start, probe.length);
  }
}

function png(width: number, height: number, chunkType = 'IHDR'): Uint8Array {
  const out = Buffer.alloc(64);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(out, 0);
  out.writeUInt32BE(13, 8);
  out.write(chunkType, 12, 'latin1');
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  return out;
}

interface Entry { tag: number; type: number; value: number }

/** A TIFF whose first IFD sits at `ifdAt` (8 = first, as GDAL/COG; large = last, as our writer). */
function tiff(entries: Entry[], opts: { le?: boolean; big?: boolean; ifdAt?: number } = {}): Uint8Array {
  const le = opts.le ?? true;
  const big = opts.big ?? false;
  const ifdAt = opts.ifdAt ?? (big ? 16 : 8);
  const entrySize = big ? 20 : 12;
  const out = new DataView(new ArrayBuffer(ifdAt + (big ? 8 : 2) + entries.length * entrySize + (big ? 8 : 4)));
  out.setUint8(0, le ? 0x49 : 0x4d);
  out.setUint8(1, le ? 0x49 : 0x4d);
  out.setUint16(2, big ? 43 : 42, le);
  if (big) {
    out.setUint16(4, 8, le);
    out.setBigUint64(8, BigInt(ifdAt), le);
    out.setBigUint64(ifdAt, BigInt(entries.length), le);
  } else {
    out.setUint32(4, ifdAt, le);
    out.setUint16(ifdAt, entries.length, le);
  }
  entries.forEach((e, i) => {
    const at = ifdAt + (big ? 8 : 2) + i * entrySize;
    out.setUint16(at, e.tag, le);
    out.setUint16(at + 2, e.type, le);
    if (big) out.setBigUint64(at + 4, 1n, le);
    else out.setUint32(at + 4, 1, le);
    const valueAt = at + (big ? 12 : 8);
    if (e.type === 3) out.setUint16(valueAt, e.value, le);
    else if (e.type === 16) out.setBigUint64(valueAt, BigInt(e.value), le);
    else out.setUint32(valueAt, e.value, le);
  });
  return new Uint8Array(out.buffer);
}

const SHORT = 3;
const LONG = 4;
const LONG8 = 16;
const dims = (w: number, h: number, type = LONG, extra: Entry[] = []): Entry[] => [
  ...extra,
  { tag: 256, type, value: w },
  { tag: 257, type, value: h },
  { tag: 258, type: SHORT, value: 16 },
];

describe('probeImageSize on hand-written headers', () => {
  const cases: { name: string; file: Uint8Array; expect: Partial<SizeProbe> & { kind: SizeProbe['kind'] }; reads?: number }[] = [
    { name: 'PNG: IHDR at bytes 16-24', file: png(7, 13), expect: { kind: 'size', format: 'png', width: 7, height: 13 }, reads: 1 },
    { name: 'PNG: a large claimed size', file: png(100_000, 100_000), expect: { kind: 'size', width: 100_000, height: 100_000 } },
    { name: 'PNG whose first chunk is not IHDR', file: png(7, 13, 'IDAT'), expect: { kind: 'unknown' } },
    { name: 'PNG with zero width', file: png(0, 13), expect: { kind: 'unknown' } },
    { name: 'PNG cut before IHDR ends', file: png(7, 13).subarray(0, 20), expect: { kind: 'unknown' } },
    { name: 'TIFF LE, LONG, IFD first', file: tiff(dims(512, 384)), expect: { kind: 'size', format: 'tiff', width: 512, height: 384 }, reads: 1 },
    { name: 'TIFF BE, LONG', file: tiff(dims(70_000, 3), { le: false }), expect: { kind: 'size', width: 70_000, height: 3 } },
    { name: 'TIFF LE, SHORT', file: tiff(dims(640, 480, SHORT)), expect: { kind: 'size', width: 640, height: 480 } },
    { name: 'TIFF BE, SHORT (left-justified in the value field)', file: tiff(dims(640, 480, SHORT), { le: false }), expect: { kind: 'size', width: 640, height: 480 } },
    { name: 'TIFF, tags after others', file: tiff(dims(9, 11, LONG, [{ tag: 254, type: LONG, value: 0 }])), expect: { kind: 'size', width: 9, height: 11 } },
    { name: 'TIFF, IFD last: a second read at the IFD', file: tiff(dims(100, 200), { ifdAt: 50_000 }), expect: { kind: 'size', width: 100, height: 200 }, reads: 2 },
    { name: 'BigTIFF LE, LONG8', file: tiff(dims(123_456, 7, LONG8), { big: true }), expect: { kind: 'size', format: 'bigtiff', width: 123_456, height: 7 } },
    { name: 'BigTIFF BE, SHORT, IFD last', file: tiff(dims(300, 400, SHORT), { big: true, le: false, ifdAt: 90_000 }), expect: { kind: 'size', format: 'bigtiff', width: 300, height: 400 }, reads: 2 },
    { name: 'TIFF without ImageLength', file: tiff([{ tag: 256, type: LONG, value: 5 }]), expect: { kind: 'unknown' } },
    { name: 'TIFF with ImageWidth as RATIONAL', file: tiff([{ tag: 256, type: 5, value: 5 }, { tag: 257, type: LONG, value: 5 }]), expect: { kind: 'unknown' } },
    { name: 'TIFF with zero entries', file: tiff([]), expect: { kind: 'unknown' } },
    { name: 'TIFF whose IFD offset lies beyond the object', file: tiff(dims(5, 5), { ifdAt: 50_000 }).subarray(0, 1000), expect: { kind: 'unknown' }, reads: 1 },
    { name: 'TIFF whose IFD offset points into the header', file: (() => { const f = tiff(dims(5, 5)); new DataView(f.buffer).setUint32(4, 2, true); return f; })(), expect: { kind: 'unknown' } },
    { name: 'TIFF with a wrong magic number', file: (() => { const f = tiff(dims(5, 5)); new DataView(f.buffer).setUint16(2, 41, true); return f; })(), expect: { kind: 'unknown' } },
    { name: 'text named .tif', file: new TextEncoder().encode('hello, this is not an image at all'), expect: { kind: 'unknown' } },
    { name: 'JPEG', file: new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46]), expect: { kind: 'unknown' } },
    { name: 'three bytes', file: new Uint8Array([0x49, 0x49, 0x2a]), expect: { kind: 'unknown' } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const { probe, reads } = probeFile(c.file);
      assert.partialDeepStrictEqual(probe, c.expect);
      if (c.reads !== undefined) assert.equal(reads, c.reads, 'reads');
    });
  }

  test('an IFD larger than the second read costs one more read of the IFD, no more', () => {
    // 400 entries x 12 bytes: more than the IFD's 2-byte count read alone gives.
    const many = Array.from({ length: 398 }, (_, i) => ({ tag: 300 + i, type: SHORT, value: 1 }));
    const file = tiff([...dims(31, 17), ...many], { ifdAt: 60_000 });
    const { probe, bytesRead } = probeFile(file, 64);
    assert.partialDeepStrictEqual(probe, { kind: 'size', width: 31, height: 17 });
    assert.ok(bytesRead <= 64 + NEXT_READ_BYTES + 401 * 12, `read ${bytesRead} bytes`);
  });

  test('it asks for bytes beyond the first window (at least NEXT_READ_BYTES, never past the end)', () => {
    const file = tiff(dims(100, 200), { ifdAt: 50_000 });
    assert.deepEqual(probeImageSize([{ start: 0, bytes: file.subarray(0, 4096) }], 60_000), { kind: 'need', start: 50_000, length: NEXT_READ_BYTES });
    assert.deepEqual(probeImageSize([{ start: 0, bytes: file.subarray(0, 4096) }], file.length), { kind: 'need', start: 50_000, length: file.length - 50_000 });
  });
});

describe('probeImageSize on real files (sizes as sharp reads them)', () => {
  const samples = join(projectRoot(), 'samples');
  const missing = fixturesMissing();
  if (missing) console.warn(`!!! SKIPPING fixture files in probe-size tests: ${missing}`);
  const files: [string, string][] = [
    ['sample, IFD last (the project writer)', join(samples, 'l8-38cloud-p192.tif')],
    ['sample, IFD last', join(samples, 's2-oncloudn-chip1.tif')],
    ['sample truth PNG', join(samples, 'l8-38cloud-p192.truth.png')],
    ...(missing
      ? []
      : ([
          ['On Cloud N band, GDAL: IFD first', fixture('oncloudn', 'chip_id_1', 'B02.tif')],
          ['On Cloud N label, GDAL', fixture('oncloudn', 'chip_id_3', 'label.tif')],
          ['38-Cloud band', fixture('38cloud', 'blue_patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF')],
          ['38-Cloud truth', fixture('38cloud', 'gt_patch_192_10_by_12_LC08_L1TP_002053_20160520_20170324_01_T1.TIF')],
        ] as [string, string][])),
  ];
  for (const [name, path] of files) {
    test(name, async () => {
      const bytes = readFileSync(path);
      const meta = await sharp(bytes).metadata();
      const { probe, bytesRead } = probeFile(bytes);
      assert.partialDeepStrictEqual(probe, { kind: 'size', width: meta.width, height: meta.height });
      assert.ok(bytesRead <= 2 * FIRST_READ_BYTES, `read ${bytesRead} of ${bytes.length} bytes`);
    });
  }

  test('the project writer\'s TIFF and a header claiming 100000 x 100000 (tiff-surgery)', () => {
    assert.partialDeepStrictEqual(probeFile(smallTiff()).probe, { kind: 'size', format: 'tiff', width: 64, height: 64 });
    assert.partialDeepStrictEqual(probeFile(withClaimedSize(100_000, 100_000)).probe, { kind: 'size', width: 100_000, height: 100_000 });
  });
});
