import { error } from '@sveltejs/kit';
import { getProject } from '$lib/api/client';
import { throwLoadError } from '$lib/api/load-error';
import type { LayoutLoad } from './$types';

export const load: LayoutLoad = async ({ params, fetch }) => {
  const projectId = Number(params.projectId);
  if (!Number.isSafeInteger(projectId) || projectId <= 0) {
    error(404, { message: `There is no project “${params.projectId}”.` });
  }
  try {
    return { project: await getProject(projectId, fetch) };
  } catch (cause) {
    throwLoadError(cause);
  }
};
