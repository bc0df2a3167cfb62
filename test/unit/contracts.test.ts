import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';
import {
  BATCH_SCHEMA_ID,
  finalizedAtOf,
  formatOf,
  messageFromCloudEvent,
  objectKey,
  parseBatchMessage,
  parseGcsNotification,
  RESULT_SCHEMA_ID,
  RESULT_SCHEMA_VERSION,
  resultAttributes,
  ResultEventSchema,
  type ResultEvent,
} from '../../shared/contracts/index.js';
import { resultEventJsonSchema } from '../../shared/contracts/result-event-json-schema.js';
import { CloudsegError } from '../../shared/errors.js';

// What GCS publishes for an upload (JSON_API_V1), trimmed to typical fields.
const object = {
  kind: 'storage#object',
  id: 'in/scenes/a.tif/1700000000000001',
  bucket: 'in',
  name: 'scenes/a.tif',
  generation: '1700000000000001',
  metageneration: '1',
  contentType: 'image/tiff',
  size: '1234',
  md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
  crc32c: 'AAAAAA==',
  timeCreated: '2026-11-25T01:00:00.000Z',
};
const attributes = {
  eventType: 'OBJECT_FINALIZE',
  bucketId: 'in',
  objectId: 'scenes/a.tif',
  objectGeneration: '1700000000000001',
  payloadFormat: 'JSON_API_V1',
  notificationConfig: 'projects/_/buckets/in/notificationConfigs/1',
  eventTime: '2026-11-25T01:00:00.000Z',
};

const invalid = (fn: () => unknown) =>
  assert.throws(fn, (e: unknown) => e instanceof CloudsegError && e.code === 'INVALID_MESSAGE' && !e.retryable);

test('a GCS finalize notification parses', () => {
  const n = parseGcsNotification({ data: Buffer.from(JSON.stringify(object)), attributes });
  assert.equal(n.attributes.eventType, 'OBJECT_FINALIZE');
  assert.equal(n.object?.size, '1234');
  assert.equal(objectKey({ bucket: 'in', name: 'scenes/a.tif', generation: '1700000000000001' }), 'in/scenes/a.tif#1700000000000001');
});

test('malformed GCS notifications are INVALID_MESSAGE', () => {
  invalid(() => parseGcsNotification({ data: Buffer.from('not json'), attributes }));
  invalid(() => parseGcsNotification({ data: Buffer.from(JSON.stringify(object)), attributes: { ...attributes, eventType: 'SOMETHING' } }));
  invalid(() => parseGcsNotification({ data: Buffer.from(JSON.stringify(object)), attributes: { ...attributes, objectGeneration: 'x' } }));
  invalid(() => parseGcsNotification({ data: Buffer.from(JSON.stringify({ ...object, name: 'other.tif' })), attributes }));
  invalid(() => parseGcsNotification({ data: null, attributes }));
  invalid(() => parseGcsNotification({ data: Buffer.from('{}'), attributes: null }));
});

test('payloadFormat NONE carries no object', () => {
  assert.equal(parseGcsNotification({ data: null, attributes: { ...attributes, payloadFormat: 'NONE' } }).object, null);
});

test('batch messages', () => {
  const batch = { schema: BATCH_SCHEMA_ID, batchId: 'b1', createdAt: new Date().toISOString(), items: [{ bucket: 'in', name: 'a.tif', generation: '1', size: 3, contentType: 'image/tiff' }] };
  assert.deepEqual(parseBatchMessage(Buffer.from(JSON.stringify(batch))), batch);
  invalid(() => parseBatchMessage(Buffer.from(JSON.stringify({ ...batch, items: [] }))));
  invalid(() => parseBatchMessage(Buffer.from(JSON.stringify({ ...batch, schema: 'cloudseg.batch.v0' }))));
  invalid(() => parseBatchMessage(Buffer.from(JSON.stringify({ ...batch, items: [{ ...batch.items[0], generation: 1 }] }))));
});

test('batch items may carry finalizedAt; batches from before it still parse', () => {
  const item = { bucket: 'in', name: 'a.tif', generation: '1', size: 3, contentType: 'image/tiff' };
  const batch = (items: unknown[]) => Buffer.from(JSON.stringify({ schema: BATCH_SCHEMA_ID, batchId: 'b1', createdAt: new Date().toISOString(), items }));
  const timed = { ...item, finalizedAt: '2026-11-25T01:00:00.000Z' };
  assert.deepEqual(parseBatchMessage(batch([timed, item])).items, [timed, item], 'kept through parse (and so through a dead-letter replay)');
  assert.ok(!('finalizedAt' in parseBatchMessage(batch([item])).items[0]!));
  invalid(() => parseBatchMessage(batch([{ ...item, finalizedAt: 'yesterday' }])));
  invalid(() => parseBatchMessage(batch([{ ...item, finalizedAt: 1764032400000 }])));
});

test('finalizedAtOf: the finalize time of an object resource or its metadata', () => {
  assert.equal(finalizedAtOf(object, attributes.eventTime), '2026-11-25T01:00:00.000Z');
  assert.equal(finalizedAtOf({ timeCreated: '2026-11-25T01:00:00Z', updated: '2026-11-26T00:00:00Z' }), '2026-11-25T01:00:00.000Z', 'updated moves with metadata edits');
  assert.equal(finalizedAtOf({ updated: '2026-11-26T00:00:00Z' }), '2026-11-26T00:00:00.000Z');
  assert.equal(finalizedAtOf({}, undefined, '2026-11-25T01:00:00Z'), '2026-11-25T01:00:00.000Z');
  assert.equal(finalizedAtOf({ timeCreated: 42, updated: null }), undefined);
  assert.equal(finalizedAtOf({ timeCreated: '2026-13-45T99:00:00Z' }), undefined, 'shaped like a time but no date');
});

test('formats are decided by content type, else by extension', () => {
  const cases = [
    ['a.tif', 'image/tiff', 'geotiff'],
    ['a.png', 'image/png', 'png'],
    ['a.TIFF', 'application/octet-stream', 'geotiff'],
    ['a.png', undefined, 'png'],
    ['a.tif', 'image/jpeg', null],
    ['a.txt', 'text/plain', null],
    ['noext', 'application/octet-stream', null],
  ] as const;
  for (const [name, type, expected] of cases) assert.equal(formatOf(name, type), expected, `${name} ${type}`);
});

test('result events validate and carry filter attributes', () => {
  const event: ResultEvent = {
    schema: RESULT_SCHEMA_ID,
    status: 'failed',
    batchId: 'b1',
    input: { bucket: 'in', name: 'a.tif', generation: '1' },
    output: null,
    model: { name: 'm', version: '1.0.0', md5: 'a'.repeat(32), rev: null, tag: null },
    width: null,
    height: null,
    cloudFraction: null,
    timingsMs: { total: 1 },
    error: { code: 'CORRUPT_IMAGE', message: 'truncated' },
    finishedAt: new Date().toISOString(),
  };
  assert.deepEqual(ResultEventSchema.parse(event), event);
  assert.equal(resultAttributes(event).status, 'failed');
  assert.equal(resultAttributes(event).model, 'm');
  assert.throws(() => ResultEventSchema.parse({ ...event, status: 'done' }));
  assert.throws(() => ResultEventSchema.parse({ ...event, cloudFraction: 1.5 }));
  assert.throws(() => ResultEventSchema.parse({ ...event, error: { code: 'NOPE', message: '' } }));
});

test('result events: latencyMs (1.2.0) is a non-negative number or null, and may be absent', () => {
  const event: ResultEvent = {
    schema: RESULT_SCHEMA_ID,
    status: 'succeeded',
    batchId: 'b1',
    input: { bucket: 'in', name: 'a.tif', generation: '1' },
    output: null,
    model: { name: 'm', version: '1.0.0', md5: 'a'.repeat(32), rev: null, tag: null },
    width: 2,
    height: 2,
    cloudFraction: 0.5,
    timingsMs: { total: 1 },
    error: null,
    finishedAt: new Date().toISOString(),
  };
  for (const latencyMs of [0, 1234, 1234.5, null]) assert.deepEqual(ResultEventSchema.parse({ ...event, latencyMs }), { ...event, latencyMs });
  assert.ok(!('latencyMs' in ResultEventSchema.parse(event)), 'an event from before 1.2 parses unchanged');
  for (const latencyMs of [-1, '12', Number.NaN]) assert.throws(() => ResultEventSchema.parse({ ...event, latencyMs }), `latencyMs ${latencyMs}`);
  // Appended last, so an event of before reads the same byte for byte up to it.
  assert.deepEqual(Object.keys(ResultEventSchema.parse({ ...event, latencyMs: 5 })).at(-1), 'latencyMs');

  const doc = resultEventJsonSchema() as { version: string; properties: Record<string, { description?: string; anyOf?: unknown[] }>; required: string[] };
  assert.equal(doc.version, RESULT_SCHEMA_VERSION);
  assert.equal(RESULT_SCHEMA_VERSION, '1.2.0');
  assert.deepEqual(doc.properties.latencyMs?.anyOf, [{ type: 'number', minimum: 0 }, { type: 'null' }]);
  assert.match(doc.properties.latencyMs?.description ?? '', /finalize/);
  assert.ok(!doc.required.includes('latencyMs'), 'optional for subscribers validating with the JSON Schema');
});

test('the committed JSON Schema is the one the zod schema gives (npx tsx scripts/write-result-schema.ts)', async () => {
  const committed = JSON.parse(await readFile(join(projectRoot(), 'shared/contracts/result-event.schema.json'), 'utf8'));
  assert.deepEqual(committed, resultEventJsonSchema());
});

test('Pub/Sub messages inside CloudEvents', () => {
  const data = { message: { data: Buffer.from('{"a":1}').toString('base64'), attributes: { k: 'v' }, messageId: '9' }, subscription: 's' };
  const m = messageFromCloudEvent(data);
  assert.equal(Buffer.from(m.data as Uint8Array).toString(), '{"a":1}');
  assert.equal(m.messageId, '9');
  assert.deepEqual(messageFromCloudEvent(JSON.stringify(data)).attributes, { k: 'v' });
  invalid(() => messageFromCloudEvent({ nope: true }));
  invalid(() => messageFromCloudEvent('garbage'));
});
