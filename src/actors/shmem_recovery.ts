/** The `shmem_recovery` actor kind: huge tmpfs recovery work (seed 001), queued by a fault on a small page of a huge=1 file. */
import { makeStruct, struct } from '../vector/struct.ts';
import { z } from 'zod';
import { type RecoveryLocals, recoveryLocalsFields, teamRecoveryChart } from '../../machines/team_recovery.ts';

import { pageAddress } from '../scenario/schema.ts';
import type { ActorKind } from '../registry.ts';

/** shmem_recovery_work's locals (machines/team_recovery.ts). */
const recoveryLocals = struct<RecoveryLocals>('shmem_recovery_work', recoveryLocalsFields);

export const shmemRecoverySpecSchema = z.strictObject({
  id: z.string().min(1),
  /** The huge=1 file, and the byte offset of the page whose fault queued the work (its extent is recovered). */
  file: z.string().min(1),
  offset: pageAddress,
  /** The mm that faulted (recovery->mm): shmem_work_still_useful needs it still in use. */
  mm: z.string().min(1),
});
export type ShmemRecoverySpec = z.output<typeof shmemRecoverySpecSchema>;

export const shmemRecoveryKind: ActorKind<RecoveryLocals, ShmemRecoverySpec> = {
  kind: 'shmem_recovery',
  description: 'huge tmpfs recovery work: shmem_recovery_work → shmem_recovery_populate, migrating the extent\'s pages into a team (MR_SHMEM_RECOVERY)',
  comm: 'kworker/u8:1',
  chart: teamRecoveryChart,
  schema: shmemRecoverySpecSchema as unknown as z.ZodType<ShmemRecoverySpec>,
  // laid out in the state vector (src/vector/): recoveryLocalsFields, machines/team_recovery.ts
  locals: (spec, k) => makeStruct(k.sv, recoveryLocals, spec.id, {}, {
    gp_sgp: 'team', rc_ino: k.inodeByName(spec.file)!.id, rc_mm: k.mmByName(spec.mm)?.id ?? -1,
    rc_head_index: spec.offset - (spec.offset & (k.HPAGE_PMD_NR - 1)), rc_fault_index: spec.offset,
  }),
};
