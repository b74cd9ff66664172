// Who is signed in, for this tab: the token SignIn returned and the bidder id it carries.
// sessionStorage, not localStorage: each tab (and each test's browser context) is its own
// bidder, and the token, short-lived anyway, is gone when the tab closes.
import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';

export interface Session {
  token: string;
  /** The token's subject: what bids and ItemLive.leader_id carry for this user. */
  userId: string;
  userName: string;
  expiresAtMs: number;
}

const KEY = 'auction.session';
const listeners = new Set<(session: Session | undefined) => void>();

export function currentSession(): Session | undefined {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return undefined;
  const session = JSON.parse(raw) as Session;
  // An expired token would only earn an `unauthenticated`; forget it now instead.
  if (session.expiresAtMs <= Date.now()) {
    sessionStorage.removeItem(KEY);
    return undefined;
  }
  return session;
}

export function startSession(answer: { token: string; bidderId: string; expiresAt?: Timestamp }, userName: string): Session {
  const session: Session = {
    token: answer.token,
    userId: answer.bidderId,
    userName,
    expiresAtMs: answer.expiresAt ? timestampDate(answer.expiresAt).getTime() : Date.now() + 15 * 60_000,
  };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  for (const listener of listeners) listener(session);
  return session;
}

export function endSession(): void {
  sessionStorage.removeItem(KEY);
  for (const listener of listeners) listener(undefined);
}

export function onSessionChange(listener: (session: Session | undefined) => void): void {
  listeners.add(listener);
}
