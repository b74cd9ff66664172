// What a chaos scenario (milestones/NN-name/chaos/) is: its name, milestone and summary, and a
// run that breaks the system on purpose and ends with a verdict. Its context opens the test
// kit's isolated instances (testkit/instance.ts), released when the run ends however it
// ends; benchmarks run with the same context.
import type { Config } from '../runtime/config.ts';
import type { Infra } from './infra.ts';
import { openInstance, type Instance } from './instance.ts';
import { dropDatabasesOfEndedRuns } from './run-databases.ts';
import { withReleasers } from './releasers.ts';

export interface ChaosContext {
  tree: string;
  infra: Infra;
  template: string;
  /** Progress lines for the person watching. */
  say: (line: string) => void;
  /**
   * An isolated instance of the scenario's own (database, exchange, queues, Redis keys, config;
   * testkit/instance.ts). It and everything it hands out are released, in reverse order,
   * when the scenario ends however it ends: a scenario writes no teardown. With `migrateTo`
   * the database is an empty one migrated up to and including that migration: a scenario that
   * plays a rollout starts before it (milestone 5's full chain drops bids.user_id).
   */
  instance(overrides?: Partial<Config>, options?: { migrateTo?: string }): Promise<Instance>;
}

/**
 * Runs `fn` (a scenario or a benchmark) with a context whose instances, and all they handed
 * out, are released when it ends, whatever failed.
 */
export async function withScenarioContext<T>(base: Omit<ChaosContext, 'instance'>, kind: 'chaos' | 'bench', fn: (ctx: ChaosContext) => Promise<T>): Promise<T> {
  // What a killed scenario, benchmark or test run left behind goes first (run-databases.ts).
  await dropDatabasesOfEndedRuns(base.infra.databaseUrl).catch(() => undefined);
  return withReleasers((releasers) =>
    fn({
      ...base,
      instance: (overrides = {}, options = {}) =>
        openInstance(
          { databaseUrl: base.infra.databaseUrl, amqpUrl: base.infra.amqpUrl, redisUrl: base.infra.redisUrl, template: base.template, tree: base.tree },
          { kind, overrides, migrateTo: options.migrateTo },
          releasers,
        ),
    }),
  );
}

export interface Verdict {
  ok: boolean;
  /** "placed 500 · in db 500 · lost 0 …" */
  line: string;
  facts: Record<string, number | string | boolean>;
  /**
   * For a verdict that is not ok: each thing that went wrong, as observed, with the next step
   * for that failure ("/readyz answered … Next: …"), one entry each. `npm run chaos` prints them
   * in place of its generic advice; a scenario without them gets the generic advice.
   */
  problems?: string[];
}

export interface ChaosScenario {
  name: string;
  milestone: number;
  summary: string;
  run(ctx: ChaosContext): Promise<Verdict>;
}
