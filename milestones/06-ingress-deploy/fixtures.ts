// Named fixtures of the milestone-6 tests: the app's processes, and Connect clients of its API.
import { connect } from 'node:http2';
import { createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { AuctionService } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import type { Config } from '#runtime/config.ts';
import { startServiceProcess, type ServiceProcess } from '#testkit/service-process.ts';
import type { TestEnv } from '#testkit/harness.ts';
import { withBearer, type SignedIn } from '#testkit/sign-in.ts';

export { signIn, type SignedIn } from '#testkit/sign-in.ts';

export type AuctionClient = Client<typeof AuctionService>;

/**
 * A client of a bid-service's API over h2c, the way the ingress talks to it; signed in as
 * `as` (every call carries its token unless the call sets its own authorization header), or
 * anonymous when `as` is absent.
 */
export function apiClient(apiUrl: string, protocol: 'connect' | 'grpc' = 'connect', as?: SignedIn): AuctionClient {
  const options = { baseUrl: `${apiUrl}/api`, httpVersion: '2' as const, interceptors: as ? [withBearer(as.token)] : [] };
  return createClient(AuctionService, protocol === 'grpc' ? createGrpcTransport(options) : createConnectTransport(options));
}

export async function startService(env: TestEnv, config: Partial<Config> = {}): Promise<ServiceProcess & { apiUrl: string }> {
  const service = await startServiceProcess({ tree: env.tree, entry: 'bid-service.ts', config: { ...env.config, ...config } });
  if (!service.apiUrl) throw new Error('bid-service did not log its apiPort: it starts the API server in bid-service.ts (provided since milestone 6)');
  return service as ServiceProcess & { apiUrl: string };
}

export const startWorker = (env: TestEnv, config: Partial<Config> = {}) =>
  startServiceProcess({ tree: env.tree, entry: 'bid-worker.ts', config: { ...env.config, ...config } });

export const tomorrow = () => ({ seconds: BigInt(Math.floor(Date.now() / 1000) + 86_400), nanos: 0 });

/**
 * One unary Connect call over h2c with the body and headers exactly as given, for what a
 * generated client would never send (a body that does not parse, a forged field, a bad token).
 */
export function rawConnectCall(
  apiUrl: string,
  method: string,
  body: string | Uint8Array,
  headers: Record<string, string> = {},
  contentType = 'application/json',
) {
  // A method name of AuctionService, or a whole path (to call outside /api).
  const path = method.startsWith('/') ? method : `/api/auction.api.v1.AuctionService/${method}`;
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const session = connect(apiUrl);
    session.on('error', reject);
    const req = session.request({ ':method': 'POST', ':path': path, 'content-type': contentType, 'connect-protocol-version': '1', ...headers });
    let text = '';
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      session.close();
      resolve({ status, body: text });
    });
    req.on('error', reject);
    req.end(body);
  });
}
