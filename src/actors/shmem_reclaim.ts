/** The `shmem_reclaim` actor kind: reclaim swapping out the named shmem pages (shmem_writepage). */
import { type BoundedArray, makeStruct } from '../vector/struct.ts';
import { z } from 'zod';
import { type ShmemReclaimLocals, shmemReclaimChart, shmemReclaimLocals } from '../../machines/shmem_reclaim.ts';
import { arrayOf, pageAddress } from '../scenario/schema.ts';
import type { ActorKind } from '../registry.ts';

export const shmemReclaimSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** The pages to try to swap out, in order: a file and a byte offset in it. */
  targets: arrayOf(z.strictObject({ file: z.string(), offset: pageAddress }), { min: [1, 'Too small: expected array to have >=1 items'] }),
});
export type ShmemReclaimSpec = z.output<typeof shmemReclaimSpecSchema>;

export const shmemReclaimKind: ActorKind<ShmemReclaimLocals, ShmemReclaimSpec> = {
  kind: 'shmem_reclaim',
  description: 'reclaim swapping shmem pages out: isolate_lru_page, trylock_page, try_to_unmap, shmem_writepage',
  comm: 'kswapd0',
  chart: shmemReclaimChart,
  schema: shmemReclaimSpecSchema as unknown as z.ZodType<ShmemReclaimSpec>,
  // laid out in the state vector (src/vector/): shmemReclaimLocals, machines/shmem_reclaim.ts
  locals: (spec, k) => makeStruct(k.sv, shmemReclaimLocals, spec.id, {}, { targets: spec.targets.flatMap((t) => [k.inodeByName(t.file)!.id, t.offset]) as unknown as BoundedArray }),
};
