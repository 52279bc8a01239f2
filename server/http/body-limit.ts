/**
 * Request bodies up to a size limit, refused with 413 beyond it. On the Node server a JSON body is
 * read straight from Node's request and handed to the validators as text: reading it through the
 * WHATWG Request that Hono's Node adapter would build instead (abort signal, web streams) costs
 * more of the server's time than the rest of an annotator's call. Other bodies, and requests
 * without a Node request behind them (as in tests), go through Hono's body limit.
 */
import type { IncomingMessage } from 'node:http';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../errors.js';
import { incomingOf, requestHeader } from './node-request.js';

const json = /^application\/([\w.-]+\+)?json\s*(;|$)/i;
const withBody = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Hono keeps each reading of the body as a promise under its kind; `c.req.json()` parses `text`. */
const bodyCacheOf = (c: Context) => c.req.bodyCache as Record<string, Promise<string> | undefined>;

export function limitBody(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => new AppError(413, 'payload_too_large', `A request body may be at most ${maxBytes / 1024} KiB`);
  const generic = bodyLimit({
    maxSize: maxBytes,
    onError: () => {
      throw tooLarge();
    },
  });
  return async (c, next) => {
    const incoming = incomingOf(c);
    if (!incoming) return generic(c, next);
    const read = bodyCacheOf(c).text;
    if (read) {
      // Read by an outer limit already: only this limit's size is left to check.
      if (Buffer.byteLength(await read) > maxBytes) throw tooLarge();
      return next();
    }
    const hasBody = requestHeader(c, 'content-length') !== undefined || requestHeader(c, 'transfer-encoding') !== undefined;
    if (!hasBody) return next();
    if (!withBody.has(c.req.method) || !json.test(requestHeader(c, 'content-type') ?? '')) return generic(c, next);
    if (Number(requestHeader(c, 'content-length') ?? 0) > maxBytes) throw tooLarge();
    bodyCacheOf(c).text = Promise.resolve(await readText(incoming, maxBytes, tooLarge));
    return next();
  };
}

/**
 * The body as UTF-8 text, refused once it passes `maxBytes`. Read through the stream's events:
 * an async iterator over the request costs several promises and listeners per request.
 */
function readText(incoming: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      // The rest is read and dropped, so that the 413 still reaches the client.
      stop();
      incoming.resume();
      reject(tooLarge());
    };
    const onEnd = () => {
      stop();
      resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: Error) => {
      stop();
      reject(error);
    };
    // A client that goes away mid-body ends the request without 'end'.
    const onClose = () => onError(new Error('The request closed before its body ended'));
    const stop = () => {
      incoming.off('data', onData);
      incoming.off('end', onEnd);
      incoming.off('error', onError);
      incoming.off('close', onClose);
    };
    incoming.on('data', onData);
    incoming.on('end', onEnd);
    incoming.on('error', onError);
    incoming.on('close', onClose);
  });
}
