// SignIn (development and tests): a short-lived token for a named demo user, from the dev key
// (#runtime/dev-auth.ts, the same issuer as `npm run token`). Production turns it off
// (AUTH_DEV_SIGN_IN unset), and tokens come from the identity provider named by AUTH_JWKS_URL.
import type { AuthConfig } from '#runtime/config.ts';
import { DEMO_USER_NAME, issueDevToken, type DevToken } from '#runtime/dev-auth.ts';
import { SignInDisabled, ValidationError } from '../errors.ts';

export async function signIn(auth: AuthConfig, userName: string): Promise<DevToken> {
  if (!auth.devSignIn) throw new SignInDisabled();
  if (!DEMO_USER_NAME.test(userName))
    throw new ValidationError('userName', 'must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit (e.g. alice)');
  return issueDevToken(auth, userName);
}
