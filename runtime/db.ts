import type { Writable } from 'node:stream';
import pg from 'pg';
import { errorFields, type Logger } from './logger.ts';
import { coerceError } from './coerce-error.ts';
import { sqlStateRetry } from './retry.ts';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;
/** A statement and its parameters, as node-postgres takes them: `{ text, values }`. */
export type DbQuery = pg.QueryConfig;

const INT8_OID = 20;

// node-postgres returns int8 as a string because a JS number loses precision above 2^53.
// Money is bigint end to end, so int8 columns are read as bigint (per pool, not globally).
// node-postgres asks for a field's parser on every result, so the one for int8 is made once.
const parseInt8 = (value: string) => BigInt(value);
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return parseInt8;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

export function createDb(deps: { url: string; log: Logger; applicationName?: string; max?: number }): Db {
  const pool = new pg.Pool({
    connectionString: deps.url,
    types,
    max: deps.max ?? 10,
    application_name: deps.applicationName ?? 'auction-workbook',
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 10_000,
    // Pipeline mode (node-postgres 8.23): a query is written as soon as it is asked for, not
    // after the answer to the one before. Code that awaits each query sees no difference;
    // withTransaction uses it to send BEGIN with the transaction's first statement.
    pipeline: true,
  } as pg.PoolConfig);
  // An idle client whose backend dies (pg_terminate_backend, restart) emits 'error' on the
  // pool; unhandled, that would crash the process. The pool drops the client by itself.
  pool.on('error', (err) => deps.log.warn(errorFields(err), 'idle PostgreSQL connection lost'));
  return pool;
}

/** Runs `fn` on one client, always releasing it (and discarding it if it broke). */
export async function withClient<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  const stopWatching = watchForConnectionLoss(client);
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (err) {
    if (terminatedByServer(err)) broken = coerceError(err);
    throw err;
  } finally {
    stopWatching();
    client.release(broken);
  }
}

/** No pooled connection came free within the caller's wait (a per-call bound; the pool's own is pool-wide). */
export class PoolWaitTimeout extends Error {
  override name = 'PoolWaitTimeout';
  constructor(readonly waitedMs: number) {
    super(`no database connection came free within ${waitedMs} ms`);
  }
}

/** How withTransaction opens a transaction. */
export interface TransactionOptions {
  /** Bounds the wait for a pooled connection: PoolWaitTimeout after it. */
  acquireTimeoutMs?: number;
  /**
   * Statements without parameters (`SET LOCAL …`) to send in BEGIN's own message, computed
   * once the connection is in hand: one round trip instead of one each. Whatever it throws
   * ends the transaction like `fn` throwing.
   */
  begin?: () => string;
}

/** The statements fn asked to send with COMMIT, per client, while withTransaction runs on it. */
const withCommit = new WeakMap<DbClient, DbQuery[]>();

/**
 * Inside withTransaction's `fn`: sends `query` with the COMMIT, in one write, instead of on
 * its own. Its answer comes back with COMMIT's, so the transaction waits for PostgreSQL once
 * less. For a statement whose result nothing in the transaction reads, such as an outbox row
 * (milestone 2): it runs after everything fn awaited, in the order of the calls. If it fails,
 * PostgreSQL turns the COMMIT into a rollback (a statement after an error in a transaction runs
 * no more, and COMMIT then rolls back), and withTransaction throws the statement's error: the
 * transaction committed nothing, as if fn had awaited the statement and thrown.
 * Outside withTransaction's `fn` it throws at once: nothing would send the statement.
 * It takes a query, not a function that sends one: a function could await something first and
 * send its statement after the COMMIT, outside the transaction.
 */
export function sendWithCommit(tx: DbClient, query: DbQuery): void {
  const queries = withCommit.get(tx);
  if (!queries) throw new Error('sendWithCommit: only inside the fn of withTransaction (runtime/db.ts), which sends the COMMIT it rides with');
  queries.push(query);
}

/**
 * BEGIN … COMMIT around `fn`, ROLLBACK if it throws; release cannot be forgotten. BEGIN
 * travels with fn's first statement, and the statements fn gave sendWithCommit travel with
 * COMMIT: a transaction costs the statements fn awaits, plus one, in round trips.
 * `acquireTimeoutMs` bounds the wait for a pooled connection: PoolWaitTimeout after it.
 */
export async function withTransaction<T>(db: Db, fn: (tx: DbClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const client = await connectWithin(db, options.acquireTimeoutMs);
  const stopWatching = watchForConnectionLoss(client);
  let discard: Error | undefined;
  const last: DbQuery[] = [];
  withCommit.set(client, last);
  // Whether PostgreSQL has ended the transaction already (a COMMIT it turned into a rollback).
  let ended = false;
  try {
    // Without parameters node-postgres sends the simple query protocol, which carries several
    // statements in one message; PostgreSQL runs them in order and stops at the first error.
    const also = options.begin?.();
    // BEGIN is not awaited: fn's first statement follows it onto the wire at once (pipeline
    // mode), and PostgreSQL answers both, so the transaction opens without a round trip of its
    // own. The socket is corked until fn has asked for that statement, so both leave in one
    // write: on loopback a write to PostgreSQL was a fifth of bid-service's CPU (bench api).
    // If BEGIN failed, the statements behind it failed for that reason: report BEGIN's error.
    const socket = socketOf(client);
    socket?.cork();
    let began: Promise<{ err: unknown } | undefined>;
    let running: Promise<T>;
    try {
      began = client.query(also ? `BEGIN; ${also}` : 'BEGIN').then(
        () => undefined,
        (err: unknown) => ({ err }),
      );
      running = fn(client);
    } finally {
      socket?.uncork();
    }
    let result: T;
    try {
      result = await running;
    } catch (err) {
      throw (await began)?.err ?? err;
    }
    const failedToBegin = await began;
    if (failedToBegin) throw failedToBegin.err;
    withCommit.delete(client); // fn is done: a late sendWithCommit throws instead of being lost
    if (last.length === 0) {
      await client.query('COMMIT');
      return result;
    }
    // Corked as at BEGIN: the statements and COMMIT leave in one write. Pipeline mode sends
    // COMMIT without waiting for their answers; all are awaited, the first error thrown.
    let answers: Array<Promise<unknown>>;
    socket?.cork();
    try {
      answers = last.map((query) => client.query(query));
      answers.push(client.query('COMMIT'));
    } finally {
      socket?.uncork();
    }
    const settled = await Promise.allSettled(answers);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) {
      ended = true; // PostgreSQL rolled back at the COMMIT
      throw failed.reason;
    }
    return result;
  } catch (err) {
    if (terminatedByServer(err)) discard = coerceError(err);
    // A client that cannot roll back must not go back to the pool inside a transaction.
    else if (!ended) await client.query('ROLLBACK').catch((rollbackFailed: Error) => (discard = rollbackFailed));
    throw err;
  } finally {
    withCommit.delete(client);
    stopWatching();
    client.release(discard);
  }
}

// The client's socket, where node-postgres keeps it (its own Query corks it around each
// statement's messages the same way); undefined if a version ever moves it.
function socketOf(client: DbClient): Pick<Writable, 'cork' | 'uncork'> | undefined {
  const stream = (client as unknown as { connection?: { stream?: Partial<Writable> } }).connection?.stream;
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as Writable) : undefined;
}

// node-postgres cannot take a waiter out of the pool's queue, so one that gave up stays in it:
// the connection it is handed later goes straight back.
async function connectWithin(db: Db, timeoutMs: number | undefined): Promise<DbClient> {
  if (timeoutMs === undefined || timeoutMs === Infinity) return db.connect();
  const pending = db.connect();
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new PoolWaitTimeout(Math.round(timeoutMs))), Math.max(0, timeoutMs))));
  try {
    return await Promise.race([pending, gaveUp]);
  } catch (err) {
    pending.then(
      (late) => late.release(),
      () => undefined,
    );
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

// An error the caller threw (BidTooLow, a validation error), a constraint violation or a
// statement timeout leaves the connection usable: discarding it would make every refused bid
// open a new connection, a new server process, under the very load that refuses bids. A
// socket that closed makes the client unqueryable, and the pool drops such clients by itself;
// a server that says it is terminating the session (57P01…, 08…) may not have closed it yet.
function terminatedByServer(err: unknown): boolean {
  return err instanceof pg.DatabaseError && sqlStateRetry(err.code) === 'connection';
}

// The pool listens for errors only on idle clients. A checked-out client whose connection is
// killed between two queries (pg_terminate_backend, a network cut) emits 'error' with no
// listener, which would crash the process; the next query rejects anyway, and the pool drops
// the client on release because it is no longer queryable.
function watchForConnectionLoss(client: DbClient): () => void {
  const ignore = () => undefined;
  client.on('error', ignore);
  return () => client.off('error', ignore);
}
