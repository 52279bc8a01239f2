import { listProjects } from '$lib/api/client';
import { throwLoadError } from '$lib/api/load-error';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ fetch }) => {
  try {
    return { projects: await listProjects(fetch) };
  } catch (cause) {
    throwLoadError(cause);
  }
};
