// Drops exactly one known, harmless process warning and prints every other one as Node would.
// @google-cloud/storage 8.0.1+ (teeny-request 11) puts 11 'error'/'close' listeners on the
// PassThrough of every download, one over Node's default of 10, so each download printed a
// MaxListenersExceededWarning (googleapis/google-cloud-node#9185, open upstream). Raising the limit
// for every emitter would hide real leaks; this filter matches only that stream and that count.
const KNOWN = /^Possible EventEmitter memory leak detected\. 11 (error|close) listeners added to \[PassThrough\]/;

let installed = false;

/** Idempotent; keeps Node's own printing for every other warning. */
export function silenceKnownClientWarnings(): void {
  if (installed) return;
  installed = true;
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  process.on('warning', (warning: Error) => {
    if (warning.name === 'MaxListenersExceededWarning' && KNOWN.test(warning.message)) return;
    for (const print of printers) print(warning);
  });
}
