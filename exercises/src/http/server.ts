import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { correlationIdFrom, errorFields, withCorrelationId } from '#runtime/logger.ts';
import { logEvent } from '#runtime/process-events.ts';
import type { AppDeps } from '../app-deps.ts';
import { ValidationError } from '../errors.ts';
import { errorToHttp, INTERNAL } from './errors-to-http.ts';
import { sendJson } from './respond.ts';
import { routes, type Route } from './routes.ts';

export function createHttpServer(deps: AppDeps): Server {
  const server = createServer((req, res) => {
    // The last line of defence: whatever escapes handle() is logged and answered, never an exit.
    handle(deps, req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'request handler failed');
      if (res.headersSent) res.destroy();
      else sendJson(res, INTERNAL.status, INTERNAL.body);
    });
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => refuseUnparsable(err, socket));
  return server;
}

/**
 * Bytes that are not HTTP/1.1 (a raw byte above 0x7f in the path, a header line without a
 * colon) never reach a route: Node's parser refuses them. Answer with the reason, not the bare
 * "400 Bad Request" Node writes by default.
 */
function refuseUnparsable(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'resource_exhausted', message: 'the request headers are larger than the server accepts; send fewer or shorter headers' }
      : {
          code: 'invalid_argument',
          message: `the request is not valid HTTP/1.1 (${err.code ?? 'parse error'}); percent-encode anything outside printable ASCII in the path`,
          field: 'request',
        },
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request'}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/** The path of the request target, as sent: origin form ("/items?limit=5") or absolute form. */
function requestUrl(raw: string): URL {
  try {
    // Not new URL(raw, base): "//items" would be read as a host named "items".
    return new URL(raw.startsWith('/') ? `http://localhost${raw}` : raw);
  } catch {
    throw new ValidationError('path', 'must be a URL path like /items/<id>');
  }
}

/** The route for a method and path, with its parameters; a malformed parameter throws a ValidationError. */
function findRoute(method: string | undefined, path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    const params = route.match(path);
    if (params) return { route, params };
  }
  return undefined;
}

async function handle(deps: AppDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // What the log line and the metrics say about this request, filled in as routing learns it.
  const request = { pattern: 'unmatched', path: (req.url ?? '/').split('?')[0]! };
  // Everything from the URL on runs inside this try: no request can end the process.
  const dispatch = async () => {
    try {
      const url = requestUrl(req.url ?? '/');
      request.path = url.pathname;
      // Shutting down: not ready, whatever the dependencies say (the API is draining).
      if (deps.lifecycle.draining && url.pathname === '/readyz') {
        sendJson(res, 503, { status: 'shutting down' });
        return;
      }
      const found = findRoute(req.method, url.pathname);
      if (!found) {
        sendJson(res, 404, { error: { code: 'not_found', message: `no route for ${req.method} ${url.pathname}` } });
        return;
      }
      request.pattern = found.route.pattern;
      await found.route.handle(deps, req, res, found.params, url);
    } catch (err) {
      const answer = errorToHttp(err);
      if (answer.status >= 500) logEvent(deps.log, 'error', { event: 'request-failed', ...errorFields(err) }, 'request failed');
      if (!res.headersSent) {
        for (const [name, value] of Object.entries(answer.headers ?? {})) res.setHeader(name, value);
        sendJson(res, answer.status, answer.body);
      } else res.destroy();
    }
  };

  // #region m1: give each request a correlation id, echo it, and log one line with metrics when it ends
  await dispatch();
  // #endregion
}
