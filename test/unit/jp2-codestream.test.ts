// The JPEG 2000 structure read without GDAL: boxes, main header, tile geometry, the single-tile
// rewrite, the tile-part index (TLM and SOT walk), GMLJP2, and windows decoded from the committed
// fixtures compared with the pixels GDAL decoded from them (test/fixtures/jp2/README.md).
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CloudsegError } from '../../shared/errors.js';
import { readJp2Layout, sniffJp2 } from '../../shared/imaging/jp2/boxes.js';
import { encodeSiz, parseMainHeader, parseSot, reducedImageSize, singleTileCodestream, singleTileMainHeader, tileBounds, tileGrid, type Jp2MainHeader, type Jp2Siz } from '../../shared/imaging/jp2/codestream.js';
import { epsgCode, parseGmlRectifiedGrid, reduceGeoreference } from '../../shared/imaging/jp2/georeference.js';
import { DecodePool } from '../../shared/imaging/jp2/decode-pool.js';
import { openJp2Windows } from '../../shared/imaging/jp2/jp2-windows.js';
import { indexTileParts } from '../../shared/imaging/jp2/tile-index.js';
import { bytesRangeSource } from '../../shared/imaging/range-source.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/jp2');
const fixture = (name: string) => new Uint8Array(readFileSync(join(FIXTURES, name)));
const U16 = fixture('u16-t32-parts.jp2');
const RGB = fixture('u8x3-t32.j2k');
const readOf = (bytes: Uint8Array) => (s: number, e: number) => Promise.resolve(bytes.subarray(s, Math.min(e, bytes.length)));

function codeOf(err: unknown, code: string): boolean {
  return err instanceof CloudsegError && err.code === code;
}

async function headerOf(bytes: Uint8Array): Promise<{ offset: number; length: number; header: Jp2MainHeader; bytes: Uint8Array }> {
  const layout = await readJp2Layout(readOf(bytes), bytes.length, 't');
  const code = bytes.subarray(layout.codestream.offset, layout.codestream.offset + layout.codestream.length);
  const header = parseMainHeader(code, 't')!;
  return { ...layout.codestream, header, bytes: code };
}

// A copy of `bytes` with SIZ field `field` (a byte offset inside the SIZ body) set to `value`.
function withSizField(bytes: Uint8Array, codestreamOffset: number, field: number, value: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(codestreamOffset + 8 + field, value); // after SOC, SIZ, Lsiz, Rsiz
  return out;
}
const SIZ_FIELD = { x1: 0, y1: 4, x0: 8, y0: 12, tileWidth: 16, tileHeight: 20, tileX0: 24, tileY0: 28 } as const;

describe('JP2 boxes', () => {
  it('tells JP2, bare codestreams and anything else apart', () => {
    assert.equal(sniffJp2(U16), 'jp2');
    assert.equal(sniffJp2(RGB), 'j2k');
    assert.equal(sniffJp2(new Uint8Array([0x49, 0x49, 42, 0])), null);
  });

  it('finds the codestream, the GeoJP2 GeoTIFF and the GMLJP2 XML', async () => {
    const layout = await readJp2Layout(readOf(U16), U16.length, 'u16');
    assert.equal(U16[layout.codestream.offset], 0xff);
    assert.equal(U16[layout.codestream.offset + 1], 0x4f);
    assert.equal(layout.codestream.offset + layout.codestream.length, U16.length);
    assert.deepEqual(Array.from(layout.geoJp2!.subarray(0, 4)), [0x49, 0x49, 42, 0]);
    assert.equal(layout.gmlXml.length, 1);
    assert.match(layout.gmlXml[0]!, /RectifiedGrid/);
    const bare = await readJp2Layout(readOf(RGB), RGB.length, 'rgb');
    assert.deepEqual(bare, { codestream: { offset: 0, length: RGB.length }, geoJp2: null, gmlXml: [] });
  });

  it('refuses what is not JPEG 2000 and truncated boxes', async () => {
    await assert.rejects(readJp2Layout(readOf(new Uint8Array(64)), 64, 'zeros'), (e) => codeOf(e, 'UNSUPPORTED_FORMAT'));
    const cut = U16.subarray(0, 3000);
    await assert.rejects(readJp2Layout(readOf(cut), cut.length, 'cut'), (e) => codeOf(e, 'CORRUPT_IMAGE') && /truncated/.test((e as Error).message));
  });
});

describe('main header', () => {
  it('reads SIZ, COD and TLM', async () => {
    const { header } = await headerOf(U16);
    assert.deepEqual(header.siz, { rsiz: header.siz.rsiz, x1: 100, y1: 70, x0: 0, y0: 0, tileWidth: 32, tileHeight: 32, tileX0: 0, tileY0: 0, components: [{ precision: 15, signed: false, dx: 1, dy: 1 }] });
    assert.equal(header.decompositionLevels, 2);
    assert.deepEqual(tileGrid(header.siz), { columns: 4, rows: 3, count: 12 });
    // TILEPARTS=RESOLUTIONS: one tile-part per resolution level and tile.
    assert.equal(header.tlm?.length, 12 * 3);
    const rgb = parseMainHeader(RGB, 'rgb')!;
    assert.equal(rgb.siz.components.length, 3);
    assert.ok(rgb.siz.components.every((c) => c.precision === 8 && !c.signed));
    assert.equal(rgb.tlm, null);
  });

  it('asks for more bytes until the first SOT is in view', () => {
    const full = parseMainHeader(RGB, 'rgb')!;
    for (const cut of [0, 3, 10, full.length - 1]) assert.equal(parseMainHeader(RGB.subarray(0, cut), 'rgb'), null);
    assert.equal(parseMainHeader(RGB.subarray(0, full.length + 2), 'rgb')?.length, full.length);
  });

  it('refuses marker garbage, a missing SIZ and PPM', () => {
    const garbage = RGB.slice();
    const cod = parseMainHeader(RGB, 'rgb')!.segments.find((s) => s.marker === 0xff52)!;
    garbage[cod.offset] = 0x12;
    assert.throws(() => parseMainHeader(garbage, 'g'), (e) => codeOf(e, 'CORRUPT_IMAGE') && /garbage/.test((e as Error).message));
    assert.throws(() => parseMainHeader(new Uint8Array([0xff, 0x4f, 0xff, 0x52, 0, 2]), 'n'), (e) => codeOf(e, 'CORRUPT_IMAGE'));
    const ppm = new Uint8Array([...RGB.subarray(0, cod.offset), 0xff, 0x60, 0, 3, 0, ...RGB.subarray(cod.offset)]);
    assert.throws(() => parseMainHeader(ppm, 'p'), (e) => codeOf(e, 'UNSUPPORTED_FORMAT'));
  });

  it('refuses tile grids that do not cover the image', async () => {
    const { offset } = await headerOf(U16);
    for (const [field, value] of [
      [SIZ_FIELD.tileX0, 5], // tile origin right of the image origin
      [SIZ_FIELD.tileWidth, 0],
      [SIZ_FIELD.x1, 0], // empty image
    ] as const) {
      const bad = withSizField(U16, offset, field, value);
      assert.throws(() => parseMainHeader(bad.subarray(offset), 'bad'), (e) => codeOf(e, 'CORRUPT_IMAGE'), `field ${field} = ${value}`);
    }
  });
});

describe('tile geometry', () => {
  const siz: Jp2Siz = { rsiz: 0, x0: 3, y0: 5, x1: 100, y1: 70, tileX0: 0, tileY0: 2, tileWidth: 32, tileHeight: 32, components: [{ precision: 12, signed: false, dx: 1, dy: 1 }] };
  it('clips tiles to the image', () => {
    assert.deepEqual(tileGrid(siz), { columns: 4, rows: 3, count: 12 });
    const table: [number, { x0: number; y0: number; x1: number; y1: number }][] = [
      [0, { x0: 3, y0: 5, x1: 32, y1: 34 }],
      [3, { x0: 96, y0: 5, x1: 100, y1: 34 }],
      [5, { x0: 32, y0: 34, x1: 64, y1: 66 }],
      [11, { x0: 96, y0: 66, x1: 100, y1: 70 }],
    ];
    for (const [tile, bounds] of table) assert.deepEqual(tileBounds(siz, tile), bounds, `tile ${tile}`);
  });

  it('reduces sizes with the ceiling rule of the reference grid', () => {
    assert.deepEqual(reducedImageSize(siz, 0), { width: 97, height: 65 });
    assert.deepEqual(reducedImageSize(siz, 1), { width: 48, height: 32 }); // ceil(100/2)-ceil(3/2), ceil(70/2)-ceil(5/2)
    assert.deepEqual(reducedImageSize(siz, 3), { width: 12, height: 8 });
  });

  it('encodes SIZ as it parses', () => {
    const bytes = new Uint8Array([0xff, 0x4f, ...encodeSiz(siz), 0xff, 0x52, 0, 12, 0, 0, 0, 1, 0, 2, 4, 4, 0, 1, 0xff, 0x90]);
    assert.deepEqual(parseMainHeader(bytes, 's')!.siz, siz);
  });

  it('rewrites one tile as a whole image with absolute coordinates and without TLM', async () => {
    const { header, bytes } = await headerOf(U16);
    const single = parseMainHeader(new Uint8Array([...singleTileMainHeader(bytes.subarray(0, header.length), header, 7), 0xff, 0x90]), 's')!;
    assert.deepEqual({ ...single.siz, rsiz: 0 }, { ...header.siz, rsiz: 0, x0: 96, y0: 32, x1: 100, y1: 64, tileX0: 96, tileY0: 32, tileWidth: 4, tileHeight: 32 });
    assert.equal(single.tlm, null);
    assert.equal(tileGrid(single.siz).count, 1);
  });

  it('renumbers tile-parts as tile 0 with their lengths, and ends with EOC', () => {
    const part = new Uint8Array([0xff, 0x90, 0, 10, 0, 9, 0, 0, 0, 0, 1, 3, 0xff, 0x93, 1, 2]);
    const out = singleTileCodestream(new Uint8Array([0xff, 0x4f]), [part]);
    assert.deepEqual(parseSot(out, 2), { tile: 0, length: 16, part: 1, parts: 3 });
    assert.deepEqual(Array.from(out.subarray(-2)), [0xff, 0xd9]);
  });
});

describe('tile-part index', () => {
  it('gives the same tile-parts from TLM and from walking SOT markers', async () => {
    const { offset, length, header } = await headerOf(U16);
    const fromTlm = await indexTileParts(readOf(U16), { offset, length }, header, { label: 'tlm' });
    const fromSot = await indexTileParts(readOf(U16), { offset, length }, { ...header, tlm: null }, { label: 'sot' });
    assert.deepEqual(fromSot, fromTlm);
    assert.ok(fromSot.every((parts) => parts.length === 3));
  });

  it('refuses a truncated codestream and a missing tile', async () => {
    const header = parseMainHeader(RGB, 'rgb')!;
    const cut = RGB.subarray(0, RGB.length - 100);
    await assert.rejects(indexTileParts(readOf(cut), { offset: 0, length: cut.length }, header, { label: 'cut' }), (e) => codeOf(e, 'CORRUPT_IMAGE') && /truncated/.test((e as Error).message));
    const index = await indexTileParts(readOf(RGB), { offset: 0, length: RGB.length }, header, { label: 'rgb' });
    const lastPart = index.at(-1)![0]!;
    const missing = new Uint8Array([...RGB.subarray(0, lastPart.offset), 0xff, 0xd9]);
    await assert.rejects(indexTileParts(readOf(missing), { offset: 0, length: missing.length }, header, { label: 'missing' }), (e) => codeOf(e, 'CORRUPT_IMAGE') && /do not cover/.test((e as Error).message));
  });

  it('stops walking a codestream of endless tiny tile-parts at the bound', async () => {
    const header = parseMainHeader(RGB, 'rgb')!;
    const tiny = [0xff, 0x90, 0, 10, 0, 0, 0, 0, 0, 14, 0, 0, 0xff, 0x93];
    const parts = 50_000;
    const bytes = new Uint8Array(header.length + parts * tiny.length + 2);
    bytes.set(RGB.subarray(0, header.length));
    for (let i = 0; i < parts; i++) bytes.set(tiny, header.length + i * tiny.length);
    let reads = 0;
    const read = (s: number, e: number) => (reads++, Promise.resolve(bytes.subarray(s, e)));
    await assert.rejects(indexTileParts(read, { offset: 0, length: bytes.length }, header, { label: 'many', maxTileParts: 1000 }), (e) => codeOf(e, 'CORRUPT_IMAGE') && /over the limit/.test((e as Error).message));
    assert.ok(reads <= 1002, `${reads} reads`);
  });
});

describe('GMLJP2', () => {
  it('reads GDAL’s RectifiedGrid (origin at the pixel centre)', async () => {
    const layout = await readJp2Layout(readOf(U16), U16.length, 'u16');
    assert.deepEqual(parseGmlRectifiedGrid(layout.gmlXml[0]!), {
      geoKeys: { GTModelTypeGeoKey: 1, GTRasterTypeGeoKey: 1, ProjectedCSTypeGeoKey: 32633 },
      modelTiepoint: [0, 0, 0, 399960, 5000040, 0],
      modelPixelScale: [10, 10, 0],
      modelTransformation: null,
    });
  });

  it('swaps latitude-first geographic grids and keeps rotated ones as a transformation', () => {
    const grid = (srs: string, v1: string, v2: string) =>
      `<gml:RectifiedGrid><gml:origin><gml:Point srsName="${srs}"><gml:pos>45.5 7.5</gml:pos></gml:Point></gml:origin><gml:offsetVector>${v1}</gml:offsetVector><gml:offsetVector>${v2}</gml:offsetVector></gml:RectifiedGrid>`;
    const geo = parseGmlRectifiedGrid(grid('urn:ogc:def:crs:EPSG::4326', '0 0.5', '-0.5 0'))!;
    assert.deepEqual(geo.modelTiepoint, [0, 0, 0, 7.25, 45.75, 0]);
    assert.deepEqual(geo.modelPixelScale, [0.5, 0.5, 0]);
    assert.equal(geo.geoKeys.GeographicTypeGeoKey, 4326);
    const rotated = parseGmlRectifiedGrid(grid('EPSG:32633', '8 6', '6 -8'))!;
    assert.deepEqual(rotated.modelTransformation, [8, 6, 0, 45.5 - 7, 6, -8, 0, 7.5 + 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.equal(parseGmlRectifiedGrid('<gml:RectifiedGrid><gml:origin/></gml:RectifiedGrid>'), null);
  });

  it('reads EPSG codes in their three spellings', () => {
    for (const [srs, code] of [
      ['urn:ogc:def:crs:EPSG::32633', 32633],
      ['urn:ogc:def:crs:EPSG:6.6:4326', 4326],
      ['EPSG:2154', 2154],
      ['http://www.opengis.net/def/crs/EPSG/0/32736', 32736],
      ['urn:ogc:def:crs:OGC:1.3:CRS84', null],
    ] as const) {
      assert.equal(epsgCode(srs), code, srs);
    }
  });

  it('scales the georeference with the resolution level', () => {
    const g = { geoKeys: {}, modelTiepoint: [0, 0, 0, 100, 200, 0], modelPixelScale: [10, 10, 0], modelTransformation: null };
    assert.deepEqual(reduceGeoreference(g, 2), { ...g, modelPixelScale: [40, 40, 0] });
  });
});

describe('openJp2Windows on the fixtures', () => {
  const expected = (name: string, sixteen: boolean) => {
    const raw = fixture(`${name}.raw`);
    return sixteen ? new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2) : raw;
  };

  for (const [name, bytes, sixteen] of [
    ['u16-t32-parts.jp2', U16, true],
    ['u8x3-t32.j2k', RGB, false],
  ] as const) {
    it(`${name}: every window equals GDAL's pixels`, async () => {
      const reader = await openJp2Windows(bytesRangeSource(bytes), { label: name });
      const { width, height, bands } = reader.header;
      const want = expected(name, sixteen);
      assert.equal(want.length, width * height * bands);
      // Windows across tile edges, at the image's edges, one pixel, the whole image.
      for (const w of [
        { x: 0, y: 0, width, height },
        { x: 20, y: 10, width: 30, height: height - 10 },
        { x: width - 7, y: height - 5, width: 7, height: 5 },
        { x: 31, y: 31, width: 2, height: 2 },
        { x: 13, y: 17, width: 1, height: 1 },
      ]) {
        const got = await reader.readWindow(w);
        assert.equal(got.data.length, w.width * w.height * bands);
        for (let y = 0; y < w.height; y++) {
          for (let i = 0; i < w.width * bands; i++) {
            const a = got.data[y * w.width * bands + i];
            const b = want[((w.y + y) * width + w.x) * bands + i];
            if (a !== b) assert.fail(`${name} window ${JSON.stringify(w)}: sample ${i} of row ${y} is ${a}, GDAL says ${b}`);
          }
        }
      }
    });
  }

  it('gives the header (size, type, georeference) and calls admit before the tile index', async () => {
    const source = bytesRangeSource(U16);
    let requestsAtAdmit = -1;
    const reader = await openJp2Windows(source, { label: 'u16', admit: () => (requestsAtAdmit = source.requests) });
    assert.deepEqual({ ...reader.header, georef: null }, { width: 100, height: 70, bands: 1, dtype: 'uint16', georef: null, fileScaling: null, noData: null });
    assert.deepEqual(reader.header.georef?.modelTiepoint, [0, 0, 0, 399960, 5000040, 0]);
    assert.equal(reader.header.georef?.geoKeys.ProjectedCSTypeGeoKey, 32633);
    assert.deepEqual(reader.block, { width: 32, height: 32 });
    const requestsAtOpen = source.requests;
    assert.ok(requestsAtAdmit > 0 && requestsAtAdmit <= requestsAtOpen);
    // The same from a view into a larger buffer (how a Buffer from a pool or a download arrives).
    const view = Buffer.concat([Buffer.alloc(100), Buffer.from(U16)]).subarray(100);
    assert.deepEqual((await openJp2Windows(bytesRangeSource(view), { label: 'view' })).header, reader.header);
    await assert.rejects(openJp2Windows(bytesRangeSource(U16), { label: 'u16', admit: () => { throw new CloudsegError('IMAGE_TOO_LARGE', 'no'); } }), (e) => codeOf(e, 'IMAGE_TOO_LARGE'));
  });

  it('reads and decodes a tile two windows ask for at once only once, and keeps it', async () => {
    const header = parseMainHeader(RGB, 'rgb')!;
    const index = await indexTileParts(readOf(RGB), { offset: 0, length: RGB.length }, header, { label: 'rgb' });
    const tileBytes = (t: number) => index[t]!.reduce((n, p) => n + p.length, 0);
    const source = bytesRangeSource(RGB);
    const reader = await openJp2Windows(source, { label: 'rgb' });
    const before = source.bytesRead;
    await Promise.all([reader.readWindow({ x: 0, y: 0, width: 10, height: 10 }), reader.readWindow({ x: 5, y: 5, width: 10, height: 10 })]);
    assert.equal(source.bytesRead - before, tileBytes(0));
    await reader.readWindow({ x: 30, y: 0, width: 10, height: 10 });
    assert.equal(source.bytesRead - before, tileBytes(0) + tileBytes(1));
    await reader.readWindow({ x: 1, y: 1, width: 3, height: 3 });
    assert.equal(source.bytesRead - before, tileBytes(0) + tileBytes(1), 'a cached tile is not read again');
  });

  it('refuses a 100,000 x 100,000 header before reading any tile', async () => {
    const { offset } = await headerOf(U16);
    let bomb = withSizField(U16, offset, SIZ_FIELD.x1, 100_000);
    bomb = withSizField(bomb, offset, SIZ_FIELD.y1, 100_000);
    const source = bytesRangeSource(bomb);
    await assert.rejects(openJp2Windows(source, { label: 'bomb' }), (e) => codeOf(e, 'IMAGE_TOO_LARGE'));
    assert.ok(source.bytesRead < 70 * 1024, `${source.bytesRead} bytes read`);
  });

  it('refuses a truncated JP2, a tile grid that does not cover the image, sub-sampling and an impossible reduce', async () => {
    await assert.rejects(openJp2Windows(bytesRangeSource(U16.subarray(0, U16.length - 500)), { label: 'cut' }), (e) => codeOf(e, 'CORRUPT_IMAGE'));
    const { offset } = await headerOf(U16);
    await assert.rejects(openJp2Windows(bytesRangeSource(withSizField(U16, offset, SIZ_FIELD.tileY0, 9)), { label: 'grid' }), (e) => codeOf(e, 'CORRUPT_IMAGE'));
    const subsampled = U16.slice();
    subsampled[offset + 6 + 36 + 1] = 2; // XRsiz of component 0
    await assert.rejects(openJp2Windows(bytesRangeSource(subsampled), { label: 'sub' }), (e) => codeOf(e, 'UNSUPPORTED_FORMAT'));
    await assert.rejects(openJp2Windows(bytesRangeSource(U16), { label: 'deep', reduce: 3 }), (e) => codeOf(e, 'UNSUPPORTED_FORMAT'));
    await assert.rejects(openJp2Windows(bytesRangeSource(RGB), { label: 'bands', expectedBands: 4 }), (e) => codeOf(e, 'BAND_MISMATCH'));
  });
});

// The codestream's SOD of its first tile-part turned into an unknown marker: OpenJPEG decodes nothing.
function withoutFirstSod(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  for (let i = 0; i + 1 < out.length; i++) {
    if (out[i] === 0xff && out[i + 1] === 0x93) {
      out[i + 1] = 0x94;
      return out;
    }
  }
  throw new Error('no SOD');
}

describe('decode threads', () => {
  it('decode the same samples as the calling thread, with one thread, the default and none', async () => {
    const whole = { x: 0, y: 0, width: 100, height: 70 };
    const inline = await (await openJp2Windows(bytesRangeSource(U16), { label: 'u16', decodeThreads: 0 })).readWindow(whole);
    for (const decodeThreads of [1, undefined]) {
      const threaded = await (await openJp2Windows(bytesRangeSource(U16), { label: 'u16', decodeThreads })).readWindow(whole);
      assert.deepEqual(threaded, inline, `decodeThreads ${decodeThreads}`);
    }
    await assert.rejects(openJp2Windows(bytesRangeSource(U16), { label: 'u16', decodeThreads: -1 }), (e) => codeOf(e, 'INTERNAL'));
  });

  it('turn a tile the codec cannot decode into the same CORRUPT_IMAGE as the calling thread', async () => {
    const broken = withoutFirstSod(U16);
    const messages: string[] = [];
    for (const decodeThreads of [0, 2]) {
      const reader = await openJp2Windows(bytesRangeSource(broken), { label: 'broken', decodeThreads });
      await assert.rejects(reader.readWindow({ x: 0, y: 0, width: 10, height: 10 }), (e) => {
        messages.push((e as Error).message);
        return codeOf(e, 'CORRUPT_IMAGE') && !(e as CloudsegError).retryable;
      });
      // Not cached: the next read of the tile fails the same way.
      await assert.rejects(reader.readWindow({ x: 1, y: 1, width: 2, height: 2 }), (e) => codeOf(e, 'CORRUPT_IMAGE'));
    }
    assert.equal(messages[0], messages[1]);
  });

  it('start no more threads than the pool allows, queue the rest, and reject once closed', async () => {
    const { header, bytes } = await headerOf(U16);
    const index = await indexTileParts(readOf(bytes), { offset: 0, length: bytes.length }, header, { label: 'u16' });
    const codestreamOf = (tile: number) => singleTileCodestream(singleTileMainHeader(bytes.subarray(0, header.length), header, tile), index[tile]!.map((r) => bytes.slice(r.offset, r.offset + r.length)));
    const pool = new DecodePool(1);
    try {
      const request = (tile: number) => ({ codestream: codestreamOf(tile), reduce: 0, width: 32, height: 32, components: 1, sampleType: 'uint16' as const, label: 'u16' });
      const decoded = await Promise.all([0, 1, 2].map((t) => pool.decode(request(t))));
      assert.equal(pool.started, 1);
      assert.ok(decoded.every((d) => d instanceof Uint16Array && d.length === 32 * 32));
      const want = expectedRaw('u16-t32-parts.jp2');
      for (let y = 0; y < 32; y++) assert.deepEqual(Array.from(decoded[1]!.subarray(y * 32, y * 32 + 32)), Array.from(want.subarray(y * 100 + 32, y * 100 + 64)), `tile 1 row ${y}`);
      // The caller's codestream was handed over, not copied.
      const codestream = codestreamOf(0);
      await pool.decode({ ...request(0), codestream });
      assert.equal(codestream.byteLength, 0);
    } finally {
      await pool.close();
    }
    await assert.rejects(pool.decode({ codestream: new Uint8Array(4), reduce: 0, width: 1, height: 1, components: 1, sampleType: 'uint8', label: 'x' }), (e) => codeOf(e, 'INTERNAL'));
    assert.throws(() => new DecodePool(0), (e) => codeOf(e, 'INTERNAL'));
  });
});

function expectedRaw(name: string): Uint16Array {
  const raw = fixture(`${name}.raw`);
  return new Uint16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2);
}
