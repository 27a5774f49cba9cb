/** The `shmem_shrinker` actor kind: reclaim calling huge tmpfs's huge-hole shrinker (seed 001, shmem_shrink_hugehole). */
import { z } from 'zod';
import { type ShrinkHugeholeLocals, shmemShrinkHugeholeChart } from '../../machines/shmem_shrinker.ts';
import type { ActorKind } from '../registry.ts';

export const shmemShrinkerSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** How many times shrink_slab() calls shmem_shrink_hugehole(). */
  passes: z.number().int().positive().default(1),
});
export type ShmemShrinkerSpec = z.output<typeof shmemShrinkerSpecSchema>;

export const shmemShrinkerKind: ActorKind<ShrinkHugeholeLocals, ShmemShrinkerSpec> = {
  kind: 'shmem_shrinker',
  description: 'reclaim running the huge tmpfs huge-hole shrinker: shmem_shrink_hugehole → shmem_choose_hugehole disbands the least used team, frees its holes',
  comm: 'kswapd0',
  chart: shmemShrinkHugeholeChart,
  schema: shmemShrinkerSpecSchema as unknown as z.ZodType<ShmemShrinkerSpec>,
  // one literal with every field, for fast properties (see src/actors/task.ts)
  locals: (spec): ShrinkHugeholeLocals => ({
    passes: spec.passes,
    sh_ino: -1, sh_index: 0, sh_double_depth: 0, sh_page: -1, sh_frompage: -1, sh_mapping: -1, sh_fromused: -1,
    sh_tail: -1, sh_isolated: 0, sh_fromlist: [], sh_freed: 0, sh_freed_total: 0,
  }),
};
