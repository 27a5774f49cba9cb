/** The `khugepaged` actor kind: the khugepaged kernel thread of seed 000. */
import { z } from 'zod';
import { type KhugepagedLocals, khugepagedChart, khugepagedEnterVma } from '../../machines/khugepaged.ts';
import type { ActorKind } from '../registry.ts';

export const khugepagedSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** Stop once khugepaged_full_scans reaches this (the thread itself never stops). */
  full_scans: z.number().int().positive().default(1),
});
export type KhugepagedSpec = z.output<typeof khugepagedSpecSchema>;

export const khugepagedKind: ActorKind<KhugepagedLocals, KhugepagedSpec> = {
  kind: 'khugepaged',
  description: 'the khugepaged thread: scans the registered mm_slots (hugepage_vma_check), khugepaged_scan_shmem, collapse_shmem (shmem and read-only file text), retract_page_tables, the pte-mapped THP retry',
  comm: 'khugepaged',
  chart: khugepagedChart,
  schema: khugepagedSpecSchema as unknown as z.ZodType<KhugepagedSpec>,
  // the scenario's VMAs were mmapped before the run: mmap_region's khugepaged_enter_vma
  // registered each mm that had an eligible one then, in the scenario's order
  attach(_spec, k) {
    for (const mm of k.mms) for (const vma of mm.vmas) khugepagedEnterVma(k, mm, vma, -1);
  },
  // waiting for an mm_slot that no actor left will register ('idle'), or parked past its
  // full scans ('ok'): asleep, not deadlocked
  idle: (a) => {
    if (a.k.khugepaged.full_scans >= Math.max(a.l.full_scans_target, a.k.khugepagedScansWanted)) return 'ok';
    return a.k.khugepagedMmSlots.length === 0 || a.k.sysfs.enabled === 'never' ? 'idle' : null;
  },
  // one literal with every field, for fast properties (see src/actors/task.ts)
  locals: (spec): KhugepagedLocals => ({
    gp_ino: -1, gp_index: 0, gp_sgp: 'read', gp_page: -1, gp_err: '', gp_entry: 0, gp_new: -1, gp_alloced: false, gp_hint: -1, gp_alloced_huge: -1, gp_sgp_huge: 'cache',
    dt_page: -1, dt_head: -1, dt_nr: -1,
    um_ino: -1, um_start: 0, um_end: 0, um_todo: [],
    ur_ino: -1, ur_start: 0, ur_end: 0, ur_index: 0, ur_page: -1, ur_op: 'truncate', ur_found: false,
    cc_mm: 0, cc_khugepaged: true,
    full_scans_target: spec.full_scans,
    slot: 0, address: 0, progress: 0, pass_through_head: 0, alloc_failed: false, alloc_waited: false, vma_file: -1, vma_pgoff: 0, vma_start: 0, hstart: 0, hend: 0,
    sc_ino: -1, sc_start: 0, sc_index: 0, sc_present: 0, sc_swap: 0, sc_pfn: -1, result: 'SCAN_SUCCEED',
    cs_new: -1, cs_index: 0, cs_nr_none: 0, cs_list: [], cs_page: -1, cs_iter: 0, cs_copied: new Uint8Array(0),
    rt_todo: [], rt_hpage: -1, sc_compound: -1, cp_todo: [], cp_hpage: -1,
  }),
};
