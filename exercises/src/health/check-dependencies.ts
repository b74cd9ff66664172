import type { Amqp } from '#runtime/amqp.ts';
import type { Db } from '#runtime/db.ts';
import type { Redis } from '#runtime/redis.ts';
import { TodoError } from '#runtime/todo-error.ts';
import { withTimeout } from '#runtime/with-timeout.ts';

export type DependencyName = 'postgres' | 'rabbitmq' | 'redis';

export interface DependencyStatus {
  status: 'up' | 'down';
  /** How long the probe took, in milliseconds (also when it failed). */
  latencyMs: number;
  /** Why it is down, for a person. */
  error?: string;
}

export type DependencyReport = Record<DependencyName, DependencyStatus>;

/**
 * Runs `probe`, timing it, and turns any failure, or no answer within `timeoutMs`, into a
 * "down" status. A probe never throws and never waits longer than the timeout.
 */
export async function measure(timeoutMs: number, probe: () => Promise<unknown>): Promise<DependencyStatus> {
  const started = performance.now();
  try {
    await withTimeout(probe(), timeoutMs, 'no answer');
    return { status: 'up', latencyMs: elapsed(started) };
  } catch (err) {
    return { status: 'down', latencyMs: elapsed(started), error: (err as Error).message || String(err) };
  }
}

const elapsed = (since: number) => Math.round((performance.now() - since) * 100) / 100;

/** Asks each service a question it must answer itself (not a cached "connected" flag), in parallel. */
export async function checkDependencies(deps: { probeDb: Db; amqp: Amqp; redis: Redis; config: { healthTimeoutMs: number } }): Promise<DependencyReport> {
  const timeoutMs = deps.config.healthTimeoutMs;
  // #region m1: probe PostgreSQL, RabbitMQ and Redis, in parallel, each bounded by the timeout
  throw new TodoError('m1', 'probe each dependency in health/check-dependencies.ts');
  // #endregion
}
