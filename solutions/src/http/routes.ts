import type { IncomingMessage, ServerResponse } from 'node:http';
import { TodoError } from '#runtime/todo-error.ts';
import type { AppDeps } from '../app-deps.ts';
import { ValidationError } from '../errors.ts';
import { checkDependencies } from '../health/check-dependencies.ts';
import { createItem } from '../items/create-item.ts';
import { getItem } from '../items/get-item.ts';
import { itemToJson } from '../items/item.ts';
import { listItems } from '../items/list-items.ts';
import { bidToJson } from '../bidding/bid.ts';
import { placeBid } from '../bidding/place-bid.ts';
import { placeBidDualWrite } from '../bidding/place-bid-dual-write.ts';
import { countOutcome } from '../bidding/bid-outcomes.ts';
import { itemLiveToJson } from '../read-model/item-live.ts';
import { readItemLive } from '../read-model/read-item-live.ts';
import { readJsonBody, sendJson, sendText } from './respond.ts';

export interface Route {
  method: 'GET' | 'POST';
  /** A pattern for metrics labels: "/items/:id", never the raw path (unbounded label values). */
  pattern: string;
  match: (path: string) => Record<string, string> | undefined;
  handle: (deps: AppDeps, req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL) => Promise<void>;
}

/**
 * A path parameter, percent-decoded. decodeURIComponent throws URIError on "%ZZ" or a cut
 * UTF-8 sequence ("%E0%A4%A"): the client's mistake, answered as one, never a crash.
 */
function pathParam(field: string, raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ValidationError(field, 'must be a UUID; the path holds a malformed percent-escape');
  }
}

const exact = (path: string) => (candidate: string) => (candidate === path ? {} : undefined);

export const routes: Route[] = [
  {
    method: 'GET',
    pattern: '/healthz',
    match: exact('/healthz'),
    // Liveness: the process can answer. It never checks dependencies, or a database outage
    // would make the orchestrator restart every healthy pod at once.
    handle: async (_deps, _req, res) => {
      // #region m1: answer /healthz (liveness)
      sendJson(res, 200, { status: 'ok' });
      // #stub
      // throw new TodoError('m1', 'answer /healthz in http/routes.ts');
      // #endregion
    },
  },
  {
    method: 'GET',
    pattern: '/readyz',
    match: exact('/readyz'),
    // Readiness: 200 while PostgreSQL answers, 503 otherwise, with each dependency's state.
    handle: async (deps, _req, res) => {
      // #region m1: answer /readyz from a fresh check of every dependency
      const dependencies = await checkDependencies(deps);
      for (const [name, d] of Object.entries(dependencies)) deps.metrics.dependencyUp.set({ dependency: name }, d.status === 'up' ? 1 : 0);
      // Ready means "send traffic here", and the API serves with PostgreSQL alone: bids wait in
      // the outbox while RabbitMQ is down, reads fall back from Redis. Requiring all three would
      // take every pod out of rotation at once when a shared broker blips.
      const ready = dependencies.postgres.status === 'up';
      const degraded = (['rabbitmq', 'redis'] as const).filter((name) => dependencies[name].status === 'down');
      sendJson(res, ready ? 200 : 503, { status: ready ? (degraded.length > 0 ? 'degraded' : 'ready') : 'not ready', degraded, dependencies });
      // #stub
      // throw new TodoError('m1', 'answer /readyz in http/routes.ts');
      // #endregion
    },
  },
  {
    method: 'GET',
    pattern: '/metrics',
    match: exact('/metrics'),
    handle: async (deps, _req, res) => {
      // #region m1: expose the Prometheus metrics
      sendText(res, 200, await deps.metrics.registry.metrics(), deps.metrics.registry.contentType);
      // #stub
      // throw new TodoError('m1', 'expose /metrics in http/routes.ts');
      // #endregion
    },
  },
  {
    method: 'POST',
    pattern: '/items',
    match: exact('/items'),
    handle: async (deps, req, res) => {
      const item = await createItem(deps, await readJsonBody(req));
      sendJson(res, 201, itemToJson(item));
    },
  },
  {
    method: 'GET',
    pattern: '/items',
    match: exact('/items'),
    handle: async (deps, _req, res, _params, url) => {
      const rawLimit = url.searchParams.get('limit');
      const limit = rawLimit === null ? undefined : Number(rawLimit);
      if (limit !== undefined && !/^\d+$/.test(rawLimit!)) throw new ValidationError('limit', 'must be a whole number');
      const after = url.searchParams.get('after') ?? undefined;
      const page = await listItems(deps, { limit, after });
      sendJson(res, 200, { items: page.items.map(itemToJson), nextAfter: page.nextAfter ?? null });
    },
  },
  {
    method: 'GET',
    pattern: '/items/:id',
    match: (path) => {
      const m = /^\/items\/([^/]+)$/.exec(path);
      return m ? { id: pathParam('id', m[1]!) } : undefined;
    },
    handle: async (deps, _req, res, params) => {
      sendJson(res, 200, itemToJson(await getItem(deps, params.id!)));
    },
  },
  {
    method: 'GET',
    pattern: '/items/:id/live',
    match: (path) => {
      const m = /^\/items\/([^/]+)\/live$/.exec(path);
      return m ? { id: pathParam('id', m[1]!) } : undefined;
    },
    // The read model (milestone 4): price, leader, bid count and status, from Redis.
    handle: async (deps, _req, res, params) => {
      sendJson(res, 200, itemLiveToJson(await readItemLive(deps, params.id!)));
    },
  },
  {
    method: 'POST',
    pattern: '/items/:id/bids',
    match: (path) => {
      const m = /^\/items\/([^/]+)\/bids$/.exec(path);
      return m ? { id: pathParam('id', m[1]!) } : undefined;
    },
    handle: async (deps, req, res, params) => {
      const body = await readJsonBody(req);
      const input = typeof body === 'object' && body !== null && !Array.isArray(body) ? { ...body, itemId: params.id } : body;
      // The naive dual write exists only so the lesson can show what it loses (BID_WRITE_MODE=dual-write).
      const bid =
        deps.config.bidWriteMode === 'dual-write' ? await countOutcome(deps.metrics, () => placeBidDualWrite(deps, input)) : await placeBid(deps, input);
      sendJson(res, 201, bidToJson(bid));
    },
  },
];
