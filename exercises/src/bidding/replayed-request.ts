import type { Bid } from './bid.ts';

/** Not a failure: the request was processed before, and `original` is its answer. */
export class ReplayedRequest extends Error {
  override name = 'ReplayedRequest';
  constructor(readonly original: Bid) {
    super(`request already processed as bid ${original.id}`);
  }
}
