// Development tokens (milestone 6): a signing key generated on first use beside the key-set
// file (.workbook/auth/ by default, gitignored, never committed), and short-lived JWTs for a
// named demo user signed with it. The SignIn RPC and `npm run token` both issue through here,
// so a token from either is verified the same way as one from a real identity provider.
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { AuthConfig } from './config.ts';
import { coerceError } from './coerce-error.ts';

/** The dev key's algorithm: ECDSA P-256, small tokens, and in every JOSE library. */
export const DEV_ALGORITHM = 'ES256';

/** What a demo user's name may be: what a person types, short, without spaces or punctuation that would need escaping. */
export const DEMO_USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The private key's file, beside the key set it is published in. */
export const devSigningKeyFile = (jwksFile: string) => join(dirname(jwksFile), 'dev-signing-key.json');

/**
 * The dev signing key, generated on first use. Several processes may start at once (test files,
 * replicas): each writes its candidate to a temporary file and hard-links it into place, which
 * fails when another got there first; then everyone uses the one that won.
 */
export async function devSigningKey(jwksFile: string): Promise<{ key: CryptoKey; kid: string }> {
  const file = devSigningKeyFile(jwksFile);
  let jwk = await readJson<JWK>(file);
  if (!jwk) {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair(DEV_ALGORITHM, { extractable: true });
    const candidate = { ...(await exportJWK(privateKey)), kid: `dev-${randomUUID()}`, alg: DEV_ALGORITHM, use: 'sig' };
    const tmp = `${file}.${process.pid}.${randomUUID()}`;
    await writeFile(tmp, JSON.stringify(candidate), { mode: 0o600 });
    await link(tmp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    await rm(tmp, { force: true });
    jwk = (await readJson<JWK>(file))!;
  }
  await publishDevKey(jwksFile, jwk);
  return { key: (await importJWK(jwk, DEV_ALGORITHM)) as CryptoKey, kid: jwk.kid! };
}

/**
 * Writes the dev key's public half into the key-set file when that file does not exist. A file
 * that exists without it was put there by someone (another key set): it is left alone, and the
 * mismatch is said at once rather than as every token refused.
 */
async function publishDevKey(jwksFile: string, privateJwk: JWK): Promise<void> {
  const { d: _private, ...publicJwk } = privateJwk;
  const existing = await readJson<{ keys?: JWK[] }>(jwksFile);
  if (existing) {
    if (existing.keys?.some((k) => k.kid === privateJwk.kid)) return;
    throw new Error(
      `the key set ${jwksFile} does not hold the development signing key ${privateJwk.kid} (${devSigningKeyFile(jwksFile)}), so tokens from SignIn would be refused: delete both files to generate a new pair, or turn dev sign-in off (AUTH_DEV_SIGN_IN=false)`,
    );
  }
  const tmp = `${jwksFile}.${process.pid}.${randomUUID()}`;
  await writeFile(tmp, JSON.stringify({ keys: [publicJwk] }, null, 2));
  // Same content from every writer: the last rename wins and all agree.
  await rename(tmp, jwksFile);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file} is not a readable JSON key file (${coerceError(err).message}): delete it to have a new one generated`);
  }
}

/**
 * The bidder id of a demo user: a UUID (the bids table's bidder is one) derived from the name
 * (version 5, RFC 9562 §5.5), so "alice" is the same bidder in every token, process and run.
 */
export function demoBidderId(userName: string): string {
  const namespace = Buffer.from('9b3a1f4e6c2d4e8a9f0b7c5d3e1a2b4c', 'hex');
  const hash = createHash('sha1').update(namespace).update(userName, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export interface DevToken {
  token: string;
  expiresAt: Date;
  /** The token's sub. */
  bidderId: string;
}

/** A short-lived token for a demo user, with the issuer and audience the API verifies. */
export async function issueDevToken(auth: AuthConfig, userName: string, options: { ttlSeconds?: number; now?: Date } = {}): Promise<DevToken> {
  if (auth.keySet.kind !== 'file') throw new Error('dev tokens need the development key set (AUTH_JWKS_FILE), not AUTH_JWKS_URL');
  const { key, kid } = await devSigningKey(auth.keySet.path);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const exp = now + (options.ttlSeconds ?? auth.devTokenTtlSeconds);
  const bidderId = demoBidderId(userName);
  const token = await new SignJWT({ name: userName })
    .setProtectedHeader({ alg: DEV_ALGORITHM, kid, typ: 'JWT' })
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setSubject(bidderId)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(key);
  return { token, expiresAt: new Date(exp * 1000), bidderId };
}
