import type { IncomingMessage, ServerResponse } from 'node:http';
import { ValidationError } from '../errors.ts';

const MAX_BODY_BYTES = 64 * 1024;
// Fatal: the default decoder turns bytes that are not UTF-8 into U+FFFD, storing text nobody sent.
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Reads a JSON body of at most 64 KiB of UTF-8; anything else is a ValidationError on "body". */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new ValidationError('body', `must be at most ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw new ValidationError('body', 'must be UTF-8 text');
  }
  if (text.trim() === '') throw new ValidationError('body', 'must be a JSON object, got an empty body');
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('body', 'must be valid JSON');
  }
}
