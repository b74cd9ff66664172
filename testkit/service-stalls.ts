// What a Node service says about its own stalls during a stretch of a benchmark, read from the
// default metrics on its /metrics (prom-client's collectDefaultMetrics, runtime/metrics.ts): how
// late its event loop ran, and how often and how long it collected garbage. A benchmark prints
// them beside its latency tail, so that a reader can tell a tail the database made from one the
// process made by pausing: a request that arrives during a 30 ms garbage collection waits 30 ms,
// whatever path it takes.

/** A service's stalls between watchStalls and read(). */
export interface Stalls {
  /**
   * The longest gap between two ticks of a 10 ms timer on its event loop (ms): a loop that is
   * never late shows about 10, one stalled 30 ms about 40. prom-client (monitorEventLoopDelay)
   * samples it and starts afresh at every scrape.
   */
  eventLoopDelayMaxMs: number;
  /** The p99 of those gaps (ms). */
  eventLoopDelayP99Ms: number;
  /** Garbage collections, of every kind. */
  gcs: number;
  /** Of those, the ones that took over 10 ms (prom-client's bucket boundary). */
  gcsOver10ms: number;
  /** Their time, added up (ms). */
  gcMs: number;
}

/** The GC counters of one scrape: by kind (minor, major, incremental, weakcb), the count, the count within 10 ms, the seconds. */
interface GcCounters {
  count: number;
  within10ms: number;
  seconds: number;
}

/** The value of each sample of `name` (with its labels as written) in Prometheus's text format. */
function samples(text: string, name: string): Array<{ labels: string; value: number }> {
  const found: Array<{ labels: string; value: number }> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    // `name value` or `name{labels} value`; not a longer name that starts with this one.
    const match = /^(\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (match) found.push({ labels: match[1] ?? '', value: Number(match[2]) });
  }
  return found;
}

function gcCounters(text: string): GcCounters {
  const sum = (rows: Array<{ value: number }>) => rows.reduce((total, r) => total + r.value, 0);
  return {
    count: sum(samples(text, 'nodejs_gc_duration_seconds_count')),
    within10ms: sum(samples(text, 'nodejs_gc_duration_seconds_bucket').filter((r) => /le="0\.01"/.test(r.labels))),
    seconds: sum(samples(text, 'nodejs_gc_duration_seconds_sum')),
  };
}

async function scrape(metricsUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) return undefined;
    const text = await res.text();
    // A tree whose metrics leave out Node's defaults has nothing to say here. (The GC histogram
    // has no samples until the first collection, only its TYPE line.)
    return text.includes('nodejs_eventloop_lag_max_seconds') && text.includes('# TYPE nodejs_gc_duration_seconds histogram') ? text : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts watching the service whose metrics are at `metricsUrl`: this scrape restarts its
 * event-loop sampling (prom-client resets it on every scrape) and notes its GC counters; read()
 * scrapes again and gives what happened in between. Undefined when the service does not serve
 * Node's default metrics (a learner's tree without /metrics yet): a benchmark then says so
 * instead of guessing. Nothing else may scrape the service meanwhile.
 */
export async function watchStalls(metricsUrl: string): Promise<{ read(): Promise<Stalls | undefined> } | undefined> {
  const first = await scrape(metricsUrl);
  if (first === undefined) return undefined;
  const before = gcCounters(first);
  return {
    async read() {
      const text = await scrape(metricsUrl);
      if (text === undefined) return undefined;
      const after = gcCounters(text);
      const gcs = after.count - before.count;
      const seconds = (name: string) => samples(text, name)[0]?.value ?? NaN;
      return {
        eventLoopDelayMaxMs: seconds('nodejs_eventloop_lag_max_seconds') * 1000,
        eventLoopDelayP99Ms: seconds('nodejs_eventloop_lag_p99_seconds') * 1000,
        gcs,
        gcsOver10ms: gcs - (after.within10ms - before.within10ms),
        gcMs: (after.seconds - before.seconds) * 1000,
      };
    },
  };
}

/** One line for a benchmark's table: "event-loop delay max 31.2 ms, p99 11.1 ms; 84 garbage collections, 3 over 10 ms, 210 ms in all". */
export function describeStalls(stalls: Stalls | undefined): string {
  if (!stalls) return 'not known (its /metrics gave no Node.js default metrics)';
  return `event-loop delay max ${stalls.eventLoopDelayMaxMs.toFixed(1)} ms, p99 ${stalls.eventLoopDelayP99Ms.toFixed(1)} ms; ${stalls.gcs} garbage collection${stalls.gcs === 1 ? '' : 's'}, ${stalls.gcsOver10ms} over 10 ms, ${Math.round(stalls.gcMs)} ms in all`;
}
