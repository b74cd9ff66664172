import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { correlationIdFrom } from '#runtime/logger.ts';

/**
 * Gives every API response an x-correlation-id, before Connect sees the request: errors
 * Connect answers itself (a body it cannot parse, an unknown content type) never reach an
 * interceptor, and they are the answers a caller most needs to find in the log. The id is
 * written back into the request, so the interceptor's withCorrelationId uses the same one.
 */
export function withCorrelationHeader(handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void) {
  return (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const correlationId = correlationIdFrom(req.headers['x-correlation-id']);
    req.headers['x-correlation-id'] = correlationId;
    res.setHeader('x-correlation-id', correlationId);
    handler(req, res);
  };
}
