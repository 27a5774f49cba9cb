/** The `shmem_reclaim` actor kind: reclaim swapping out the named shmem pages (shmem_writepage). */
import { z } from 'zod';
import { type ShmemReclaimLocals, shmemLocalsInit, shmemReclaimChart } from '../../machines/shmem.ts';
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
  locals: (spec, k) => ({
    ...shmemLocalsInit(),
    targets: spec.targets.flatMap((t) => [k.inodeByName(t.file)!.id, t.offset]),
    page: -1,
  }),
};
