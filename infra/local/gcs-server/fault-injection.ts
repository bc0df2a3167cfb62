// Fault injection in the shape of Google's storage testbench "retry tests": a test registers
// per-operation instructions (`POST /retry_test {"instructions": {"storage.objects.get":
// ["return-503", "return-reset-connection"]}}`), then sends `x-retry-test-id: <id>` with its
// requests; each matching request consumes the next instruction for its operation, in order.
import { randomUUID } from 'node:crypto';
import { badRequest, notFound } from './errors.js';

/** The JSON API operations this server can fail on purpose (testbench names). */
export const FAULT_OPERATIONS = [
  'storage.buckets.list',
  'storage.buckets.insert',
  'storage.buckets.get',
  'storage.buckets.delete',
  'storage.buckets.getStorageLayout',
  'storage.objects.list',
  'storage.objects.get',
  'storage.objects.insert',
  'storage.objects.patch',
  'storage.objects.update',
  'storage.objects.delete',
  'storage.objects.compose',
  'storage.objects.rewrite',
  'storage.objects.copy',
  'storage.managedFolders.list',
  'storage.notifications.list',
  'storage.notifications.insert',
  'storage.notifications.get',
  'storage.notifications.delete',
] as const;
export type FaultOperation = (typeof FAULT_OPERATIONS)[number];

/** What one instruction does to the request that consumes it. */
export type Fault =
  /** `return-503`, `return-429`, ...: answer with that status and a GCS error body. */
  | { kind: 'status'; status: number }
  /** `return-reset-connection`: reset the TCP connection before any response. */
  | { kind: 'reset' }
  /** `return-broken-stream-after-NK`: a media download sends N KiB of its body, then the connection drops. */
  | { kind: 'broken-stream'; afterBytes: number };

export function parseFault(instruction: string): Fault {
  const status = /^return-([1-5][0-9]{2})$/.exec(instruction);
  if (status) return { kind: 'status', status: Number(status[1]) };
  if (instruction === 'return-reset-connection') return { kind: 'reset' };
  const broken = /^return-broken-stream-after-([0-9]+)K$/.exec(instruction);
  if (broken) return { kind: 'broken-stream', afterBytes: Number(broken[1]) * 1024 };
  throw badRequest(`Unsupported fault injection instruction '${instruction}' (return-NNN, return-reset-connection, return-broken-stream-after-NK)`);
}

export interface RetryTest {
  id: string;
  /** What is left to consume, per operation. */
  instructions: Partial<Record<FaultOperation, string[]>>;
  /** True once every instruction was consumed. */
  completed: boolean;
  transport: 'HTTP';
}

export class FaultInjector {
  readonly #tests = new Map<string, RetryTest>();

  /** Validates the body of `POST /retry_test` and registers it. */
  create(body: Record<string, unknown>): RetryTest {
    const instructions = body.instructions;
    if (typeof instructions !== 'object' || instructions === null || Array.isArray(instructions)) {
      throw badRequest('A retry test needs {"instructions": {"<operation>": ["<instruction>", ...]}}');
    }
    const parsed: RetryTest['instructions'] = {};
    for (const [operation, list] of Object.entries(instructions)) {
      if (!(FAULT_OPERATIONS as readonly string[]).includes(operation)) {
        throw badRequest(`Fault injection is not supported for '${operation}'; supported: ${FAULT_OPERATIONS.join(', ')}`);
      }
      if (!Array.isArray(list) || !list.every((i) => typeof i === 'string')) throw badRequest(`Instructions for ${operation} must be a list of strings`);
      for (const instruction of list) parseFault(instruction);
      parsed[operation as FaultOperation] = [...list];
    }
    const test: RetryTest = { id: randomUUID().replaceAll('-', ''), instructions: parsed, completed: countLeft(parsed) === 0, transport: 'HTTP' };
    this.#tests.set(test.id, test);
    return snapshot(test);
  }

  get(id: string): RetryTest {
    return snapshot(this.#require(id));
  }

  list(): RetryTest[] {
    return [...this.#tests.values()].map(snapshot);
  }

  delete(id: string): void {
    this.#require(id);
    this.#tests.delete(id);
  }

  /** The next fault for this operation under this test id, consumed; null when none is left. */
  take(id: string, operation: FaultOperation): Fault | null {
    const test = this.#require(id);
    const next = test.instructions[operation]?.shift();
    if (next === undefined) return null;
    test.completed = countLeft(test.instructions) === 0;
    return parseFault(next);
  }

  #require(id: string): RetryTest {
    const test = this.#tests.get(id);
    if (!test) throw notFound(`No such retry test: ${id}`);
    return test;
  }
}

function countLeft(instructions: RetryTest['instructions']): number {
  return Object.values(instructions).reduce((n, list) => n + (list?.length ?? 0), 0);
}

function snapshot(test: RetryTest): RetryTest {
  return {
    ...test,
    instructions: Object.fromEntries(Object.entries(test.instructions).map(([k, v]) => [k, [...(v ?? [])]])),
  };
}
