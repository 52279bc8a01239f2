/**
 * One keep-alive HTTP/1.1 connection that sends a JSON request and reads its answer, one at a
 * time, over a plain socket. The simulated annotators of the benchmarks share the server's cores,
 * where the browsers of real annotators would not: node:http's client spends about as much CPU on
 * a call as the server does on answering it, so it would slow the very server it measures.
 * Answers are read by `Content-Length` or chunked transfer coding, as the server may send either.
 */
import net from 'node:net';

export interface Answer {
  status: number;
  /** The body as text; parse it where it is needed. */
  body: string;
  /** From writing the request to reading the last byte of its answer. */
  ms: number;
}

const headerEnd = Buffer.from('\r\n\r\n');

export class HttpConnection {
  private socket: net.Socket | null = null;
  private received: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void; started: number } | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  post(path: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
    if (this.waiting) return Promise.reject(new Error('one request at a time on a connection'));
    const payload = JSON.stringify(body);
    let head = `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    return new Promise<Answer>((resolve, reject) => {
      this.waiting = { resolve, reject, started: performance.now() };
      this.open().write(`${head}\r\n${payload}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): net.Socket {
    if (this.socket) return this.socket;
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    socket.on('data', (chunk: Buffer) => {
      this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
      try {
        this.readAnswer();
      } catch (error) {
        socket.destroy(error as Error);
      }
    });
    const fail = (error: Error) => {
      if (this.socket === socket) this.socket = null;
      this.received = Buffer.alloc(0);
      const waiting = this.waiting;
      this.waiting = null;
      waiting?.reject(error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed before the answer ended')));
    this.socket = socket;
    return socket;
  }

  /** Answers the waiting request once its whole answer has arrived. */
  private readAnswer(): void {
    const end = this.received.indexOf(headerEnd);
    if (end < 0 || !this.waiting) return;
    const head = this.received.toString('latin1', 0, end).toLowerCase();
    const status = Number(head.slice(9, 12));
    const bodyStart = end + headerEnd.length;
    let body: string;
    let consumed: number;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    if (length) {
      consumed = bodyStart + Number(length[1]);
      if (this.received.length < consumed) return;
      body = this.received.toString('utf8', bodyStart, consumed);
    } else if (/\r\ntransfer-encoding: *chunked/.test(head)) {
      const chunked = readChunked(this.received, bodyStart);
      if (!chunked) return;
      ({ body, consumed } = chunked);
    } else {
      throw new Error(`an answer with neither Content-Length nor chunked coding: ${head.split('\r\n')[0]}`);
    }
    this.received = this.received.subarray(consumed);
    const { resolve, started } = this.waiting;
    this.waiting = null;
    resolve({ status, body, ms: performance.now() - started });
  }
}

/** A chunked body starting at `from`, or null while its last chunk has not arrived. */
function readChunked(data: Buffer, from: number): { body: string; consumed: number } | null {
  const parts: Buffer[] = [];
  let at = from;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd < 0) return null;
    const size = Number.parseInt(data.toString('latin1', at, lineEnd), 16);
    const start = lineEnd + 2;
    if (size === 0) {
      // The last chunk, then (no trailers) an empty line.
      if (data.length < start + 2) return null;
      return { body: Buffer.concat(parts).toString('utf8'), consumed: start + 2 };
    }
    if (data.length < start + size + 2) return null;
    parts.push(data.subarray(start, start + size));
    at = start + size + 2;
  }
}
