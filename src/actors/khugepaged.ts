/** The `khugepaged` actor kind: the khugepaged kernel thread of seed 000. */
import { z } from 'zod';
import { type KhugepagedLocals, khugepagedChart } from '../../machines/khugepaged.ts';
import { shmemLocalsInit } from '../../machines/shmem.ts';
import type { ActorKind } from '../registry.ts';

export const khugepagedSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** Stop once khugepaged_full_scans reaches this (the thread itself never stops). */
  full_scans: z.number().int().positive().default(1),
});
export type KhugepagedSpec = z.output<typeof khugepagedSpecSchema>;

export const khugepagedKind: ActorKind<KhugepagedLocals, KhugepagedSpec> = {
  kind: 'khugepaged',
  description: 'the khugepaged thread: scans mm_slots, khugepaged_scan_shmem, collapse_shmem, retract_page_tables',
  comm: 'khugepaged',
  chart: khugepagedChart,
  schema: khugepagedSpecSchema as unknown as z.ZodType<KhugepagedSpec>,
  locals: (spec) => ({
    ...shmemLocalsInit(),
    full_scans_target: spec.full_scans,
    slot: 0, address: 0, progress: 0, pass_through_head: 0, alloc_failed: false, alloc_waited: false, vma_file: -1, vma_pgoff: 0, vma_start: 0, hstart: 0, hend: 0,
    sc_ino: -1, sc_start: 0, sc_index: 0, sc_present: 0, sc_swap: 0, sc_pfn: -1, result: 'SCAN_SUCCEED',
    cs_new: -1, cs_index: 0, cs_nr_none: 0, cs_list: [], cs_page: -1, cs_iter: 0, cs_copied: new Uint8Array(0),
    rt_todo: [],
  }),
};
