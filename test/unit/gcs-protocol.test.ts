// Table tests of the local GCS server's pure protocol pieces: listing pages, Range and
// Content-Range parsing, multipart bodies, preconditions, names, routes and notification messages.
// (No server here; they live beside the server's integration tests because they share its owner.)
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRange } from '../../infra/local/gcs-server/downloads.js';
import { GcsApiError } from '../../infra/local/gcs-server/errors.js';
import { FaultInjector, parseFault } from '../../infra/local/gcs-server/fault-injection.js';
import { listPage, parseListQuery } from '../../infra/local/gcs-server/listing.js';
import { boundaryOf, parseMultipart } from '../../infra/local/gcs-server/multipart.js';
import { messageFor } from '../../infra/local/gcs-server/notification-events.js';
import { checkBucketName, checkObjectName, plainSegments } from '../../infra/local/gcs-server/object-names.js';
import { checkExisting, checkWrite, isNotModified, parsePreconditions } from '../../infra/local/gcs-server/preconditions.js';
import { operationOf, routeOf, splitTarget } from '../../infra/local/gcs-server/routes.js';
import { parseContentRange } from '../../infra/local/gcs-server/uploads.js';
import { nextGeneration } from '../../infra/local/gcs-server/generation-clock.js';
import type { NotificationConfig } from '../../infra/local/gcs-server/bucket-store.js';
import type { ObjectResource } from '../../infra/local/gcs-server/object-resource.js';

const status = (fn: () => unknown): number | 'ok' | 'notModified' => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (isNotModified(err)) return 'notModified';
    if (err instanceof GcsApiError) return err.status;
    throw err;
  }
};

describe('listPage', () => {
  const names = ['a/1', 'a/2', 'a/sub/3', 'a0', 'b/1', 'c', 'd/e/f'];
  const q = (params: Record<string, string>) => parseListQuery(new URLSearchParams(params));

  test('no delimiter: every name, in order', () => {
    assert.deepEqual(listPage(names, q({})), { names, prefixes: [], nextPageToken: null });
  });
  test('prefix', () => {
    assert.deepEqual(listPage(names, q({ prefix: 'a/' })).names, ['a/1', 'a/2', 'a/sub/3']);
    assert.deepEqual(listPage(names, q({ prefix: 'zzz' })).names, []);
  });
  test('delimiter collapses into prefixes; names under one prefix counted once', () => {
    assert.deepEqual(listPage(names, q({ delimiter: '/' })), { names: ['a0', 'c'], prefixes: ['a/', 'b/', 'd/'], nextPageToken: null });
    assert.deepEqual(listPage(names, q({ delimiter: '/', prefix: 'a/' })), { names: ['a/1', 'a/2'], prefixes: ['a/sub/'], nextPageToken: null });
  });
  test('paging counts objects and prefixes together and resumes after the token', () => {
    const seen: string[] = [];
    let token: string | null = null;
    let pages = 0;
    do {
      const params: Record<string, string> = { delimiter: '/', maxResults: '2' };
      if (token) params.pageToken = token;
      const page = listPage(names, q(params));
      assert.ok(page.names.length + page.prefixes.length <= 2);
      seen.push(...page.prefixes, ...page.names);
      token = page.nextPageToken;
      pages += 1;
    } while (token);
    assert.deepEqual(seen.sort(), ['a/', 'a0', 'b/', 'c', 'd/']);
    assert.equal(pages, 3);
  });
  test('maxResults exactly the count: no token', () => {
    assert.equal(listPage(['x', 'y'], q({ maxResults: '2' })).nextPageToken, null);
  });
  test('startOffset / endOffset', () => {
    assert.deepEqual(listPage(names, q({ startOffset: 'a0', endOffset: 'c' })).names, ['a0', 'b/1']);
  });
  test('bad maxResults is a 400', () => {
    assert.equal(status(() => q({ maxResults: '0' })), 400);
    assert.equal(status(() => q({ maxResults: 'x' })), 400);
  });
});

describe('parseRange', () => {
  const cases: [string | undefined, number, { start: number; end: number } | null | 416][] = [
    [undefined, 10, null],
    ['bytes=0-4', 10, { start: 0, end: 4 }],
    ['bytes=5-', 10, { start: 5, end: 9 }],
    ['bytes=5-100', 10, { start: 5, end: 9 }],
    ['bytes=-3', 10, { start: 7, end: 9 }],
    ['bytes=-30', 10, { start: 0, end: 9 }],
    ['bytes=10-', 10, 416],
    ['bytes=-0', 10, 416],
    ['bytes=0-1,3-4', 10, null], // several ranges: the whole object
    ['items=0-1', 10, null],
  ];
  for (const [header, size, expected] of cases) {
    test(`${header ?? '(none)'} of ${size}`, () => {
      if (expected === 416) assert.equal(status(() => parseRange(header, size)), 416);
      else assert.deepEqual(parseRange(header, size), expected);
    });
  }
});

describe('parseContentRange', () => {
  test('forms the client sends', () => {
    assert.deepEqual(parseContentRange('bytes */*'), { kind: 'query', total: null });
    assert.deepEqual(parseContentRange('bytes */100'), { kind: 'query', total: 100 });
    assert.deepEqual(parseContentRange('bytes 0-262143/*'), { kind: 'data', start: 0, total: null, openEnded: false });
    assert.deepEqual(parseContentRange('bytes 262144-300000/300001'), { kind: 'data', start: 262144, total: 300001, openEnded: false });
    assert.deepEqual(parseContentRange('bytes 0-*/*'), { kind: 'data', start: 0, total: null, openEnded: true });
    assert.deepEqual(parseContentRange('bytes 0-*/42'), { kind: 'data', start: 0, total: 42, openEnded: true });
    assert.deepEqual(parseContentRange(undefined), { kind: 'data', start: 0, total: null, openEnded: true });
    assert.equal(status(() => parseContentRange('bytes=0-1')), 400);
  });
});

describe('parseMultipart', () => {
  test('metadata and binary media parts, CRLF and bytes preserved', () => {
    const media = Buffer.from([0, 13, 10, 45, 45, 255, 13, 10]); // contains CRLF and "--"
    const body = Buffer.concat([
      Buffer.from('--xyz\r\nContent-Type: application/json\r\n\r\n{"name":"a","metadata":{"k":"v"}}\r\n--xyz\r\nContent-Type: image/png\r\n\r\n'),
      media,
      Buffer.from('\r\n--xyz--\r\n'),
    ]);
    const parts = parseMultipart(body, 'xyz');
    assert.equal(parts.length, 2);
    assert.equal(parts[0]?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(parts[0]!.body.toString()), { name: 'a', metadata: { k: 'v' } });
    assert.equal(parts[1]?.headers['content-type'], 'image/png');
    assert.ok(parts[1]?.body.equals(media));
  });
  test('empty media part and unterminated bodies', () => {
    const parts = parseMultipart(Buffer.from('--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nContent-Type: text/plain\r\n\r\n\r\n--b--'), 'b');
    assert.equal(parts[1]?.body.length, 0);
    assert.equal(status(() => parseMultipart(Buffer.from('--b\r\nA: 1\r\n\r\nxx'), 'b')), 400);
    assert.equal(status(() => parseMultipart(Buffer.from('no boundary'), 'b')), 400);
  });
});

describe('preconditions', () => {
  const live = { generation: '100', metageneration: '2' };
  const p = (params: Record<string, string>) => parsePreconditions(new URLSearchParams(params));
  test('writes', () => {
    assert.equal(status(() => checkWrite(null, p({ ifGenerationMatch: '0' }))), 'ok');
    assert.equal(status(() => checkWrite(live, p({ ifGenerationMatch: '0' }))), 412);
    assert.equal(status(() => checkWrite(live, p({ ifGenerationMatch: '100' }))), 'ok');
    assert.equal(status(() => checkWrite(live, p({ ifGenerationMatch: '99' }))), 412);
    assert.equal(status(() => checkWrite(null, p({ ifGenerationMatch: '99' }))), 412);
    assert.equal(status(() => checkWrite(live, p({ ifGenerationNotMatch: '100' }))), 412);
    assert.equal(status(() => checkWrite(null, p({ ifGenerationNotMatch: '0' }))), 412);
    assert.equal(status(() => checkWrite(live, p({ ifMetagenerationMatch: '2' }))), 'ok');
    assert.equal(status(() => checkWrite(null, p({ ifMetagenerationMatch: '2' }))), 412);
    assert.equal(status(() => checkWrite(live, p({}))), 'ok');
  });
  test('reads, patches, deletes', () => {
    assert.equal(status(() => checkExisting(live, p({ generation: '100' }), 'b/o')), 'ok');
    assert.equal(status(() => checkExisting(live, p({ generation: '99' }), 'b/o')), 404);
    assert.equal(status(() => checkExisting(live, p({ ifGenerationMatch: '99' }), 'b/o')), 412);
    assert.equal(status(() => checkExisting(live, p({ ifMetagenerationMatch: '1' }), 'b/o')), 412);
    assert.equal(status(() => checkExisting(live, p({ ifGenerationNotMatch: '100' }), 'b/o')), 412);
    assert.equal(status(() => checkExisting(live, p({ ifGenerationNotMatch: '100' }), 'b/o', { notModified: true })), 'notModified');
  });
  test('non-numeric values are a 400', () => {
    assert.equal(status(() => p({ ifGenerationMatch: 'abc' })), 400);
  });
});

describe('names', () => {
  for (const good of ['a', 'a/b/c.tif', 'with space/ü.png', '.hidden', 'a..b', 'dir/', 'a//b', '../x', 'a/../b', '/abs']) {
    test(`accepts ${JSON.stringify(good)}`, () => assert.equal(checkObjectName(good), good));
  }
  for (const bad of ['', '.', '..', 'nul\u0000', 'cr\r', 'x'.repeat(1025), '.well-known/acme-challenge/t']) {
    test(`rejects ${JSON.stringify(bad.slice(0, 20))}`, () => assert.equal(status(() => checkObjectName(bad)), 400));
  }
  test('plainSegments: a file path only when the file system keeps every segment', () => {
    assert.deepEqual(plainSegments('a/b/c.tif'), ['a', 'b', 'c.tif']);
    for (const name of ['dir/', 'a//b', '../x', 'a/./b', 'a/../b', '/abs']) assert.equal(plainSegments(name), null, name);
  });
  test('bucket names', () => {
    assert.equal(checkBucketName('cloudseg-input'), 'cloudseg-input');
    for (const bad of ['.gcs-meta', 'UPPER', 'a', 'a..b', 'x/y', 'goog-x', 'googbucket', 'my-google-data', 'g00gle-x', '192.168.5.4']) assert.equal(status(() => checkBucketName(bad)), 400, bad);
  });
});

describe('routeOf', () => {
  test('both path styles and the upload/download paths', () => {
    assert.deepEqual(routeOf('/b'), { kind: 'buckets' });
    assert.deepEqual(routeOf('/storage/v1/b/in'), { kind: 'bucket', bucket: 'in' });
    assert.deepEqual(routeOf('/b/in/o'), { kind: 'objects', bucket: 'in' });
    assert.deepEqual(routeOf('/storage/v1/b/in/o/a%2Fb%20c.tif'), { kind: 'object', bucket: 'in', name: 'a/b c.tif', media: false });
    assert.deepEqual(routeOf('/download/storage/v1/b/in/o/x.tif'), { kind: 'object', bucket: 'in', name: 'x.tif', media: true });
    assert.deepEqual(routeOf('/upload/storage/v1/b/in/o'), { kind: 'upload', bucket: 'in' });
    assert.deepEqual(routeOf('/b/in/notificationConfigs/3'), { kind: 'notification', bucket: 'in', id: '3' });
    assert.equal(routeOf('/nothing'), null);
  });
  test("gcloud's resumable path", () => {
    assert.deepEqual(routeOf('/resumable/upload/storage/v1/b/in/o'), { kind: 'upload', bucket: 'in' });
  });
  test("what a URL parser leaves of objects '.' and '..' is a 400, never the bucket", () => {
    assert.equal(status(() => routeOf('/b/in/')), 400);
    assert.equal(status(() => routeOf('/storage/v1/b/in/o/')), 400);
    // Raw (unfolded) dot names reach checkObjectName as names, which refuses them.
    assert.deepEqual(routeOf('/b/in/o/..'), { kind: 'object', bucket: 'in', name: '..', media: false });
    assert.equal(status(() => checkObjectName('..')), 400);
    assert.equal(status(() => checkObjectName('.')), 400);
  });
  test('sub-resources are named as unsupported, not mistaken for objects', () => {
    assert.deepEqual(routeOf('/storage/v1/b/in/o/x.tif/acl'), { kind: 'unsupported', what: 'acl' });
    assert.deepEqual(routeOf('/b/in/o/x.tif/rewriteTo/b/out/o/y%2Fz.tif'), { kind: 'rewrite', sourceBucket: 'in', sourceName: 'x.tif', bucket: 'out', name: 'y/z.tif' });
    assert.deepEqual(routeOf('/b/in/o/x.tif/moveTo/o/y.tif'), { kind: 'unsupported', what: 'moveTo' });
    assert.deepEqual(routeOf('/b/in/iam'), { kind: 'unsupported', what: 'iam' });
    assert.deepEqual(routeOf('/b/in/o/x.tif/compose'), { kind: 'compose', bucket: 'in', name: 'x.tif' });
  });
  test('splitTarget keeps the path as sent', () => {
    const { rawPath, query } = splitTarget('/b/in/o/..?alt=media&x=%2F');
    assert.equal(rawPath, '/b/in/o/..');
    assert.equal(query.get('x'), '/');
  });
});

describe('boundaryOf', () => {
  test('bare, double-quoted and single-quoted (apitools writes %r)', () => {
    assert.equal(boundaryOf('multipart/related; boundary=abc'), 'abc');
    assert.equal(boundaryOf('multipart/related; boundary="a b=c"'), 'a b=c');
    assert.equal(boundaryOf("multipart/related; boundary='===============5129864836521224574=='"), '===============5129864836521224574==');
    assert.equal(status(() => boundaryOf('multipart/related')), 400);
  });
});

describe('messageFor', () => {
  const object = { kind: 'storage#object', bucket: 'in', name: 'scenes/x.tif', generation: '7', metageneration: '1', size: '3' } as ObjectResource;
  const config: NotificationConfig = { id: '1', topic: '//pubsub.googleapis.com/projects/p/topics/t', payload_format: 'JSON_API_V1', etag: '1' };
  const event = { eventType: 'OBJECT_FINALIZE' as const, object, eventTime: '2024-01-01T00:00:00.000Z', overwroteGeneration: '6' };
  test('attributes and payload', () => {
    const message = messageFor({ ...config, custom_attributes: { team: 'eo' } }, event);
    assert.deepEqual(message?.attributes, {
      team: 'eo',
      notificationConfig: 'projects/_/buckets/in/notificationConfigs/1',
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: 'in',
      objectId: 'scenes/x.tif',
      objectGeneration: '7',
      eventTime: '2024-01-01T00:00:00.000Z',
      overwroteGeneration: '6',
    });
    assert.deepEqual(JSON.parse(message!.data.toString()), object);
  });
  test('filters', () => {
    assert.equal(messageFor({ ...config, event_types: ['OBJECT_DELETE'] }, event), null);
    assert.equal(messageFor({ ...config, object_name_prefix: 'other/' }, event), null);
    assert.notEqual(messageFor({ ...config, object_name_prefix: 'scenes/' }, event), null);
    assert.equal(messageFor({ ...config, payload_format: 'NONE' }, event)?.data.length, 0);
  });
});

test('generations strictly increase, even within one microsecond', () => {
  const gens = Array.from({ length: 1000 }, nextGeneration).map(BigInt);
  for (let i = 1; i < gens.length; i++) assert.ok(gens[i]! > gens[i - 1]!);
  assert.equal(gens[0]!.toString().length, 16);
});

describe('fault injection', () => {
  test('instructions the testbench spells', () => {
    assert.deepEqual(parseFault('return-503'), { kind: 'status', status: 503 });
    assert.deepEqual(parseFault('return-429'), { kind: 'status', status: 429 });
    assert.deepEqual(parseFault('return-reset-connection'), { kind: 'reset' });
    assert.deepEqual(parseFault('return-broken-stream-after-256K'), { kind: 'broken-stream', afterBytes: 256 * 1024 });
    for (const bad of ['return-', 'return-99', 'return-503-after-1K', 'stall-always', 'explode']) assert.equal(status(() => parseFault(bad)), 400, bad);
  });
  test('instructions are consumed in order, per operation; completed when none is left', () => {
    const faults = new FaultInjector();
    const { id } = faults.create({ instructions: { 'storage.objects.get': ['return-503', 'return-reset-connection'], 'storage.objects.list': ['return-429'] } });
    assert.equal(faults.take(id, 'storage.objects.delete'), null);
    assert.deepEqual(faults.take(id, 'storage.objects.get'), { kind: 'status', status: 503 });
    assert.deepEqual(faults.take(id, 'storage.objects.list'), { kind: 'status', status: 429 });
    assert.equal(faults.get(id).completed, false);
    assert.deepEqual(faults.take(id, 'storage.objects.get'), { kind: 'reset' });
    assert.equal(faults.get(id).completed, true);
    assert.equal(faults.take(id, 'storage.objects.get'), null);
    assert.equal(status(() => faults.take('nope', 'storage.objects.get')), 404);
    assert.equal(status(() => faults.create({ instructions: { 'storage.objects.restore': ['return-503'] } })), 400);
  });
  test('operationOf names what a request does', () => {
    assert.equal(operationOf(routeOf('/b/in/o/x')!, 'GET'), 'storage.objects.get');
    assert.equal(operationOf(routeOf('/download/storage/v1/b/in/o/x')!, 'GET'), 'storage.objects.get');
    assert.equal(operationOf(routeOf('/resumable/upload/storage/v1/b/in/o')!, 'PUT'), 'storage.objects.insert');
    assert.equal(operationOf(routeOf('/b/in/o')!, 'GET'), 'storage.objects.list');
    assert.equal(operationOf(routeOf('/b')!, 'POST'), 'storage.buckets.insert');
    assert.equal(operationOf(routeOf('/b/in/o/x')!, 'POST'), null);
  });
});
