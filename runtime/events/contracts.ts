// The event contracts in proto/, loaded once with protobufjs. The TypeScript side of each
// event lives next to it (bid-placed.ts) with a symmetric pair of conversions.
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const protoRoot = fileURLToPath(new URL('../../proto/', import.meta.url));

let root: protobuf.Root | undefined;

export function eventsRoot(): protobuf.Root {
  root ??= protobuf.loadSync(`${protoRoot}auction/events/v1/events.proto`);
  return root;
}

export function eventType(name: string): protobuf.Type {
  return eventsRoot().lookupType(`auction.events.v1.${name}`);
}

/** A payload that cannot be a valid event of its type: refused with the reason, never guessed at. */
export class ContractError extends Error {
  override name = 'ContractError';
  constructor(
    readonly eventType: string,
    readonly reason: string,
  ) {
    super(`not a valid ${eventType}: ${reason}`);
  }
}
