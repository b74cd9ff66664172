// One HTTP/1.1 keep-alive connection that sends a JSON POST and reads its answer, one request
// at a time: the bidder of a benchmark, as a browser tab keeps one connection to the service.
//
// Why not node:http or fetch: a benchmark's clients share the machine with the service they
// measure, and what the clients spend is taken from it. 256 bidders on one item, 20,000 POSTs
// to a stub server that answers 409 at once, CPU of the clients' process per request on this
// two-core machine: fetch about 450 µs, node:http with a keep-alive agent and an
// AbortSignal.timeout per request 190-240 µs, this client 36-48 µs. The service reads the same
// bytes either way (request line, host, content-type, content-length, body).
import net from 'node:net';

export interface JsonAnswer {
  status: number;
  json: unknown;
}

/** The answer could not be read as HTTP/1.1 with a content-length and a JSON body, or the connection failed. */
export class KeepAliveClientError extends Error {
  override name = 'KeepAliveClientError';
}

const HEAD_END = Buffer.from('\r\n\r\n');

interface Pending {
  resolve: (answer: JsonAnswer) => void;
  reject: (err: Error) => void;
}

export class KeepAliveClient {
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  #socket: net.Socket | undefined;
  #pending: Pending | undefined;
  #received: Buffer = Buffer.alloc(0);

  /** `origin`: http://host:port. A request without an answer for `timeoutMs` fails, and its connection is closed. */
  constructor(origin: string, options: { timeoutMs?: number } = {}) {
    const url = new URL(origin);
    if (url.protocol !== 'http:') throw new KeepAliveClientError(`only http: origins, not ${url.protocol}`);
    this.#host = url.hostname;
    this.#port = Number(url.port || 80);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** POSTs `body` (JSON text) to `path` on the connection, opening it first if it is not open. */
  postJson(path: string, body: string): Promise<JsonAnswer> {
    if (this.#pending) return Promise.reject(new KeepAliveClientError('one request at a time on a connection'));
    return new Promise<JsonAnswer>((resolve, reject) => {
      this.#pending = { resolve, reject };
      const socket = this.#socket ?? this.#connect();
      socket.setTimeout(this.#timeoutMs);
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: ${this.#host}:${this.#port}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
    });
  }

  /** Closes the connection; a request in flight fails. */
  close(): void {
    this.#socket?.destroy();
  }

  #connect(): net.Socket {
    const socket = net.connect({ host: this.#host, port: this.#port, noDelay: true });
    this.#socket = socket;
    this.#received = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.#onData(socket, chunk));
    socket.on('timeout', () => socket.destroy(new KeepAliveClientError(`no answer within ${this.#timeoutMs} ms`)));
    socket.on('error', (err) => this.#fail(socket, err));
    socket.on('close', () => this.#fail(socket, new KeepAliveClientError('the server closed the connection before answering')));
    return socket;
  }

  #fail(socket: net.Socket, err: Error): void {
    if (this.#socket !== socket) return;
    this.#socket = undefined;
    socket.destroy();
    const pending = this.#pending;
    this.#pending = undefined;
    pending?.reject(err);
  }

  #onData(socket: net.Socket, chunk: Buffer): void {
    this.#received = this.#received.length === 0 ? chunk : Buffer.concat([this.#received, chunk]);
    const headEnd = this.#received.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.#received.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!head.startsWith('HTTP/1.1 ') || !length || /\r\ntransfer-encoding:/i.test(head)) {
      socket.destroy(new KeepAliveClientError(`not an HTTP/1.1 answer with a content-length: ${JSON.stringify(head.slice(0, 200))}`));
      return;
    }
    const bodyStart = headEnd + HEAD_END.length;
    const bodyEnd = bodyStart + Number(length[1]);
    if (this.#received.length < bodyEnd) return;
    if (this.#received.length > bodyEnd || !this.#pending) {
      socket.destroy(new KeepAliveClientError('bytes after the answer, or an answer to no request'));
      return;
    }
    const text = this.#received.toString('utf8', bodyStart, bodyEnd);
    this.#received = Buffer.alloc(0);
    const pending = this.#pending;
    this.#pending = undefined;
    socket.setTimeout(0);
    if (/\r\nconnection: *close/i.test(head)) {
      this.#socket = undefined;
      socket.destroy();
    }
    try {
      pending.resolve({ status, json: JSON.parse(text) });
    } catch {
      pending.reject(new KeepAliveClientError(`the answer is not JSON: ${JSON.stringify(text.slice(0, 200))}`));
    }
  }
}
