// What a process tells the tests that watch it, declared once. A process writes each event as
// one JSON log line with an `event` field (`logEvent`); tests and scenarios find it by that
// field (`isEvent`, ServiceProcess.waitForEvent), never by the human message beside it. The
// message can be reworded for people; the event name and its fields are the contract, and tsc
// holds both sides to it.
import type { Logger } from './logger.ts';

export type ProcessEvent =
  /** The HTTP server (and a bid-service's API) accepts connections: the test kit reads the ports from it. */
  | { event: 'listening'; port: number; apiPort?: number; host?: string }
  /** A failpoint configured for this process fired (runtime/failpoints.ts). */
  | { event: 'failpoint-fired'; failpoint: string; action: string; hit: number }
  /** An HTTP request ended in a 500: its error, with stack, under `err`. */
  | { event: 'request-failed'; err: Error; code?: string }
  /** An RPC ended, one event per call. */
  | { event: 'rpc'; rpc: string; stream: boolean; code: string; durationMs: number }
  /** An RPC failed with an internal error: its error, with stack, under `err`. */
  | { event: 'rpc-failed'; err: Error; code?: string }
  /** The relay published an outbox row (confirmed by the broker); the correlation id of the request that wrote it. */
  | { event: 'event-published'; messageId: string; eventType: string; correlationId: string | undefined }
  /** A consumer's channel is set up and receiving (again, after a reconnect). */
  | { event: 'consuming'; queue: string; prefetch: number }
  /** A consumer acked a message; `outcome` is what became of it. */
  | { event: 'message-handled'; messageId: string | undefined; outcome: 'applied' | 'duplicate' | 'dead-letter' | 'retry' | 'wait' | (string & {}) }
  /** A message failed for a reason of its own and goes back to the queue for another attempt. */
  | { event: 'message-retried'; messageId: string | undefined; attempt: number; reason: string; retryInMs: number }
  /** A consumer's dependency stopped answering: it holds its messages until the dependency answers. */
  | { event: 'dependency-down'; dependency: string; reason: string }
  /** A relay batch could not be published; its rows stay in the outbox. */
  | { event: 'relay-batch-failed'; partition: number; attempt: number; retryInMs: number; err: Error; code?: string }
  /** Every shutdown step finished within the grace period. */
  | { event: 'shut-down-cleanly' };

export type EventName = ProcessEvent['event'];
export type EventOf<K extends EventName> = Extract<ProcessEvent, { event: K }>;

/** What the logger adds to every line: the service, and the context of the call (consumer, correlation id). */
export interface LineContext {
  level: number;
  msg: string;
  service?: string;
  consumer?: string;
  correlationId?: string;
}

/** An event as a test reads it back: a serialized error is a plain object, not an Error. */
export type LoggedEvent<K extends EventName> = {
  [F in keyof EventOf<K>]: EventOf<K>[F] extends Error ? { type: string; message: string; stack: string; code?: string } : EventOf<K>[F];
} & LineContext;

type Level = 'debug' | 'info' | 'warn' | 'error';

/** Writes `event` as one log line at `level`, with `message` for the people reading the log. */
export function logEvent(log: Logger, level: Level, event: ProcessEvent, message: string): void {
  log[level](event, message);
}

/** Whether a parsed log line is the event `name`; narrows it to that event's fields. */
export function isEvent<K extends EventName>(line: object, name: K): line is LoggedEvent<K> {
  return (line as { event?: unknown }).event === name;
}

/** The lines of `lines` that are the event `name` (and satisfy `where`). */
export function eventsIn<K extends EventName>(lines: readonly object[], name: K, where: (event: LoggedEvent<K>) => boolean = () => true): LoggedEvent<K>[] {
  return lines.filter((line): line is LoggedEvent<K> => isEvent(line, name) && where(line));
}
