/**
 * /proc/vmstat: the THP event counters and the node/zone page-state items the seeds
 * update, under the names /proc/vmstat prints. The counters subscribe to the bus: a
 * kernel step counts an event by publishing it (count_vm_event / __mod_node_page_state).
 */
import type { Bus } from '../bus/bus.ts';
import { type StateVector, VECTOR, VECTOR_BASE } from '../vector/state_vector.ts';

export const VM_EVENTS = [
  'thp_fault_alloc', 'thp_fault_fallback', 'thp_fault_fallback_charge',
  'thp_collapse_alloc', 'thp_collapse_alloc_failed',
  'thp_file_alloc', 'thp_file_fallback', 'thp_file_fallback_charge', 'thp_file_mapped',
  'thp_split_page', 'thp_split_page_failed', 'thp_deferred_split_page', 'thp_split_pmd',
  'thp_scan_exceed_none_pte', 'thp_scan_exceed_swap_pte', 'thp_scan_exceed_share_pte',
  'thp_zero_page_alloc', 'thp_zero_page_alloc_failed',
  'thp_swpout', 'thp_swpout_fallback',
] as const;

/** Node page-state items (NR_FILE_PAGES → nr_file_pages, NR_SHMEM_THPS → nr_shmem_hugepages, ...). */
export const VM_NODE_ITEMS = [
  'nr_inactive_anon', 'nr_active_anon', 'nr_inactive_file', 'nr_active_file', 'nr_unevictable',
  'nr_file_pages', 'nr_shmem', 'nr_shmem_hugepages', 'nr_file_hugepages', 'nr_isolated_anon', 'nr_isolated_file',
  'nr_anon_pages', 'nr_anon_transparent_hugepages', 'nr_shmem_freeholes',
] as const;

/**
 * Huge tmpfs recovery statistics (seed 001's shr_stats; the series' patch 28 shows them
 * in /sys/kernel/debug/shmem_huge_recovery/, one file each): counted like vmstat events,
 * not printed in /proc/vmstat.
 */
export const SHR_STATS = [
  'huge_alloced', 'huge_failed', 'huge_too_late', 'page_created', 'page_migrate', 'page_off_lru', 'page_raced',
  'page_teamed', 'page_unmigrated', 'recov_completed', 'recov_failed', 'recov_partial', 'recov_retried',
  'remap_another', 'remap_faulter', 'remap_untried', 'resume_tagged', 'resume_teamed',
  'swap_cached', 'swap_entry', 'swap_gone', 'swap_read', 'work_already', 'work_queued', 'work_too_late', 'work_too_many',
] as const;
export type ShrStat = (typeof SHR_STATS)[number];

export type VmEvent = (typeof VM_EVENTS)[number];
export type VmNodeItem = (typeof VM_NODE_ITEMS)[number];
export type VmItem = VmEvent | VmNodeItem | ShrStat;

/** What /proc/vmstat prints. */
export const VM_ITEMS: readonly VmItem[] = [...VM_NODE_ITEMS, ...VM_EVENTS];
const ALL_ITEMS: readonly VmItem[] = [...VM_ITEMS, ...SHR_STATS];

const ITEM_INDEX = new Map<VmItem, number>(ALL_ITEMS.map((item, i) => [item, i]));

/**
 * One counter per item, in VM_ITEMS order then SHR_STATS (as the kernel's vm_node_stat[] and
 * vm_event_states.event[]): in a world a search copies and hashes, slots of the state vector
 * (`vmstat`, one an item: no state component of its own); otherwise an array of its own.
 */
export class VmStat {
  private readonly own: Float64Array | null;
  /** (laid out in the vector: a walk of the model takes it as the vector's) */
  readonly [VECTOR_BASE]?: number;
  readonly [VECTOR]?: StateVector;

  constructor(bus: Bus, sv?: StateVector) {
    if (sv && !sv.plain) {
      this.own = null;
      this[VECTOR_BASE] = sv.alloc(ALL_ITEMS.length, 'vmstat');
      this[VECTOR] = sv;
    } else this.own = new Float64Array(ALL_ITEMS.length);
    bus.on('vmstat').subscribe((e) => this.add(ITEM_INDEX.get(e.item)!, e.delta));
  }

  private add(i: number, delta: number): void {
    if (this.own !== null) this.own[i]! += delta;
    else {
      const sv = this[VECTOR]!;
      const at = this[VECTOR_BASE]! + i;
      sv.put(at, sv.get(at) + delta);
    }
  }

  private at(i: number): number {
    return this.own !== null ? this.own[i]! : this[VECTOR]!.get(this[VECTOR_BASE]! + i);
  }

  get(item: VmItem): number {
    return this.at(ITEM_INDEX.get(item)!);
  }

  /** The counters in /proc/vmstat order and format ("name value" lines). */
  format(onlyNonZero = false): string {
    return VM_ITEMS.filter((i) => !onlyNonZero || this.get(i) !== 0)
      .map((i) => `${i} ${this.get(i)}`)
      .join('\n');
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(VM_ITEMS.map((item, i) => [item, this.at(i)]));
  }

  /** The recovery statistics by name (thpsim run --json's shmem_huge_recovery). */
  shrStatsJSON(): Record<string, number> {
    return Object.fromEntries(SHR_STATS.map((item) => [item, this.get(item)]));
  }

  /** /sys/kernel/debug/shmem_huge_recovery/: the recovery statistics, "name:value" as the series' commit text quotes them. */
  formatShrStats(onlyNonZero = false): string {
    return SHR_STATS.filter((i) => !onlyNonZero || this.get(i) !== 0).map((i) => `${i}:${this.get(i)}`).join('\n');
  }
}
