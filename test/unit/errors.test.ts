import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CloudsegError, describeError, isNotFound, isPreconditionFailed, isRetryable } from '../../shared/errors.js';

test('isRetryable follows the Google clients\' rules', () => {
  const cases: Array<[string, unknown, boolean]> = [
    ['gRPC UNAVAILABLE', { code: 14 }, true],
    ['gRPC DEADLINE_EXCEEDED', { code: 4 }, true],
    ['gRPC RESOURCE_EXHAUSTED', { code: 8 }, true],
    ['gRPC ABORTED', { code: 10 }, true],
    ['gRPC INTERNAL', { code: 13 }, true],
    ['gRPC NOT_FOUND', { code: 5 }, false],
    ['gRPC INVALID_ARGUMENT', { code: 3 }, false],
    ['gRPC PERMISSION_DENIED', { code: 7 }, false],
    ['HTTP 408', { code: 408 }, true],
    ['HTTP 429', { code: 429 }, true],
    ['HTTP 500', { code: 500 }, true],
    ['HTTP 503 as status', { status: 503 }, true],
    ['HTTP 404', { code: 404 }, false],
    ['HTTP 412', { code: 412 }, false],
    ['HTTP 403', { code: 403 }, false],
    ['ECONNRESET', { code: 'ECONNRESET' }, true],
    ['EAI_AGAIN', { code: 'EAI_AGAIN' }, true],
    ['ENOENT', { code: 'ENOENT' }, false],
    ['wrapped ECONNRESET', new Error('x', { cause: { code: 'ECONNRESET' } }), true],
    ['permanent CloudsegError', new CloudsegError('CORRUPT_IMAGE', 'x'), false],
    ['retryable CloudsegError', new CloudsegError('STORAGE_UNAVAILABLE', 'x', { retryable: true }), true],
    ['a TypeError', new TypeError('bug'), false],
    ['a string', 'nope', false],
    ['null', null, false],
  ];
  for (const [what, err, expected] of cases) assert.equal(isRetryable(err), expected, what);
});

test('412 and 404 are recognised', () => {
  assert.ok(isPreconditionFailed({ code: 412 }));
  assert.ok(!isPreconditionFailed({ code: 404 }));
  assert.ok(isNotFound({ code: 404 }));
  assert.ok(!isNotFound(new Error('x')));
});

test('describeError keeps the code of ours and calls others INTERNAL', () => {
  assert.deepEqual(describeError(new CloudsegError('BAND_MISMATCH', 'three bands')), { code: 'BAND_MISMATCH', message: 'three bands' });
  assert.deepEqual(describeError(new Error('boom')), { code: 'INTERNAL', message: 'boom' });
});
