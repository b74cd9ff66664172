import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { newCorrelationId, withCorrelationId } from '#shared/logger.ts';
import type { AppDeps } from '../app-deps.ts';
import { errorToHttp } from './errors-to-http.ts';
import { sendJson } from './respond.ts';
import { routes } from './routes.ts';

// Accept a caller's id only if it is short and plain, so a header cannot forge log lines.
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createHttpServer(deps: AppDeps): Server {
  return createServer((req, res) => {
    void handle(deps, req, res);
  });
}

async function handle(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const route = routes.find((r) => r.method === req.method && r.match(url.pathname));
  const pattern = route?.pattern ?? 'unmatched';
  const dispatch = async () => {
    try {
      // Shutting down: not ready, whatever the dependencies say (the API is draining).
      if (deps.lifecycle.draining && url.pathname === '/readyz') {
        sendJson(res, 503, { status: 'shutting down' });
        return;
      }
      if (!route) {
        sendJson(res, 404, { error: { code: 'not_found', message: `no route for ${req.method} ${url.pathname}` } });
        return;
      }
      await route.handle(deps, req, res, route.match(url.pathname)!, url);
    } catch (err) {
      const answer = errorToHttp(err);
      if (answer.status >= 500) deps.log.error({ err }, 'request failed');
      if (!res.headersSent) {
        for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
        sendJson(res, answer.status, answer.body);
      }
      else res.destroy();
    }
  };

  // #region m1: give each request a correlation id, echo it, and log one line with metrics when it ends
  const received = req.headers['x-correlation-id'];
  const correlationId = typeof received === 'string' && CORRELATION_ID.test(received) ? received : newCorrelationId();
  res.setHeader('x-correlation-id', correlationId);
  const started = performance.now();
  const endTimer = deps.metrics.httpDuration.startTimer({ method: req.method, route: pattern });
  await withCorrelationId(correlationId, async () => {
    res.once('close', () => {
      endTimer();
      // 'close' also fires when the client goes before the answer was sent; statusCode is then
      // still its default, 200, which would count a request nobody received as served.
      const status = res.writableFinished ? res.statusCode : 'aborted';
      deps.metrics.httpRequests.inc({ method: req.method, route: pattern, status: String(status) });
      deps.log.info({ method: req.method, path: url.pathname, route: pattern, status, durationMs: Math.round(performance.now() - started) }, 'request');
    });
    await dispatch();
  });
  // #stub
  // await dispatch();
  // #endregion
}
