import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { nativeCrc32cGenerator } from '../../shared/cloud/crc32c.js';

test('the native CRC32C loads here and agrees with the storage client\'s own, chunk by chunk', () => {
  assert.ok(nativeCrc32cGenerator, '@node-rs/crc32 should load on this platform');
  const known = nativeCrc32cGenerator();
  known.update(Buffer.from('data'));
  assert.equal(known.toString(), 'rth90Q==');
  assert.ok(known.validate('rth90Q=='));
  assert.ok(!known.validate('DkjKuA=='));
  for (const sizes of [[0], [1], [7, 1, 4096], [65536, 3, 100_000]]) {
    const native = nativeCrc32cGenerator();
    const portable = new CRC32C();
    for (const size of sizes) {
      const chunk = randomBytes(size);
      native.update(chunk);
      portable.update(chunk);
    }
    assert.equal(native.toString(), portable.toString(), `chunks ${sizes.join(', ')}`);
  }
});
