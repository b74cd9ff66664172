// The one list of milestones (rustlings' info.toml): what the CLI runs, in which order,
// and the hints for each test file.

export interface Milestone {
  n: number;
  slug: string;
  title: string;
  /** False while the lesson and its tests are not written yet. */
  ready: boolean;
  /** One line on what the learner builds. */
  summary: string;
  /**
   * The hints per test file, in the order of the lesson's steps (the CLI shows the first
   * failure in this order). Three levels, so a learner asks for only as much as they need:
   * `npm run hint -- N` the concept and the file, `--more` the approach, `--code` the code.
   * Nothing before `code` may dictate a solution's body.
   */
  hints: Record<string, Hint>;
}

export interface Hint {
  /** The idea the test checks, and the file where it lives. */
  concept: string;
  /** How to go about it, in words: the steps, not the statements. */
  approach: string;
  /** The code itself (milestones 1 and 2 always; later milestones where words are not enough). */
  code?: string;
}

export const milestones: Milestone[] = [
  {
    n: 1,
    slug: '01-foundation',
    title: 'Foundation',
    ready: true,
    summary: 'Schema with money as BIGINT cents, item create/get/list with validation, health, readiness, metrics, correlation ids, graceful shutdown.',
    hints: {
      'schema.test.ts': {
        concept:
          'Money is BIGINT minor units, and the database itself refuses a bad row (named CHECK constraints), whatever code writes it. File: exercises/migrations/1764000000000_items-and-bids.sql (step 2 of the lesson).',
        approach:
          'Two tables, items and bids, with the columns step 2 lists; bids references items. Give each CHECK the name step 2 gives it: the test looks for those names. The Down Migration undoes the Up: drop bids before items, since bids references items.',
        code: 'Write the SQL in exercises/migrations/1764000000000_items-and-bids.sql: the items and bids tables exactly as step 2 of milestones/01-foundation/README.md lists them, each CHECK with the name given there, and a Down Migration that drops both (bids first: it references items).',
      },
      'items.test.ts': {
        concept:
          'Validate at the edge, store exactly what the client sent: a price is a string of digits or a safe integer, never a float. Files: exercises/src/items/parse-new-item.ts, then create-item.ts, get-item.ts, list-items.ts (step 3).',
        approach:
          'parseNewItem checks the fields one by one and returns the first problem as a ValidationError naming the field; parseCents accepts digits or a safe integer and refuses the rest. The SQL functions pass money as text and let PostgreSQL cast it, so nothing goes through a JavaScript number.',
        code: 'Start with parseNewItem in exercises/src/items/parse-new-item.ts: return { error: new ValidationError(field, problem) } for the first bad field (the body itself first: anything but a plain object is field "body"), then parseCents (a string of digits or a safe integer, never a float), then the SQL in create-item.ts, get-item.ts and list-items.ts (the page cursor compares (created_at, id) > (…, …), ORDER BY created_at, id: items created in one transaction share a created_at, and created_at alone skips them). Pass money to SQL as a string with a ::bigint cast.',
      },
      'connectivity.test.ts': {
        concept:
          'A probe makes one real round trip per dependency, bounded by a timeout, so a silent service is reported down instead of hanging the probe. File: exercises/src/health/check-dependencies.ts (step 4).',
        approach:
          'One small request per service (PostgreSQL on the probe’s own connection, RabbitMQ, Redis), each wrapped in the provided measure(timeoutMs, …), all three at once so one silent service costs one timeout, not three.',
        code: 'In exercises/src/health/check-dependencies.ts wrap one real round trip per service in measure(timeoutMs, …): `SELECT 1` on deps.probeDb (the probe’s own connection, not the app’s pool), a RabbitMQ channel doing checkExchange("amq.topic"), and Redis PING, all three with Promise.all.',
      },
      'hostile-input.test.ts': {
        concept:
          'Every failure a client can cause gets a deliberate answer (4xx with the field, or 503 with Retry-After), never a 500 and never a crash; a forgotten error code must not compile. Files: exercises/src/http/errors-to-http.ts and items/parse-new-item.ts (steps 3 and 5).',
        approach:
          'Map each DomainError code to its status with a switch whose default assigns the error to `never` (tsc then names a forgotten case). In the parser, refuse text PostgreSQL cannot store (NUL, a lone surrogate) and dates that roll over (30 February), by checking that the parts survive a round trip through Date.UTC.',
        code: 'Three pieces. domainErrorToHttp in exercises/src/http/errors-to-http.ts: switch (err.code) with one case per DomainError of errors.ts (invalid_input → 400 invalid_argument with field, item_not_found → 404, bid_too_low and auction_ended → 409, busy, retries_exhausted and dependency_unavailable → 503 unavailable with a Retry-After header in whole seconds, statement_timeout → 504 deadline_exceeded) and a default whose `const unmapped: never = err` makes a forgotten case a type error. In items/parse-new-item.ts, textProblem refuses \\u0000 and a lone surrogate (/\\p{Cs}/u), and parseTimestamp checks that Date.UTC(year, month - 1, day) gives back the same year, month and day (2030-02-30 rolls over to 2 March otherwise) and that hours < 24, minutes and seconds < 60.',
      },
      'service.test.ts': {
        concept:
          'The HTTP surface: liveness vs readiness, metrics, a correlation id on every log line, and a shutdown that stops taking work before it closes what the work uses. Files: exercises/src/http/routes.ts, http/server.ts, bid-service.ts (steps 5 and 6).',
        approach:
          '/healthz says the process lives; /readyz asks checkDependencies and answers 503 only for the dependency the service cannot work without. Read or create the x-correlation-id and handle the request inside withCorrelationId. In bid-service.ts, register the shutdown steps in order: the server first, then the pool, Redis, RabbitMQ; each step is an object { name, run }.',
        code: 'In exercises/src/http/routes.ts answer /healthz, /readyz (from checkDependencies: 503 only when postgres is down; otherwise 200, "degraded" with a degraded list naming rabbitmq and redis when they are down; set metrics.dependencyUp per dependency) and /metrics; in http/server.ts read or create the x-correlation-id and log one line per request inside withCorrelationId, status "aborted" when res.writableFinished is false at close; in bid-service.ts call onShutdown with the steps in order.',
      },
      'readiness.test.ts': {
        concept:
          'Readiness follows only what the pod cannot work without (PostgreSQL), and its probe never waits in the app’s queue. Files: exercises/src/health/check-dependencies.ts (step 4) and http/routes.ts (step 5).',
        approach:
          'RabbitMQ or Redis down is “degraded”, still 200; only PostgreSQL down is 503. The PostgreSQL probe uses deps.probeDb, a connection nobody else uses, so a busy pool cannot make a healthy database look down.',
        code: 'The /readyz of service.test.ts: readiness follows PostgreSQL only (RabbitMQ down is 200 "degraded", auction_dependency_up 0), and the postgres probe runs on deps.probeDb in health/check-dependencies.ts, so it never waits in the app pool\'s queue.',
      },
    },
  },
  {
    n: 2,
    slug: '02-outbox',
    title: 'Transactional outbox',
    ready: true,
    summary: 'A bid and its BidPlaced event commit together; a relay publishes them with confirms, in order, at least once.',
    hints: {
      'place-bid.test.ts': {
        concept:
          'The transactional outbox: the bid and its BidPlaced event commit in one transaction, or neither does. Files: exercises/migrations/1764000000001_outbox.sql (step 1), outbox/enqueue-event.ts and bidding/place-bid.ts (step 3).',
        approach:
          'The outbox is a table, with a per-item sequence and the partial index the claim needs. outboxInsert is the event row’s INSERT, and only that; enqueueEvent sends it on the caller’s transaction. placeBid runs acceptBid and enqueueEvent in one runBidTransaction, on the same transaction handle, and wakes the relay once that has committed (a NOTIFY inside the bid’s transaction would make every bid’s commit wait its turn for one server-wide lock: question 11).',
        code: 'First the schema: exercises/migrations/1764000000001_outbox.sql (step 1 of milestones/02-outbox/README.md). Then outboxInsert in outbox/enqueue-event.ts (return { text: the one INSERT, values }) and placeBid in bidding/place-bid.ts: placed = await runBidTransaction(deps, itemId, async (tx) => { const bid = await acceptBid(tx, parsed.value, rules); sendWithCommit(tx, outboxInsert(bidPlacedEvent(bid, correlationId))); return bid; }, call) (or await enqueueEvent(tx, …) in its place: a round trip more, as right); then wakeRelay(deps.db) (until milestone 3 runBidTransaction and acceptBid are plain withTransaction and insertBid).',
      },
      'crash-after-commit.test.ts': {
        concept:
          'A crash between the commit and the publish loses the event of a dual write, never the outbox row. Files: the same as place-bid.test.ts (step 3).',
        approach:
          'Nothing new to write if the bid and its outbox row commit in one transaction: check that placeBid touches no broker and that both writes use the transaction handle, not the pool.',
        code: 'If placeBid and the relay pass their own tests, this one follows: the bid and its outbox row must commit in one transaction, so a crash after COMMIT leaves a row the relay publishes.',
      },
      'claim-pages.test.ts': {
        concept:
          'A claim reads only the rows still to publish, through a partial index. Files: exercises/migrations/1764000000001_outbox.sql and outbox/claim-batch.ts (steps 1 and 4).',
        approach:
          'Give the outbox an index on position restricted to the pending rows, and write the claim’s WHERE clause with exactly that predicate (the planner matches the index only to the same condition), plus the partition, in position order.',
        code: "The claim must read the outbox through a partial index that holds pending rows only: CREATE INDEX … ON outbox (position) WHERE published_at IS NULL AND failed_at IS NULL in the migration, and claimBatch's WHERE clause exactly that predicate (plus the partition), ORDER BY position. An index on all rows, or a WHERE the planner cannot match to it, makes every claim read the published rows too.",
      },
      'ordering.test.ts': {
        concept:
          'Per-item order needs one publisher per partition at a time; SKIP LOCKED alone gives two relays disjoint batches that they publish at once. Files: exercises/src/outbox/ (step 4: becomeLeader, claimBatch).',
        approach:
          'becomeLeader takes a transaction-scoped advisory lock for (key, partition) inside the batch transaction and reports whether it got it; claimBatch claims only that partition, in position order.',
        code: "Per-item order needs one publisher per partition at a time: becomeLeader takes pg_try_advisory_xact_lock(key, partition) inside the batch transaction, and claimBatch claims only that partition, in position order. SKIP LOCKED alone would let two relays publish one item's events out of order.",
      },
      'relay-crash.test.ts': {
        concept:
          'At least once: rows are marked published in the transaction that claimed them, after the broker confirmed them, so a crash before the mark publishes them again. Files: exercises/src/outbox/ (step 4).',
        approach:
          'Claim, publish, wait for the confirms, mark, commit: a crash anywhere before the commit leaves the rows claimable. Take the leader lock inside that same transaction, so a relay that vanished loses it with its session (the provided relay bounds how long its transaction may stay idle).',
        code: 'Mark rows published in the same transaction that claimed them, after waitForConfirms: a crash before the mark leaves the rows claimable, and they are published again (at least once). Take the leader lock with pg_try_advisory_xact_lock inside that transaction: the provided relay bounds how long the transaction may sit idle (idle_in_transaction_session_timeout), so a relay that vanished loses the lock with its session, and a standby takes the partition over.',
      },
      'relay.test.ts': {
        concept:
          'The relay’s pieces: claim a batch, set aside rows that can never be published, publish with confirms, wake on NOTIFY with polling as the fallback. Files: exercises/src/outbox/ (steps 4 to 7).',
        approach:
          'Screen each row before publishing (size, known type, decodes) and set the bad ones aside with the reason instead of retrying them for ever. Publish persistent, mandatory messages with the row id as messageId, respect back-pressure (drain), then wait for the confirms. listenForWork LISTENs on a connection of its own; each loop’s signal() wakes on a notification or after the poll interval, and a notification that came while that loop was not waiting (even one that woke another loop) ends its next wait at once.',
        code: 'The relay calls your pieces in outbox/: becomeLeader and claimBatch (pg_try_advisory_xact_lock(key, partition); SELECT … of the partition ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED), problemWith (size, known type, decodes), setAside, publishBatch (persistent, mandatory, messageId = row id, type, headers; wait for drain when publish returns false; then waitForConfirms), markPublished, and listenForWork (LISTEN on its own pg.Client; signal().wait() resolves on a notification or after ms; count the notifications, and let each signal keep how many it had heard when its last wait ended: more now means one came while that loop was busy, so return at once).',
      },
      'backoff.test.ts': {
        concept:
          'While the broker is down, retries back off exponentially with full jitter, so many relays do not retry in step. File: exercises/src/outbox/backoff.ts (step 8).',
        approach:
          'The ceiling doubles with each attempt from 100 ms, capped at maxMs; the delay is a random point between 0 and the ceiling, drawn with the random function you are given (the test passes its own).',
        code: 'backoffDelay in outbox/backoff.ts: ceiling = min(maxMs, 100 * 2^(attempt-1)); return Math.round(random() * ceiling).',
      },
      'broker-down.test.ts': {
        concept:
          'A broker outage is not the bidder’s problem: bids keep committing, events wait in the outbox, and the relay drains them once the broker is back. Files: bidding/place-bid.ts and outbox/publish-batch.ts (steps 3, 6 and 8).',
        approach:
          'placeBid must not touch RabbitMQ. A failing batch rolls back, so every row stays; the relay retries with backoffDelay. publishBatch must reject when the channel dies, not wait for ever for confirms that will never come.',
        code: 'placeBid must not touch RabbitMQ at all. The relay keeps every row while publishBatch fails (the transaction rolls back) and retries with backoffDelay; check that publishBatch rejects when the channel dies instead of waiting for ever.',
      },
    },
  },
  {
    n: 3,
    slug: '03-row-locking',
    title: 'Row locking',
    ready: true,
    summary:
      'Bid rules enforced under concurrency with SELECT … FOR UPDATE, typed errors with facts, safe client retries, deadlock retries; an optimistic variant to compare.',
    hints: {
      'race.test.ts': {
        concept:
          'Two bids on one item must queue: lock the item row, then judge the bid by what the lock holder committed (and by the database’s clock once the lock is held). Files: exercises/migrations/1764000000002_bid-rules.sql (step 1) and bidding/accept-bid.ts (step 3).',
        approach:
          'Read the item with a row lock, decide the minimum (the start price, or the highest bid plus the increment) and whether the auction has ended after the lock was granted, then update the item’s highest bid, leader and sequence and insert the bid, all in the caller’s transaction.',
        code: 'Start with the schema: exercises/migrations/1764000000002_bid-rules.sql (items.highest_bid_cents, items.leader_id, bids.request_id, UNIQUE (user_id, request_id)). Then acceptBid in bidding/accept-bid.ts: WITH locked AS MATERIALIZED (SELECT … FROM items WHERE id = $1 FOR UPDATE) SELECT …, end_at <= clock_timestamp() AS ended FROM locked (database time, judged once the lock is held: a FOR UPDATE select list is computed before the lock wait), compute the minimum (start price, or highest + increment), UPDATE items SET highest_bid_cents, leader_id, last_sequence + 1, INSERT the bid (one statement: a CTE). Await it and return bidFromRow(row), or, as the reference does, select last_sequence and now() in the locking statement, build the Bid (id from randomUUID, sequence last_sequence + 1, placedAt now()) and sendWithCommit(tx, { text, values }) the write: a round trip less under the lock.',
      },
      'max-bid.test.ts': {
        concept:
          'The bid limit keeps the next minimum inside BIGINT: a bid at the maximum can always be followed. File: bidding/accept-bid.ts (step 3); parseNewBid already refuses more than BID_MAX_CENTS.',
        approach:
          'If acceptBid enforces highest + increment as the minimum and compares in bigint, there is nothing more to write; check that no amount goes through a JavaScript number.',
        code: 'If acceptBid enforces the minimum (highest + increment) this follows: parseNewBid already refuses more than config.bidding.maxBidCents (BID_MAX_CENTS), so a bid at the maximum can always be placed over one below it, and nothing can push the next minimum past BIGINT.',
      },
      'locking.test.ts': {
        concept:
          'Bound every wait (the lock, the statement, the pool) by the call’s deadline, and retry only what can succeed on a retry (a deadlock, a serialization failure). File: exercises/src/bidding/bid-transaction.ts (step 4).',
        approach:
          'withRetries retries only the two SQLSTATEs that mean “try again”, with a jittered pause, and gives up with RetriesExhausted. runBidTransaction sets the lock and statement timeouts for its transaction only, lowered to the time left, turns a lock timeout into Busy, and a timeout the deadline caused into DeadlineExceeded.',
        code: 'In bidding/bid-transaction.ts: withRetries retries only SQLSTATE 40P01 and 40001, with a jittered pause, and throws RetriesExhausted after maxAttempts; runBidTransaction runs its withTransaction inside withRetries (the test makes the transaction of one bid fail once with 40P01 and 40001) and sets lock_timeout and statement_timeout for the transaction only (SET LOCAL in the begin option of withTransaction, one message with BEGIN; or set_config(…, true) after it), each lowered to the time left before call.deadline, and turns 55P03 into Busy. The deadline: withTransaction(…, { acquireTimeoutMs: timeLeft() }), timeLeft() once more before COMMIT (after the bid.before-commit failpoint), and PoolWaitTimeout or a timeout the deadline lowered become DeadlineExceeded. For the end of an auction, see the race.test.ts hint: judge it after the lock is held.',
      },
      'request-id.test.ts': {
        concept:
          'A retried request is answered, not applied twice: a bidder’s request id names one request, and a different request under the same id is refused. File: exercises/src/bidding/accept-bid.ts (step 5).',
        approach:
          'Under the item lock, look the bidder’s request id up: the same item and amount is a replay (answer with the original bid), anything else under that id is a reuse (refuse it, with the facts). The unique constraint catches a duplicate that raced past the check.',
        code: "throwIfReplayed(tx, bidder, bid) (accept-bid.ts) looks the request up under the item lock: SELECT … ${bidder.read} AS user_id …, item_id = $3::uuid AND amount_cents = $4::bigint AS same_request FROM bids WHERE ${bidder.matches('$1')} AND request_id = $2::text (bidder: the BidderColumns of the current phase, milestone 5): the same request → ReplayedRequest with the original bid (runBidTransaction answers it with err.original); another request under that id → RequestIdReused(requestId, { bidId, itemId, amountCents }). The UNIQUE constraint is what stops a duplicate that raced past the check; the rerun after its 23505 finds the winner.",
      },
      'invariants.test.ts': {
        concept:
          'The conditional-UPDATE variant must keep the same invariants as the locked read (it still takes and waits for the row lock: it is atomic, not optimistic concurrency). File: exercises/src/bidding/place-bid-optimistic.ts (step 6).',
        approach:
          'One UPDATE whose WHERE holds every rule (open, high enough) and whose RETURNING says whether it applied; insert the bid only then. When it matched no row, read the item to say which rule refused the bid.',
        code: 'Both variants must keep the same invariants. placeBidOptimistic: one UPDATE … WHERE id = $1 AND end_at > clock_timestamp() AND $2 >= coalesce(highest_bid_cents + $4, start_price_cents) RETURNING last_sequence, end_at > clock_timestamp() AS still_open, and the INSERT only WHERE still_open (RETURNING is computed after any lock wait); when it matches no row, read the item to say why (ItemNotFound, AuctionEnded or BidTooLow with current and minimum).',
      },
      'stampede.test.ts': {
        concept:
          'Under a stampede on one item most bids are already beaten when they arrive: refuse those without waiting for the row lock, and let only a couple of transactions per item wait on it, so the rest of the pool stays free. Files: exercises/src/bidding/known-highest.ts and item-admission.ts (step 8).',
        approach:
          'A highest bid seen committed only ever rises, so it is a safe lower bound: when the bid is below it plus the increment, refuse it. The refusal must be the locked check’s: unless the bid has no request id and the last read proves the auction still open by the database’s clock (its time then plus the monotonic time elapsed since), ask the database once without a lock (the item row and the request id, in the locked check’s order: replay, ended, amount) and refuse with those facts; otherwise return and let the locked check decide. For admission, count the transactions per item and pool; past two, wait in a queue in arrival order, each wait bounded by lock_timeout (Busy) and the caller’s deadline (DeadlineExceeded), and a full queue answers Busy at once; giving back a place hands it to the next in line.',
        code: 'refuseIfKnownTooLow (known-highest.ts): const minimum = knownMinimum(db, bid.itemId, rules.minIncrementCents); return if it is undefined or the amount reaches it; with no request id: await readClock(db, itemId, known) when known.clock is missing or older than END_TRUSTED_MS (the one shared read), then if certainlyOpen(known) (the last read’s database time plus performance.now() elapsed since it was sent is before end_at, within END_TRUSTED_MS) start one more readClock unawaited when the clock is older than END_RENEW_MS, and throw BidTooLow(itemId, known.highestCents, minimum) at once; else withClient(db, …): const item = await readItemUnlocked(client, db, bid.itemId) (the plain read, no FOR UPDATE; it records the highest bid and the clock, the newer read winning), ItemNotFound if none, throwIfReplayed(client, bidderColumns(rules.bidderPhase), bid), AuctionEnded if ended, BidTooLow(itemId, highest, minimumNextBid(item, increment)) if still below. takeTurn (item-admission.ts): a Map per Db (WeakMap) of itemId → { inFlight, queue }; below IN_FLIGHT_PER_ITEM take a place and return release; a queue of QUEUED_PER_ITEM → Busy; else push a resolver and wait, with a setTimeout of min(lock_timeout, time left before call.deadline) that removes it from the queue and rejects with Busy or DeadlineExceeded. release() (once only) shifts the next resolver and calls it, or decrements inFlight when no one waits.',
      },
    },
  },
  {
    n: 4,
    slug: '04-idempotent-stats',
    title: 'Idempotent stats',
    ready: true,
    summary:
      'An auction closer, a stats consumer that never counts a message twice, poison messages dead-lettered, a Redis read model that never moves backwards.',
    hints: {
      'duplicates.test.ts': {
        concept:
          'A consumer applies each message at most once: the message id and the effect commit in one transaction, and the ack comes after the commit. Files: exercises/migrations/1764000000003_closing-and-stats.sql (step 1), stats/apply-stats-once.ts (step 2).',
        approach:
          'Record the batch’s message ids in processed_messages with one statement that tells you which ones it inserted, and apply the stats of only those messages in the same transaction; an id already recorded, or given twice in the batch, means a duplicate, so skip its effect. The ack comes only after that transaction committed.',
        code: "First the schema: exercises/migrations/1764000000003_closing-and-stats.sql (step 1 of milestones/04-idempotent-stats/README.md). Then recordOnce in stats/apply-stats-once.ts, in the caller's transaction tx, for the whole batch: INSERT INTO processed_messages (consumer, message_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING RETURNING message_id. A message whose id came back is 'applied', any other 'duplicate'; an id given twice comes back once, so only its first copy is applied (a Set of the returned ids, each taken once; PostgreSQL writes them in lower case). Then addToStats(tx, the applied messages) and return the answers in the batch's order. applyStatsOnce and applyStatsBatch wrap it in a transaction; the ack comes after, in consumers/consume.ts.",
      },
      'crash.test.ts': {
        concept:
          'A crash after the commit and before the ack redelivers a message that is already recorded: a duplicate, not a second effect. File: stats/apply-stats-once.ts (step 2).',
        approach: 'If the id and the effect commit together and the ack follows the commit, there is nothing more to write.',
        code: 'If recordOnce records the message ids in the same transaction as addToStats, and handleDelivery returns only after it committed, this follows: a crash after the commit leaves a recorded id (the redelivery is a duplicate), a crash before it leaves nothing (the redelivery applies).',
      },
      'poison.test.ts': {
        concept:
          'A message that can never succeed is dead-lettered with its reason; one that failed for a while is retried, then dead-lettered. Files: consumers/handle-delivery.ts and consumers/consumer-queues.ts (step 3).',
        approach:
          'Decide per delivery: no id, an undecodable payload, or an id that is not the event’s own is poison at once; a failure of apply is retried with a growing delay, up to the attempts allowed. The queue itself is a quorum queue with a delivery limit and a dead-letter route.',
        code: "handleDelivery in consumers/handle-delivery.ts: no message id, a payload decodeEvent refuses (ContractError) or a message id that is not the event id → { kind: 'dead-letter', reason }. Otherwise return { kind: await apply(…) }; when apply throws (and isDependencyDown(err) is false), retry with delayMs = retryDelayMs * 2^(attempt-1) until attempt reaches maxAttempts, then dead-letter with \"failed N times, last: …\". The last test is the queue itself: consumerQueueOptions in consumers/consumer-queues.ts returns durable: true with the arguments x-queue-type 'quorum', x-delivery-limit DELIVERY_LIMIT, x-dead-letter-exchange '', x-dead-letter-routing-key deadLetterQueue, x-dead-letter-strategy 'at-least-once', x-overflow 'reject-publish'.",
      },
      'outage.test.ts': {
        concept:
          'An outage is not the message’s fault: while PostgreSQL is down the consumer waits, without counting attempts. File: consumers/handle-delivery.ts (step 3).',
        approach:
          'Before counting an attempt, ask whether the error means the database is unreachable; if so, answer “wait” instead of retrying or dead-lettering.',
        code: "In handleDelivery (consumers/handle-delivery.ts), before counting an attempt: if isDependencyDown(err) (consumers/dependency-down.ts), return { kind: 'wait', reason: err.message }. An outage is not the message's fault; consume.ts then holds the message unacked and waits for PostgreSQL (dependency-gate.ts).",
      },
      'trace.test.ts': {
        concept:
          'The correlation id travels with the event: every log line the consumer writes about it carries it. File: consumers/handle-delivery.ts (step 3).',
        approach:
          'Nothing new if handleDelivery works: consume.ts handles each message inside its correlation id. Read the worker lines in the failure to see which line lacks it.',
        code: 'Nothing new to write if handleDelivery works: consume.ts handles each message inside withCorrelationId(its x-correlation-id header). If only this fails, read the worker lines in the failure: which line about the event lacks the id?',
      },
      'reconnect.test.ts': {
        concept:
          'After a reconnect, a message whose ack was lost comes back and must be recognised as already applied. File: stats/apply-stats-once.ts (step 2).',
        approach: 'The consumer starts again by itself; your part is the processed_messages record that makes the redelivery a duplicate.',
        code: 'The consumer in consumers/consume.ts starts again by itself after the connection drops; your part is that a message whose ack was lost is found in processed_messages when it comes back.',
      },
      'closer.test.ts': {
        concept:
          'Closing auctions is a job several workers may run at once: each due auction is closed exactly once, and its AuctionClosed event commits with the close. File: auctions/close-due-auctions.ts (step 4).',
        approach:
          'In one transaction: pick a bounded batch of due open auctions, oldest first, skipping those another closer holds; close them (winner, final price, sequence); enqueue one event per closed auction.',
        code: "closeDueAuctions in auctions/close-due-auctions.ts, in one withTransaction: WITH due AS (SELECT id FROM items WHERE status = 'open' AND end_at <= now() ORDER BY end_at LIMIT $1 FOR UPDATE SKIP LOCKED) UPDATE items … SET status, winner_id = leader_id, final_price_cents = highest_bid_cents, closed_at = now(), last_sequence + 1 … RETURNING; then enqueueEvent(tx, auctionClosedEvent(…)) for each.",
      },
      'read-model.test.ts': {
        concept:
          'A read model fed by late and duplicated events must never move backwards: write only a newer version, atomically. Files: read-model/set-if-newer.ts and read-model/read-item-live.ts (step 5).',
        approach:
          'The compare and the write happen inside Redis in one step (a script), keyed on the version; reads fall back to PostgreSQL when Redis has nothing or is down.',
        code: 'setIfNewer in read-model/set-if-newer.ts: one EVAL whose Lua script reads HGET key version and returns 0 if tonumber(stored) >= tonumber(ARGV[1]) (as strings "10" < "9"), else HSET key version ARGV[1] and the field pairs. readItemLive in read-model/read-item-live.ts: if redis.isReady, hGetAll the item key and build the ItemLive when it has a version; on an error or no state, itemLiveFromDb.',
      },
      'retention.test.ts': {
        concept:
          'What has served its purpose is deleted in small batches, and never what is still needed (an unpublished outbox row, a recent message id). File: retention/delete-expired.ts (step 6).',
        approach:
          'Delete the oldest expired rows first, a bounded batch at a time, skipping rows another deleter holds; the indexes that make this cheap go in the migration of step 1.',
        code: "In exercises/src/retention/delete-expired.ts: deletePublishedOutbox deletes up to limit rows WHERE published_at IS NOT NULL AND published_at < now() - $1::bigint * interval '1 millisecond' (never an unpublished or set-aside row), oldest first, through a sub-select with ORDER BY published_at LIMIT $2 FOR UPDATE SKIP LOCKED, and returns rowCount; deleteProcessedMessages does the same on processed_messages by processed_at. The two indexes go in the migration of step 1.",
      },
      'full-run.test.ts': {
        concept: 'Everything together through the bid-worker: bids, the outbox, the consumers, the closer.',
        approach: 'If this alone fails, read the worker’s log lines in the failure: a consumer that stops, or an outbox row never published.',
      },
    },
  },
  {
    n: 5,
    slug: '05-expand-contract',
    title: 'Expand and contract',
    ready: true,
    summary: 'bids.user_id (uuid) becomes bids.bidder_id (text) on a million rows while bids keep flowing: expand, backfill, constrain, switch, contract.',
    hints: {
      'expand.test.ts': {
        concept:
          'Expand: add the new column so that the old and the new version of the app both keep working, each filling what the other needs. Files: exercises/migrations/1764000000004_expand-bidder-id.sql, bidding/bidder-columns.ts, backfill/fill-bidder-batch.ts (step 1).',
        approach:
          'A nullable column with no default (a catalog change, no rewrite), a trigger that fills whichever column an insert left empty, and a checkpoint table for the backfill; the app’s dual-write phase writes both columns.',
        code: 'Start with exercises/migrations/1764000000004_expand-bidder-id.sql: SET LOCAL lock_timeout first; ADD COLUMN bidder_id text (nullable, no default); a BEFORE INSERT trigger bids_fill_bidder that sets NEW.bidder_id from NEW.user_id::text when it is NULL (and NEW.user_id from NEW.bidder_id::uuid when that is NULL); the table backfill_checkpoints (name, last_id, rows_filled, updated_at). Then bidderColumns in bidding/bidder-columns.ts: \'dual-write\' inserts "user_id, bidder_id" with values "$2::uuid, $2::uuid::text", and fillBidderBatch in backfill/fill-bidder-batch.ts.',
      },
      'ddl-lock.test.ts': {
        concept:
          'A DDL statement waiting for its lock makes every later query on the table wait behind it: bound the wait, give up, try again. Files: every migration of steps 1 to 5.',
        approach:
          'Each migration sets its own lock timeout first, so an ALTER that cannot get its lock soon gives up; the migration runner then tries it again.',
        code: "Each of your migrations starts with SET LOCAL lock_timeout = '2s' (and a statement_timeout): an ALTER waiting for its lock then gives up (55P03) instead of making every bid queue behind it, and the migration runner tries it again.",
      },
      'backfill.test.ts': {
        concept:
          'Backfill in small keyset batches, each committing with its checkpoint, so it can stop and resume anywhere. File: backfill/fill-bidder-batch.ts (step 2).',
        approach:
          'One statement per batch: pick the next ids after the checkpoint, fill the rows still empty, and record the last id, so the batch and its checkpoint commit together.',
        code: 'fillBidderBatch: WITH batch AS (SELECT id FROM bids WHERE id > $1 ORDER BY id LIMIT $2), an UPDATE … FROM batch WHERE bidder_id IS NULL, and an INSERT … ON CONFLICT (name) DO UPDATE of backfill_checkpoints with the last id of the batch: all one statement, so the batch and its checkpoint commit together. Never OFFSET: the test counts the rows each batch reads, and a late batch must read about as many as the first. readCheckpoint returns START when there is no row yet.',
      },
      'throttle.test.ts': {
        concept:
          'The backfill yields to the traffic it shares the database with: while other sessions of the database are active, it spends at most a share of its time in batches, and its batches shrink. File: backfill/throttle.ts, throttleStep (step 2).',
        approach:
          'No traffic: the configured pause and batch size, whatever the batch took. Traffic: a pause long enough that the batch time over batch time plus pause is BUSY_SHARE divided by the sessions in flight, never under the configured pause nor over MAX_PAUSE_MS, and a batch of BUSY_BATCH_FRACTION of the size, at least one row.',
        code: 'throttleStep: return the configured pause and size when traffic.sessions is 0; otherwise share = BUSY_SHARE / max(1, traffic.inFlight), pause = batchMs × (1 / share − 1) clamped between pauseMs and MAX_PAUSE_MS, batchSize = max(1, round(batchSize × BUSY_BATCH_FRACTION)), yielding true.',
      },
      'constrain.test.ts': {
        concept:
          'Constrain without a long lock: add the check NOT VALID, validate it later, build the unique index concurrently. Files: migrations 1764000000005 to 1764000000007 (step 3).',
        approach:
          'Three migrations: a NOT VALID check; then its validation, and SET NOT NULL on its strength; then a concurrent unique index, after dropping what a failed build may have left.',
        code: '1764000000005: ADD CONSTRAINT bids_bidder_id_not_null CHECK (bidder_id IS NOT NULL) NOT VALID. 1764000000006 (another transaction): VALIDATE CONSTRAINT, then ALTER COLUMN bidder_id SET NOT NULL (it uses the valid check and skips its scan), then drop the check. 1764000000007 keeps its first line "-- migrate: no-transaction": DROP INDEX CONCURRENTLY IF EXISTS bids_bidder_request_unique, then CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS … ON bids (bidder_id, request_id). The test places a bid while each migration waits for a lock: SET NOT NULL before VALIDATE, or an index built without CONCURRENTLY, takes a lock that holds the bid back.',
      },
      'phases.test.ts': {
        concept:
          'Switch, then contract: the app reads the new column, stops writing the old one, and only then is the old one dropped. Files: bidding/bidder-columns.ts and migration 1764000000008 (steps 4 and 5).',
        approach:
          'Each phase of bidderColumns says which columns to write and which to read; the contract migration removes the trigger, its function, the checkpoints and the old column.',
        code: "bidderColumns: 'read-bidder-id' writes both and reads bidder_id (read: \"bidder_id\", matches: p => `bidder_id = ${p}::uuid::text`); 'bidder-id' writes only bidder_id. 1764000000008 drops the trigger, its function, backfill_checkpoints and bids.user_id.",
      },
      'migrations.test.ts': {
        concept:
          'Every Down Migration undoes exactly its Up, so a rollout can be rolled back at any phase. Files: the Down sections of migrations 1764000000004 to 1764000000008.',
        approach:
          'For each Up, write the Down that puts the schema back as it was; the contract’s Down must bring the old column back, filled and constrained.',
        code: "Every Down Migration undoes exactly its Up: the contract's down adds user_id back, fills it from bidder_id::uuid, sets NOT NULL, restores bids_user_request_unique, the checkpoint table, the function and the trigger.",
      },
    },
  },
  {
    n: 6,
    slug: '06-ingress-deploy',
    title: 'Ingress and deployment',
    ready: true,
    summary:
      'The API as ConnectRPC over HTTP/2 (h2c) behind a TLS ingress, with a streaming WatchItem fed by the events; graceful termination; one image; Kubernetes with autoscaling.',
    hints: {
      'api.test.ts': {
        concept:
          'The API speaks ConnectRPC: every domain error has exactly one status code, and the four unary calls translate proto in and out. Files: exercises/src/api/errors-to-connect.ts (step 1) and api/auction-service.ts (step 2).',
        approach:
          'A switch over the error code with a `never` default, one Connect code per domain error, with details where the client needs facts (the field, the minimum bid, when to retry). Each RPC: proto in, the domain function, proto out, inside guard().',
        code: 'Start with domainErrorToConnect in exercises/src/api/errors-to-connect.ts: switch (err.code), one case per DomainError, and a default with `const unmapped: never = err`: invalid_input → Code.InvalidArgument with a FieldViolation detail (field in snake_case: apiFieldName), item_not_found → NotFound, bid_too_low → FailedPrecondition with a BidTooLowDetail, auction_ended → FailedPrecondition, busy, retries_exhausted and dependency_unavailable → Unavailable via retryLater (a BusyDetail and retry-after metadata), request_id_reused → AlreadyExists, deadline_exceeded and statement_timeout → DeadlineExceeded. Then the four unary RPCs in api/auction-service.ts: proto in, createItem/getItem/listItems/placeBid, proto out, each inside guard(). placeBid(deps, input, deadlineOf(ctx)): deps carries the metrics, so the bid is counted; its userId is signedInCaller(ctx).id. CreateItem and PlaceBid also need the interceptor of step 5 (api/authenticate.ts; see the auth.test.ts hint): until it is written they answer unimplemented with its TODO.',
      },
      'errors.test.ts': {
        concept:
          'The same failure answers alike on both transports, and an outage is “unavailable, retry later”, never “internal”. File: api/errors-to-connect.ts (step 1).',
        approach: 'If domainErrorToConnect has a case per code, this follows.',
        code: 'If domainErrorToConnect has a case per code, this follows: the same failure answers alike on both transports, a PostgreSQL outage is unavailable with retry-after (never internal), and the provided api/strict-json.ts and api/correlation-header.ts refuse rounded JSON numbers and put x-correlation-id on every answer. An error toDomainError does not know (a driver error included) is a bug: internal with the generic message, never its own text.',
      },
      'watch.test.ts': {
        concept:
          'A stream starts from what PostgreSQL committed and then only moves forward: subscribe first, read, and skip any update that is not newer than what was sent. Files: api/watch-feed.ts and api/watch-item.ts (step 3).',
        approach:
          'A bounded feed drops the oldest update when full and counts it; the stream subscribes before its first read (so nothing falls in between), yields only newer versions, resyncs when told, and closes its subscription however it ends.',
        code: 'WatchFeed.offer (api/watch-feed.ts): when the queue holds limit updates, shift the oldest and count it in dropped; then push. watchItem (api/watch-item.ts): subscribe to the hub first, then readCommittedItemLive(deps.db, itemId) (PostgreSQL, not the read model) and yield it; then for each feed update (a state, or a resync: readCommittedItemLive again) yield it only if its version is newer; return after a closed state; close() the subscription in finally.',
      },
      'watch-lagging-read-model.test.ts': {
        concept: 'The first state of a stream must be committed truth, not a read model that lags. File: api/watch-item.ts (step 3).',
        approach: 'Read the first state (and every resync) from PostgreSQL, not from Redis.',
        code: 'The first state of a stream (and every resync) must be what PostgreSQL has committed: in watchItem (api/watch-item.ts) read it with readCommittedItemLive(deps.db, itemId), not readItemLive, which answers from the Redis read model and lags behind it while its consumer has a backlog.',
      },
      'shutdown.test.ts': {
        concept:
          'A graceful shutdown of streams: readiness turns red, GOAWAY, every feed ends with “unavailable” so clients reconnect elsewhere. File: api/watch-item.ts (step 3).',
        approach: 'Let the feed’s error through your watchItem (do not catch it), and do not tie placeBid to the request’s abort signal.',
        code: "If the RPCs and watchItem pass their tests, this follows: the provided closeServer (bid-service.ts) turns readiness red, sends GOAWAY, and ends every feed with unavailable; your watchItem must let the feed's error through (do not catch it), and placeBid must not watch ctx.signal.",
      },
      'limits.test.ts': {
        concept:
          'Limits on streams and sessions protect the server; your code must let their errors through. Files: api/watch-item.ts and api/auction-service.ts.',
        approach: 'The limits are provided: this fails while your RPCs or watchItem do, or when watchItem catches the hub’s resource_exhausted.',
        code: "The limits are provided (api/server.ts, api/watch-hub.ts; API_MAX_CONCURRENT_STREAMS, API_SESSION_IDLE_TIMEOUT_MS, API_MAX_WATCH_STREAMS): this fails while your RPCs or watchItem do, and when your watchItem catches the hub's resource_exhausted instead of letting it through (subscribe throws it before the first read).",
      },
      'fuzz.test.ts': {
        concept:
          'Generated hostile requests: no input may produce a 5xx. Files: whichever code the failing request reached (find the log line by its correlation id).',
        approach:
          'The test prints its seed: replay a failure with npm run fuzz -- --seed S --runs N, find its log line by the correlation id, and give that failure a DomainError (or a case).',
      },
      'auth.test.ts': {
        concept:
          "Writes need a signed-in caller: the bidder is a verified bearer token's subject, never a field of the request; reads stay public. File: exercises/src/api/authenticate.ts (step 5).",
        approach:
          "An interceptor that lets the public methods through untouched, refuses any other call without one valid `Bearer <token>` header with unauthenticated (the verifier says why), and hands the verified caller to the handler through the call's context values.",
        code: "authenticate in exercises/src/api/authenticate.ts: a method in PUBLIC_METHODS goes to next(req) untouched; otherwise no authorization header → throw toConnect(new Unauthenticated('missing', …)); not /^Bearer +(token)$/i → Unauthenticated('malformed', …); then const caller = await verifier.verify(token) (its errors through toConnect), req.contextValues.set(callerKey, caller), return next(req). In auction-service.ts placeBid takes userId from signedInCaller(ctx).id, and createItem calls signedInCaller(ctx). domainErrorToConnect needs unauthenticated → Code.Unauthenticated and sign_in_disabled → Code.PermissionDenied.",
      },
      'ingress.test.ts': {
        concept: 'Through the real TLS ingress (deploy/ingress/Caddyfile), which speaks h2c to the app (step 4).',
        approach: 'If api.test.ts passes, this fails only when the ingress is missing (install caddy) or its config changed.',
      },
      'deploy.test.ts': {
        concept:
          'One image, two processes, three places to run them: the Dockerfile builds once and runs either entry point; compose and Kubernetes each say how a container reaches the others, when it is ready, and how long it may take to stop. Files: exercises/deploy/Dockerfile, exercises/deploy/compose.app.yml and exercises/deploy/k8s/bid-worker.yaml (step 6).',
        approach:
          'Each test lists what is missing, one line per item, with the reason. The Dockerfile: a build stage with every dependency that bundles the tree named by TREE, then a runtime stage that starts again from the slim image with production dependencies and the bundles only. Compose: the services reach each other by name, listen on every interface, and are healthy only when ready. Kubernetes: write the Deployment from bid-service.yaml (what differs for a process with no API and no Service), then the ScaledObject from what k8s.test.ts says KEDA needs; the provided TriggerAuthentication and PodDisruptionBudget sit between them.',
        code: 'The Dockerfile: `FROM ${NODE_IMAGE} AS build`, WORKDIR /app, COPY package.json package-lock.json, RUN npm ci, COPY runtime, exercises, solutions and scripts/build.ts scripts/with-node.mjs scripts/node-version.mjs, `ARG TREE=exercises`, `RUN npm run build -- --tree "${TREE}" --out-dir dist`; the runtime: `FROM ${NODE_IMAGE} AS runtime`, ENV NODE_ENV=production, RUN npm ci --omit=dev, COPY --from=build /app/dist ./dist, ENV HTTP_HOST=0.0.0.0, LABEL org.auction-workbook.entrypoints="dist/bid-service.js dist/bid-worker.js", EXPOSE 3000 8080, USER node, HEALTHCHECK CMD ["node", "-e", "fetch(\'http://127.0.0.1:\' + (process.env.PORT || 3000) + \'/healthz\')…"], ENTRYPOINT ["node"], CMD ["dist/bid-service.js"]. compose.app.yml: bid-service and bid-worker with profiles ["app"], build { context: ., dockerfile: ${TREE:-exercises}/deploy/Dockerfile, args { TREE } }, one image name, command ["dist/<entry>.js"], DATABASE_URL/AMQP_URL/REDIS_URL at postgres, rabbitmq and redis, HTTP_HOST 0.0.0.0, PORT and API_PORT, depends_on each with condition service_healthy, a healthcheck fetching /readyz, stop_grace_period 15s, mem_limit. bid-worker.yaml: bid-service.yaml\'s Deployment renamed, with args ["dist/bid-worker.js"], only the health port, no replicas, no preStop, SHUTDOWN_GRACE_MS 20000 under terminationGracePeriodSeconds 30; a ScaledObject on it with minReplicaCount 1, a rabbitmq trigger with protocol http, mode QueueLength, value "100", queueName auction.user-stats and authenticationRef rabbitmq-management.',
      },
    },
  },
];

export function milestone(n: number): Milestone | undefined {
  return milestones.find((m) => m.n === n);
}

/** The milestone a path belongs to (milestones/NN-slug/…), or undefined for a path outside them. */
export function milestoneOfPath(path: string): number | undefined {
  const n = /milestones\/(\d+)-/.exec(path)?.[1];
  return n === undefined ? undefined : Number(n);
}
