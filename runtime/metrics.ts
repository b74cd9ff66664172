import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  /** ConnectRPC calls by procedure and Connect code name ("ok" for success); its _count counts them. */
  rpcDuration: Histogram<'procedure' | 'code'>;
  /** 1 while a dependency answered the last readiness probe, 0 while it did not. */
  dependencyUp: Gauge<'dependency'>;
  outbox: {
    pending: Gauge;
    publishLag: Histogram;
    published: Counter;
    publishFailures: Counter;
    setAside: Counter;
    unroutable: Counter;
  };
  bids: {
    accepted: Counter;
    rejected: Counter<'reason'>;
    lockWait: Histogram;
  };
  consumer: {
    /** Messages handled, by consumer and outcome (applied, duplicate, retried, dead_lettered). */
    messages: Counter<'consumer' | 'outcome'>;
    processing: Histogram<'consumer'>;
    /** Messages ready in the consumer's queue (its lag), sampled by the consumer. */
    queueDepth: Gauge<'consumer'>;
  };
  closer: { closed: Counter };
  retention: {
    /** Rows the retention job deleted, by table. */
    deleted: Counter<'table'>;
    /** Rows past their window still in the table after the job's last round, by table (0 unless it falls behind). */
    expired: Gauge<'table'>;
  };
}

/** One registry per app instance (not prom-client's global), so tests can run several. */
export function createMetrics(options: { prefix?: string; defaults?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaults ?? true) collectDefaultMetrics({ register: registry });
  const prefix = options.prefix ?? 'auction_';
  return {
    registry,
    httpRequests: new Counter({
      name: `${prefix}http_requests_total`,
      help: 'HTTP requests served, by method, route and status code ("aborted": the client left before the answer was sent).',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: `${prefix}http_request_duration_seconds`,
      help: 'HTTP request duration in seconds, by method and route.',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: `${prefix}rpc_duration_seconds`,
      help: 'ConnectRPC call duration in seconds (a stream: how long it stayed open), by procedure and Connect code name (ok, invalid_argument, unavailable, …).',
      labelNames: ['procedure', 'code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers: [registry],
    }),
    dependencyUp: new Gauge({
      name: `${prefix}dependency_up`,
      help: 'Whether a dependency answered the last readiness probe (1) or not (0), by dependency. Only postgres decides readiness; redis and rabbitmq down mean degraded.',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    outbox: {
      pending: new Gauge({ name: `${prefix}outbox_pending`, help: 'Outbox rows not yet published (sampled by the relay).', registers: [registry] }),
      publishLag: new Histogram({
        name: `${prefix}outbox_publish_lag_seconds`,
        help: 'From the outbox row being written to the broker confirming its message.',
        buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
        registers: [registry],
      }),
      published: new Counter({ name: `${prefix}outbox_published_total`, help: 'Outbox events published and confirmed.', registers: [registry] }),
      publishFailures: new Counter({
        name: `${prefix}outbox_publish_failures_total`,
        help: 'Relay batches that failed (broker down, nack, channel closed) and were retried.',
        registers: [registry],
      }),
      setAside: new Counter({
        name: `${prefix}outbox_set_aside_total`,
        help: 'Outbox rows set aside as unpublishable (malformed, oversize, unknown type).',
        registers: [registry],
      }),
      unroutable: new Counter({
        name: `${prefix}outbox_unroutable_total`,
        help: 'Messages the broker returned because no queue was bound for them.',
        registers: [registry],
      }),
    },
    bids: {
      accepted: new Counter({ name: `${prefix}bids_accepted_total`, help: 'Bids accepted.', registers: [registry] }),
      rejected: new Counter({
        name: `${prefix}bids_rejected_total`,
        help: 'Bids refused, by reason (too_low, auction_ended, busy, invalid, not_found, retries_exhausted, request_id_reused, deadline_exceeded, error).',
        labelNames: ['reason'],
        registers: [registry],
      }),
      lockWait: new Histogram({
        name: `${prefix}bid_lock_wait_seconds`,
        help: "Time a bid waited for its item's row lock.",
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
    },
    consumer: {
      messages: new Counter({
        name: `${prefix}consumer_messages_total`,
        help: 'Messages a consumer handled, by consumer and outcome (applied, duplicate, retried, dead_lettered).',
        labelNames: ['consumer', 'outcome'],
        registers: [registry],
      }),
      processing: new Histogram({
        name: `${prefix}consumer_processing_seconds`,
        help: 'From a delivery arriving to its ack, by consumer.',
        labelNames: ['consumer'],
        buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
        registers: [registry],
      }),
      queueDepth: new Gauge({
        name: `${prefix}consumer_queue_depth`,
        help: "Messages ready in a consumer's queue (its lag), by consumer.",
        labelNames: ['consumer'],
        registers: [registry],
      }),
    },
    closer: { closed: new Counter({ name: `${prefix}auctions_closed_total`, help: 'Auctions the closer settled.', registers: [registry] }) },
    retention: {
      deleted: new Counter({
        name: `${prefix}retention_deleted_total`,
        help: 'Rows the retention job deleted, by table (outbox: published rows; processed_messages: ids past the window).',
        labelNames: ['table'],
        registers: [registry],
      }),
      expired: new Gauge({
        name: `${prefix}retention_expired_rows`,
        help: "Rows past their retention window still in the table after the job's last round, by table: above 0, the job falls behind.",
        labelNames: ['table'],
        registers: [registry],
      }),
    },
  };
}
