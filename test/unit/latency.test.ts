import { test } from 'node:test';
import assert from 'node:assert/strict';
import { latencyMsOf } from '../../shared/worker/process-item.js';

test('latencyMsOf: finalize -> publish in milliseconds; null when the item carried no finalize time', () => {
  const publishedAt = new Date('2024-05-01T10:00:02.500Z');
  const cases: [string | undefined, number | null][] = [
    ['2024-05-01T10:00:00.000Z', 2500],
    ['2024-05-01T10:00:02.500Z', 0],
    ['2024-04-30T10:00:02.500Z', 86_400_000],
    // The store's clock a little ahead of ours: never a negative latency (the schema refuses one).
    ['2024-05-01T10:00:03.000Z', 0],
    [undefined, null],
    ['not a time', null],
  ];
  for (const [finalizedAt, expected] of cases) assert.equal(latencyMsOf(finalizedAt, publishedAt), expected, String(finalizedAt));
  assert.equal(latencyMsOf('2024-05-01T10:00:00.000Z', new Date(Number.NaN)), null, 'an invalid clock gives null, not NaN');
});
