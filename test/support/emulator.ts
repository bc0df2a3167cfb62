// Starts one Pub/Sub emulator for a test file and points the Google clients at it; where the
// emulator is missing, says so loudly once and tells the caller to skip.
import { after, before } from 'node:test';
import { findEmulatorLauncher, startPubSubEmulator, type PubSubEmulator } from '../../infra/local/pubsub-emulator.js';

export const EMULATOR_MISSING: string | false = (() => {
  const found = findEmulatorLauncher(process.env.CLOUDSEG_PUBSUB_EMULATOR);
  if (found.found) return false;
  console.error(`\n!!! SKIPPING emulator tests: ${found.why}\n`);
  return found.why;
})();

/** Registers before/after hooks; the returned getter gives the running emulator. */
export function useEmulator(): () => PubSubEmulator {
  let emulator: PubSubEmulator | undefined;
  before(async () => {
    if (EMULATOR_MISSING) return;
    emulator = await startPubSubEmulator({ launcher: process.env.CLOUDSEG_PUBSUB_EMULATOR });
    Object.assign(process.env, emulator.env);
    process.env.GOOGLE_CLOUD_PROJECT ??= 'cloudseg-test';
  });
  after(async () => {
    await emulator?.stop();
  });
  return () => {
    if (!emulator) throw new Error('emulator not started');
    return emulator;
  };
}
