// Waits for Ctrl-C (or SIGTERM). A terminal's Ctrl-C reaches every process of the group, and tsx
// relays it again, so one press arrives more than once: every further signal is swallowed here
// rather than killing the process in the middle of its clean-up.
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => resolve(signal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** How long a stop may take before the process exits without it. */
export const STOP_BUDGET_MS = 2000;

/**
 * Exits the process `budgetMs` from now unless it has ended by then: a stop asked for while the
 * stack is still starting (which cannot be cut short) or one that hangs. The local stack loses
 * nothing by it: the emulator goes with the process (its exit hook and orphan guard).
 */
export function exitUnlessDoneWithin(budgetMs: number, print: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): void {
  setTimeout(() => {
    print(`cloudseg: not stopped ${budgetMs / 1000} s after the signal; exiting without waiting for the rest`);
    process.exit(1);
  }, budgetMs).unref();
}
