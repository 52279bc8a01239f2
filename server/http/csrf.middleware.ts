/**
 * Cross-site request forgery protection for cookie-authenticated writes. A browser attaches the
 * session cookie to requests that other sites start, so a write must (1) come from a page of this
 * origin — browsers send `Origin` on every non-GET request — and (2) not carry a body a plain HTML
 * form or a no-preflight `fetch` can send (form-encoded, multipart or text/plain); JSON and
 * file-type bodies force a CORS preflight that this server never grants. Token-authenticated
 * requests carry no ambient credential and need neither check. (`hono/csrf` checks only (1) and
 * only for form bodies, hence this middleware.)
 */
import type { MiddlewareHandler } from 'hono';
import { AppError, ForbiddenError } from '../errors.js';
import { requestHeader, requestMediaType } from './node-request.js';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);
const formTypes = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);

export const csrfProtection: MiddlewareHandler = async (c, next) => {
  if (safeMethods.has(c.req.method) || c.get('principal')?.via !== 'session') return next();
  const origin = requestHeader(c, 'origin');
  const own = ownOrigins(c.req.url, requestHeader(c, 'host'));
  if (!origin || !own.includes(origin)) {
    throw new ForbiddenError('Cross-origin request refused: the Origin header does not match this site', 'csrf_origin');
  }
  const type = requestMediaType(c);
  if (formTypes.has(type)) {
    throw new AppError(415, 'unsupported_media_type', 'Send JSON (application/json) bodies', { contentType: type });
  }
  return next();
};

/** The origin of the request URL, and of the Host header under both schemes (behind a TLS proxy). */
function ownOrigins(url: string, host: string | undefined): string[] {
  const origins = [new URL(url).origin];
  if (host) origins.push(`http://${host}`, `https://${host}`);
  return origins;
}
