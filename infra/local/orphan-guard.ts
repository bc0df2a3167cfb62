// Kills a process group when this Node process dies, however it dies (SIGKILL included, where no
// handler runs): a tiny `sh` reads a pipe from us and, at end of file, kills the group.
import { spawn } from 'node:child_process';

export interface OrphanGuard {
  /** Ends the guard without touching the group (call it before stopping the group yourself). */
  release(): void;
}

// `read` returns at end of file, which the kernel delivers when the last writer (this process) is
// gone. The guard lives in its own session, so Ctrl-C or a hang-up aimed at us never reaches it,
// and it ignores INT/TERM/HUP in case someone signals it by name. `kill -s KILL -- -PGID` is the
// spelling both dash and bash accept.
const GUARD_SCRIPT = 'trap "" INT TERM HUP; while read -r _; do :; done; kill -s KILL -- "-$1" 2>/dev/null';

/**
 * Starts a guard for process group `pgid`. The guard holds nothing of ours but the read end of a
 * pipe and never keeps this process alive.
 */
export function guardProcessGroup(pgid: number): OrphanGuard {
  const guard = spawn('/bin/sh', ['-c', GUARD_SCRIPT, 'cloudseg-orphan-guard', String(pgid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guard.on('error', () => {
    // No /bin/sh: nothing guards the group; stop() and the exit hook still end it.
  });
  // The guard must not hold the event loop open (our idle end of its pipe does not either).
  guard.unref();
  guard.stdin?.on('error', () => {
    // EPIPE once the guard is gone: nothing to do.
  });
  return {
    release() {
      // SIGKILL, not end of file: a released guard must not kill the group, nor a later one
      // that reused its number.
      guard.kill('SIGKILL');
    },
  };
}
