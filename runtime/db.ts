import type { Writable } from 'node:stream';
import pg from 'pg';
import { errorFields, type Logger } from './logger.ts';
import { coerceError } from './coerce-error.ts';
import { sqlStateRetry } from './retry.ts';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;

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

/**
 * BEGIN … COMMIT around `fn`, ROLLBACK if it throws; release cannot be forgotten. BEGIN
 * travels with fn's first statement: a transaction costs its statements and COMMIT in round trips.
 * `acquireTimeoutMs` bounds the wait for a pooled connection: PoolWaitTimeout after it.
 */
export async function withTransaction<T>(db: Db, fn: (tx: DbClient) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const client = await connectWithin(db, options.acquireTimeoutMs);
  const stopWatching = watchForConnectionLoss(client);
  let discard: Error | undefined;
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
    await client.query('COMMIT');
    return result;
  } catch (err) {
    if (terminatedByServer(err)) discard = coerceError(err);
    // A client that cannot roll back must not go back to the pool inside a transaction.
    else await client.query('ROLLBACK').catch((rollbackFailed: Error) => (discard = rollbackFailed));
    throw err;
  } finally {
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
