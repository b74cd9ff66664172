// A LISTEN connection of a test's own, counting the NOTIFYs that reach it on one channel: what
// a relay would be woken by, seen from outside the code under test.
import pg from 'pg';

export interface NotificationCounter {
  /** NOTIFYs on the channel delivered to this connection so far. */
  heard(): number;
  close(): Promise<void>;
}

/** Connects, LISTENs on `channel`, and counts from then on. */
export async function countNotifications(databaseUrl: string, channel: string): Promise<NotificationCounter> {
  const client = new pg.Client({ connectionString: databaseUrl });
  let heard = 0;
  client.on('notification', (n) => {
    if (n.channel === channel) heard++;
  });
  await client.connect();
  try {
    await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
  } catch (err) {
    await client.end().catch(() => undefined);
    throw err;
  }
  return { heard: () => heard, close: () => client.end() };
}
