// A `catch (err)` holds `unknown`: usually an Error, but a library or a learner's code can
// throw a string, a plain object or undefined. One conversion, so no caller has to pretend
// with `err as Error` (and read `.message` of undefined in its own error handler).

/** `value` itself when it is an Error (from any realm); otherwise an Error that says what was thrown, with the value as its cause. */
export function coerceError(value: unknown): Error {
  if (value instanceof Error || Object.prototype.toString.call(value) === '[object Error]') return value as Error;
  const message =
    typeof value === 'string'
      ? value
      : typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string'
        ? (value as { message: string }).message
        : `a non-Error was thrown: ${describe(value)}`;
  const error = new Error(message, { cause: value });
  const code = errorCode(value);
  if (code !== undefined) Object.assign(error, { code });
  return error;
}

/** The SQLSTATE (or Node error code, ECONNREFUSED…) an error carries, if any. */
export function errorCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
