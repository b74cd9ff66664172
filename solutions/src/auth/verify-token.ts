// Bearer tokens (milestone 6): a JWT verified with jose against the key set configuration
// names (a JWKS file, or an identity provider's JWKS URL), with the issuer, audience and
// algorithms pinned. Provided: the learner's part is the interceptor that calls it
// (api/authenticate.ts). jose rather than hand-written checks: signature, algorithm, exp/nbf
// with a tolerance, iss and aud are each a classic way to get JWTs wrong.
import { readFile } from 'node:fs/promises';
import { createLocalJWKSet, createRemoteJWKSet, errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '#runtime/config.ts';
import { devSigningKey } from '#runtime/dev-auth.ts';
import type { Logger } from '#runtime/logger.ts';
import { DependencyUnavailable, Unauthenticated } from '../errors.ts';
import { coerceError } from '#runtime/coerce-error.ts';

/** Who is calling: the token's subject, and the name it carries, when any. */
export interface Caller {
  id: string;
  name: string | undefined;
}

export interface TokenVerifier {
  /** The caller a token names, or Unauthenticated saying what is wrong with it. */
  verify(token: string): Promise<Caller>;
}

/** How long an identity provider's key set may take to answer before the call is answered `unavailable`. */
const REMOTE_TIMEOUT_MS = 5_000;

/**
 * Verified tokens remembered, so that a client sending the same token on every call pays for
 * the signature check once (jose and WebCrypto were about 3.5% of bid-service's CPU under bench
 * api). Bounded: past it the oldest entry goes. An entry is trusted until the token's exp,
 * never past it, and for at most CACHED_TOKEN_MS, so that a key removed from the key set stops
 * being trusted within that time. Keyed by the whole token string: a token altered in any byte
 * is another key, verified in full.
 */
export const CACHED_TOKENS_MAX = 10_000;
export const CACHED_TOKEN_MS = 60_000;

export async function createTokenVerifier(auth: AuthConfig, log: Logger): Promise<TokenVerifier> {
  // Dev sign-in: the key pair exists before the first token is issued or checked.
  if (auth.devSignIn && auth.keySet.kind === 'file') await devSigningKey(auth.keySet.path);
  const keys =
    auth.keySet.kind === 'url'
      ? createRemoteJWKSet(new URL(auth.keySet.url), { timeoutDuration: REMOTE_TIMEOUT_MS })
      : await localKeySet(auth.keySet.path, log);
  // Insertion order is age order: the first key is the oldest entry.
  const verified = new Map<string, { caller: Caller; until: number }>();
  return {
    async verify(token) {
      // Date.now(), not performance.now(): exp is wall-clock time, and jose compares it with Date.now() too.
      const cached = verified.get(token);
      if (cached && Date.now() < cached.until) return cached.caller;
      verified.delete(token);
      try {
        const { payload } = await jwtVerify(token, keys, {
          issuer: auth.issuer,
          audience: auth.audience,
          algorithms: auth.algorithms,
          clockTolerance: auth.clockToleranceSeconds,
          requiredClaims: ['sub', 'exp'],
        });
        const caller = { id: payload.sub!, name: typeof payload.name === 'string' ? payload.name : undefined };
        // exp without the clock tolerance: jose judges the tolerance on the next call, once the entry has lapsed.
        const until = Math.min(payload.exp! * 1000, Date.now() + CACHED_TOKEN_MS);
        if (verified.size >= CACHED_TOKENS_MAX) verified.delete(verified.keys().next().value!);
        verified.set(token, { caller, until });
        return caller;
      } catch (err) {
        throw refusal(err, auth);
      }
    },
  };
}

/**
 * The key-set file, read once. A missing file is not a crash of the whole service (milestones
 * 1-5 run it without tokens): every write is refused saying so, and the file is looked for
 * again on the next call, so adding it needs no restart.
 */
async function localKeySet(path: string, log: Logger): Promise<JWTVerifyGetKey> {
  let loaded: JWTVerifyGetKey | undefined;
  const load = async () => {
    try {
      loaded = createLocalJWKSet(JSON.parse(await readFile(path, 'utf8')));
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read as a JWKS (${coerceError(err).message})`;
      log.warn(
        { jwksFile: path },
        `the API's key set ${path} ${why}: every PlaceBid and CreateItem will be refused (set AUTH_JWKS_FILE or AUTH_JWKS_URL, or AUTH_DEV_SIGN_IN=true for development)`,
      );
      return new Unauthenticated(
        'no_key_set',
        `this server cannot verify tokens: its key set (${path}) ${why}; the operator must configure AUTH_JWKS_FILE or AUTH_JWKS_URL`,
      );
    }
    return undefined;
  };
  await load();
  return async (header, token) => {
    if (!loaded) {
      const missing = await load();
      if (missing) throw missing;
    }
    return loaded!(header, token);
  };
}

/** jose's error as the caller's reason, in words; a key set that did not answer as `unavailable`. */
function refusal(err: unknown, auth: AuthConfig): Error {
  if (err instanceof Unauthenticated) return err;
  if (err instanceof errors.JWTExpired) {
    const exp = typeof err.payload.exp === 'number' ? ` at ${new Date(err.payload.exp * 1000).toISOString()}` : '';
    return new Unauthenticated('expired', `the bearer token expired${exp}: sign in again for a new one`);
  }
  if (err instanceof errors.JWSSignatureVerificationFailed)
    return new Unauthenticated(
      'bad_signature',
      'the bearer token’s signature does not match its content: it was altered, or signed by a key this server does not trust',
    );
  if (err instanceof errors.JWKSNoMatchingKey)
    return new Unauthenticated(
      'unknown_key',
      'the bearer token was signed by a key this server does not trust (no key in its key set matches the token’s kid and algorithm)',
    );
  if (err instanceof errors.JOSEAlgNotAllowed)
    return new Unauthenticated('algorithm_not_allowed', `the bearer token’s algorithm is not accepted here (accepted: ${auth.algorithms.join(', ')})`);
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss')
      return new Unauthenticated(
        'wrong_issuer',
        `the bearer token was issued by ${JSON.stringify(err.payload.iss ?? null)}, not by ${JSON.stringify(auth.issuer)}`,
      );
    if (err.claim === 'aud')
      return new Unauthenticated(
        'wrong_audience',
        `the bearer token is meant for ${JSON.stringify(err.payload.aud ?? null)}, not for this API (${JSON.stringify(auth.audience)})`,
      );
    if (err.claim === 'nbf' || err.claim === 'iat')
      return new Unauthenticated('not_yet_valid', 'the bearer token is not valid yet (its nbf or iat is in the future): check the issuer’s clock');
    return new Unauthenticated('invalid_claims', `the bearer token’s ${err.claim} claim is missing or wrong: ${err.message}`);
  }
  if (err instanceof errors.JWKSTimeout || (err instanceof TypeError && auth.keySet.kind === 'url')) {
    return new DependencyUnavailable('identity provider', 1_000, { cause: err });
  }
  if (err instanceof errors.JOSEError) return new Unauthenticated('malformed', `the bearer token is not a well-formed signed JWT (${err.message})`);
  return coerceError(err);
}
