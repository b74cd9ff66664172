// The one list of milestones (rustlings' info.toml): what the CLI runs, in which order,
// and the hint for each test file.

export interface Milestone {
  n: number;
  slug: string;
  title: string;
  /** False while the lesson and its tests are not written yet. */
  ready: boolean;
  /** One line on what the learner builds. */
  summary: string;
  /** A hint per test file, shown with that file's first failure. */
  hints: Record<string, string>;
}

export const milestones: Milestone[] = [
  {
    n: 1,
    slug: '01-foundation',
    title: 'Foundation',
    ready: true,
    summary: 'Schema with money as BIGINT cents, item create/get/list with validation, health, readiness, metrics, correlation ids, graceful shutdown.',
    hints: {
      'schema.test.ts':
        'Write the SQL in exercises/migrations/1764000000000_items-and-bids.sql: the items and bids tables exactly as step 2 of milestones/01-foundation/README.md lists them, each CHECK with the name given there, and a Down Migration that drops both (bids first: it references items).',
      'items.test.ts':
        'Start with parseNewItem in exercises/src/items/parse-new-item.ts: return { error: new ValidationError(field, problem) } for the first bad field, then parseCents (a string of digits or a safe integer, never a float), then the SQL in create-item.ts, get-item.ts and list-items.ts (the page cursor compares (created_at, id) > (…, …), ORDER BY created_at, id: items created in one transaction share a created_at, and created_at alone skips them). Pass money to SQL as a string with a ::bigint cast.',
      'connectivity.test.ts':
        'In exercises/src/health/check-dependencies.ts wrap one real round trip per service in measure(timeoutMs, …): `SELECT 1` on deps.probeDb (the probe’s own connection, not the app’s pool), a RabbitMQ channel doing checkExchange("amq.topic"), and Redis PING, all three with Promise.all.',
      'hostile-input.test.ts':
        'Three pieces. domainErrorToHttp in exercises/src/http/errors-to-http.ts: switch (err.code) with one case per DomainError of errors.ts (invalid_input → 400 invalid_argument with field, item_not_found → 404, bid_too_low and auction_ended → 409, busy, retries_exhausted and dependency_unavailable → 503 unavailable with a Retry-After header in whole seconds, statement_timeout → 504 deadline_exceeded) and a default whose `const unmapped: never = err` makes a forgotten case a type error. In items/parse-new-item.ts, textProblem refuses \\u0000 and a lone surrogate (/\\p{Cs}/u), and parseTimestamp checks that Date.UTC(year, month - 1, day) gives back the same year, month and day (2030-02-30 rolls over to 2 March otherwise) and that hours < 24, minutes and seconds < 60.',
      'service.test.ts':
        'In exercises/src/http/routes.ts answer /healthz, /readyz (from checkDependencies: 503 only when postgres is down; otherwise 200, "degraded" with a degraded list naming rabbitmq and redis when they are down; set metrics.dependencyUp per dependency) and /metrics; in http/server.ts read or create the x-correlation-id and log one line per request inside withCorrelationId, status "aborted" when res.writableFinished is false at close; in bid-service.ts call onShutdown with the steps in order.',
      'readiness.test.ts':
        'The /readyz of service.test.ts: readiness follows PostgreSQL only (RabbitMQ down is 200 "degraded", auction_dependency_up 0), and the postgres probe runs on deps.probeDb in health/check-dependencies.ts, so it never waits in the app pool\'s queue.',
    },
  },
  {
    n: 2,
    slug: '02-outbox',
    title: 'Transactional outbox',
    ready: true,
    summary: 'A bid and its BidPlaced event commit together; a relay publishes them with confirms, in order, at least once.',
    hints: {
      'place-bid.test.ts':
        'First the schema: exercises/migrations/1764000000001_outbox.sql (step 1 of milestones/02-outbox/README.md). Then enqueueEvent in outbox/enqueue-event.ts (INSERT the row, then pg_notify) and placeBid in bidding/place-bid.ts: runBidTransaction(deps, itemId, async (tx) => { const bid = await acceptBid(tx, parsed.value, rules); await enqueueEvent(tx, bidPlacedEvent(bid, correlationId)); return bid; }, call) (until milestone 3 those two are plain withTransaction and insertBid).',
      'relay.test.ts':
        'The relay calls your pieces in outbox/: becomeLeader and claimBatch (pg_try_advisory_xact_lock(key, partition); SELECT … of the partition ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED), problemWith (size, known type, decodes), setAside, publishBatch (persistent, mandatory, messageId = row id, type, headers; wait for drain when publish returns false; then waitForConfirms), markPublished, and listenForWork (LISTEN on its own pg.Client; wait() resolves on a notification or after ms).',
      'backoff.test.ts': 'backoffDelay in outbox/backoff.ts: ceiling = min(maxMs, 100 * 2^(attempt-1)); return Math.round(random() * ceiling).',
      'crash-after-commit.test.ts': 'If placeBid and the relay pass their own tests, this one follows: the bid and its outbox row must commit in one transaction, so a crash after COMMIT leaves a row the relay publishes.',
      'broker-down.test.ts': 'placeBid must not touch RabbitMQ at all. The relay keeps every row while publishBatch fails (the transaction rolls back) and retries with backoffDelay; check that publishBatch rejects when the channel dies instead of waiting for ever.',
      'relay-crash.test.ts': 'Mark rows published in the same transaction that claimed them, after waitForConfirms: a crash before the mark leaves the rows claimable, and they are published again (at least once). Take the leader lock with pg_try_advisory_xact_lock inside that transaction: the provided relay bounds how long the transaction may sit idle (idle_in_transaction_session_timeout), so a relay that vanished loses the lock with its session, and a standby takes the partition over.',
      'claim-pages.test.ts': 'The claim must read the outbox through a partial index that holds pending rows only: CREATE INDEX … ON outbox (position) WHERE published_at IS NULL AND failed_at IS NULL in the migration, and claimBatch\'s WHERE clause exactly that predicate (plus the partition), ORDER BY position. An index on all rows, or a WHERE the planner cannot match to it, makes every claim read the published rows too.',
      'ordering.test.ts': 'Per-item order needs one publisher per partition at a time: becomeLeader takes pg_try_advisory_xact_lock(key, partition) inside the batch transaction, and claimBatch claims only that partition, in position order. SKIP LOCKED alone would let two relays publish one item\'s events out of order.',
    },
  },
  {
    n: 3,
    slug: '03-row-locking',
    title: 'Row locking',
    ready: true,
    summary: 'Bid rules enforced under concurrency with SELECT … FOR UPDATE, typed errors with facts, safe client retries, deadlock retries; an optimistic variant to compare.',
    hints: {
      'race.test.ts':
        'Start with the schema: exercises/migrations/1764000000002_bid-rules.sql (items.highest_bid_cents, items.leader_id, bids.request_id, UNIQUE (user_id, request_id)). Then acceptBid in bidding/accept-bid.ts: WITH locked AS MATERIALIZED (SELECT … FROM items WHERE id = $1 FOR UPDATE) SELECT …, end_at <= clock_timestamp() AS ended FROM locked (database time, judged once the lock is held: a FOR UPDATE select list is computed before the lock wait), compute the minimum (start price, or highest + increment), UPDATE items SET highest_bid_cents, leader_id, last_sequence + 1, INSERT the bid.',
      'invariants.test.ts':
        'Both variants must keep the same invariants. placeBidOptimistic: one UPDATE … WHERE id = $1 AND end_at > clock_timestamp() AND $2 >= coalesce(highest_bid_cents + $4, start_price_cents) RETURNING last_sequence, end_at > clock_timestamp() AS still_open, and the INSERT only WHERE still_open (RETURNING is computed after any lock wait); when it matches no row, read the item to say why (ItemNotFound, AuctionEnded or BidTooLow with current and minimum).',
      'locking.test.ts':
        'In bidding/bid-transaction.ts: withRetries retries only SQLSTATE 40P01 and 40001, with a jittered pause, and throws RetriesExhausted after maxAttempts; runBidTransaction runs its withTransaction inside withRetries (the test makes the transaction of one bid fail once with 40P01 and 40001) and sets lock_timeout and statement_timeout for the transaction only (set_config(…, true)), each lowered to the time left before call.deadline, and turns 55P03 into Busy. The deadline: withTransaction(…, { acquireTimeoutMs: timeLeft() }), timeLeft() once more before COMMIT (after the bid.before-commit failpoint), and PoolWaitTimeout or a timeout the deadline lowered become DeadlineExceeded. For the end of an auction, see the race.test.ts hint: judge it after the lock is held.',
      'max-bid.test.ts':
        'If acceptBid enforces the minimum (highest + increment) this follows: parseNewBid already refuses more than config.bidding.maxBidCents (BID_MAX_CENTS), so a bid at the maximum can always be placed over one below it, and nothing can push the next minimum past BIGINT.',
      'request-id.test.ts':
        'throwIfReplayed (accept-bid.ts) looks the request up by (user_id, request_id) under the item lock, with item_id = $3::uuid AND amount_cents = $4::bigint AS same_request: the same request → ReplayedRequest with the original bid (runBidTransaction answers it with err.original); another request under that id → RequestIdReused(requestId, { bidId, itemId, amountCents }). The UNIQUE constraint is what stops a duplicate that raced past the check; the rerun after its 23505 finds the winner.',
    },
  },
  {
    n: 4,
    slug: '04-idempotent-stats',
    title: 'Idempotent stats',
    ready: true,
    summary: 'An auction closer, a stats consumer that never counts a message twice, poison messages dead-lettered, a Redis read model that never moves backwards.',
    hints: {
      'retention.test.ts':
        'In exercises/src/retention/delete-expired.ts: deletePublishedOutbox deletes up to limit rows WHERE published_at IS NOT NULL AND published_at < now() - $1::bigint * interval \'1 millisecond\' (never an unpublished or set-aside row), oldest first, through a sub-select with ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED, and returns rowCount; deleteProcessedMessages does the same on processed_messages by processed_at. The two indexes go in the migration of step 1.',
      'duplicates.test.ts':
        'First the schema: exercises/migrations/1764000000003_closing-and-stats.sql (step 1 of milestones/04-idempotent-stats/README.md). Then recordOnce in stats/apply-stats-once.ts, in the caller\'s transaction tx: INSERT INTO processed_messages (consumer, message_id) … ON CONFLICT DO NOTHING; rowCount 0 means a duplicate (return it); otherwise addToStats(tx, message) and return \'applied\'. applyStatsOnce and applyStatsBatch wrap it in a transaction; the ack comes after, in consumers/consume.ts.',
      'poison.test.ts':
        'handleDelivery in consumers/handle-delivery.ts: no message id, a payload decodeEvent refuses (ContractError) or a message id that is not the event id → { kind: \'dead-letter\', reason }. Otherwise return { kind: await apply(…) }; when apply throws (and isDependencyDown(err) is false), retry with delayMs = retryDelayMs * 2^(attempt-1) until attempt reaches maxAttempts, then dead-letter with "failed N times, last: …". The last test is the queue itself: consumerQueueOptions in consumers/consumer-queues.ts returns durable: true with the arguments x-queue-type \'quorum\', x-delivery-limit DELIVERY_LIMIT, x-dead-letter-exchange \'\', x-dead-letter-routing-key deadLetterQueue, x-dead-letter-strategy \'at-least-once\', x-overflow \'reject-publish\'.',
      'outage.test.ts':
        'In handleDelivery (consumers/handle-delivery.ts), before counting an attempt: if isDependencyDown(err) (consumers/dependency-down.ts), return { kind: \'wait\', reason: err.message }. An outage is not the message\'s fault; consume.ts then holds the message unacked and waits for PostgreSQL (dependency-gate.ts).',
      'trace.test.ts':
        'Nothing new to write if handleDelivery works: consume.ts handles each message inside withCorrelationId(its x-correlation-id header). If only this fails, read the worker lines in the failure: which line about the event lacks the id?',
      'crash.test.ts':
        'If applyStatsOnce records the message id in the same transaction as addToStats, and handleDelivery returns only after it committed, this follows: a crash after the commit leaves a recorded id (the redelivery is a duplicate), a crash before it leaves nothing (the redelivery applies).',
      'read-model.test.ts':
        'setIfNewer in read-model/set-if-newer.ts: one EVAL whose Lua script reads HGET key version and returns 0 if tonumber(stored) >= tonumber(ARGV[1]) (as strings "10" < "9"), else HSET key version ARGV[1] and the field pairs. readItemLive in read-model/read-item-live.ts: if redis.isReady, hGetAll the item key and build the ItemLive when it has a version; on an error or no state, itemLiveFromDb.',
      'closer.test.ts':
        'closeDueAuctions in auctions/close-due-auctions.ts, in one withTransaction: WITH due AS (SELECT id FROM items WHERE status = \'open\' AND end_at <= now() ORDER BY end_at LIMIT $1 FOR UPDATE SKIP LOCKED) UPDATE items … SET status, winner_id = leader_id, final_price_cents = highest_bid_cents, closed_at = now(), last_sequence + 1 … RETURNING; then enqueueEvent(tx, auctionClosedEvent(…)) for each.',
      'full-run.test.ts': 'Everything together, through the bid-worker. If this alone fails, read the worker\'s log lines in the failure: a consumer that stops, or an outbox row never published.',
      'reconnect.test.ts': 'The consumer in consumers/consume.ts starts again by itself after the connection drops; your part is that a message whose ack was lost is found in processed_messages when it comes back.',
    },
  },
  {
    n: 5,
    slug: '05-expand-contract',
    title: 'Expand and contract',
    ready: true,
    summary: 'bids.user_id (uuid) becomes bids.bidder_id (text) on a million rows while bids keep flowing: expand, backfill, constrain, switch, contract.',
    hints: {
      'expand.test.ts':
        'Start with exercises/migrations/1764000000004_expand-bidder-id.sql: SET LOCAL lock_timeout first; ADD COLUMN bidder_id text (nullable, no default); a BEFORE INSERT trigger bids_fill_bidder that sets NEW.bidder_id from NEW.user_id::text when it is NULL (and NEW.user_id from NEW.bidder_id::uuid when that is NULL); the table backfill_checkpoints (name, last_id, rows_filled, updated_at). Then bidderColumns in bidding/bidder-columns.ts: \'dual-write\' inserts "user_id, bidder_id" with values "$2::uuid, $2::uuid::text", and fillBidderBatch in backfill/fill-bidder-batch.ts.',
      'backfill.test.ts':
        'fillBidderBatch: WITH batch AS (SELECT id FROM bids WHERE id > $1 ORDER BY id LIMIT $2), an UPDATE … FROM batch WHERE bidder_id IS NULL, and an INSERT … ON CONFLICT (name) DO UPDATE of backfill_checkpoints with the last id of the batch: all one statement, so the batch and its checkpoint commit together. Never OFFSET: the test counts the rows each batch reads, and a late batch must read about as many as the first. readCheckpoint returns START when there is no row yet.',
      'ddl-lock.test.ts': 'Each of your migrations starts with SET LOCAL lock_timeout = \'2s\' (and a statement_timeout): an ALTER waiting for its lock then gives up (55P03) instead of making every bid queue behind it, and the migration runner tries it again.',
      'constrain.test.ts':
        '1764000000005: ADD CONSTRAINT bids_bidder_id_not_null CHECK (bidder_id IS NOT NULL) NOT VALID. 1764000000006 (another transaction): VALIDATE CONSTRAINT, then ALTER COLUMN bidder_id SET NOT NULL (it uses the valid check and skips its scan), then drop the check. 1764000000007 keeps its first line "-- migrate: no-transaction": DROP INDEX CONCURRENTLY IF EXISTS bids_bidder_request_unique, then CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS … ON bids (bidder_id, request_id). The test places a bid while each migration waits for a lock: SET NOT NULL before VALIDATE, or an index built without CONCURRENTLY, takes a lock that holds the bid back.',
      'phases.test.ts':
        'bidderColumns: \'read-bidder-id\' writes both and reads bidder_id (read: "bidder_id", matches: p => `bidder_id = ${p}::uuid::text`); \'bidder-id\' writes only bidder_id. 1764000000008 drops the trigger, its function, backfill_checkpoints and bids.user_id.',
      'migrations.test.ts': 'Every Down Migration undoes exactly its Up: the contract\'s down adds user_id back, fills it from bidder_id::uuid, sets NOT NULL, restores bids_user_request_unique, the checkpoint table, the function and the trigger.',
    },
  },
  {
    n: 6,
    slug: '06-ingress-deploy',
    title: 'Ingress and deployment',
    ready: true,
    summary: 'The API as ConnectRPC over HTTP/2 (h2c) behind a TLS ingress, with a streaming WatchItem fed by the events; graceful termination; one image; Kubernetes with autoscaling.',
    hints: {
      'api.test.ts':
        'Start with domainErrorToConnect in exercises/src/api/errors-to-connect.ts: switch (err.code), one case per DomainError, and a default with `const unmapped: never = err`: invalid_input → Code.InvalidArgument with a FieldViolation detail (field in snake_case: apiFieldName), item_not_found → NotFound, bid_too_low → FailedPrecondition with a BidTooLowDetail, auction_ended → FailedPrecondition, busy, retries_exhausted and dependency_unavailable → Unavailable via retryLater (a BusyDetail and retry-after metadata), request_id_reused → AlreadyExists, deadline_exceeded and statement_timeout → DeadlineExceeded. Then the four unary RPCs in api/auction-service.ts: proto in, createItem/getItem/listItems/placeBid, proto out, each inside guard(). placeBid(deps, input, deadlineOf(ctx)): deps carries the metrics, so the bid is counted.',
      'watch.test.ts':
        'WatchFeed.offer (api/watch-feed.ts): when the queue holds limit updates, shift the oldest and count it in dropped; then push. watchItem (api/watch-item.ts): subscribe to the hub first, then readCommittedItemLive(deps.db, itemId) (PostgreSQL, not the read model) and yield it; then for each feed update (a state, or a resync: readCommittedItemLive again) yield it only if its version is newer; return after a closed state; close() the subscription in finally.',
      'watch-lagging-read-model.test.ts':
        'The first state of a stream (and every resync) must be what PostgreSQL has committed: in watchItem (api/watch-item.ts) read it with readCommittedItemLive(deps.db, itemId), not readItemLive, which answers from the Redis read model and lags behind it while its consumer has a backlog.',
      'errors.test.ts': 'If domainErrorToConnect has a case per code, this follows: the same failure answers alike on both transports, a PostgreSQL outage is unavailable with retry-after (never internal), and the provided api/strict-json.ts and api/correlation-header.ts refuse rounded JSON numbers and put x-correlation-id on every answer. An error toDomainError does not know (a driver error included) is a bug: internal with the generic message, never its own text.',
      'fuzz.test.ts': 'The fuzz test prints its seed: replay a failure with npm run fuzz -- --seed S --runs N. A 5xx means an error reached the mapper as a bug: find its log line by the correlation id and give it a DomainError (or a case) instead.',
      'shutdown.test.ts': 'If the RPCs and watchItem pass their tests, this follows: the provided closeServer (bid-service.ts) turns readiness red, sends GOAWAY, and ends every feed with unavailable; your watchItem must let the feed\'s error through (do not catch it), and placeBid must not watch ctx.signal.',
      'limits.test.ts':
        'The limits are provided (api/server.ts, api/watch-hub.ts; API_MAX_CONCURRENT_STREAMS, API_SESSION_IDLE_TIMEOUT_MS, API_MAX_WATCH_STREAMS): this fails while your RPCs or watchItem do, and when your watchItem catches the hub\'s resource_exhausted instead of letting it through (subscribe throws it before the first read).',
      'ingress.test.ts': 'Through the real ingress (deploy/ingress/Caddyfile): if api.test.ts passes, this fails only when the ingress is missing (install caddy) or its config changed.',
    },
  },
];

export function milestone(n: number): Milestone | undefined {
  return milestones.find((m) => m.n === n);
}
