import { error } from '@sveltejs/kit';
import { ApiError } from './client';

/** Turns a failed API call inside a `load` function into SvelteKit's error page. */
export function throwLoadError(cause: unknown): never {
  if (cause instanceof ApiError) {
    error(cause.status >= 400 ? cause.status : 503, { message: cause.message, code: cause.code });
  }
  throw cause;
}
