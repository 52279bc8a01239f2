import { getDashboard, listRounds } from '$lib/api/client';
import { throwLoadError } from '$lib/api/load-error';
import type { PageLoad } from './$types';

export const load: PageLoad = async ({ parent, fetch }) => {
  const { project } = await parent();
  try {
    const [dashboard, rounds] = await Promise.all([getDashboard(project.id, 48, fetch), listRounds(project.id, fetch)]);
    return { dashboard, rounds };
  } catch (cause) {
    throwLoadError(cause);
  }
};
