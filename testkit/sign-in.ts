// Signed-in callers for tests, chaos scenarios and benchmarks (milestone 6): a dev token for a
// named demo user, from the same key and issuer as the SignIn RPC, and a Connect interceptor
// that sends it on every call that has no authorization header of its own.
import { randomUUID } from 'node:crypto';
import type { Interceptor } from '@connectrpc/connect';
import type { Config } from '../runtime/config.ts';
import { issueDevToken } from '../runtime/dev-auth.ts';

export interface SignedIn {
  userName: string;
  /** The token's sub: the bidder id the API puts on this user's bids. */
  bidderId: string;
  token: string;
  /** Call options (or fetch headers) that sign one call in. */
  headers: { authorization: string };
}

/** A token for `userName` (a new demo user when absent), valid for the config's dev token lifetime. */
export async function signIn(config: Pick<Config, 'auth'>, userName = `bidder-${randomUUID().slice(0, 8)}`): Promise<SignedIn> {
  const { token, bidderId } = await issueDevToken(config.auth, userName);
  return { userName, bidderId, token, headers: { authorization: `Bearer ${token}` } };
}

/** Sends `authorization: Bearer <token>` on each call that does not carry its own (a call may sign in as someone else). */
export function withBearer(token: string): Interceptor {
  return (next) => (req) => {
    if (!req.header.has('authorization')) req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}
