// What the test in progress is waiting for right now (a log line, a converging value), so a
// test that runs out of time can say what it waited for instead of vitest's bare "Test timed
// out" (testkit/between-files.ts adds the list to the failure; the CLI words it).
const pending = new Set<string>();

/** Marks `what` as awaited while `promise` is pending. */
export function waitingFor<T>(what: string, promise: Promise<T>): Promise<T> {
  const entry = `${what} (since ${new Date().toISOString().slice(11, 19)})`;
  pending.add(entry);
  return promise.finally(() => pending.delete(entry));
}

export function pendingWaits(): string[] {
  return [...pending];
}

export function clearWaits(): void {
  pending.clear();
}
