// npm run token -- <user> [--ttl SECONDS]: a short-lived dev token for a demo user, signed with
// the development key (generated on first use into .workbook/auth/, never committed), with the
// issuer and audience the API verifies: the same token SignIn gives. The token alone goes to
// stdout, so `TOKEN=$(npm run -s token -- alice)` works; how to use it goes to stderr.
import { loadConfig } from '../../runtime/config.ts';
import { DEMO_USER_NAME, issueDevToken } from '../../runtime/dev-auth.ts';
import { LearnerError } from '../prepare.ts';

export async function tokenCommand(argv: string[]): Promise<number> {
  const args = argv.slice(argv.indexOf('token') + 1);
  const ttlAt = args.indexOf('--ttl');
  const ttlRaw = ttlAt === -1 ? undefined : args[ttlAt + 1];
  const userName = args.find((a, i) => !a.startsWith('--') && (ttlAt === -1 || i !== ttlAt + 1));
  if (!userName || !DEMO_USER_NAME.test(userName)) {
    throw new LearnerError(
      `"token" needs a demo user's name (letters, digits, dots, dashes, underscores; at most 64)${userName ? `, got ${JSON.stringify(userName)}` : ''}.`,
      'npm run token -- alice',
    );
  }
  const ttlSeconds = ttlRaw === undefined ? undefined : Number(ttlRaw);
  if (ttlSeconds !== undefined && !(Number.isInteger(ttlSeconds) && ttlSeconds > 0 && ttlSeconds <= 86_400)) {
    throw new LearnerError(`--ttl needs a whole number of seconds from 1 to 86400, got ${JSON.stringify(ttlRaw)}.`, 'npm run token -- alice --ttl 600');
  }
  const { auth } = loadConfig();
  if (auth.keySet.kind !== 'file') {
    throw new LearnerError(
      `AUTH_JWKS_URL is set (${auth.keySet.url}): this API trusts that identity provider's keys, not the development key, so a dev token would be refused.`,
      'get a token from the identity provider, or unset AUTH_JWKS_URL for development',
    );
  }
  const issued = await issueDevToken(auth, userName, ttlSeconds === undefined ? {} : { ttlSeconds });
  process.stdout.write(`${issued.token}\n`);
  process.stderr.write(
    `A token for ${userName} (bidder ${issued.bidderId}), valid until ${issued.expiresAt.toISOString()}, from the key set ${auth.keySet.path}.\n` +
      `Send it on PlaceBid and CreateItem as the header  authorization: Bearer <token>  (buf curl: --header "Authorization: Bearer $TOKEN").\n`,
  );
  return 0;
}
