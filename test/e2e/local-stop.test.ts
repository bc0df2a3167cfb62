// `cloudseg local` stops as a person expects: Ctrl-C or SIGTERM ends everything within a second,
// SIGKILL leaves no Pub/Sub emulator behind, and a taken port is a one-line error naming it.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/index.js';
import { EMULATOR_MISSING } from '../support/emulator.js';

const READY_TIMEOUT_MS = 120_000;
const started: ChildProcess[] = [];
const emulatorPids = new Set<number>();
const roots: string[] = [];

after(async () => {
  for (const child of started) killQuietly(-child.pid!, 'SIGKILL');
  for (const pid of emulatorPids) killQuietly(pid, 'SIGKILL');
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

interface RunningLocal {
  child: ChildProcess;
  emulatorPid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

/** `cloudseg local` on a temporary root, in its own process group, once it says it is ready. */
async function startLocal(): Promise<RunningLocal> {
  const root = await mkdtemp(join(tmpdir(), 'cloudseg-local-stop-'));
  roots.push(root);
  const child = cli(['local', '--root', root, '--flush-every', '1']);
  const exited = exitOf(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!stdout.includes('Ctrl-C stops everything')) {
    if (child.exitCode !== null) assert.fail(`cloudseg local exited early (${child.exitCode}): ${stdout}`);
    if (Date.now() > deadline) assert.fail(`cloudseg local not ready after ${READY_TIMEOUT_MS} ms: ${stdout}`);
    await sleep(100);
  }
  const port = /PUBSUB_EMULATOR_HOST=127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
  assert.ok(port, `no emulator host in: ${stdout}`);
  const emulatorPid = emulatorPidOnPort(Number(port));
  emulatorPids.add(emulatorPid);
  return { child, emulatorPid, exited };
}

function cli(args: string[]): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/cli.ts', ...args], {
    cwd: projectRoot(),
    detached: true, // its own group, so teardown can take everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  started.push(child);
  return child;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }> {
  return once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, at: Date.now() }));
}

// The launcher execs java, so the emulator's pid is the one whose command line has our port.
function emulatorPidOnPort(port: number): number {
  const out = execFileSync('pgrep', ['-f', `cloud-pubsub-emulator.*--port=${port}( |$)`], { encoding: 'utf8' });
  const pids = out.split('\n').filter(Boolean).map(Number);
  assert.equal(pids.length, 1, `expected one emulator on port ${port}, found ${out}`);
  return pids[0]!;
}

// A killed process whose parent died stays a zombie until init reaps it, and kill(pid, 0) still
// finds it: a zombie runs nothing, so it counts as gone.
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no /proc: trust kill(pid, 0)
  }
}

async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > until) return false;
    await sleep(20);
  }
  return true;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  test(`${signal} stops cloudseg local and its emulator within a second`, { skip: EMULATOR_MISSING, timeout: 180_000 }, async () => {
    const local = await startLocal();
    const sentAt = Date.now();
    // Ctrl-C in a terminal reaches the whole foreground group; SIGTERM usually comes to the process.
    process.kill(signal === 'SIGINT' ? -local.child.pid! : local.child.pid!, signal);
    const exit = await Promise.race([local.exited, sleep(10_000).then(() => null)]);
    assert.ok(exit, `cloudseg local still running 10 s after ${signal}`);
    const stopMs = exit.at - sentAt;
    console.log(`# ${signal} -> exit in ${stopMs} ms (code ${exit.code})`);
    assert.equal(exit.code, 0);
    assert.ok(stopMs < 1500, `stopping took ${stopMs} ms`);
    assert.ok(!alive(local.emulatorPid), `emulator ${local.emulatorPid} outlived cloudseg local`);
  });
}

test('SIGKILL of cloudseg local leaves no emulator running', { skip: EMULATOR_MISSING, timeout: 180_000 }, async () => {
  const local = await startLocal();
  const killedAt = Date.now();
  process.kill(local.child.pid!, 'SIGKILL');
  await local.exited;
  const gone = await goneWithin(local.emulatorPid, 5000);
  console.log(`# SIGKILL -> emulator ${local.emulatorPid} ${gone ? `gone in ${Date.now() - killedAt} ms` : 'still running'}`);
  assert.ok(gone, `emulator ${local.emulatorPid} outlived a SIGKILLed cloudseg local`);
});

test('a port already in use is a one-line error naming it', { timeout: 60_000 }, async () => {
  const holder: Server = createServer();
  holder.listen(0, '127.0.0.1');
  await once(holder, 'listening');
  const port = (holder.address() as { port: number }).port;
  try {
    for (const flag of ['--gcs-port', '--pubsub-port']) {
      const root = await mkdtemp(join(tmpdir(), 'cloudseg-local-port-'));
      roots.push(root);
      const child = cli(['local', '--root', root, flag, String(port)]);
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = await Promise.race([exitOf(child), sleep(30_000).then(() => null)]);
      assert.ok(exit, `cloudseg local ${flag} ${port} still running after 30 s`);
      assert.equal(exit.code, 2, stderr);
      const lines = stderr.split('\n').filter((l) => l.trim() !== '');
      assert.equal(lines.length, 1, `expected one line, got:\n${stderr}`);
      assert.match(lines[0]!, new RegExp(`^cloudseg: CONFIG_INVALID: port ${port} on 127\\.0\\.0\\.1 is already in use; .*\\(${flag}\\)`));
    }
  } finally {
    holder.close();
  }
});
