import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silenceKnownClientWarnings } from '../../shared/known-warnings.js';

test('only the storage client\'s known MaxListeners warning is dropped; every other warning still prints', async () => {
  const seen: string[] = [];
  process.on('warning', (w) => seen.push(`${w.name}: ${w.message}`));
  silenceKnownClientWarnings();
  const known = new Error('Possible EventEmitter memory leak detected. 11 error listeners added to [PassThrough]. MaxListeners is 10.');
  known.name = 'MaxListenersExceededWarning';
  const realLeak = new Error('Possible EventEmitter memory leak detected. 40 data listeners added to [Socket]. MaxListeners is 10.');
  realLeak.name = 'MaxListenersExceededWarning';
  process.emitWarning(known);
  process.emitWarning(realLeak);
  process.emitWarning('something else', 'DeprecationWarning');
  await new Promise((r) => setImmediate(r));
  assert.equal(seen.length, 2, seen.join('\n'));
  assert.match(seen[0]!, /40 data listeners/);
  assert.match(seen[1]!, /DeprecationWarning: something else/);
});
