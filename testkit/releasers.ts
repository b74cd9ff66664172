// What a test, scenario or benchmark acquired (a process, a proxy, a database, a connection),
// released in reverse order whatever fails: graphile-worker's withReleasers (src/lib.ts).
// Written by hand before, each teardown was a `finally` that began after the last acquisition
// succeeded: a bid-service that failed to start left the proxy, the collector and the worker
// acquired before it running, and the database and queues on the services.

/** Undoes one acquisition. It may be called on something already gone (a process that exited). */
export type Release = () => unknown;

export class Releasers {
  #stack: Array<{ what: string; release: Release }> = [];
  #released = false;

  /**
   * Registers the release of `resource` and hands it back, so acquiring and owning are one
   * expression: `const proxy = releasers.own(await startFaultProxy(…), (p) => p.close(), 'fault proxy')`.
   */
  own<T>(resource: T, release: (resource: T) => unknown, what = 'a resource'): T {
    this.defer(() => release(resource), what);
    return resource;
  }

  /** Registers `release` to run when everything is released, before what was registered earlier. */
  defer(release: Release, what = 'a resource'): void {
    if (this.#released) {
      // Acquired while (or after) its owner was released, by something still running then (a
      // scenario's background loop starting one more process): released at once, not leaked.
      void Promise.resolve()
        .then(release)
        .catch(() => undefined);
      throw new Error(`${what} was acquired after its owner was released, and was released at once. Acquire it before the test or scenario ends.`);
    }
    this.#stack.push({ what, release });
  }

  /**
   * Runs every release, last registered first (a process stops before the proxy it talks
   * through, the proxy before the database goes). One that fails does not stop the others;
   * the first failure is thrown once all ran. A second call does nothing.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const failures: Array<{ what: string; error: unknown }> = [];
    for (const { what, release } of this.#stack.reverse()) {
      try {
        await release();
      } catch (error) {
        failures.push({ what, error });
      }
    }
    this.#stack = [];
    if (failures.length > 0) {
      const first = failures[0]!;
      throw new Error(
        `releasing ${failures.map((f) => f.what).join(', ')} failed: ${first.error instanceof Error ? first.error.message : String(first.error)}`,
        { cause: first.error },
      );
    }
  }
}

/**
 * Runs `fn` with a fresh set of releasers and releases them all when it ends, however it ends.
 * An error of `fn` wins over one of the releases (which is then lost, as in graphile-worker:
 * the first failure is the one to read).
 */
export async function withReleasers<T>(fn: (releasers: Releasers) => Promise<T>): Promise<T> {
  const releasers = new Releasers();
  let result: T;
  try {
    result = await fn(releasers);
  } catch (err) {
    await releasers.release().catch(() => undefined);
    throw err;
  }
  await releasers.release();
  return result;
}
