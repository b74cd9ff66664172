// How long the test kit waits for a process to start or say something. A fixed limit that holds
// on a quiet two-core machine fails on a busy one (load average 15-20 with a second test run
// beside it): services took over 15 s to start and unrelated tests failed with
// ServiceDidNotStart, which a learner reads as a bug in their code. So a wait scales with how
// overloaded the machine is when it starts, and when it still expires it says so.
import { availableParallelism, loadavg } from 'node:os';

/** The 1-minute load average per core, between 1 and MAX_SLOWDOWN: how many times longer than on a quiet machine a wait may take. */
export function machineSlowdown(): number {
  const perCore = (loadavg()[0] ?? 0) / availableParallelism();
  return Math.min(MAX_SLOWDOWN, Math.max(1, perCore));
}
/** Past this much overload a wait that expires is a real hang, not a slow machine. */
const MAX_SLOWDOWN = 4;

/** `ms` on a quiet machine, up to MAX_SLOWDOWN times longer on a busy one. */
export const patient = (ms: number): number => Math.round(ms * machineSlowdown());

/** One line for a timeout message: the load when it expired, and whether that explains it. */
export function loadNote(): string {
  const load = loadavg()[0] ?? 0;
  const cores = availableParallelism();
  return load > cores
    ? `the machine is overloaded (load average ${load.toFixed(1)} on ${cores} cores): close other heavy programs or test runs and try again`
    : `load average ${load.toFixed(1)} on ${cores} cores`;
}
