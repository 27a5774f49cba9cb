/** The `shmem_shrinker` actor kind: reclaim calling huge tmpfs's huge-hole shrinker (seed 001, shmem_shrink_hugehole). */
import { makeStruct } from '../vector/struct.ts';
import { z } from 'zod';
import { type ShrinkHugeholeLocals, shmemShrinkHugeholeChart, shrinkHugeholeLocals } from '../../machines/shmem_shrinker.ts';
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
  // laid out in the state vector (src/vector/): shrinkHugeholeLocals, machines/shmem_shrinker.ts
  locals: (spec, k) => makeStruct(k.sv, shrinkHugeholeLocals, spec.id, {}, { passes: spec.passes }),
};
