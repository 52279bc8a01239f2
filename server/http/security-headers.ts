/**
 * Security headers on every response. API answers are JSON, never a document to render, and get
 * the short set recommended for REST APIs (OWASP): the web app's policy with its hashes would more
 * than double the size of an annotator's typical answer.
 *
 * The web app is built with SvelteKit's hash-mode CSP, which writes the hashes of its inline
 * bootstrap script into a meta tag of index.html; the header allows exactly those scripts and nothing
 * inline or eval'd besides. Likewise for styles: the only inline style attributes allowed are the
 * fixed ones in the built JavaScript (SvelteKit's screen-reader route announcer), by hash.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { outgoingOf } from './node-request.js';

/** The `'sha256-…'` sources of the built index.html's CSP meta tag (none when there is no build). */
export function builtScriptHashes(webBuildDir: string | undefined): string[] {
  if (!webBuildDir) return [];
  let html: string;
  try {
    html = readFileSync(path.join(webBuildDir, 'index.html'), 'utf8');
  } catch {
    return [];
  }
  const meta = /<meta http-equiv="content-security-policy" content="([^"]*)"/i.exec(html);
  return meta ? [...meta[1].matchAll(/'sha(?:256|384|512)-[A-Za-z0-9+/=]+'/g)].map((m) => m[0]) : [];
}

/** `'sha256-…'` of every literal `style="…"` attribute in the built app's JavaScript. */
export function builtStyleAttributeHashes(webBuildDir: string | undefined): string[] {
  if (!webBuildDir) return [];
  let files: string[];
  try {
    files = readdirSync(path.join(webBuildDir, '_app', 'immutable'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  } catch {
    return [];
  }
  const hashes = new Set<string>();
  for (const file of files) {
    const code = readFileSync(path.join(webBuildDir, '_app', 'immutable', file), 'utf8');
    for (const m of code.matchAll(/style="([^"]*)"/g)) hashes.add(`'sha256-${createHash('sha256').update(m[1]).digest('base64')}'`);
  }
  return [...hashes].sort();
}

export function securityHeaders(scriptHashes: string[], styleAttributeHashes: string[] = []) {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", ...scriptHashes],
      styleSrc: ["'self'"],
      ...(styleAttributeHashes.length > 0 && { styleSrcAttr: ["'unsafe-hashes'", ...styleAttributeHashes] }),
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      fontSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
    referrerPolicy: 'same-origin',
    xContentTypeOptions: 'nosniff',
    xFrameOptions: 'DENY',
    crossOriginEmbedderPolicy: false,
    crossOriginResourcePolicy: 'same-origin',
    strictTransportSecurity: 'max-age=15552000; includeSubDomains',
  });
}

const apiHeaders = Object.entries({
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'same-origin',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
});

/**
 * The headers of every API answer, set before the route runs so that the answer is built with
 * them once, rather than rewritten after it is made. On the Node server they go straight onto
 * Node's response, which writes them with whatever the route answers: set through Hono, each
 * answer would carry them in a WHATWG Headers object that is built, checked and copied back into
 * Node's form, a fiftieth of the server's time under the annotate benchmark's load. Without a
 * Node response behind the request (as in tests), they are set through Hono.
 */
export const apiSecurityHeaders: MiddlewareHandler = (c, next) => {
  const outgoing = outgoingOf(c);
  if (outgoing) for (const [name, value] of apiHeaders) outgoing.setHeader(name, value);
  else for (const [name, value] of apiHeaders) c.header(name, value);
  return next();
};
