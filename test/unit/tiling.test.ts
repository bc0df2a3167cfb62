// Tiling and stitching as tables: where tiles fall, how they are padded, and that stitching writes
// every pixel of the scene exactly once, from the tile where it is farthest from a seam.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractTile, padToMultiple, planAxis, planTiles, reflectIndex, stitchTile } from '../../shared/imaging/tiling.js';

type Span = [start: number, end: number, ownFrom: number, ownTo: number];
const axisCases: { name: string; args: [length: number, tileSize: number, overlap: number, alignTo?: number]; spans: Span[] }[] = [
  { name: 'image smaller than the tile: one clamped tile', args: [384, 512, 64, 8], spans: [[0, 384, 0, 384]] },
  { name: 'exactly one tile', args: [512, 512, 64, 8], spans: [[0, 512, 0, 512]] },
  { name: 'one pixel', args: [1, 512, 64, 8], spans: [[0, 1, 0, 1]] },
  { name: 'zero overlap, exact multiple', args: [1024, 512, 0, 8], spans: [[0, 512, 0, 512], [512, 1024, 512, 1024]] },
  { name: 'zero overlap, one pixel more than a multiple', args: [1025, 512, 0, 1], spans: [[0, 342, 0, 341], [341, 683, 341, 683], [683, 1025, 683, 1025]] },
  { name: 'overlap, exact multiple of the tile: balanced tiles', args: [1024, 512, 64, 8], spans: [[0, 384, 0, 352], [320, 704, 352, 672], [640, 1024, 672, 1024]] },
  { name: 'overlap, 700 pixels: two tiles, last one narrower by < alignTo', args: [700, 512, 64, 8], spans: [[0, 384, 0, 352], [320, 700, 352, 700]] },
  { name: 'overlap, 1000 pixels', args: [1000, 512, 64, 8], spans: [[0, 376, 0, 344], [312, 688, 344, 656], [624, 1000, 656, 1000]] },
  { name: 'one pixel past a tile', args: [513, 512, 64, 8], spans: [[0, 296, 0, 260], [224, 513, 260, 513]] },
  { name: 'tile of one multiple, a 1-pixel last tile', args: [17, 8, 0, 8], spans: [[0, 8, 0, 8], [8, 16, 8, 16], [16, 17, 16, 17]] },
  { name: 'no alignment, 1-pixel steps', args: [5, 2, 1, 1], spans: [[0, 2, 0, 1], [1, 3, 1, 2], [2, 4, 2, 3], [3, 5, 3, 5]] },
];

for (const c of axisCases) {
  test(`planAxis: ${c.name}`, () => {
    const spans = planAxis(...c.args).map((s): Span => [s.start, s.end, s.ownFrom, s.ownTo]);
    assert.deepEqual(spans, c.spans);
  });
}

test('planAxis rejects impossible parameters', () => {
  assert.throws(() => planAxis(0, 512, 0), RangeError);
  assert.throws(() => planAxis(100, 0, 0), RangeError);
  assert.throws(() => planAxis(100, 512, -1), RangeError);
  assert.throws(() => planAxis(100, 500, 0, 8), /multiple of alignTo/);
  assert.throws(() => planAxis(1000, 512, 512, 8), /no step/);
});

// Invariants over many sizes: cores partition the axis, tiles are aligned, within bounds, at most
// tileSize, neighbours overlap by at least `overlap`, and every owned pixel is >= floor(overlap/2)
// from any seam of its tile that is not the image border.
test('planAxis invariants over lengths 1..1100 (tile 64, overlap 16, align 8) and real tile sizes', () => {
  const configs: [number, number, number][] = [
    [64, 16, 8],
    [512, 64, 8],
    [32, 0, 1],
    [48, 47, 1],
  ];
  for (const [tileSize, overlap, alignTo] of configs) {
    for (let length = 1; length <= 1100; length += tileSize === 512 ? 7 : 1) {
      const spans = planAxis(length, tileSize, overlap, alignTo);
      const where = `length ${length}, tile ${tileSize}, overlap ${overlap}, align ${alignTo}`;
      assert.equal(spans[0]!.start, 0, where);
      assert.equal(spans[0]!.ownFrom, 0, where);
      assert.equal(spans.at(-1)!.end, length, where);
      assert.equal(spans.at(-1)!.ownTo, length, where);
      for (const [i, s] of spans.entries()) {
        assert.equal(s.start % alignTo, 0, `${where}: aligned start`);
        assert.ok(s.end - s.start <= tileSize && s.end > s.start, `${where}: size`);
        assert.ok(s.ownFrom >= s.start && s.ownTo <= s.end && s.ownTo > s.ownFrom, `${where}: core inside tile`);
        if (i > 0) {
          const prev = spans[i - 1]!;
          assert.equal(s.ownFrom, prev.ownTo, `${where}: cores are contiguous`);
          assert.ok(prev.end - s.start >= overlap, `${where}: overlap ${prev.end - s.start}`);
          assert.ok(s.ownFrom - s.start >= Math.floor(overlap / 2), `${where}: seam margin left`);
          assert.ok(prev.end - prev.ownTo >= Math.floor(overlap / 2), `${where}: seam margin right`);
        }
      }
      if (length > tileSize) {
        // Balanced: no plan uses more tiles than the minimum plus one.
        assert.ok(spans.length <= Math.ceil((length - overlap) / (tileSize - overlap)) + 1, `${where}: ${spans.length} tiles`);
      }
    }
  }
});

test('planTiles: row-major grid whose cores cover every pixel exactly once', () => {
  for (const [w, h] of [[1000, 700], [37, 53], [512, 512], [1, 1], [1, 900], [1025, 3]] as const) {
    const tiles = planTiles(w, h, 512, 64, 8);
    const hits = new Uint8Array(w * h);
    for (const t of tiles) {
      assert.ok(t.x + t.width <= w && t.y + t.height <= h);
      for (let y = t.core.y; y < t.core.y + t.core.height; y++) for (let x = t.core.x; x < t.core.x + t.core.width; x++) hits[y * w + x]!++;
    }
    assert.ok(hits.every((n) => n === 1), `${w}x${h}`);
    const ys = tiles.map((t) => t.y);
    assert.deepEqual(ys, [...ys].sort((a, b) => a - b), 'row-major');
  }
  assert.equal(planTiles(1000, 700, 512, 64, 8).length, 6);
});

test('reflectIndex mirrors like numpy pad mode "reflect"', () => {
  // np.pad(np.arange(3), (0, 7), mode='reflect') -> 0 1 2 1 0 1 2 1 0 1
  assert.deepEqual(Array.from({ length: 10 }, (_, i) => reflectIndex(i, 3)), [0, 1, 2, 1, 0, 1, 2, 1, 0, 1]);
  assert.deepEqual([-1, -2, -3].map((i) => reflectIndex(i, 3)), [1, 2, 1]);
  assert.deepEqual(Array.from({ length: 4 }, (_, i) => reflectIndex(i, 1)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from({ length: 5 }, (_, i) => reflectIndex(i, 2)), [0, 1, 0, 1, 0]);
});

test('padToMultiple', () => {
  assert.deepEqual([1, 7, 8, 9, 37, 700].map((n) => padToMultiple(n, 8)), [8, 8, 8, 16, 40, 704]);
});

test('extractTile copies HWC bands and reflect-pads right and bottom', () => {
  // 4x3 image, 2 bands: value = 10 * (y * 4 + x) + band
  const w = 4;
  const h = 3;
  const image = Float32Array.from({ length: w * h * 2 }, (_, i) => 10 * Math.floor(i / 2) + (i % 2));
  const out = new Float32Array(1 + 4 * 4 * 2).fill(-1);
  extractTile(image, w, 2, { x: 1, y: 1, width: 3, height: 2 }, 4, 4, out, 1);
  assert.equal(out[0], -1, 'nothing written before the offset');
  const band0 = Array.from({ length: 16 }, (_, i) => out[1 + i * 2]! / 10);
  // tile rows y=1,2 padded to 4 rows by reflection (0,1,0,1); columns x=1..3 then x=2 mirrored
  assert.deepEqual(band0, [5, 6, 7, 6, 9, 10, 11, 10, 5, 6, 7, 6, 9, 10, 11, 10]);
  assert.deepEqual(Array.from({ length: 16 }, (_, i) => out[2 + i * 2]! % 10), Array(16).fill(1));
});

test('extract then stitch of a 1-band identity reproduces the scene for odd sizes', () => {
  for (const [w, h, tile, overlap] of [[37, 53, 16, 8], [1000, 700, 512, 64], [9, 1, 8, 0], [130, 70, 64, 16]] as const) {
    const image = Float32Array.from({ length: w * h }, (_, i) => i);
    const out = new Float32Array(w * h).fill(-1);
    for (const t of planTiles(w, h, tile, overlap, 8)) {
      const pw = padToMultiple(t.width, 8);
      const ph = padToMultiple(t.height, 8);
      const buf = new Float32Array(pw * ph * 2);
      // batch slot 1 of 2, to exercise the offsets
      extractTile(image, w, 1, t, pw, ph, buf, pw * ph);
      stitchTile(out, w, t, buf, pw, pw * ph);
    }
    assert.deepEqual(out, image, `${w}x${h}`);
  }
});
