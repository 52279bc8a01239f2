/**
 * Security headers on every response. The web app is built with SvelteKit's hash-mode CSP, which
 * writes the hashes of its inline bootstrap script into a meta tag of index.html; the header allows
 * exactly those scripts and nothing inline or eval'd besides.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { secureHeaders } from 'hono/secure-headers';

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

export function securityHeaders(scriptHashes: string[]) {
  return secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'", ...scriptHashes],
      styleSrc: ["'self'"],
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
