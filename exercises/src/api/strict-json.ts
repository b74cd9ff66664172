import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { FieldViolationSchema } from '#runtime/gen/auction/api/v1/auction_pb.ts';
import { apiFieldName } from './errors-to-connect.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A JSON value of a field that JSON.parse has already rounded. */
class RoundedNumber {
  constructor(readonly key: string) {}
}

/**
 * The text decoder of the API's JSON requests (connect-es's `jsonOptions.textDecoder`): the
 * one place the raw JSON is seen before protobuf-es reads it. It refuses bytes that are not
 * UTF-8 (the default decoder would store U+FFFD instead), and an integer beyond 2^53 sent as a
 * JSON number: JSON.parse rounds 9007199254740993 to 9007199254740992 before protobuf-es
 * makes an int64 of it, so the request would be stored with a price nobody sent.
 */
export const strictJsonDecoder = {
  decode(input?: Uint8Array): string {
    let text: string;
    try {
      text = utf8.decode(input);
    } catch {
      throw new ConnectError('the request body must be UTF-8 text', Code.InvalidArgument);
    }
    // Only a run of 16 digits or an exponent can be an integer beyond 2^53: skip the second parse otherwise.
    if (/\d{16}|\d[eE]/.test(text)) refuseRoundedNumbers(text);
    return text;
  },
};

function refuseRoundedNumbers(text: string): void {
  try {
    JSON.parse(text, (key, value: unknown) => {
      if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) throw new RoundedNumber(key);
      return value;
    });
  } catch (err) {
    // Not JSON at all: protobuf-es says so in its own words.
    if (!(err instanceof RoundedNumber)) return;
    const field = apiFieldName(err.key);
    const description = 'must be sent as a JSON string of digits above 2^53 (9007199254740991): as a JSON number it arrives rounded';
    throw new ConnectError(`${field} ${description}`, Code.InvalidArgument, undefined, [
      { desc: FieldViolationSchema, value: create(FieldViolationSchema, { field, description }) },
    ]);
  }
}
