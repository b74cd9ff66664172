// Errors a caller can act on. Each carries the facts the caller needs; the HTTP layer
// maps them to status codes in one place (http/errors-to-http.ts).

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    /** The input field at fault, e.g. "startPriceCents". */
    readonly field: string,
    /** What was wrong, for a person: "must be a whole number of cents greater than 0". */
    readonly problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

export class ItemNotFound extends Error {
  override name = 'ItemNotFound';
  constructor(readonly itemId: string) {
    super(`item ${itemId} does not exist`);
  }
}
