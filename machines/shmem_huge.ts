/**
 * Huge pages in the shmem page cache (v4.8, "shmem: add huge pages support"):
 * shmem_getpage_gfp() allocating a compound page of HPAGE_PMD_ORDER when the
 * mount's huge= setting allows it, and falling back to a small page when it does not,
 * when shmem_alloc_hugepage() finds the extent in use or fails, when the memcg charge
 * fails, or when shmem_add_to_page_cache() finds a slot of the extent taken (-EEXIST:
 * "goto unacct" puts the huge page and goes to alloc_nohuge). The states are in
 * shmemGetpageStates() (machines/shmem.ts); their guards and actions are here. The
 * allocation is its own injection point, shmem_alloc_hugepage: a fault-time
 * __GFP_NORETRY allocation can fail where khugepaged's (alloc_huge_page, with compaction)
 * succeeds — how small pages come to be on a huge=always mount for khugepaged to collapse.
 *
 * The model's shmem files live on one mount whose huge= is what sysfs shmem_enabled sets
 * (the internal shm_mnt's: shmem_enabled_store writes SHMEM_SB(shm_mnt->mnt_sb)->huge for
 * always / within_size / advise / never); `deny` and `force` are the global overrides.
 * Huge tmpfs files (`huge: true`, seed 001) take the team path instead
 * (machines/shmem_hugeteam.ts).
 *
 * thp_file_fallback and thp_file_fallback_charge are later names (v5.8, "mm, shmem: add
 * vmstat for hugepage fallback", and v5.9): counted where those kernels count them — a
 * failed huge allocation (not the early return when the extent is in use) and a failed
 * charge of a huge page. Left out: the per-superblock shrinklist that a huge page
 * reaching beyond i_size is put on (shmem_unused_huge_shrink splits such pages under
 * memory pressure; not modelled), block accounting (no size limit, so no -ENOSPC).
 */
import { bool, fields, int, str } from '../src/vector/struct.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { SLOT_HOLE } from '../src/memory/address_space.ts';
import { VM } from '../src/memory/mm.ts';

/**
 * shmem_fault's sgp before shmem_getpage_gfp folds it into SGP_CACHE (its sgp_huge):
 * SGP_HUGE for a VM_HUGEPAGE vma, SGP_NOHUGE for a VM_NOHUGEPAGE one.
 */
export type SgpHuge = 'cache' | 'huge' | 'nohuge';

/** The locals the huge allocation reads (part of ShmemLocals). */
export interface ShmemHugeLocals {
  gp_ino: number;
  gp_index: number;
  gp_sgp: 'read' | 'write' | 'fault' | 'nohuge' | 'team';
  /** What shmem_fault passed as sgp (read only when gp_sgp is 'fault'; each fault sets it). */
  gp_sgp_huge: SgpHuge;
  gp_page: number;
  gp_new: number;
  gp_alloced: boolean;
}
export const shmemHugeLocalsFields = fields<ShmemHugeLocals>({
  gp_ino: int(-1), gp_index: int(), gp_sgp: str('read'), gp_sgp_huge: str('cache'), gp_page: int(-1), gp_new: int(-1), gp_alloced: bool(),
});

type A = Actor<ShmemHugeLocals>;
const ino = (a: A): Inode => a.k.inodes[a.l.gp_ino]!;
const hindexOf = (a: A): number => a.l.gp_index - (a.l.gp_index & (a.k.HPAGE_PMD_NR - 1));

/**
 * shmem_getpage_gfp's choice between alloc_huge and alloc_nohuge for an index with no
 * page or swap entry (v4.8-v4.13):
 *
 *   if (shmem_huge == SHMEM_HUGE_DENY || sgp_huge == SGP_NOHUGE) goto alloc_nohuge;
 *   if (shmem_huge == SHMEM_HUGE_FORCE) goto alloc_huge;
 *   switch (sbinfo->huge) {
 *   case SHMEM_HUGE_NEVER: goto alloc_nohuge;
 *   case SHMEM_HUGE_WITHIN_SIZE:
 *           off = round_up(index, HPAGE_PMD_NR); i_size = round_up(i_size_read(inode), PAGE_SIZE);
 *           if (i_size >= HPAGE_PMD_SIZE && i_size >> PAGE_SHIFT >= off) goto alloc_huge;
 *           // fallthrough
 *   case SHMEM_HUGE_ADVISE: if (sgp_huge == SGP_HUGE) goto alloc_huge; goto alloc_nohuge;
 *   }                      (SHMEM_HUGE_ALWAYS: alloc_huge)
 *
 * Only callers that allocate get here: a fault (SGP_CACHE, or SGP_HUGE / SGP_NOHUGE from
 * the vma's flags) and write(2) (SGP_WRITE); collapse_shmem asks with SGP_NOHUGE.
 */
export function shmemGetpageHuge(a: A): boolean {
  const k = a.k;
  const inode = ino(a);
  if (!inode.shmem || inode.huge) return false;
  if (a.l.gp_sgp !== 'fault' && a.l.gp_sgp !== 'write') return false;
  const sgpHuge: SgpHuge = a.l.gp_sgp === 'fault' ? a.l.gp_sgp_huge : 'cache';
  const shmemHuge = k.sysfs.shmem_enabled;
  if (shmemHuge === 'deny' || sgpHuge === 'nohuge') return false;
  switch (shmemHuge) {
    case 'force': case 'always': return true;
    case 'never': return false;
    case 'within_size': {
      const N = k.HPAGE_PMD_NR;
      const off = Math.ceil(a.l.gp_index / N) * N;
      if (inode.i_size >= N && inode.i_size >= off) return true;
      return sgpHuge === 'huge';
    }
    case 'advise': return sgpHuge === 'huge';
  }
}

/** No entry (page or swap) in the extent of HPAGE_PMD_NR slots around gp_index. */
function extentEmpty(a: A): boolean {
  const m = ino(a).mapping;
  const start = hindexOf(a);
  for (let i = start; i < start + a.k.HPAGE_PMD_NR; i++) if (m.lookup(i) !== SLOT_HOLE) return false;
  return true;
}

export const shmemHugeGuards: Record<string, TaskGuard<A>> = {
  gpHugeAllowed: shmemGetpageHuge,
  /**
   * shmem_alloc_hugepage: "radix_tree_gang_lookup_slot(&mapping->page_tree, &results,
   * &idx, hindex, 1) && idx < hindex + HPAGE_PMD_NR" finds none; shmem_add_to_page_cache
   * asks the same under the tree lock.
   */
  gpExtentEmpty: extentEmpty,
  gpNewIsHuge: (a) => a.k.pages.order[a.l.gp_new]! > 0,
};

/** The sgp shmem_fault passes for the faulting vma's flags: VM_HUGEPAGE → SGP_HUGE, VM_NOHUGEPAGE → SGP_NOHUGE (v4.8). */
export function sgpHugeFor(vmFlags: number): SgpHuge {
  if (vmFlags & VM.NOHUGEPAGE) return 'nohuge';
  if (vmFlags & VM.HUGEPAGE) return 'huge';
  return 'cache';
}

export const shmemHugeActions: Record<string, TaskAction<A>> = {
  /** shmem_alloc_and_acct_page(huge): the compound page, __SetPageLocked, __SetPageSwapBacked; one reference (ours). */
  gpAllocHugePage: (a) => {
    const k = a.k;
    const head = k.pages.alloc(k.HPAGE_PMD_ORDER, false, a.ix, a.id);
    k.pages.setFlag(head, 'swapbacked');
    k.lockPage(head, a.ix);
    a.l.gp_new = head;
  },
  /** shmem_alloc_hugepage: alloc_pages_vma failed — count_vm_event(THP_FILE_FALLBACK) (v5.8). */
  gpHugeAllocFailed: (a) => {
    a.k.count('thp_file_fallback', 1, a.ix);
  },
  /** mem_cgroup_try_charge failed on the huge page: THP_FILE_FALLBACK, THP_FILE_FALLBACK_CHARGE (v5.8, v5.9); goto unacct. */
  gpHugeChargeFailed: (a) => {
    a.k.count('thp_file_fallback', 1, a.ix);
    a.k.count('thp_file_fallback_charge', 1, a.ix);
  },
  /**
   * shmem_add_to_page_cache(page, mapping, hindex) of a PageTransHuge page, the tree lock
   * held and the extent found empty: page_ref_add(page, HPAGE_PMD_NR); page->mapping,
   * page->index; radix_tree_insert(hindex + i, page + i) for each subpage;
   * count_vm_event(THP_FILE_ALLOC); nrpages += HPAGE_PMD_NR; NR_SHMEM_THPS,
   * NR_FILE_PAGES, NR_SHMEM. The page shmem_getpage_gfp returns is the subpage for index
   * (*pagep = page + index - hindex).
   */
  gpAddHugePage: (a) => {
    const k = a.k;
    const N = k.HPAGE_PMD_NR;
    const inode = ino(a);
    const head = a.l.gp_new;
    const hindex = hindexOf(a);
    k.pages.setMapping(head, inode.id);
    k.pages.setIndex(head, hindex);
    for (let i = 0; i < N; i++) {
      k.pages.get(head, a.ix); // the page cache's reference for this slot
      k.cacheSet(inode, hindex + i, head + i, a.ix);
    }
    k.inodeAdd(inode, 'nrpages', N, a.ix);
    k.count('thp_file_alloc', 1, a.ix);
    k.count('nr_shmem_hugepages', 1, a.ix);
    k.count('nr_file_pages', N, a.ix);
    k.count('nr_shmem', N, a.ix);
    a.l.gp_alloced = true;
    a.l.gp_page = head + (a.l.gp_index - hindex);
    a.l.gp_new = -1;
  },
};
