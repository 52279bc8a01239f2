/**
 * The Node request and response behind a Hono context, when there is one (not in tests, which call
 * the app directly). Hono's Node adapter builds a WHATWG Headers object of all the request's headers
 * the first time any header is read through Hono; reading Node's own, already parsed, costs nothing.
 * Under the annotate benchmark's load that object alone took a fiftieth of the server's time.
 * The middlewares and routes that look at a request's media type read it here, alike.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from 'hono';

interface NodeBindings {
  incoming?: IncomingMessage;
  outgoing?: ServerResponse;
}

export const incomingOf = (c: Context): IncomingMessage | undefined => (c.env as NodeBindings | undefined)?.incoming;

export const outgoingOf = (c: Context): ServerResponse | undefined => (c.env as NodeBindings | undefined)?.outgoing;

/** A request header by its lower-case name, as `c.req.header(name)` answers it. */
export function requestHeader(c: Context, name: string): string | undefined {
  const incoming = incomingOf(c);
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The request's media type, lower-case and without parameters (`''` when there is no Content-Type). */
export const requestMediaType = (c: Context): string => (requestHeader(c, 'content-type') ?? '').split(';')[0].trim().toLowerCase();

const jsonMediaType = /^application\/([\w.-]+\+)?json$/;

/** `application/json`, or a structured `+json` type such as `application/merge-patch+json` (as `requestMediaType` answers it). */
export const isJsonMediaType = (mediaType: string): boolean => jsonMediaType.test(mediaType);
