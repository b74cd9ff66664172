// One PostgreSQL connection for the length of a function: connected, handed to `fn`, ended
// however `fn` ends. For the workbook's own tooling and tests (the app uses its pool, db.ts);
// it replaces the `new pg.Client … try … finally end()` written out by hand at each use.
import pg from 'pg';

export interface PgClientOptions {
  /** Gives up connecting after this long instead of the driver's default of never. */
  connectionTimeoutMillis?: number;
  /** Shown in pg_stat_activity, so a connection that lingers says whose it is. */
  applicationName?: string;
}

/** A connected client; the caller ends it (or gives it to an owner that does: Instance.pgClient). */
export async function connectPgClient(url: string, options: PgClientOptions = {}): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, ...options, application_name: options.applicationName });
  // A connection the server ends while the client is idle (a test terminating backends, a
  // fault proxy cutting it) is reported as an 'error' event; with no listener that would end
  // the whole process. The next query on it fails with the error, where it can be handled.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Runs `fn` with a connection to `url` and ends the connection when `fn` settles. */
export async function withPgClient<T>(url: string, fn: (client: pg.Client) => Promise<T>, options: PgClientOptions = {}): Promise<T> {
  const client = await connectPgClient(url, options);
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
