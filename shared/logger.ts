import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

const requestContext = new AsyncLocalStorage<{ correlationId: string }>();

/** Every log line written inside `fn` (however deep, across awaits) carries this id. */
export function withCorrelationId<T>(correlationId: string, fn: () => T): T {
  return requestContext.run({ correlationId }, fn);
}

export function currentCorrelationId(): string | undefined {
  return requestContext.getStore()?.correlationId;
}

/** The header that carries the correlation id: on an HTTP request, then on the outbox row and its AMQP message, to the worker. */
export const CORRELATION_ID_HEADER = 'x-correlation-id';

/** The correlation id a message's headers carry, if any: the worker logs under it what it does with that message. */
export function correlationIdOf(headers: Record<string, unknown> | undefined): string | undefined {
  const value = headers?.[CORRELATION_ID_HEADER];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function newCorrelationId(): string {
  return randomUUID();
}

export function createLogger(options: { name: string; level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level,
      base: { service: options.name },
      // A mixin reads the context at the moment of logging, so no child logger has to be
      // threaded through every call.
      mixin() {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
    },
    options.destination,
  );
}
