import { redirect } from '@sveltejs/kit';
import { getMe } from '$lib/api/client';
import { throwLoadError } from '$lib/api/load-error';
import type { LayoutLoad } from './$types';

// The app is a single-page client served as static files by the API server, so nothing renders
// on a server and no route is prerendered; every page is served through the index.html fallback.
export const ssr = false;
export const prerender = false;

/** Pages anyone may open; every other page needs a signed-in user. */
const publicPages = new Set(['/login', '/setup']);

export const load: LayoutLoad = async ({ fetch, url }) => {
  let me;
  try {
    me = await getMe(fetch);
  } catch (cause) {
    throwLoadError(cause);
  }
  if (!me && !publicPages.has(url.pathname)) {
    redirect(307, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
  }
  return { me };
};
