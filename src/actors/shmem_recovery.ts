/** The `shmem_recovery` actor kind: huge tmpfs recovery work (seed 001), queued by a fault on a small page of a huge=1 file. */
import { z } from 'zod';
import { type RecoveryLocals, teamRecoveryChart } from '../../machines/team_recovery.ts';
import { pageAddress } from '../scenario/schema.ts';
import type { ActorKind } from '../registry.ts';

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
  // one literal with every field, for fast properties (see src/actors/task.ts)
  locals: (spec, k): RecoveryLocals => ({
    gp_ino: -1, gp_index: 0, gp_sgp: 'team', gp_page: -1, gp_err: '', gp_entry: 0, gp_new: -1, gp_alloced: false, gp_hint: -1, gp_alloced_huge: -1, gp_sgp_huge: 'cache',
    dt_page: -1, dt_head: -1, dt_nr: -1,
    um_ino: -1, um_start: 0, um_end: 0, um_todo: [],
    ur_ino: -1, ur_start: 0, ur_end: 0, ur_index: 0, ur_page: -1, ur_op: 'truncate', ur_found: false,
    mg_from: [], mg_pass: 0, mg_retry: 0, mg_i: 0, mg_new: -1, mg_rc: '', mg_succeeded: 0, mg_failed: 0, mg_nr: 0, mg_ptes: [], mg_reason: 'shmem_recovery', mg_mode: 'MIGRATE_SYNC',
    rc_ino: k.inodeByName(spec.file)!.id, rc_mm: k.mmByName(spec.mm)?.id ?? -1,
    rc_head_index: spec.offset - (spec.offset & (k.HPAGE_PMD_NR - 1)), rc_fault_index: spec.offset,
    rc_page: -1, rc_head: -1, rc_migrated_head: -1, rc_exposed_team: false, rc_result: '',
    rp_index: 0, rp_team: -1, rp_error: '', rp_nr: 0, rp_migratable: 0, rp_unmigratable: 0, rp_drained_all: false, rp_account_head: false, rp_migrate: [],
  }),
};
