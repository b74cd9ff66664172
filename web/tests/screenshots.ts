/** The screenshots milestone 6's lesson shows, refreshed by `npm run screenshots` from a passing run. */
export const LESSON_SCREENSHOTS = ['1-bid-seen-by-the-other-bidder.png', '3-reconnecting-banner.png', '4-reconnected-on-the-database-state.png'] as const;
