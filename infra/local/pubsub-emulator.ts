// Starts the Pub/Sub emulator that ships with the Google Cloud CLI on a free loopback port, through
// its own launcher (gcloud's wrapper is slower and writes to ~/.config), and stops its process group.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './free-port.js';

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

export async function startPubSubEmulator(options: { launcher?: string; port?: number; startTimeoutMs?: number } = {}): Promise<PubSubEmulator> {
  const found = findEmulatorLauncher(options.launcher);
  if (!found.found) throw new Error(found.why);
  const port = options.port ?? (await freePort());
  const host = `127.0.0.1:${port}`;
  const child = spawn(found.path, [`--host=127.0.0.1`, `--port=${port}`], {
    detached: true, // own process group: the launcher starts java, and both must go on stop
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  // If this process ends without stop() (a second Ctrl-C, an uncaught error), take java with it:
  // the emulator runs in its own process group, so no terminal signal reaches it.
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
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
