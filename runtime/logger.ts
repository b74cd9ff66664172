import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';
import { coerceError, errorCode } from './coerce-error.ts';

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

// Accept a caller's id only if it is short and plain, so a header cannot forge or bloat log lines.
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The id for a request, from the x-correlation-id it came with: the caller's when it is short
 * and plain, a new one when it is missing, repeated or unsafe. The one rule for both transports.
 */
export function correlationIdFrom(received: string | string[] | null | undefined): string {
  return typeof received === 'string' && CORRELATION_ID.test(received) ? received : newCorrelationId();
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

/**
 * The fields that log an error: `err` goes through pino's err serializer (type, message, stack,
 * cause, and the error's own fields such as a pg error's detail), and `code` (the SQLSTATE, or
 * Node's ECONNREFUSED…) sits at the top so a log search can filter on it. `{ err: err.message }`
 * kept neither the stack nor the SQLSTATE.
 */
export function errorFields(err: unknown): { err: Error; code?: string } {
  const code = errorCode(err);
  return code === undefined ? { err: coerceError(err) } : { err: coerceError(err), code };
}
