// The traffic of the milestone-4 scenarios that check user_stats and the read model against
// bids and items: auctions that end one after another during the run, and bidders on them until
// the last has ended. One definition, so the scenarios compare like with like.
import { randomUUID } from 'node:crypto';
import { bidUntilAuctionsEnd } from '#testkit/http-load.ts';
import { itemsEndingSoon } from '#testkit/scenario-data.ts';

export const CLOSING_AUCTIONS = { items: 20, bidders: 10, firstEndsInMs: 3_000, everyMs: 250, pauseMs: 60, timeoutMs: 15_000 };

/** In words, for a scenario's summary. */
export const closingAuctionsText = `${CLOSING_AUCTIONS.bidders} bidders on ${CLOSING_AUCTIONS.items} auctions ending during the run`;

/** CLOSING_AUCTIONS.items open items, the first ending 3 s from now, then one every 250 ms. */
export const itemsClosingSoon = (databaseUrl: string) =>
  itemsEndingSoon(databaseUrl, CLOSING_AUCTIONS.items, { firstEndsInMs: CLOSING_AUCTIONS.firstEndsInMs, everyMs: CLOSING_AUCTIONS.everyMs });

/** CLOSING_AUCTIONS.bidders new bidders on `items` through the bid-service at `serviceUrl()` until every auction has ended. */
export const bidUntilTheyClose = (options: { serviceUrl: () => string; items: string[]; signal: AbortSignal }) =>
  bidUntilAuctionsEnd({
    ...options,
    bidders: Array.from({ length: CLOSING_AUCTIONS.bidders }, () => randomUUID()),
    pauseMs: CLOSING_AUCTIONS.pauseMs,
    timeoutMs: CLOSING_AUCTIONS.timeoutMs,
  });
