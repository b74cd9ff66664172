import pg from 'pg';
import type { Logger } from './logger.ts';

export type Db = pg.Pool;
export type DbClient = pg.PoolClient;

const INT8_OID = 20;

// node-postgres returns int8 as a string because a JS number loses precision above 2^53.
// Money is bigint end to end, so int8 columns are read as bigint (per pool, not globally).
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8_OID) return (value: string) => BigInt(value);
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
  });
  // An idle client whose backend dies (pg_terminate_backend, restart) emits 'error' on the
  // pool; unhandled, that would crash the process. The pool drops the client by itself.
  pool.on('error', (err) => deps.log.warn({ err: err.message }, 'idle PostgreSQL connection lost'));
  return pool;
}

/** Runs `fn` on one client, always releasing it (and discarding it if it broke). */
export async function withClient<T>(db: Db, fn: (client: DbClient) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (err) {
    broken = err as Error;
    throw err;
  } finally {
    client.release(broken && connectionIsBroken(broken) ? broken : undefined);
  }
}

/** BEGIN … COMMIT around `fn`, ROLLBACK if it throws; release cannot be forgotten. */
export async function withTransaction<T>(db: Db, fn: (tx: DbClient) => Promise<T>): Promise<T> {
  return withClient(db, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  });
}

// A query error (unique violation, check failure) leaves the connection usable; anything
// else (socket closed, backend terminated, timeout) means it must not go back to the pool.
function connectionIsBroken(err: Error): boolean {
  if (!(err instanceof pg.DatabaseError)) return true;
  return err.code?.startsWith('57P') === true || err.code?.startsWith('08') === true;
}
