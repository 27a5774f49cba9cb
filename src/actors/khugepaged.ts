/** The `khugepaged` actor kind: the khugepaged kernel thread of seed 000. */
import { makeStruct } from '../vector/struct.ts';
import { z } from 'zod';
import { type KhugepagedLocals, khugepagedChart, khugepagedEnterVma, khugepagedLocals } from '../../machines/khugepaged.ts';
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
    return a.k.mmHead.length === 0 || a.k.sysfs.enabled === 'never' ? 'idle' : null;
  },
  // laid out in the state vector (src/vector/): khugepagedLocals, machines/khugepaged.ts
  locals: (spec, k) => makeStruct(k.sv, khugepagedLocals, spec.id, {}, { cc_mm: 0, cc_khugepaged: true, full_scans_target: spec.full_scans }),
};
