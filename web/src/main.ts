// The live auction page: plain TypeScript and the DOM. No framework on purpose: the learner
// knows frontends already, and what this page is here to show is the transport underneath
// (one Connect client, a server stream that must survive restarts, retries that must not
// double a bid), which a framework's data layer would hide.
import { ConnectError, Code } from '@connectrpc/connect';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ItemStatus, type Item, type ItemLive } from '../../runtime/gen/auction/api/v1/auction_pb.ts';
import { createAuctionClient } from './api.ts';
import { answerMayBeLost, explainBidError, placeBid, type BidAttempt } from './bidding.ts';
import { formatCents, parseDollars } from './money.ts';
import { currentSession, endSession, onSessionChange, startSession, type Session } from './session.ts';
import { watchItem, type StreamState } from './watch.ts';

const client = createAuctionClient();
const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

// ── Signed in or not ────────────────────────────────────────────────────────────────────────
function showSession(session: Session | undefined): void {
  $('sign-in').hidden = session !== undefined;
  $('signed-in').hidden = session === undefined;
  $('create-item').hidden = session === undefined;
  $('who').textContent = session?.userName ?? '';
  // A signed-out page shows the form but says why it cannot bid; the server refuses anyway.
  $<HTMLButtonElement>('bid-button').disabled = session === undefined;
  if (!session) setMessage('bid-message', 'Sign in to bid.', 'pending');
  else if ($('bid-message').textContent === 'Sign in to bid.') setMessage('bid-message', '', 'ok');
  if (live) renderLive(live);
}
onSessionChange(showSession);

$('sign-in').addEventListener('submit', async (event) => {
  event.preventDefault();
  const userName = new FormData(event.target as HTMLFormElement).get('userName') as string;
  try {
    const answer = await client.signIn({ userName });
    startSession(answer, userName);
  } catch (err) {
    setMessage('bid-message', `Could not sign in: ${ConnectError.from(err).rawMessage}`, 'error');
  }
});
$('sign-out').addEventListener('click', () => endSession());

// ── The list of live auctions ───────────────────────────────────────────────────────────────
async function loadAuctions(): Promise<void> {
  try {
    const open: Item[] = [];
    let after = '';
    // Keyset pages of 100 until the last one (a workbook database has a few hundred items at most).
    for (let page = 0; page < 10; page++) {
      const answer = await client.listItems({ limit: 100, after });
      open.push(...answer.items.filter((item) => item.endAt && timestampDate(item.endAt).getTime() > Date.now()));
      if (!answer.nextAfter) break;
      after = answer.nextAfter;
    }
    open.sort((a, b) => timestampDate(a.endAt!).getTime() - timestampDate(b.endAt!).getTime());
    const list = $('auctions');
    list.replaceChildren(
      ...open.map((item) => {
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.itemId = item.id;
        button.setAttribute('aria-current', String(item.id === shown?.id));
        button.innerHTML = `<span></span><small></small>`;
        button.querySelector('span')!.textContent = item.title;
        button.querySelector('small')!.textContent = `from ${formatCents(item.startPriceCents)} · ends in ${timeLeft(item)}`;
        button.addEventListener('click', () => void selectItem(item.id));
        const li = document.createElement('li');
        li.append(button);
        return li;
      }),
    );
    setMessage('list-message', open.length ? '' : 'No auction is open right now.', 'pending');
  } catch (err) {
    setMessage('list-message', `Could not load the auctions (${ConnectError.from(err).rawMessage}); retrying.`, 'error');
  }
}

// ── One item, kept live ─────────────────────────────────────────────────────────────────────
let shown: Item | undefined;
let live: ItemLive | undefined;
let stopWatching: (() => void) | undefined;

async function selectItem(itemId: string): Promise<void> {
  stopWatching?.();
  live = undefined;
  pendingBid = undefined;
  const url = new URL(location.href);
  url.searchParams.set('item', itemId);
  history.replaceState(null, '', url);
  try {
    const answer = await client.getItem({ id: itemId });
    shown = answer.item;
  } catch (err) {
    setMessage('list-message', `Could not open that item: ${ConnectError.from(err).rawMessage}`, 'error');
    return;
  }
  $('item').hidden = false;
  $('item-title').textContent = shown!.title;
  $('item-description').textContent = shown!.description;
  setMessage('bid-message', currentSession() ? '' : 'Sign in to bid.', 'pending');
  for (const b of document.querySelectorAll<HTMLButtonElement>('#auctions button')) b.setAttribute('aria-current', String(b.dataset.itemId === itemId));
  stopWatching = watchItem(client, itemId, { onLive: applyLive, onState: showStreamState });
  tick();
}

// Versions only move forward: a late message from a stream being replaced must not undo a newer one.
function applyLive(next: ItemLive): void {
  if (live && next.itemId === live.itemId && next.version < live.version) return;
  live = next;
  renderLive(next);
}

function renderLive(state: ItemLive): void {
  $('price').textContent =
    state.priceCents === undefined ? `no bids yet (starts at ${formatCents(shown?.startPriceCents ?? 0n)})` : formatCents(state.priceCents);
  const me = currentSession()?.userId;
  $('leader').textContent = state.leaderId === undefined ? 'nobody yet' : state.leaderId === me ? 'you' : bidderName(state.leaderId);
  $('bid-count').textContent = String(state.bidCount);
  $('item').dataset.version = String(state.version);
  tick();
}

// Demo bidders' ids are readable names; anything longer (a uuid from a real provider) is shortened.
const bidderName = (id: string) => (id.length > 24 ? `${id.slice(0, 8)}…` : id);

function showStreamState(state: StreamState): void {
  const banner = $('banner');
  banner.dataset.state = state.state;
  switch (state.state) {
    case 'connecting':
      banner.hidden = true;
      break;
    case 'live':
      // Say once that it is back, and that what is shown was read again, then get out of the way.
      banner.hidden = !state.reconnected;
      banner.className = 'ok';
      banner.textContent = 'Reconnected: showing the latest state, read again from the server.';
      if (state.reconnected) setTimeout(() => banner.dataset.state === 'live' && (banner.hidden = true), 4_000);
      break;
    case 'reconnecting':
      banner.hidden = false;
      banner.className = '';
      banner.textContent = `Live updates paused: ${state.reason}. Reconnecting in ${(state.retryInMs / 1000).toFixed(1)} s (attempt ${state.attempt}). What you see may be out of date.`;
      break;
    case 'gone':
      banner.hidden = false;
      banner.className = '';
      banner.textContent = `This item cannot be watched: ${state.reason}.`;
      break;
  }
}

function timeLeft(item: Item): string {
  if (!item.endAt) return 'unknown';
  const ms = timestampDate(item.endAt).getTime() - Date.now();
  if (ms <= 0) return 'ended';
  const s = Math.floor(ms / 1000);
  const [d, h, m] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60)];
  return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function tick(): void {
  if (!shown) return;
  const closed = live?.status === ItemStatus.CLOSED;
  $('time-left').textContent = closed ? 'ended' : timeLeft(shown);
}
setInterval(tick, 1_000);

// ── Bidding ─────────────────────────────────────────────────────────────────────────────────
// The last bid that failed without an answer; pressing Bid again for the same amount is its
// retry and reuses its request id, so it cannot be placed twice.
let pendingBid: BidAttempt | undefined;

$('bid').addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!shown) return;
  if (!currentSession()) return setMessage('bid-message', 'Sign in to bid.', 'error');
  const amountCents = parseDollars(new FormData(event.target as HTMLFormElement).get('amount') as string);
  if (amountCents === undefined || amountCents <= 0n) return setMessage('bid-message', 'Enter an amount in dollars, like 12.50.', 'error');
  const attempt: BidAttempt =
    pendingBid && pendingBid.itemId === shown.id && pendingBid.amountCents === amountCents
      ? pendingBid
      : { itemId: shown.id, amountCents, requestId: crypto.randomUUID() };
  pendingBid = attempt;
  const button = $<HTMLButtonElement>('bid-button');
  button.disabled = true;
  setMessage('bid-message', `Placing your bid of ${formatCents(amountCents)}…`, 'pending');
  try {
    const outcome = await placeBid(client, attempt, (message) => setMessage('bid-message', message, 'pending'));
    if (outcome.ok) {
      pendingBid = undefined;
      setMessage('bid-message', `Your bid of ${formatCents(outcome.bid.amountCents)} is in (bid #${outcome.bid.sequence}).`, 'ok');
    } else {
      // Only a failure that may have placed the bid keeps its request id for the next press.
      if (!answerMayBeLost(outcome.error)) pendingBid = undefined;
      if (outcome.error.code === Code.Unauthenticated) endSession();
      setMessage('bid-message', outcome.message, 'error');
    }
  } catch (err) {
    setMessage('bid-message', explainBidError(ConnectError.from(err)), 'error');
  } finally {
    button.disabled = !currentSession();
  }
});

// ── Selling ─────────────────────────────────────────────────────────────────────────────────
$('create-item').addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = new FormData(event.target as HTMLFormElement);
  const startPriceCents = parseDollars(form.get('startPrice') as string);
  if (startPriceCents === undefined) return setMessage('create-message', 'Enter the starting price in dollars, like 5.00.', 'error');
  const minutes = Number(form.get('minutes'));
  try {
    const { item } = await client.createItem({
      title: form.get('title') as string,
      startPriceCents,
      endAt: timestampFromDate(new Date(Date.now() + minutes * 60_000)),
    });
    setMessage('create-message', `“${item!.title}” is up for auction.`, 'ok');
    (event.target as HTMLFormElement).reset();
    await loadAuctions();
    await selectItem(item!.id);
  } catch (err) {
    const error = ConnectError.from(err);
    if (error.code === Code.Unauthenticated) endSession();
    setMessage(
      'create-message',
      error.code === Code.Unauthenticated ? 'Sign in to sell: items are created by a signed-in seller.' : `Could not create it: ${error.rawMessage}`,
      'error',
    );
  }
});

function setMessage(id: string, text: string, kind: 'ok' | 'error' | 'pending'): void {
  const element = $(id);
  element.textContent = text;
  element.className = `message ${kind}`;
}

// ── Start ───────────────────────────────────────────────────────────────────────────────────
showSession(currentSession());
void loadAuctions();
setInterval(() => void loadAuctions(), 15_000);
const requested = new URL(location.href).searchParams.get('item');
if (requested) void selectItem(requested);
