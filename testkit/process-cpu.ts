// CPU time of the processes a benchmark runs, read from Linux's /proc, so that a benchmark can
// say what one call cost each of them: on a machine where the API, its load client and the
// database share two cores, throughput is a division of CPU, and the shares say why.
// Off Linux (or with a database on another machine), a reading is undefined, never a guess.
import { readdirSync, readFileSync } from 'node:fs';

/** Linux's USER_HZ: /proc counts CPU time in these ticks. 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** Fields 14..17 of /proc/<pid>/stat (after the command in parentheses, which may hold spaces). */
function statTimes(pid: number | 'self'): { own: number; reapedChildren: number; comm: string } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone, or no /proc
  }
  const close = stat.lastIndexOf(')');
  const comm = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  // fields[0] is the state (field 3): utime is field 14, stime 15, cutime 16, cstime 17.
  const at = (field: number) => Number(fields[field - 3]);
  return { own: (at(14) + at(15)) / TICKS_PER_SECOND, reapedChildren: (at(16) + at(17)) / TICKS_PER_SECOND, comm };
}

/** CPU seconds one process (all its threads) has used, or undefined when it cannot be read. */
export function processCpuSeconds(pid: number): number | undefined {
  return statTimes(pid)?.own;
}

/** CPU seconds this process has used, and its children that have ended (pgbench run with spawnSync). */
export function selfAndChildrenCpuSeconds(): { self: number; children: number } | undefined {
  const t = statTimes('self');
  return t && { self: t.own, children: t.reapedChildren };
}

/**
 * CPU seconds of the whole PostgreSQL server on this machine: every `postgres` process alive now,
 * plus those that ended, which the postmaster has reaped into its children's times. The
 * difference of two readings is what the server used between them, connections that came and
 * went included. Undefined when no postgres process is visible (another machine, no /proc).
 */
export function postgresCpuSeconds(): number | undefined {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  let total = 0;
  let found = false;
  for (const pid of pids) {
    const t = statTimes(Number(pid));
    if (t?.comm !== 'postgres') continue;
    found = true;
    // Only the postmaster reaps backends; every other postgres process has no children, so adding each one's reaped times counts each ended backend once.
    total += t.own + t.reapedChildren;
  }
  return found ? total : undefined;
}
