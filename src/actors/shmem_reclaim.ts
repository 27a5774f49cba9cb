/** The `shmem_reclaim` actor kind: reclaim swapping out the named shmem pages (shmem_writepage). */
import { z } from 'zod';
import { type ShmemReclaimLocals, shmemReclaimChart } from '../../machines/shmem_reclaim.ts';
import { pageAddress } from '../scenario/schema.ts';
import type { ActorKind } from '../registry.ts';

export const shmemReclaimSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** The pages to try to swap out, in order: a file and a byte offset in it. */
  targets: z.array(z.strictObject({ file: z.string(), offset: pageAddress })).min(1),
});
export type ShmemReclaimSpec = z.output<typeof shmemReclaimSpecSchema>;

export const shmemReclaimKind: ActorKind<ShmemReclaimLocals, ShmemReclaimSpec> = {
  kind: 'shmem_reclaim',
  description: 'reclaim swapping shmem pages out: isolate_lru_page, trylock_page, try_to_unmap, shmem_writepage',
  comm: 'kswapd0',
  chart: shmemReclaimChart,
  schema: shmemReclaimSpecSchema as unknown as z.ZodType<ShmemReclaimSpec>,
  // one literal with every field, for fast properties (see src/actors/task.ts)
  locals: (spec, k): ShmemReclaimLocals => ({
    gp_ino: -1, gp_index: 0, gp_sgp: 'read', gp_page: -1, gp_err: '', gp_entry: 0, gp_new: -1, gp_alloced: false, gp_hint: -1, gp_alloced_huge: -1, gp_sgp_huge: 'cache',
    dt_page: -1, dt_head: -1, dt_nr: -1,
    um_ino: -1, um_start: 0, um_end: 0, um_todo: [],
    ur_ino: -1, ur_start: 0, ur_end: 0, ur_index: 0, ur_page: -1, ur_op: 'truncate', ur_found: false,
    targets: spec.targets.flatMap((t) => [k.inodeByName(t.file)!.id, t.offset]),
    sr_page: -1, sr_ino: -1, sr_index: 0,
  }),
};
