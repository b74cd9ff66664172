// The load client of `npm run bench -- api`: PlaceBid as the Connect protocol puts it on the wire
// (a POST of the binary request, application/proto), sent with node:http2 and nothing between.
// The benchmark compares the API with pgbench, whose client is a small C program; the Connect
// client with its interceptors, web-standard headers and async iterables took half a
// millisecond of CPU per call on the same two cores, a sixth of what the whole call cost.
// Tests and chaos scenarios keep the real Connect client (chaos/lib/api-load.ts): they test
// behaviour, this only loads.
import http2 from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { PlaceBidRequestSchema, PlaceBidResponseSchema } from '#runtime/gen/auction/api/v1/auction_pb.ts';

/** How one call ended: accepted; refused as too low (failed_precondition, an answer); or failed, with what went wrong. */
export type PlaceBidOutcome = { kind: 'accepted' } | { kind: 'refused' } | { kind: 'failed'; reason: string };

export interface PlaceBidH2 {
  placeBid(bid: { itemId: string; amountCents: bigint; requestId: string }): Promise<PlaceBidOutcome>;
  close(): Promise<void>;
}

/**
 * One HTTP/2 connection to `baseUrl` (`http://` for h2c, `https://` with `ca` for the ingress);
 * every call is a stream on it, as the Connect client's calls are. Each call sends `token` as
 * its bearer and gives up after `timeoutMs` (the server is told too, in connect-timeout-ms).
 */
export function placeBidH2(options: { baseUrl: string; token: string; ca?: Buffer; timeoutMs: number }): PlaceBidH2 {
  const session = http2.connect(options.baseUrl, options.ca ? { ca: options.ca } : {});
  // A connection error fails the calls in flight (below); unhandled, it would end the process.
  session.on('error', () => undefined);
  const headers = {
    ':method': 'POST',
    ':path': `${new URL(options.baseUrl).pathname.replace(/\/$/, '')}/auction.api.v1.AuctionService/PlaceBid`,
    'content-type': 'application/proto',
    'connect-protocol-version': '1',
    'connect-timeout-ms': String(options.timeoutMs),
    authorization: `Bearer ${options.token}`,
  };
  return {
    placeBid(bid) {
      const body = toBinary(PlaceBidRequestSchema, create(PlaceBidRequestSchema, bid));
      return new Promise<PlaceBidOutcome>((resolve) => {
        const stream = session.request(headers, { endStream: false });
        let status = 0;
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          resolve({ kind: 'failed', reason: `no answer within ${options.timeoutMs} ms` });
        }, options.timeoutMs);
        stream.on('response', (h) => (status = Number(h[':status'])));
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', (err) => {
          clearTimeout(timer);
          resolve({ kind: 'failed', reason: err.message });
        });
        stream.on('end', () => {
          clearTimeout(timer);
          if (status === 200) {
            // Accepted means the answer holds the bid, at the amount asked.
            const answer = fromBinary(PlaceBidResponseSchema, Buffer.concat(chunks));
            if (answer.bid?.amountCents === bid.amountCents) return resolve({ kind: 'accepted' });
            return resolve({ kind: 'failed', reason: `HTTP 200 without the bid of ${bid.amountCents} cents` });
          }
          // A Connect error is JSON: {"code": "failed_precondition", "message": …}.
          let code = `HTTP ${status}`;
          let message = '';
          try {
            ({ code, message = '' } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code: string; message?: string });
          } catch {
            // not a Connect error body: the status says enough
          }
          resolve(code === 'failed_precondition' ? { kind: 'refused' } : { kind: 'failed', reason: `${code}: ${message}` });
        });
        stream.end(body);
      });
    },
    close: () => new Promise<void>((resolve) => session.close(() => resolve())),
  };
}
