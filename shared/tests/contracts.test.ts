// The BidPlaced contract: a round trip keeps every field exactly; bad bytes are refused by reason.
import { describe, expect, it } from 'vitest';
import { bidPlacedFromProto, bidPlacedToProto, type BidPlaced } from '#shared/events/bid-placed.ts';
import { ContractError } from '#shared/events/contracts.ts';

const event: BidPlaced = {
  eventId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  itemId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
  bidId: '9b2e3c1a-5d6f-4a8b-9c0d-1e2f3a4b5c6d',
  userId: '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed',
  amountCents: 9007199254740993n,
  sequence: 42n,
  placedAt: new Date('2030-06-01T12:00:00.123Z'),
  correlationId: 'checkout-7f3a',
};

describe('BidPlaced contract', () => {
  it('round-trips every field exactly, money above 2^53 included', () => {
    expect(bidPlacedFromProto(bidPlacedToProto(event))).toEqual(event);
  });

  it('round-trips the largest BIGINT amount', () => {
    const big = { ...event, amountCents: 9_223_372_036_854_775_807n };
    expect(bidPlacedFromProto(bidPlacedToProto(big)).amountCents).toBe(9_223_372_036_854_775_807n);
  });

  it.each([
    ['bytes that are not protobuf', Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), /not a valid auction.events.v1.BidPlaced/],
    ['an empty payload (every field missing)', new Uint8Array(), /eventId is missing/],
    ['a zero amount', bidPlacedToProto({ ...event, amountCents: 0n }), /amountCents must be positive/],
  ])('refuses %s with a ContractError', (_case, payload, reason) => {
    expect(() => bidPlacedFromProto(payload)).toThrow(ContractError);
    expect(() => bidPlacedFromProto(payload)).toThrow(reason);
  });
});
