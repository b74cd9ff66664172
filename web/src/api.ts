// The page's one client of the API: Connect over fetch, to /api on the page's own origin
// (the ingress serves both, so there is no CORS and no second address to configure).
// The generated service description is the server's (runtime/gen, from proto/).
import { createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { AuctionService } from '../../runtime/gen/auction/api/v1/auction_pb.ts';
import { currentSession } from './session.ts';

export type AuctionClient = Client<typeof AuctionService>;

// The signed-in bidder's token on every call. The server reads the bidder from it on the
// calls that write (PlaceBid, CreateItem) and ignores it on the public reads.
const bearer: Interceptor = (next) => (req) => {
  const session = currentSession();
  if (session) req.header.set('authorization', `Bearer ${session.token}`);
  return next(req);
};

export function createAuctionClient(baseUrl = '/api'): AuctionClient {
  return createClient(AuctionService, createConnectTransport({ baseUrl, interceptors: [bearer] }));
}
