import amqp from 'amqplib';
import type { Channel, ConfirmChannel, RecoveringChannelModel } from 'amqplib';
import { errorFields, type Logger } from './logger.ts';
import { backoffMs, type Backoff } from './retry.ts';

// amqplib's recovery (the connection) and openWhenConnected (a channel's setup) back off alike.
const RECONNECT: Backoff = { firstMs: 100, maxMs: 5_000, jitter: 'full' };

export class AmqpUnavailable extends Error {
  override name = 'AmqpUnavailable';
  constructor() {
    super('RabbitMQ is not connected (reconnecting in the background)');
  }
}

export interface Amqp {
  /** True while a connection to the broker is open. */
  readonly connected: boolean;
  /** Resolves once the first connection is open. */
  whenConnected(): Promise<void>;
  createChannel(): Promise<Channel>;
  createConfirmChannel(): Promise<ConfirmChannel>;
  close(): Promise<void>;
}

/**
 * One AMQP connection that reconnects by itself with jittered exponential backoff
 * (amqplib's recovery mode). The process starts even while the broker is down; callers see
 * `connected` and get an error from createChannel until it is back.
 */
export async function createAmqp(deps: { url: string; log: Logger; name?: string }): Promise<Amqp> {
  const model: RecoveringChannelModel = await amqp.connect(deps.url, {
    clientProperties: { connection_name: deps.name ?? 'auction-workbook' },
    recovery: { initialDelay: RECONNECT.firstMs, maxDelay: RECONNECT.maxMs, jitter: 0.5, waitForConnect: false },
  });
  let connected = false;
  let closing = false;
  model.on('connect', () => {
    if (connected === false) deps.log.info('RabbitMQ connected');
    connected = true;
  });
  model.on('disconnect', (err: Error) => {
    connected = false;
    if (!closing) deps.log.warn(errorFields(err), 'RabbitMQ connection lost; reconnecting');
  });
  model.on('connect-failed', (err: Error) => deps.log.debug(errorFields(err), 'RabbitMQ not reachable; retrying'));
  model.on('error', (err: Error) => deps.log.warn(errorFields(err), 'RabbitMQ error'));
  return {
    get connected() {
      return connected;
    },
    whenConnected: async () => {
      await model.waitForConnect();
    },
    // amqplib would wait for the next connection; a caller must learn now that it is down.
    createChannel: () => (connected ? model.createChannel() : Promise.reject(new AmqpUnavailable())),
    createConfirmChannel: () => (connected ? model.createConfirmChannel() : Promise.reject(new AmqpUnavailable())),
    async close() {
      closing = true;
      await model.close().catch(() => undefined);
    },
  };
}

/**
 * Runs `open` (declare a channel, its queues, start consuming) once the connection is back, and
 * again after a failure, with a growing jittered pause, until it succeeds or `stopped()` says
 * the caller is shutting down.
 */
export async function openWhenConnected(amqp: Amqp, open: () => Promise<void>, options: { stopped: () => boolean; log: Logger; what: string }): Promise<void> {
  for (let attempt = 1; !options.stopped(); attempt++) {
    try {
      await amqp.whenConnected();
      if (options.stopped()) return;
      await open();
      return;
    } catch (err) {
      options.log.warn({ ...errorFields(err), attempt }, `${options.what} could not start again yet`);
      await new Promise((resolve) => setTimeout(resolve, backoffMs(attempt + 1, RECONNECT)));
    }
  }
}
