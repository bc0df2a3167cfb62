import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchItemSchema } from '../../shared/contracts/batch.js';
import { classifyMessages, closedBatches, expectedSeconds, planBatches, type PulledMessage } from '../../shared/flush/plan.js';

// A notification as GCS sends it with payloadFormat JSON_API_V1: attributes plus the object resource.
function gcsMessage(
  ackId: string,
  object: { bucket?: string; name: string; generation?: string; size?: number; contentType?: string; metadata?: Record<string, string>; times?: Record<string, string> },
  overrides: { eventType?: string; attributes?: Record<string, string>; data?: string | null; eventTime?: string } = {},
): PulledMessage {
  const bucket = object.bucket ?? 'in-bucket';
  const generation = object.generation ?? '1700000000000001';
  const resource = {
    kind: 'storage#object',
    bucket,
    name: object.name,
    generation,
    metageneration: '1',
    size: String(object.size ?? 1000),
    ...(object.contentType === undefined ? {} : { contentType: object.contentType }),
    ...(object.metadata === undefined ? {} : { metadata: object.metadata }),
    ...object.times,
  };
  return {
    ackId,
    messageId: `m-${ackId}`,
    data: overrides.data === undefined ? Buffer.from(JSON.stringify(resource)) : overrides.data,
    attributes: overrides.attributes ?? {
      eventType: overrides.eventType ?? 'OBJECT_FINALIZE',
      bucketId: bucket,
      objectId: object.name,
      objectGeneration: generation,
      payloadFormat: 'JSON_API_V1',
      notificationConfig: 'projects/_/buckets/in-bucket/notificationConfigs/1',
      ...(overrides.eventTime === undefined ? {} : { eventTime: overrides.eventTime }),
    },
  };
}

describe('classifyMessages', () => {
  const cases: {
    name: string;
    messages: PulledMessage[];
    accepted: string[];
    acceptedAckIds?: Record<string, string[]>;
    duplicates?: number;
    skipped?: Partial<Record<string, string[]>>;
    rejected?: string[];
  }[] = [
    { name: 'zero messages', messages: [], accepted: [] },
    {
      name: 'one tif finalize',
      messages: [gcsMessage('a', { name: 'scenes/x.tif', contentType: 'image/tiff' })],
      accepted: ['in-bucket/scenes/x.tif#1700000000000001'],
    },
    {
      name: 'generic content types are work too; a missing type becomes octet-stream',
      messages: [
        gcsMessage('a', { name: 'x.PNG', contentType: 'application/octet-stream' }),
        gcsMessage('b', { name: 'y.tiff' }),
        gcsMessage('c', { name: 'notes.txt', contentType: 'application/octet-stream' }),
      ],
      accepted: ['in-bucket/x.PNG#1700000000000001', 'in-bucket/y.tiff#1700000000000001', 'in-bucket/notes.txt#1700000000000001'],
    },
    {
      name: 'duplicates (same generation) fold into one item carrying every ack id, in arrival order',
      messages: [
        gcsMessage('a1', { name: 'a.tif' }),
        gcsMessage('b1', { name: 'b.tif' }),
        gcsMessage('a2', { name: 'a.tif' }),
        gcsMessage('a3', { name: 'a.tif' }),
      ],
      accepted: ['in-bucket/a.tif#1700000000000001', 'in-bucket/b.tif#1700000000000001'],
      acceptedAckIds: { 'in-bucket/a.tif#1700000000000001': ['a1', 'a2', 'a3'], 'in-bucket/b.tif#1700000000000001': ['b1'] },
      duplicates: 2,
    },
    {
      name: 'a new generation of the same name is new work, not a duplicate',
      messages: [gcsMessage('g1', { name: 'a.tif', generation: '1' }), gcsMessage('g2', { name: 'a.tif', generation: '2' })],
      accepted: ['in-bucket/a.tif#1', 'in-bucket/a.tif#2'],
      duplicates: 0,
    },
    {
      name: 'same name in two buckets is two items',
      messages: [gcsMessage('x', { bucket: 'b-one', name: 'a.tif' }), gcsMessage('y', { bucket: 'b-two', name: 'a.tif' })],
      accepted: ['b-one/a.tif#1700000000000001', 'b-two/a.tif#1700000000000001'],
    },
    {
      name: 'non-finalize events are skipped',
      messages: [
        gcsMessage('d', { name: 'a.tif' }, { eventType: 'OBJECT_DELETE' }),
        gcsMessage('m', { name: 'a.tif' }, { eventType: 'OBJECT_METADATA_UPDATE' }),
        gcsMessage('r', { name: 'a.tif' }, { eventType: 'OBJECT_ARCHIVE' }),
      ],
      accepted: [],
      skipped: { 'not-finalize': ['d', 'm', 'r'] },
    },
    {
      name: 'any upload is work (the worker decides by its bytes and reports the rest); a folder placeholder is not',
      messages: [
        gcsMessage('j', { name: 'photo.tif', contentType: 'image/jpeg' }),
        gcsMessage('t', { name: 'readme.txt', contentType: 'text/plain' }),
        gcsMessage('f', { name: 'folder/', size: 0 }),
      ],
      accepted: ['in-bucket/photo.tif#1700000000000001', 'in-bucket/readme.txt#1700000000000001'],
      skipped: { 'folder-placeholder': ['f'] },
    },
    {
      name: 'a mask cloudseg wrote is never fed back in (output bucket shared with the input)',
      messages: [
        gcsMessage('k', { name: 'a.mask.png', contentType: 'image/png', metadata: { 'cloudseg-source-generation': '7', 'cloudseg-model-md5': 'x' } }),
        gcsMessage('u', { name: 'b.png', contentType: 'image/png', metadata: { owner: 'someone' } }),
      ],
      accepted: ['in-bucket/b.png#1700000000000001'],
      skipped: { 'cloudseg-mask': ['k'] },
    },
    {
      name: 'payloadFormat NONE carries no object resource',
      messages: [
        gcsMessage('n', { name: 'a.tif' }, {
          data: null,
          attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'in-bucket', objectId: 'a.tif', objectGeneration: '5', payloadFormat: 'NONE' },
        }),
      ],
      accepted: [],
      skipped: { 'no-object-resource': ['n'] },
    },
    {
      name: 'malformed: not JSON, empty data, bad attributes, missing attributes, payload/attribute mismatch, bad size',
      messages: [
        gcsMessage('notjson', { name: 'a.tif' }, { data: '{not json' }),
        gcsMessage('empty', { name: 'a.tif' }, { data: '' }),
        gcsMessage('badattr', { name: 'a.tif' }, { eventType: 'OBJECT_EXPLODE' }),
        { ackId: 'noattr', data: Buffer.from('{}'), attributes: null },
        gcsMessage('mismatch', { name: 'a.tif' }, {
          attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'in-bucket', objectId: 'other.tif', objectGeneration: '1700000000000001', payloadFormat: 'JSON_API_V1' },
        }),
        gcsMessage('badsize', { name: 'a.tif' }, {
          data: JSON.stringify({ bucket: 'in-bucket', name: 'a.tif', generation: '1700000000000001', size: -3 }),
        }),
      ],
      accepted: [],
      rejected: ['notjson', 'empty', 'badattr', 'noattr', 'mismatch', 'badsize'],
    },
  ];

  for (const c of cases) {
    test(c.name, () => {
      const out = classifyMessages(c.messages);
      assert.deepEqual([...out.accepted.keys()], c.accepted);
      for (const [key, ackIds] of Object.entries(c.acceptedAckIds ?? {})) assert.deepEqual(out.accepted.get(key)?.ackIds, ackIds);
      assert.equal(out.duplicates, c.duplicates ?? 0);
      assert.deepEqual(out.skipped, { 'not-finalize': [], 'folder-placeholder': [], 'no-object-resource': [], 'cloudseg-mask': [], 'foreign-bucket': [], 'scene-member': [], ...c.skipped });
      assert.deepEqual(out.rejected.map((r) => r.ackId), c.rejected ?? []);
      for (const r of out.rejected) assert.equal(r.error.code, 'INVALID_MESSAGE');
      // every message is accounted for exactly once
      const seen = [
        ...[...out.accepted.values()].flatMap((a) => a.ackIds),
        ...Object.values(out.skipped).flat(),
        ...out.rejected.map((r) => r.ackId),
      ];
      assert.deepEqual(seen.sort(), c.messages.map((m) => m.ackId).sort());
    });
  }

  test('the batch item carries size as a number and the content type', () => {
    const out = classifyMessages([gcsMessage('a', { name: 'a.tif', size: 123456, contentType: 'image/tiff' }), gcsMessage('b', { name: 'b.png' })]);
    assert.deepEqual([...out.accepted.values()].map((a) => a.item), [
      { bucket: 'in-bucket', name: 'a.tif', generation: '1700000000000001', size: 123456, contentType: 'image/tiff' },
      { bucket: 'in-bucket', name: 'b.png', generation: '1700000000000001', size: 1000, contentType: 'application/octet-stream' },
    ]);
  });

  describe('finalizedAt: the upload\'s finalize time travels with the item', () => {
    const cases: { name: string; times?: Record<string, string>; eventTime?: string; expect: string | undefined }[] = [
      { name: 'timeCreated (what GCS and the local server send for a finalize)', times: { timeCreated: '2024-05-01T10:00:00.123Z', updated: '2024-05-01T10:00:00.123Z' }, expect: '2024-05-01T10:00:00.123Z' },
      { name: 'timeFinalized wins when present', times: { timeFinalized: '2024-05-01T10:00:05.000Z', timeCreated: '2024-05-01T10:00:00.000Z' }, expect: '2024-05-01T10:00:05.000Z' },
      { name: 'timeCreated before updated (a metadata update moves updated)', times: { timeCreated: '2024-05-01T10:00:00.000Z', updated: '2024-05-02T00:00:00.000Z' }, expect: '2024-05-01T10:00:00.000Z' },
      { name: 'only updated', times: { updated: '2024-05-01T10:00:00Z' }, expect: '2024-05-01T10:00:00.000Z' },
      { name: 'an offset is normalised to UTC', times: { timeCreated: '2024-05-01T12:00:00.5+02:00' }, expect: '2024-05-01T10:00:00.500Z' },
      { name: 'microseconds are cut to milliseconds', times: { timeCreated: '2024-05-01T10:00:00.123456Z' }, expect: '2024-05-01T10:00:00.123Z' },
      { name: 'no time in the object: the notification eventTime', eventTime: '2024-05-01T10:00:01.000Z', expect: '2024-05-01T10:00:01.000Z' },
      { name: 'an unusable timeCreated falls through to eventTime', times: { timeCreated: 'yesterday' }, eventTime: '2024-05-01T10:00:01.000Z', expect: '2024-05-01T10:00:01.000Z' },
      { name: 'no time at all: absent, not invented', expect: undefined },
      { name: 'garbage only: absent', times: { timeCreated: '1', updated: '' }, eventTime: 'May 1', expect: undefined },
    ];
    for (const c of cases) {
      test(c.name, () => {
        const message = gcsMessage('a', { name: 'a.tif', ...(c.times ? { times: c.times } : {}) }, c.eventTime === undefined ? {} : { eventTime: c.eventTime });
        const [accepted] = [...classifyMessages([message]).accepted.values()];
        assert.equal(accepted?.item.finalizedAt, c.expect);
        if (c.expect === undefined) assert.ok(!('finalizedAt' in accepted!.item), 'no key at all, so old-shape items stay as they were');
        // Whatever planning sets, the batch schema takes (a refused time would fail the whole publish).
        assert.ok(BatchItemSchema.safeParse(accepted!.item).success);
      });
    }

    test('the first copy of a duplicate sets it', () => {
      const out = classifyMessages([
        gcsMessage('a', { name: 'a.tif', times: { timeCreated: '2024-05-01T10:00:00.000Z' } }),
        gcsMessage('b', { name: 'a.tif', times: { timeCreated: '2024-05-01T10:00:00.000Z' } }, { eventTime: '2024-05-01T11:00:00.000Z' }),
      ]);
      assert.equal(out.duplicates, 1);
      assert.equal([...out.accepted.values()][0]?.item.finalizedAt, '2024-05-01T10:00:00.000Z');
    });
  });

  test('duplicates across pulls: classify the concatenation of every pull in order', () => {
    const pull1 = [gcsMessage('p1a', { name: 'a.tif' }), gcsMessage('p1b', { name: 'b.tif' })];
    const pull2 = [gcsMessage('p2b', { name: 'b.tif' }), gcsMessage('p2c', { name: 'c.tif' })];
    const out = classifyMessages([...pull1, ...pull2]);
    assert.deepEqual([...out.accepted.values()].map((a) => a.item.name), ['a.tif', 'b.tif', 'c.tif']);
    assert.deepEqual(out.accepted.get('in-bucket/b.tif#1700000000000001')?.ackIds, ['p1b', 'p2b']);
    assert.equal(out.duplicates, 1);
  });

  test('only the configured input buckets are work; the same name in another bucket is skipped', () => {
    const messages = [gcsMessage('a', { name: 'a.tif' }), gcsMessage('b', { bucket: 'someone-else', name: 'a.tif' })];
    const out = classifyMessages(messages, new Set(['in-bucket']));
    assert.deepEqual([...out.accepted.values()].map((a) => `${a.item.bucket}/${a.item.name}`), ['in-bucket/a.tif']);
    assert.deepEqual(out.skipped['foreign-bucket'], ['b']);
    assert.equal(classifyMessages(messages).accepted.size, 2, 'no filter without configured buckets');
  });
});

describe('planBatches', () => {
  const item = (id: string, size: number) => ({ id, size });
  const ids = (batches: { id: string }[][]) => batches.map((b) => b.map((i) => i.id).join(''));
  const cases: { name: string; sizes: [string, number][]; maxItems: number; maxBytes: number; expect: string[] }[] = [
    { name: 'zero items, zero batches', sizes: [], maxItems: 3, maxBytes: 100, expect: [] },
    { name: 'one item', sizes: [['a', 10]], maxItems: 3, maxBytes: 100, expect: ['a'] },
    { name: 'many items cut by count', sizes: [['a', 1], ['b', 1], ['c', 1], ['d', 1], ['e', 1], ['f', 1], ['g', 1]], maxItems: 3, maxBytes: 100, expect: ['abc', 'def', 'g'] },
    { name: 'exactly at the item limit', sizes: [['a', 1], ['b', 1], ['c', 1]], maxItems: 3, maxBytes: 100, expect: ['abc'] },
    { name: 'exactly at the byte limit stays together', sizes: [['a', 40], ['b', 60], ['c', 1]], maxItems: 10, maxBytes: 100, expect: ['ab', 'c'] },
    { name: 'one byte over the limit cuts', sizes: [['a', 40], ['b', 61]], maxItems: 10, maxBytes: 100, expect: ['a', 'b'] },
    { name: 'an oversize item goes alone, order kept', sizes: [['a', 10], ['B', 500], ['c', 10], ['d', 10]], maxItems: 10, maxBytes: 100, expect: ['a', 'B', 'cd'] },
    { name: 'oversize first and last', sizes: [['A', 101], ['b', 1], ['C', 999]], maxItems: 10, maxBytes: 100, expect: ['A', 'b', 'C'] },
    { name: 'maxItems 1', sizes: [['a', 1], ['b', 1]], maxItems: 1, maxBytes: 100, expect: ['a', 'b'] },
    { name: 'zero-byte items still count toward items', sizes: [['a', 0], ['b', 0], ['c', 0]], maxItems: 2, maxBytes: 1, expect: ['ab', 'c'] },
    { name: 'byte limit closes before item limit', sizes: [['a', 30], ['b', 30], ['c', 30], ['d', 30]], maxItems: 8, maxBytes: 64, expect: ['ab', 'cd'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const batches = planBatches(c.sizes.map(([id, size]) => item(id, size)), { maxItems: c.maxItems, maxBytes: c.maxBytes });
      assert.deepEqual(ids(batches), c.expect);
    });
  }

  test('invariants over a large random input: order kept, limits held, nothing lost', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const items = Array.from({ length: 2000 }, (_, i) => item(String(i), Math.floor(rand() * 300)));
    const limits = { maxItems: 7, maxBytes: 500 };
    const batches = planBatches(items, limits);
    assert.deepEqual(batches.flat(), items);
    for (const b of batches) {
      assert.ok(b.length >= 1 && b.length <= limits.maxItems);
      const bytes = b.reduce((s, i) => s + i.size, 0);
      assert.ok(bytes <= limits.maxBytes || b.length === 1);
    }
  });

  test('limits below 1 are a programming error', () => {
    assert.throws(() => planBatches([item('a', 1)], { maxItems: 0, maxBytes: 10 }), RangeError);
    assert.throws(() => planBatches([item('a', 1)], { maxItems: 1, maxBytes: 0 }), RangeError);
    assert.throws(() => planBatches([item('a', 1)], { maxItems: 1, maxBytes: 10, maxSeconds: 0 }), RangeError);
  });
});

describe('planBatches by expected seconds', () => {
  const scene = (id: string, seconds: number, size = 1) => ({ id, size, expectedSeconds: seconds });
  const ids = (batches: { id: string }[][]) => batches.map((b) => b.map((i) => i.id).join(''));
  const cases: { name: string; items: [string, number][]; maxSeconds: number; maxItems?: number; expect: string[] }[] = [
    { name: 'under the limit: one batch', items: [['a', 10], ['b', 10], ['c', 10]], maxSeconds: 300, expect: ['abc'] },
    { name: 'exactly at the limit stays together', items: [['a', 100], ['b', 200], ['c', 1]], maxSeconds: 300, expect: ['ab', 'c'] },
    { name: 'a fraction over cuts', items: [['a', 100], ['b', 200.001]], maxSeconds: 300, expect: ['a', 'b'] },
    { name: 'an item over the limit goes alone, order kept', items: [['a', 10], ['H', 6000], ['c', 10], ['d', 10]], maxSeconds: 300, expect: ['a', 'H', 'cd'] },
    { name: 'seconds close before the item limit', items: [['a', 120], ['b', 120], ['c', 120], ['d', 120], ['e', 120]], maxSeconds: 300, maxItems: 8, expect: ['ab', 'cd', 'e'] },
    { name: 'the item limit still closes before seconds', items: [['a', 1], ['b', 1], ['c', 1]], maxSeconds: 300, maxItems: 2, expect: ['ab', 'c'] },
    { name: 'items without expected seconds weigh nothing', items: [['a', 0], ['b', 0]], maxSeconds: 0.5, expect: ['ab'] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const batches = planBatches(c.items.map(([id, s]) => scene(id, s)), { maxItems: c.maxItems ?? 100, maxBytes: 1e12, maxSeconds: c.maxSeconds });
      assert.deepEqual(ids(batches), c.expect);
    });
  }

  test('eight 40 Mpx scenes (the finding): one batch only when the engine can do them in time', () => {
    const limits = { maxItems: 8, maxBytes: 2 ** 40, maxSeconds: 300 };
    const scenes = (secondsPerMpx: number) => Array.from({ length: 8 }, (_, i) => scene(String(i), expectedSeconds(40e6, secondsPerMpx), 80 * 2 ** 20));
    // ONNX Runtime's measured 0.6 s/Mpx: 24 s each, 192 s together, under 300.
    assert.deepEqual(planBatches(scenes(0.6), limits).map((b) => b.length), [8]);
    // TF.js wasm (~4 s/Mpx): 160 s each, so two would pass 300: one scene per batch. By count and
    // bytes alone they were one batch of ~1280 s, far past the worker's 540 s timeout.
    assert.deepEqual(planBatches(scenes(4), limits).map((b) => b.length), [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.deepEqual(planBatches(scenes(4), { maxItems: 8, maxBytes: 2 ** 40 }).map((b) => b.length), [8], 'the old limits');
  });

  test('expectedSeconds: pixels in megapixels times seconds per megapixel', () => {
    assert.equal(expectedSeconds(0, 0.6), 0);
    assert.equal(expectedSeconds(1e6, 0.6), 0.6);
    assert.equal(expectedSeconds(1e10, 0.6), 6000);
  });

  test('invariants over a large random input: order kept, every limit held unless alone', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const items = Array.from({ length: 2000 }, (_, i) => ({ id: String(i), size: Math.floor(rand() * 300), expectedSeconds: rand() < 0.05 ? 500 : rand() * 120 }));
    const limits = { maxItems: 7, maxBytes: 800, maxSeconds: 300 };
    const batches = planBatches(items, limits);
    assert.deepEqual(batches.flat(), items);
    for (const b of batches) {
      assert.ok(b.length >= 1 && b.length <= limits.maxItems);
      assert.ok(b.reduce((s, i) => s + i.expectedSeconds, 0) <= limits.maxSeconds || b.length === 1);
      assert.ok(b.reduce((s, i) => s + i.size, 0) <= limits.maxBytes || b.length === 1);
    }
  });
});

describe('closedBatches (batches released while flush still pulls)', () => {
  const sizes = [5, 1, 1, 9, 2, 2, 2, 30, 1, 1, 1, 1, 1, 1, 1, 1];
  // Seconds cut where bytes and count would not (items 9-10, 12-13), and one item over the limit alone (11).
  const seconds = [10, 10, 10, 10, 10, 10, 10, 10, 60, 50, 500, 90, 20, 1, 1, 1];
  const limits = { maxItems: 3, maxBytes: 10, maxSeconds: 100 };
  const items = sizes.map((size, id) => ({ id, size, expectedSeconds: seconds[id]! }));

  test('every prefix: closed batches plus the open one are exactly planBatches of that prefix', () => {
    for (let n = 0; n <= items.length; n++) {
      const prefix = items.slice(0, n);
      const { closed, open } = closedBatches(prefix, limits);
      const whole = planBatches(prefix, limits);
      assert.deepEqual(open.length > 0 ? [...closed, open] : closed, whole, `prefix of ${n}`);
    }
  });

  test('a closed batch never changes as more items arrive (prefix-stable)', () => {
    const final = planBatches(items, limits);
    for (let n = 0; n <= items.length; n++) {
      const { closed } = closedBatches(items.slice(0, n), limits);
      assert.deepEqual(closed, final.slice(0, closed.length), `prefix of ${n}`);
    }
  });

  test('a batch at the item limit is released at once; none, one and an oversized item', () => {
    assert.deepEqual(closedBatches([], limits), { closed: [], open: [] });
    assert.deepEqual(closedBatches([{ size: 1 }], limits), { closed: [], open: [{ size: 1 }] });
    assert.deepEqual(closedBatches([{ size: 1 }, { size: 1 }, { size: 1 }], limits).open, []);
    assert.deepEqual(closedBatches([{ size: 50 }, { size: 1 }], limits), { closed: [[{ size: 50 }]], open: [{ size: 1 }] });
  });
});
