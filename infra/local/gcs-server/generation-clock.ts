// Object generations like GCS's: decimal microsecond timestamps, strictly increasing within the
// process so two writes in the same microsecond still get different generations.

let last = 0n;

export function nextGeneration(): string {
  const nowMicros = BigInt(Math.floor((performance.timeOrigin + performance.now()) * 1000));
  last = nowMicros > last ? nowMicros : last + 1n;
  return last.toString();
}
