import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stopReason } from '../../shared/flush/stop-rule.js';

const limits = { maxMessages: 100, maxBatches: 10, emptyPullsToStop: 3, timeBudgetMs: 5000 };
const cases: [string, { pulled: number; batches?: number; consecutiveEmptyPulls: number; elapsedMs: number }, ReturnType<typeof stopReason>][] = [
  ['fresh start pulls', { pulled: 0, consecutiveEmptyPulls: 0, elapsedMs: 0 }, null],
  ['short pulls are normal: one below the empty limit goes on', { pulled: 7, consecutiveEmptyPulls: 2, elapsedMs: 100 }, null],
  ['exactly the empty limit stops', { pulled: 7, consecutiveEmptyPulls: 3, elapsedMs: 100 }, 'empty'],
  ['one below the message cap goes on', { pulled: 99, consecutiveEmptyPulls: 0, elapsedMs: 100 }, null],
  ['exactly the message cap stops', { pulled: 100, consecutiveEmptyPulls: 0, elapsedMs: 100 }, 'max-messages'],
  ['over the cap stops', { pulled: 150, consecutiveEmptyPulls: 0, elapsedMs: 100 }, 'max-messages'],
  ['just inside the budget goes on', { pulled: 0, consecutiveEmptyPulls: 0, elapsedMs: 4999 }, null],
  ['exactly the budget stops', { pulled: 0, consecutiveEmptyPulls: 0, elapsedMs: 5000 }, 'time-budget'],
  ['a full flush reports the cap before the budget', { pulled: 100, consecutiveEmptyPulls: 0, elapsedMs: 9000 }, 'max-messages'],
  ['drained reports empty before the budget', { pulled: 3, consecutiveEmptyPulls: 3, elapsedMs: 9000 }, 'empty'],
  ['one batch below the flush cap goes on', { pulled: 50, batches: 9, consecutiveEmptyPulls: 0, elapsedMs: 100 }, null],
  ['the flush batch cap stops (backpressure)', { pulled: 50, batches: 10, consecutiveEmptyPulls: 0, elapsedMs: 100 }, 'max-batches'],
];
for (const [name, state, expected] of cases) {
  test(name, () => assert.equal(stopReason({ batches: 0, ...state }, limits), expected));
}
