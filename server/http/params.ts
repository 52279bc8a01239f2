/** Path parameters shared by the route modules, validated the same way everywhere. */
import { z } from 'zod';

export const projectParams = z.object({ projectId: z.coerce.number().int().positive() });
export const itemParams = z.object({ itemId: z.coerce.number().int().positive() });
export const roundParams = z.object({
  projectId: z.coerce.number().int().positive(),
  roundId: z.coerce.number().int().positive(),
});
