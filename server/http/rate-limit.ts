/**
 * Fixed-window rate limits kept in this process's memory: enough for one server; limits shared by
 * several servers need a shared store and come with scale-out.
 */
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { TooManyRequestsError } from '../errors.js';

export interface Limit {
  max: number;
  windowMs: number;
}

export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(readonly limit: Limit) {}

  /** Counts a hit for `key`; throws 429 with the seconds until the window reopens once over the limit. */
  hit(key: string, now = Date.now()): void {
    let w = this.windows.get(key);
    if (!w || now - w.start >= this.limit.windowMs) {
      if (this.windows.size > 100_000) this.sweep(now);
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count += 1;
    if (w.count > this.limit.max) throw new TooManyRequestsError(Math.max(1, Math.ceil((w.start + this.limit.windowMs - now) / 1000)));
  }

  reset(key: string): void {
    this.windows.delete(key);
  }

  private sweep(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= this.limit.windowMs) this.windows.delete(key);
  }
}

export interface RateLimits {
  /** Sign-in attempts per client address and email. */
  login: Limit;
  /** Import, export, retraining rounds: per user. */
  expensive: Limit;
}

export const defaultRateLimits: RateLimits = {
  login: { max: 10, windowMs: 15 * 60_000 },
  expensive: { max: 30, windowMs: 60_000 },
};

declare module 'hono' {
  interface ContextVariableMap {
    rateLimiters: Record<keyof RateLimits, RateLimiter>;
  }
}

export function provideRateLimiters(limits: RateLimits): MiddlewareHandler {
  const limiters = { login: new RateLimiter(limits.login), expensive: new RateLimiter(limits.expensive) };
  return async (c, next) => {
    c.set('rateLimiters', limiters);
    return next();
  };
}

/** Limits a route per signed-in user (or per client address before sign-in). */
export function rateLimit(name: keyof RateLimits): MiddlewareHandler {
  return async (c, next) => {
    const principal = c.get('principal');
    c.get('rateLimiters')[name].hit(principal ? `user:${principal.userId}` : `addr:${clientAddress(c)}`);
    return next();
  };
}

export function clientAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    // app.request() in tests has no socket.
    return 'unknown';
  }
}
