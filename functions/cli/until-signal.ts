// Waits for Ctrl-C (or SIGTERM). A terminal's Ctrl-C reaches every process of the group, and tsx
// relays it again, so one press arrives more than once: every further signal is swallowed here
// rather than killing the process in the middle of its clean-up.
export function untilStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => resolve();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
