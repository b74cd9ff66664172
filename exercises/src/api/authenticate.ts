// Who is calling (milestone 6): an interceptor that, before any RPC that writes runs, reads
// `authorization: Bearer <jwt>`, has it verified, and hands the caller to the handler through
// the call's context values. The handler never reads a bidder from the request body.
import { createContextKey, type HandlerContext, type Interceptor } from '@connectrpc/connect';
import { TodoError } from '#runtime/todo-error.ts';
import type { Caller, TokenVerifier } from '../auth/verify-token.ts';
import { Unauthenticated } from '../errors.ts';

/** The verified caller of this call; undefined on the public RPCs and before the interceptor ran. */
export const callerKey = createContextKey<Caller | undefined>(undefined, { description: 'the signed-in caller' });

/**
 * The RPCs anyone may call without a token: reads, and SignIn (which is how a token is got).
 * Everything else needs one: a new RPC is protected until someone decides it is public.
 */
export const PUBLIC_METHODS: ReadonlySet<string> = new Set(['GetItem', 'ListItems', 'WatchItem', 'SignIn']);

/** The signed-in caller, for a handler that writes. Without one, unauthenticated (never a bidder from the body). */
export function signedInCaller(ctx: HandlerContext): Caller {
  const caller = ctx.values.get(callerKey);
  if (!caller) throw new Unauthenticated('missing', 'sign in first: this call needs an `authorization: Bearer <token>` header');
  return caller;
}

/**
 * Refuses a call to a non-public RPC that has no valid bearer token, with `unauthenticated`
 * (through the Unauthenticated error and errorToConnect), and puts the verified caller under
 * callerKey for the handler. Public RPCs pass as they are, token or not: a page signed in with
 * an expired token can still watch an item.
 */
export function authenticate(verifier: TokenVerifier, toConnect: (err: unknown) => Error): Interceptor {
  // #region m6: verify the bearer token of every call that is not public, and hand the caller to the handler
  return (next) => (req) => {
    if (PUBLIC_METHODS.has(req.method.name)) return next(req);
    throw new TodoError('m6', `verify the bearer token of ${req.method.name} in api/authenticate.ts (verifier.verify), and put the caller under callerKey`);
  };
  // #endregion
}
