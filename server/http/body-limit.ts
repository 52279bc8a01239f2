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
import { incomingOf, isJsonMediaType, requestHeader, requestMediaType } from './node-request.js';

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
    const length = requestHeader(c, 'content-length');
    if (length === undefined && requestHeader(c, 'transfer-encoding') === undefined) return next();
    if (!withBody.has(c.req.method) || !isJsonMediaType(requestMediaType(c))) return generic(c, next);
    if (Number(length ?? 0) > maxBytes) throw tooLarge();
    bodyCacheOf(c).text = Promise.resolve(await readText(incoming, maxBytes, tooLarge));
    return next();
  };
}

/**
 * The body as UTF-8 text, refused once it passes `maxBytes`. Read through the stream's events:
 * an async iterator over the request costs several promises and listeners per request. The
 * listeners are functions of this module, sharing the reading's state through the request, rather
 * than closures made for each request: the server runs from TypeScript through tsx, whose compiler
 * gives every closure bound to a name its name at run time, and those names cost 2 % of the
 * server's time under the annotate benchmark's load.
 */
function readText(incoming: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<string> {
  return new Promise((resolve, reject) => {
    (incoming as Reading)[reading] = { chunks: [], size: 0, maxBytes, tooLarge, resolve, reject };
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

const reading = Symbol('reading');

type Reading = IncomingMessage & {
  [reading]: {
    chunks: Buffer[];
    size: number;
    maxBytes: number;
    tooLarge: () => Error;
    resolve: (text: string) => void;
    reject: (error: Error) => void;
  };
};

function onData(this: Reading, chunk: Buffer): void {
  const state = this[reading];
  state.size += chunk.length;
  if (state.size <= state.maxBytes) return void state.chunks.push(chunk);
  // The rest is read and dropped, so that the 413 still reaches the client.
  stop(this).resume();
  state.reject(state.tooLarge());
}

function onEnd(this: Reading): void {
  const { chunks, resolve } = stop(this)[reading];
  resolve(chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'));
}

function onError(this: Reading, error: Error): void {
  stop(this)[reading].reject(error);
}

/** A client that goes away mid-body ends the request without 'end'. */
function onClose(this: Reading): void {
  onError.call(this, new Error('The request closed before its body ended'));
}

function stop(incoming: Reading): Reading {
  return incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
}
