// The worker as production runs it: the functions-framework's own server in a process of its own
// (so it can be SIGKILLed mid-batch), on a fixed loopback port that the emulator pushes to.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../shared/config/project-root.js';

export interface WorkerProcess {
  url: string;
  /** SIGKILL now (mid-batch); the exit is not counted as a crash. */
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Exits nobody asked for (a crash, an OOM kill). */
  crashes(): number;
  stop(): Promise<void>;
}

export async function startWorkerProcess(port: number, env: NodeJS.ProcessEnv): Promise<WorkerProcess> {
  // The framework's own CLI (its package `bin`; the path is not in the package's exports).
  const main = join(projectRoot(), 'node_modules', '@google-cloud', 'functions-framework', 'build', 'src', 'main.js');
  const source = join(projectRoot(), 'functions', 'index.ts');
  let child: ChildProcess | null = null;
  let crashes = 0;
  let expectingExit = false;

  const start = async () => {
    expectingExit = false;
    const proc = spawn(process.execPath, ['--import', 'tsx', main, '--target=worker', `--source=${source}`, `--port=${port}`, '--signature-type=cloudevent'], {
      env,
      cwd: projectRoot(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    proc.stderr?.resume();
    proc.on('exit', () => {
      if (!expectingExit) crashes++;
      if (child === proc) child = null;
    });
    child = proc;
    // Ready when it answers (a GET is a 404/400 from the framework, which is fine).
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(500) });
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('the worker process did not start within 60 s');
  };

  const kill = async () => {
    const proc = child;
    if (!proc) return;
    expectingExit = true;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGKILL');
    await exited;
  };

  await start();
  return { url: `http://127.0.0.1:${port}`, kill, start, crashes: () => crashes, stop: kill };
}
