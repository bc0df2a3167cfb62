// Starts the Pub/Sub emulator that ships with the Google Cloud CLI on a loopback port, through
// its own launcher (gcloud's wrapper is slower and writes to ~/.config), and stops its process group;
// the group also goes when this process dies without stopping it, even by SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { assertPortFree, freePort } from './free-port.js';
import { guardProcessGroup } from './orphan-guard.js';

export const DEFAULT_EMULATOR_LAUNCHER =
  '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator';

export interface PubSubEmulator {
  host: string;
  /** The variables the Google clients read to talk to this emulator instead of Google. */
  env: { PUBSUB_EMULATOR_HOST: string; METADATA_SERVER_DETECTION: 'none' };
  stop(): Promise<void>;
}

/** The launcher's path, or null with the reason when this machine has none. */
export type LauncherLookup = { found: true; path: string } | { found: false; why: string };

export function findEmulatorLauncher(override?: string): LauncherLookup {
  const path = override ?? DEFAULT_EMULATOR_LAUNCHER;
  if (existsSync(path)) return { found: true, path };
  return {
    found: false,
    why: `Pub/Sub emulator not found at ${path} (install the Google Cloud CLI with the pubsub-emulator component, or set CLOUDSEG_PUBSUB_EMULATOR)`,
  };
}

export interface PubSubEmulatorOptions {
  launcher?: string;
  /** @default a free port. A given port that is taken is a CONFIG_INVALID error naming it. */
  port?: number;
  /** Who asked for `port`, for that error (e.g. '--pubsub-port'). */
  portSetting?: string;
  /** @default 30000 */
  startTimeoutMs?: number;
  /**
   * How long stop() lets java shut down after SIGTERM before SIGKILL. Its state is in memory and
   * thrown away either way; a graceful shutdown takes it ~400 ms.
   * @default 200
   */
  stopGraceMs?: number;
}

export async function startPubSubEmulator(options: PubSubEmulatorOptions = {}): Promise<PubSubEmulator> {
  const found = findEmulatorLauncher(options.launcher);
  if (!found.found) throw new Error(found.why);
  // A taken port must fail here: whatever holds it may answer the readiness probe below.
  if (options.port !== undefined) await assertPortFree(options.port, { host: '127.0.0.1', wantedBy: 'the Pub/Sub emulator', setting: options.portSetting });
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  // The launcher is a shell script that execs java, so its pid is java's and leads java's group.
  const child = spawn(found.path, [`--host=127.0.0.1`, `--port=${port}`], {
    detached: true, // own process group: a terminal's Ctrl-C must not kill java before we stop it
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // No handler runs on SIGKILL (nor when tsx SIGKILLs a child slow to acknowledge a signal): the
  // guard kills the group when this process is gone, whatever ended it.
  const guard = child.pid ? guardProcessGroup(child.pid) : undefined;
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A group that is gone needs no guard (and its number may be reused).
  void exited.then(() => guard?.release());

  // If this process exits without stop() (process.exit, an uncaught error), take java with it at
  // once rather than leaving it to the guard.
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const graceMs = options.stopGraceMs ?? 200;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Pub/Sub emulator exited early (${child.exitCode}): ${output}`);
    if (await answers(`http://${host}/`)) {
      return { host, env: { PUBSUB_EMULATOR_HOST: host, METADATA_SERVER_DETECTION: 'none' }, stop };
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`Pub/Sub emulator did not answer on ${host} in time: ${output}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
