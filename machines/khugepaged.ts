/**
 * Seed 000 (khugepaged: add support of collapse for tmpfs/shmem pages): the khugepaged
 * thread (khugepaged_do_scan → khugepaged_scan_mm_slot), hugepage_vma_check with the
 * shmem alignment rule, khugepaged_scan_shmem (the lockless RCU walk),
 * collapse_shmem (every step of the diff, success and rollback) and
 * retract_page_tables (down_write_trylock of mmap_sem).
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskChartDef, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import { type MmStruct, type Vma, PTE_NONE, VM } from '../src/memory/mm.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { hex } from '../src/memory/pages.ts';
import {
  type ShmemLocals, getPageRef, putPageRef, shmemGetpageActions, shmemGetpageGuards, shmemGetpageStates,
  unmapActions, unmapGuards, unmapMappingRangeStates,
} from './shmem.ts';

/** enum scan_result, as seed 000 knows it (names from ../shared/conventions.md). */
export type ScanResult =
  | 'SCAN_FAIL' | 'SCAN_SUCCEED' | 'SCAN_EXCEED_NONE_PTE' | 'SCAN_EXCEED_SWAP_PTE' | 'SCAN_PAGE_COMPOUND'
  | 'SCAN_PAGE_LRU' | 'SCAN_PAGE_COUNT' | 'SCAN_PAGE_LOCK' | 'SCAN_TRUNCATED' | 'SCAN_DEL_PAGE_LRU'
  | 'SCAN_ALLOC_HUGE_PAGE_FAIL' | 'SCAN_CGROUP_CHARGE_FAIL' | 'SCAN_PTE_MAPPED_HUGEPAGE'
  | 'SCAN_PMD_MAPPED' | 'SCAN_PAGE_NULL' | 'SCAN_VMA_CHECK';

/** The trace strings mm_khugepaged_scan_file prints for them. */
export const SCAN_STRINGS: Record<ScanResult, string> = {
  SCAN_FAIL: 'failed', SCAN_SUCCEED: 'succeeded', SCAN_EXCEED_NONE_PTE: 'exceed_none_pte',
  SCAN_EXCEED_SWAP_PTE: 'exceed_swap_pte', SCAN_PAGE_COMPOUND: 'page_compound', SCAN_PAGE_LRU: 'page_not_in_lru',
  SCAN_PAGE_COUNT: 'not_suitable_page_count', SCAN_PAGE_LOCK: 'page_locked', SCAN_TRUNCATED: 'truncated',
  SCAN_DEL_PAGE_LRU: 'could_not_delete_page_from_lru', SCAN_ALLOC_HUGE_PAGE_FAIL: 'alloc_huge_page_failed',
  SCAN_CGROUP_CHARGE_FAIL: 'ccgroup_charge_failed', SCAN_PTE_MAPPED_HUGEPAGE: 'pte_mapped_hugepage',
  SCAN_PMD_MAPPED: 'page_pmd_mapped', SCAN_PAGE_NULL: 'page_null', SCAN_VMA_CHECK: 'vma_check_failed',
};

/** The locals of one collapse context (khugepaged, or a MADV_COLLAPSE caller): scan, collapse, retract. */
export interface CollapseLocals extends ShmemLocals {
  /** The mm this context works for (traces), and whether it is khugepaged (cc->is_khugepaged). */
  cc_mm: number;
  cc_khugepaged: boolean;
  // khugepaged_scan_shmem / hpage_collapse_scan_file
  sc_ino: number;
  sc_start: number;
  sc_index: number;
  sc_present: number;
  sc_swap: number;
  sc_pfn: number;
  result: ScanResult;
  /** Seed 003 retry: the scan found this extent already a huge page, to retract for (design a). */
  sc_compound: number;
  // collapse_shmem
  cs_new: number;
  cs_index: number;
  cs_nr_none: number;
  /** pagelist: the old pages, frozen and replaced, in index order. */
  cs_list: number[];
  cs_page: number;
  /** Which subpages of the new page received an old page's data (the rest stood for holes). */
  cs_copied: Uint8Array;
  /** The next present slot the radix-tree iterator stands on. */
  cs_iter: number;
  // retract_page_tables: [mm id, pmd index] pairs still to try, and the huge page (hpage) to map
  rt_todo: number[];
  rt_hpage: number;
  /** *hpage is an error: the last huge page allocation failed (khugepaged_prealloc_page). */
  alloc_failed: boolean;
}

export interface KhugepagedLocals extends CollapseLocals {
  /** Stop after this many full scans of the mm_slot list. */
  full_scans_target: number;
  /** khugepaged_scan: the mm_slot (index into the kernel's mms) and address. */
  slot: number;
  address: number;
  progress: number;
  /** khugepaged_do_scan: times this pass came round to the head of the mm_slot list. */
  pass_through_head: number;
  /** khugepaged_prealloc_page's `wait`: it already slept alloc_sleep_millisecs this pass. */
  alloc_waited: boolean;
  /** The VMA being scanned (as find_vma found it under mmap_sem): its file, pgoff and start, and [hstart, hend). */
  vma_file: number;
  vma_pgoff: number;
  vma_start: number;
  hstart: number;
  hend: number;
  /** Seed 003 design b (per-PMD): the pmd indexes still to try in the current mm. */
  cp_todo: number[];
  cp_hpage: number;
}

type K = Actor<KhugepagedLocals>;
type C = Actor<CollapseLocals>;


/** The mm of khugepaged_scan.mm_slot. */
const mmOf = (a: K): MmStruct => a.k.mms[a.k.khugepagedMmSlots[a.l.slot]!]!;
const inoOf = (a: C): Inode => a.k.inodes[a.l.sc_ino]!;
const slot = (a: C, i: number) => inoOf(a).mapping.lookup(i);
const NR = (a: C) => a.k.HPAGE_PMD_NR;
const end = (a: C) => a.l.sc_start + NR(a);
const ccMm = (a: C): MmStruct => a.k.mms[a.l.cc_mm]!;

/**
 * khugepaged_enter_vma(vma, vm_flags) — from mmap_region (the scenario's VMAs at the start),
 * vma_merge, madvise(MADV_HUGEPAGE) and, for anonymous memory, a huge fault's
 * khugepaged_enter: registers the mm (__khugepaged_enter) once khugepaged is enabled
 * (sysfs enabled always or madvise) and the VMA passes hugepage_vma_check with sysfs
 * enforced and has an aligned huge range. Anonymous VMAs register as in the kernel,
 * though the model's khugepaged scans only file VMAs (khugepaged_scan_pmd is not modelled).
 */
export function khugepagedEnterVma(k: Kernel, mm: MmStruct, vma: Vma, a: number): void {
  if (mm.mmfVmHugepage || k.sysfs.enabled === 'never') return;
  const n = k.HPAGE_PMD_NR;
  if (Math.ceil(vma.start / n) * n >= Math.floor(vma.end / n) * n) return;
  const ok = vma.file < 0
    ? !(vma.flags & VM.NOHUGEPAGE) && (k.sysfs.enabled === 'always' || (vma.flags & VM.HUGEPAGE) !== 0)
    : khugepagedVmaCheck({ k } as Actor, vma); // (it reads only the kernel)
  if (ok) k.khugepagedEnter(mm, a);
}

/**
 * hugepage_vma_check() with the seed's shmem rule, and shmem_huge_enabled().
 * `shmemHugeForce`: as shmem_is_huge()'s shmem_huge_force (MADV_COLLAPSE does not enforce
 * sysfs): the shmem_enabled setting is taken as "force".
 */
export function khugepagedVmaCheck(a: Actor, vma: Vma, shmemHugeForce = false): boolean {
  const k = a.k;
  if ((!(vma.flags & VM.HUGEPAGE) && k.sysfs.enabled !== 'always') || vma.flags & VM.NOHUGEPAGE) return false;
  if (vma.file < 0) return false; // anonymous collapse (khugepaged_scan_pmd) is not in the seeds
  const ino = k.inodes[vma.file]!;
  if ((vma.start - vma.pgoff) % k.HPAGE_PMD_NR !== 0) return false;
  // a regular file: file_thp_enabled() — CONFIG_READ_ONLY_THP_FOR_FS, VM_EXEC, not open for write
  if (!ino.shmem) return k.config.READ_ONLY_THP_FOR_FS && (vma.flags & VM.EXEC) !== 0;
  return shmemHugeEnabled(a, vma, ino, shmemHugeForce);
}

function shmemHugeEnabled(a: Actor, vma: Vma, ino: Inode, force: boolean): boolean {
  const k = a.k;
  // shmem_is_huge(): "if (shmem_huge == SHMEM_HUGE_DENY) return false;" comes before
  // "if (shmem_huge_force || shmem_huge == SHMEM_HUGE_FORCE) return true;"
  if (k.sysfs.shmem_enabled === 'deny') return false;
  switch (force ? 'force' : k.sysfs.shmem_enabled) {
    case 'force': case 'always': return true;
    case 'never': return false;
    case 'advise': return (vma.flags & VM.HUGEPAGE) !== 0;
    case 'within_size': {
      const off = Math.ceil(vma.pgoff / k.HPAGE_PMD_NR) * k.HPAGE_PMD_NR;
      if (ino.i_size >= k.HPAGE_PMD_NR && ino.i_size >= off) return true;
      // no break: SHMEM_HUGE_WITHIN_SIZE falls through to SHMEM_HUGE_ADVISE
      return (vma.flags & VM.HUGEPAGE) !== 0;
    }
  }
}

/** khugepaged_scan_shmem(): the lockless walk, one present slot per step. */
export function khugepagedScanShmem(): StateDef {
  return {
    meta: { kernel: 'khugepaged_scan_shmem' },
    initial: 'rcu_walk',
    states: {
      rcu_walk: step('khugepaged_scan_shmem: radix_tree_for_each_slot under rcu_read_lock (one slot)', {
        actions: 'scanNextSlot', target: 'rcu_route',
      }),
      rcu_route: {
        always: [
          { guard: 'scanWalkOver', target: 'scan_end' },
          { target: 'rcu_walk' },
        ],
      },
      scan_end: {
        always: [
          { guard: 'scanTooFewPresent', actions: 'scanExceedNone', target: 'returned' },
          { guard: 'scanSucceeded', target: 'collapse_shmem' },
          { guard: 'scanPteMappedHugepage', actions: 'beginRetractCompound', target: 'retract_page_tables' },
          { target: 'returned' },
        ],
      },
      collapse_shmem: { ...collapseShmem(), onDone: 'returned' },
      // seed 003 (design a): retract the page tables that map this huge page by ptes
      retract_page_tables: { ...retractPageTables(), onDone: 'returned' },
      returned: final,
    },
  };
}

/** collapse_shmem() as posted. */
function collapseShmem(): StateDef {
  return {
    meta: { kernel: 'collapse_shmem' },
    initial: 'alloc',
    states: {
      alloc: step('collapse_shmem: new_page = khugepaged_alloc_page(hpage, gfp, node)', [
        { guard: 'injectedFailure', actions: 'csAllocFailed', target: 'returned' },
        { actions: 'csAlloc', target: 'charge' },
      ], { inject: 'alloc_huge_page', sleeps: 'alloc_pages' }),
      charge: step('collapse_shmem: mem_cgroup_try_charge(new_page, mm, gfp, &memcg, true)', [
        { guard: 'injectedFailure', actions: 'csChargeFailed', target: 'returned' },
        { target: 'setup' },
      ], { inject: 'mem_cgroup_charge', sleeps: 'mem_cgroup_charge' }),
      setup: step('collapse_shmem: new_page->index, ->mapping; __SetPageSwapBacked; __SetPageLocked; page_ref_freeze(new_page, 1)', {
        actions: 'csSetupNewPage', target: 'tree_lock',
      }),
      tree_lock: step('collapse_shmem: spin_lock_irq(&mapping->tree_lock); radix_tree_for_each_slot from start', {
        guard: 'csTreeFree', actions: ['csLockTree', 'csRbIter'], target: 'walk',
      }),
      walk: {
        always: [
          // a regular file (collapse_file !is_shmem, READ_ONLY_THP_FOR_FS): every index in turn; a hole is read in
          { guard: { and: ['csRegularFile', 'csWalkDone'] }, target: 'post_loop' },
          { guard: { and: ['csRegularFile', 'csHoleHere'] }, target: 'readahead' },
          // radix_tree_for_each_slot found no further entry at all: the loop ends
          { guard: 'csNoMoreEntries', target: 'post_loop' },
          { guard: 'csHolesBefore', target: 'fill_holes' },
          { guard: 'csWalkDone', target: 'post_loop' },
          { target: 'slot' },
        ],
      },
      readahead: step('collapse_file (!is_shmem): spin_unlock; page_cache_sync_readahead; page = find_lock_page(mapping, index)', [
        { guard: 'injectedFailure', actions: ['csUnlockTree', 'csFail'], target: 'tree_unlocked' },
        { actions: ['csUnlockTree', 'csReadahead'], target: 'relock_tree' },
      ], { inject: 'alloc_page', sleeps: 'readpage' }),
      fill_holes: step('collapse_shmem: shmem_charge(mapping->host, n); radix_tree_insert(new_page + (index % HPAGE_PMD_NR)) for each hole', {
        actions: 'csFillHoles', target: 'walk',
      }),
      slot: step('collapse_shmem: page = radix_tree_deref_slot_protected(); swap entry or !PageUptodate → shmem_getpage; else trylock_page + get_page', [
        { guard: 'csSlotNeedsGetpage', actions: ['csUnlockTree', 'csBeginGetpage'], target: 'getpage' },
        { guard: 'csTrylock', actions: 'csTrylockGet', target: 'check' },
        { actions: 'csPageLocked', target: 'tree_unlock_final' },
      ]),
      getpage: { ...shmemGetpageStates(), onDone: 'getpage_done' },
      getpage_done: {
        always: [
          { guard: 'csGetpageFailed', actions: 'csFail', target: 'tree_unlocked' },
          { target: 'relock_tree' },
        ],
      },
      relock_tree: step('collapse_shmem: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'csTreeFree', actions: ['csLockTree', 'csTakeGetpagePage'], target: 'check',
      }),
      check: {
        always: [
          // variant collapse_shmem_compound_check: "if (PageTransCompound(page)) { result = SCAN_PAGE_COMPOUND; goto out_unlock; }"
          { guard: 'csCompoundChecked', target: 'compound' },
          { guard: 'csVmBugOnPage', actions: 'csVmBugOn', target: 'truncated' },
          { guard: 'csPageTruncated', target: 'truncated' },
          { target: 'unlock_tree' },
        ],
      },
      compound: step('collapse_shmem: result = SCAN_PAGE_COMPOUND; out_unlock: unlock_page(page); put_page(page); break', {
        actions: ['csPageCompound', 'csUnlockPutPage'], target: 'tree_unlock_final',
      }),
      truncated: step('collapse_shmem: result = SCAN_TRUNCATED; out_unlock: unlock_page(page); put_page(page); break', {
        actions: ['csTruncated', 'csUnlockPutPage'], target: 'tree_unlock_final',
      }),
      unlock_tree: step('collapse_shmem: spin_unlock_irq(&mapping->tree_lock)', {
        actions: 'csUnlockTree', target: 'isolate',
      }),
      isolate: step('collapse_shmem: isolate_lru_page(page)', [
        { guard: { or: ['injectedFailure', 'csPageNotOnLru'] }, actions: 'csDelPageLru', target: 'isolate_failed' },
        { actions: 'csIsolate', target: 'unmap_route' },
      ], { inject: 'isolate_lru_page' }),
      isolate_failed: step('collapse_shmem: out_isolate_failed: unlock_page(page); put_page(page)', {
        actions: 'csUnlockPutPage', target: 'tree_unlocked',
      }),
      unmap_route: {
        always: [{ guard: 'csPageMapped', actions: 'csBeginUnmap', target: 'unmap' }, { target: 'relock2' }],
      },
      unmap: { ...unmapMappingRangeStates(), onDone: 'relock2' },
      relock2: step('collapse_shmem: spin_lock_irq(&mapping->tree_lock); VM_BUG_ON_PAGE(page_mapped(page))', {
        guard: 'csTreeFree', actions: ['csLockTree', 'csAssertUnmapped'], target: 'freeze',
      }),
      freeze: step('collapse_shmem: page_ref_freeze(page, 3); list_add_tail; radix_tree_replace_slot(new_page + (index % HPAGE_PMD_NR))', [
        { guard: 'csCountIs3', actions: 'csFreezeReplace', target: 'walk' },
        { actions: 'csPageCount', target: 'out_lru' },
      ]),
      out_lru: step('collapse_shmem: out_lru: spin_unlock_irq(&mapping->tree_lock); putback_lru_page(page)', {
        actions: ['csUnlockTree', 'csPutback'], target: 'isolate_failed',
      }),
      post_loop: {
        always: [{ guard: 'csTailHoles', target: 'fill_tail' }, { target: 'tree_unlock_final' }],
      },
      fill_tail: step('collapse_shmem: shmem_charge(mapping->host, end - index); radix_tree_insert for the holes at the end', {
        actions: 'csFillHoles', target: 'tree_unlock_final',
      }),
      tree_unlock_final: step('collapse_shmem: tree_locked: spin_unlock_irq(&mapping->tree_lock)', {
        actions: 'csUnlockTree', target: 'tree_unlocked',
      }),
      tree_unlocked: {
        always: [{ guard: 'scanSucceeded', target: 'copy_next' }, { target: 'rollback_uncharge' }],
      },
      // success
      copy_next: { always: [{ guard: 'csListEmpty', target: 'counters' }, { target: 'copy_one' }] },
      copy_one: step('collapse_shmem: copy_highpage; unlock_page; page_ref_unfreeze(page, 1); page->mapping = NULL; put_page(page)', {
        actions: 'csCopyFreeOne', target: 'copy_next',
      }),
      counters: step('collapse_shmem: __inc_zone_page_state(NR_SHMEM_THPS); NR_FILE_PAGES, NR_SHMEM += nr_none', {
        actions: 'csCounters', target: 'retract_page_tables',
      }),
      retract_page_tables: { ...retractPageTables(), onDone: 'set_uptodate' },
      set_uptodate: step('collapse_shmem: set_page_dirty(new_page); SetPageUptodate(new_page)', {
        actions: 'csSetUptodate', target: 'unfreeze',
      }),
      unfreeze: step('collapse_shmem: page_ref_unfreeze(new_page, HPAGE_PMD_NR)', {
        actions: 'csUnfreezeNew', target: 'lru_add',
      }),
      lru_add: step('collapse_shmem: mem_cgroup_commit_charge; lru_cache_add_anon(new_page)', {
        actions: 'csLruAddNew', target: 'unlock_new',
      }),
      unlock_new: step('collapse_shmem: unlock_page(new_page); *hpage = NULL', {
        actions: 'csUnlockNew', target: 'returned',
      }),
      // rollback
      rollback_uncharge: step('collapse_shmem: shmem_uncharge(mapping->host, nr_none)', {
        actions: 'csUncharge', target: 'rb_lock',
      }),
      rb_lock: step('collapse_shmem: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'csTreeFree', actions: ['csLockTree', 'csRbBegin'], target: 'rb_next',
      }),
      rb_next: {
        always: [
          { guard: 'csRbOver', target: 'rb_end' },
          { guard: { and: ['csRbIsHole', 'csNoneLeft'] }, target: 'rb_end' },
          { guard: 'csRbIsHole', target: 'rb_hole' },
          { target: 'rb_page' },
        ],
      },
      rb_hole: step('collapse_shmem: /* Put holes back where they were */ radix_tree_replace_slot(slot, NULL); nr_none--', {
        actions: 'csRbHole', target: 'rb_next',
      }),
      rb_page: step('collapse_shmem: list_del; page_ref_unfreeze(page, 2); radix_tree_replace_slot(slot, page); spin_unlock_irq', {
        actions: ['csRbRestorePage', 'csUnlockTree'], target: 'rb_putback',
      }),
      rb_putback: step('collapse_shmem: putback_lru_page(page)', { actions: 'csPutback', target: 'rb_unlock_page' }),
      rb_unlock_page: step('collapse_shmem: unlock_page(page)', { actions: 'csRbUnlockPage', target: 'rb_relock' }),
      rb_relock: step('collapse_shmem: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'csTreeFree', actions: ['csLockTree', 'csRbIter'], target: 'rb_next',
      }),
      rb_end: step('collapse_shmem: VM_BUG_ON(nr_none); spin_unlock_irq(&mapping->tree_lock)', {
        actions: ['csRbAssertNoneLeft', 'csUnlockTree'], target: 'rb_new',
      }),
      rb_new: step('collapse_shmem: page_ref_unfreeze(new_page, 1); mem_cgroup_cancel_charge; unlock_page(new_page); new_page->mapping = NULL', {
        actions: 'csRbReleaseNew', target: 'free_new',
      }),
      free_new: step('khugepaged: put_page(new_page) (the caller frees the unused huge page)', {
        actions: 'csFreeNew', target: 'returned',
      }),
      returned: final,
    },
  };
}

/**
 * khugepaged_collapse_pte_mapped_thps(mm_slot) → collapse_pte_mapped_thp(mm, haddr) for
 * every pmd retract_page_tables could not take: under mmap_sem for write (trylock), the
 * huge page found and locked, prepare_pmd_for_collapse, the pte table freed.
 */
function collapsePteMappedThps(): StateDef {
  return {
    meta: { kernel: 'khugepaged_collapse_pte_mapped_thps' },
    initial: 'trylock',
    states: {
      trylock: step('khugepaged_collapse_pte_mapped_thps: if (!down_write_trylock(&mm->mmap_sem)) return', [
        { guard: 'cpTrylock', actions: 'cpBegin', target: 'next' },
        { target: 'returned' },
      ]),
      next: {
        always: [
          { guard: 'cpDone', target: 'up_write' },
          { guard: 'cpNoHugePage', actions: 'cpSkip', target: 'skip' },
          { target: 'find_lock_page' },
        ],
      },
      skip: { always: { target: 'next' } },
      find_lock_page: step('collapse_pte_mapped_thp: hpage = find_lock_page(vma->vm_file->f_mapping, linear_page_index(vma, haddr))', {
        guard: 'cpPageUnlocked', actions: 'cpGetLock', target: 'pmd_lock',
      }, { sleeps: 'lock_page' }),
      pmd_lock: step('collapse_pte_mapped_thp: pte_offset_map_lock / pmd_lock', {
        guard: 'cpPtlFree', actions: 'cpLockPtl', target: 'prepare',
      }),
      prepare: step('collapse_pte_mapped_thp: every pte maps hpage + i? page_remove_rmap; page_ref_sub; add_mm_counter; pmdp_collapse_flush', [
        { guard: 'cpCollapsible', actions: ['cpCollapse', 'cpUnlockPtl'], target: 'drop' },
        // "a subpage replaced behind the THP's back": fall back, leave the pte table
        { actions: ['cpAbort', 'cpUnlockPtl'], target: 'drop' },
      ]),
      drop: step('collapse_pte_mapped_thp: unlock_page(hpage); put_page(hpage)', {
        actions: 'cpDrop', target: 'next',
      }),
      up_write: step('khugepaged_collapse_pte_mapped_thps: up_write(&mm->mmap_sem)', {
        actions: 'cpUpWrite', target: 'returned',
      }),
      returned: final,
    },
  };
}

/** retract_page_tables(mapping, pgoff) as posted. */
function retractPageTables(): StateDef {
  return {
    meta: { kernel: 'retract_page_tables' },
    initial: 'i_mmap_lock',
    states: {
      i_mmap_lock: step('retract_page_tables: i_mmap_lock_write(mapping); vma_interval_tree_foreach', {
        guard: 'rtImmapWriteFree', actions: ['rtImmapLock', 'rtCollect'], target: 'next',
      }, { sleeps: 'i_mmap_rwsem' }),
      next: { always: [{ guard: 'rtDone', target: 'i_mmap_unlock' }, { target: 'trylock' }] },
      trylock: step('retract_page_tables: down_write_trylock(&vma->vm_mm->mmap_sem)', [
        { guard: 'rtTrylock', actions: 'rtMmapWriteLock', target: 'pmd_lock' },
        { actions: 'rtTrylockFailed', target: 'next' },
      ]),
      pmd_lock: step('retract_page_tables: ptl = pmd_lock(vma->vm_mm, pmd)', {
        guard: 'rtPtlFree', actions: 'rtLockPtl', target: 'collapse_flush',
      }),
      collapse_flush: step('retract_page_tables: prepare_pmd_for_collapse (seed 003; as posted in seed 000: "assume page table is clear"); pmdp_collapse_flush', [
        { guard: 'rtPrepareFails', actions: ['rtUnlockPtlAbort'], target: 'abort_up_write' },
        { actions: 'rtCollapseFlush', target: 'unlock_ptl' },
      ]),
      abort_up_write: step('retract_page_tables: !prepare_pmd_for_collapse: spin_unlock(ptl); up_write(&mm->mmap_sem); continue', {
        actions: 'rtAbortUpWrite', target: 'next',
      }),
      unlock_ptl: step('retract_page_tables: spin_unlock(ptl)', { actions: 'rtUnlockPtl', target: 'up_write' }),
      up_write: step('retract_page_tables: up_write(&mm->mmap_sem); atomic_long_dec(&mm->nr_ptes); pte_free', {
        actions: 'rtUpWriteFree', target: 'next',
      }),
      i_mmap_unlock: step('retract_page_tables: i_mmap_unlock_write(mapping)', {
        actions: 'rtImmapUnlock', target: 'returned',
      }),
      returned: final,
    },
  };
}

/** Variant collapse_shmem_no_freeze_new_page (src/variants/collapse_shmem.ts): new_page is locked, never frozen. */
const noFreeze = (k: Kernel) => k.variant('collapse_shmem_no_freeze_new_page');

/**
 * With collapse_shmem_no_freeze_new_page, each page-cache slot that comes to hold a subpage
 * of the unfrozen new_page owes the cache's reference on it until page_ref_add() at the end
 * (one reference, the allocation's, stands for them all until then): kept in the ghost
 * bookkeeping as references its collapser has given (d > 0) or taken back (d < 0).
 */
function owedSlotRef(a: C, d: number): void {
  if (!noFreeze(a.k)) return;
  for (let i = 0; i < Math.abs(d); i++) {
    if (d > 0) a.k.ref('drop', 'page', a.l.cs_new, a.id, '', a.ix);
    else a.k.ref('take', 'page', a.l.cs_new, '', a.id, a.ix);
  }
}

/** The guards of khugepaged_scan_shmem / collapse_shmem / retract_page_tables, for every collapse context. */
export const collapseGuards: Record<string, TaskGuard<C>> = {
    ...(shmemGetpageGuards as Record<string, never>),
    ...(unmapGuards as Record<string, never>),
  
    injectedFailure: (_a, ev) => ev.fail === true,
    // khugepaged_do_scan: "while (progress < pages)", and only while pass_through_head < 2
    scanWalkOver: (a) => a.l.result !== 'SCAN_SUCCEED' || a.l.sc_index >= end(a),
    // max_ptes_none binds khugepaged only (MADV_COLLAPSE: cc->is_khugepaged is false)
    scanTooFewPresent: (a) => a.l.cc_khugepaged && a.l.result === 'SCAN_SUCCEED' && a.l.sc_present < NR(a) - a.k.sysfs.khugepaged.max_ptes_none,
    scanSucceeded: (a) => a.l.result === 'SCAN_SUCCEED',
    // design a: khugepaged's scan retracts the extent itself; a MADV_COLLAPSE caller goes on to collapse_pte_mapped_thp
    scanPteMappedHugepage: (a) => a.l.cc_khugepaged && a.l.result === 'SCAN_PTE_MAPPED_HUGEPAGE',
    // collapse_shmem
    csTreeFree: (a) => inoOf(a).mapping.treeLock.free,
    csNoMoreEntries: (a) => a.l.cs_iter === NO_ENTRY,
    csRegularFile: (a) => !inoOf(a).shmem,
    csHoleHere: (a) => slot(a, a.l.cs_index) === SLOT_HOLE,
    csHolesBefore: (a) => Math.min(a.l.cs_iter, end(a)) > a.l.cs_index,
    csWalkDone: (a) => a.l.cs_index >= end(a),
    csSlotNeedsGetpage: (a) => {
      const v = slot(a, a.l.cs_index);
      return isSwapEntry(v) || (v >= 0 && !a.k.pages.isUptodate(a.k.pages.compoundHead(v)));
    },
    csTrylock: (a) => !a.k.pages.isLocked(a.k.pages.compoundHead(slot(a, a.l.cs_index))),
    csGetpageFailed: (a) => a.l.gp_page < 0,
    csCompoundChecked: (a) => a.k.variant('collapse_shmem_compound_check') && a.k.pages.order[a.k.pages.compoundHead(a.l.cs_page)]! > 0,
    csVmBugOnPage: (a) => {
      const k = a.k;
      const h = k.pages.compoundHead(a.l.cs_page);
      return !k.pages.isLocked(h) || !k.pages.isUptodate(h) || k.pages.order[h]! > 0;
    },
    csPageTruncated: (a) => a.k.pages.mapping[a.k.pages.compoundHead(a.l.cs_page)] !== a.l.sc_ino,
    csPageNotOnLru: (a) => !a.k.pages.isOnLru(a.l.cs_page),
    csPageMapped: (a) => a.k.pages.isMapped(a.l.cs_page),
    csCountIs3: (a) => a.k.pages.refcount[a.l.cs_page] === 3,
    csTailHoles: (a) => a.l.result === 'SCAN_SUCCEED' && a.l.cs_index < end(a),
    csListEmpty: (a) => a.l.cs_list.length === 0,
    csRbOver: (a) => a.l.cs_iter >= end(a),
    csRbIsHole: (a) => a.l.cs_list.length === 0 || a.l.cs_iter < a.k.pages.index[a.l.cs_list[0]!]!,
    csNoneLeft: (a) => a.l.cs_nr_none === 0,
    // retract_page_tables
    rtImmapWriteFree: (a) => inoOf(a).mapping.iMmap.writeFree,
    rtDone: (a) => a.l.rt_todo.length === 0,
    rtTrylock: (a) => a.k.mms[a.l.rt_todo[0]!]!.mmapLock.writeFree,
    rtPtlFree: (a) => a.k.mms[a.l.rt_todo[0]!]!.pageTableLock.free,
    rtPrepareFails: (a) => !ptesMapOnly(a, a.k.mms[a.l.rt_todo[0]!]!, a.l.rt_todo[1]!, a.l.rt_hpage),
};

/** Their actions. */
export const collapseActions: Record<string, TaskAction<C>> = {
    ...(shmemGetpageActions as Record<string, never>),
    ...(unmapActions as Record<string, never>),
    scanNextSlot: (a) => {
      const k = a.k;
      const m = inoOf(a).mapping;
      const e = end(a);
      let i = a.l.sc_index;
      while (i < e && m.lookup(i) === SLOT_HOLE) i++;
      a.l.sc_index = i + 1;
      if (i >= e) return;
      const v = m.lookup(i);
      if (isSwapEntry(v)) {
        if (++a.l.sc_swap > k.sysfs.khugepaged.max_ptes_swap && a.l.cc_khugepaged) {
          a.l.result = 'SCAN_EXCEED_SWAP_PTE';
          k.count('thp_scan_exceed_swap_pte', 1, a.ix);
        }
        return;
      }
      a.l.sc_pfn = v;
      const h = k.pages.compoundHead(v);
      if (k.pages.order[h]! > 0 && !a.l.cc_khugepaged) {
        // MADV_COLLAPSE (seed 002): "Maybe PMD-mapped" — let collapse_pte_mapped_thp() look
        a.l.sc_compound = h;
        a.l.result = k.pages.order[h] === k.HPAGE_PMD_ORDER && k.pages.index[h] === a.l.sc_start ? 'SCAN_PTE_MAPPED_HUGEPAGE' : 'SCAN_PAGE_COMPOUND';
      } else if (k.pages.order[h]! > 0) {
        // seed 003, design a: "if (collapse_pmd || test_and_clear_bit(AS_COLLAPSE_PMD, &mapping->flags))"
        if (k.variant('pte_mapped_thp_retry_as_flag') && (a.l.sc_compound >= 0 || k.mappingFlag(inoOf(a), 'AS_COLLAPSE_PMD', false, a.ix))) {
          a.l.sc_compound = h;
          a.l.result = 'SCAN_PTE_MAPPED_HUGEPAGE';
        } else a.l.result = 'SCAN_PAGE_COMPOUND';
      }
      else if (!k.pages.isOnLru(v)) a.l.result = 'SCAN_PAGE_LRU';
      else if (k.pages.pageCount(v) !== 1 + k.pages.pageMapcount(v)) a.l.result = 'SCAN_PAGE_COUNT';
      else a.l.sc_present++;
    },
    scanExceedNone: (a) => {
      a.l.result = 'SCAN_EXCEED_NONE_PTE';
      a.k.count('thp_scan_exceed_none_pte', 1, a.ix);
    },
    // collapse_shmem
    csAllocFailed: (a) => {
      a.l.result = 'SCAN_ALLOC_HUGE_PAGE_FAIL';
      a.l.alloc_failed = true;
      a.k.count('thp_collapse_alloc_failed', 1, a.ix);
    },
    csAlloc: (a) => {
      a.l.cs_new = a.k.pages.alloc(a.k.HPAGE_PMD_ORDER, false, a.ix, a.id);
      a.k.count('thp_collapse_alloc', 1, a.ix);
    },
    csChargeFailed: (a) => {
      a.l.result = 'SCAN_CGROUP_CHARGE_FAIL';
      putPageRef(a, a.l.cs_new);
      a.l.cs_new = -1;
    },
    csSetupNewPage: (a) => {
      const k = a.k;
      const p = a.l.cs_new;
      k.pages.index[p] = a.l.sc_start;
      k.pages.mapping[p] = a.l.sc_ino;
      if (inoOf(a).shmem) k.pages.setFlag(p, 'swapbacked'); // "if (is_shmem) __SetPageSwapBacked(new_page)"
      k.lockPage(p, a.ix, '__SetPageLocked');
      if (!noFreeze(k) && !k.pages.freeze(p, 1, a.ix)) k.violate('collapse_shmem', 'BUG_ON(!page_ref_freeze(new_page, 1))');
      a.l.cs_index = a.l.sc_start;
      a.l.cs_nr_none = 0;
      a.l.cs_list = [];
      a.l.cs_copied = new Uint8Array(k.HPAGE_PMD_NR);
      a.l.cs_page = -1;
      a.l.result = 'SCAN_SUCCEED';
    },
    csLockTree: (a) => a.k.spinLock(inoOf(a).mapping.treeLock, a.ix),
    csUnlockTree: (a) => a.k.spinUnlock(inoOf(a).mapping.treeLock, a.ix),
    csFillHoles: (a) => {
      const k = a.k;
      const ino = inoOf(a);
      const to = Math.min(a.l.cs_iter, end(a));
      const n = to - a.l.cs_index;
      // shmem_charge(): info->alloced += n; mapping->nrpages += n
      a.k.inodeAdd(ino, 'alloced', n, a.ix);
      a.k.inodeAdd(ino, 'nrpages', n, a.ix);
      a.l.cs_nr_none += n;
      for (; a.l.cs_index < to; a.l.cs_index++) {
        k.cacheSet(ino, a.l.cs_index, a.l.cs_new + (a.l.cs_index % k.HPAGE_PMD_NR), a.ix);
        owedSlotRef(a, 1);
      }
    },
    csReadahead: (a) => {
      // the read-in page (->readpage: the data on disk), in the page cache and on the LRU, locked, with our reference
      const k = a.k;
      const ino = inoOf(a);
      const pfn = k.pages.alloc(0, false, a.ix, a.id);
      k.setPageData(pfn, ino.expected.get(a.l.cs_index) ?? 0, 'fill', a.ix);
      k.spinLock(ino.mapping.treeLock, a.ix);
      k.pages.mapping[pfn] = ino.id;
      k.pages.index[pfn] = a.l.cs_index;
      k.pages.get(pfn, a.ix); // the page cache's reference
      k.cacheSet(ino, a.l.cs_index, pfn, a.ix);
      a.k.inodeAdd(ino, 'nrpages', 1, a.ix);
      k.count('nr_file_pages', 1, a.ix);
      k.spinUnlock(ino.mapping.treeLock, a.ix);
      k.pages.lruAdd(pfn, a.ix);
      k.pages.setUptodate(pfn, a.ix);
      k.lockPage(pfn, a.ix);
      a.l.gp_page = pfn;
    },
    csBeginGetpage: (a) => {
      Object.assign(a.l, { gp_ino: a.l.sc_ino, gp_index: a.l.cs_index, gp_sgp: 'nohuge', gp_err: '', gp_page: -1 });
    },
    csTakeGetpagePage: (a) => {
      a.l.cs_page = a.l.gp_page;
    },
    csTrylockGet: (a) => {
      const pfn = slot(a, a.l.cs_index);
      a.k.lockPage(a.k.pages.compoundHead(pfn), a.ix, 'trylock_page');
      getPageRef(a, pfn);
      a.l.cs_page = pfn;
    },
    csPageLocked: (a) => {
      a.k.trylockPageFailed(a.k.pages.compoundHead(slot(a, a.l.cs_index)), a.ix);
      a.l.result = 'SCAN_PAGE_LOCK';
    },
    csFail: (a) => {
      a.l.result = 'SCAN_FAIL';
    },
    csVmBugOn: (a) => {
      const k = a.k;
      const h = k.pages.compoundHead(a.l.cs_page);
      const what = !k.pages.isLocked(h) ? '!PageLocked' : !k.pages.isUptodate(h) ? '!PageUptodate' : 'PageTransCompound';
      k.violate('collapse_shmem', `VM_BUG_ON_PAGE(${what}(page)) for page ${hex(a.l.cs_page)} at index ${a.l.cs_index}`);
    },
    csPageCompound: (a) => {
      a.l.result = 'SCAN_PAGE_COMPOUND';
    },
    csTruncated: (a) => {
      a.l.result = 'SCAN_TRUNCATED';
    },
    csUnlockPutPage: (a) => {
      a.k.unlockPage(a.k.pages.compoundHead(a.l.cs_page), a.ix);
      putPageRef(a, a.l.cs_page);
      a.l.cs_page = -1;
    },
    csDelPageLru: (a) => {
      a.l.result = 'SCAN_DEL_PAGE_LRU';
    },
    csIsolate: (a) => {
      a.k.pages.isolate(a.l.cs_page, a.ix);
      getPageRef(a, a.l.cs_page); // isolate_lru_page takes a reference
    },
    csBeginUnmap: (a) => {
      a.l.um_ino = a.l.sc_ino;
      a.l.um_start = a.l.cs_index;
      a.l.um_end = a.l.cs_index + 1;
    },
    csAssertUnmapped: (a) => {
      if (a.k.pages.isMapped(a.l.cs_page)) {
        a.k.violate('collapse_shmem', `VM_BUG_ON_PAGE(page_mapped(page)) for page ${hex(a.l.cs_page)} at index ${a.l.cs_index}`);
      }
    },
    csFreezeReplace: (a) => {
      const k = a.k;
      k.pages.freeze(a.l.cs_page, 3, a.ix);
      a.l.cs_list.push(a.l.cs_page);
      k.cacheSet(inoOf(a), a.l.cs_index, a.l.cs_new + (a.l.cs_index % k.HPAGE_PMD_NR), a.ix);
      owedSlotRef(a, 1);
      a.l.cs_index++;
      a.l.cs_page = -1;
      setIter(a);
    },
    csPageCount: (a) => {
      a.l.result = 'SCAN_PAGE_COUNT';
    },
    csPutback: (a) => {
      // putback_lru_page: back on the LRU, and the isolation reference dropped
      const pfn = a.l.cs_page;
      a.k.pages.lruAdd(pfn, a.ix);
      putPageRef(a, pfn);
    },
    csCopyFreeOne: (a) => {
      const k = a.k;
      const page = a.l.cs_list.shift()!;
      const sub = a.l.cs_new + (k.pages.index[page]! % k.HPAGE_PMD_NR);
      k.setPageData(sub, k.pages.data[page]!, 'copy', a.ix);
      a.l.cs_copied[sub - a.l.cs_new] = 1;
      k.unlockPage(page, a.ix);
      k.pages.unfreeze(page, 1, a.ix);
      k.ref('drop', 'page', page, a.id, '', a.ix); // pin + isolation: one reference is left
      k.pages.mapping[page] = -1;
      k.pages.clearFlag(page, 'active');
      k.pages.clearFlag(page, 'unevictable');
      putPageRef(a, page);
    },
    csCounters: (a) => {
      const k = a.k;
      a.l.rt_hpage = a.l.cs_new;
      if (k.variant('collapse_shmem_clear_holes')) clearHoles(a);
      // NR_SHMEM_THPS, or NR_FILE_THPS for a regular file
      k.count(inoOf(a).shmem ? 'nr_shmem_hugepages' : 'nr_file_hugepages', 1, a.ix);
      if (a.l.cs_nr_none) {
        k.count('nr_file_pages', a.l.cs_nr_none, a.ix);
        k.count('nr_shmem', a.l.cs_nr_none, a.ix);
      }
    },
    csSetUptodate: (a) => {
      a.k.pages.setDirty(a.l.cs_new, a.ix);
      a.k.pages.setUptodate(a.l.cs_new, a.ix);
    },
    csUnfreezeNew: (a) => {
      // variant collapse_shmem_no_freeze_new_page: page_ref_add(new_page, HPAGE_PMD_NR - 1) — with the
      // allocation's, the page cache's references, owed by the slots until now
      if (noFreeze(a.k)) {
        for (let i = 1; i < a.k.HPAGE_PMD_NR; i++) a.k.pages.get(a.l.cs_new, a.ix, a.id);
        return;
      }
      a.k.pages.unfreeze(a.l.cs_new, a.k.HPAGE_PMD_NR, a.ix);
      a.k.ref('drop', 'page', a.l.cs_new, a.id, '', a.ix); // the page cache's slots hold the references now
    },
    csLruAddNew: (a) => a.k.pages.lruAdd(a.l.cs_new, a.ix),
    csUnlockNew: (a) => {
      a.k.unlockPage(a.l.cs_new, a.ix);
      // khugepaged_pages_collapsed counts khugepaged's own collapses only (cc->is_khugepaged)
      if (a.l.cc_khugepaged) a.k.khugepagedCount('pages_collapsed', a.ix);
      a.k.trace(a.ix, 'mm_collapse_huge_page', `mm=${ccMm(a).name} isolated=1 status=succeeded pfn=${hex(a.l.cs_new)}`);
      // "If MADV_COLLAPSE, adjust result to call collapse_pte_mapped_thp()" (seed 002)
      if (!a.l.cc_khugepaged) a.l.result = 'SCAN_PTE_MAPPED_HUGEPAGE';
      a.l.cs_new = -1;
    },
    csUncharge: (a) => {
      // shmem_uncharge(): info->alloced -= nr_none (nrpages is left to the caller: the seed forgets it)
      const ino = inoOf(a);
      a.k.inodeAdd(ino, 'alloced', -a.l.cs_nr_none, a.ix);
      if (a.k.variant('collapse_shmem_rollback_nrpages')) a.k.inodeAdd(ino, 'nrpages', -a.l.cs_nr_none, a.ix);
    },
    csRbBegin: (a) => {
      a.l.cs_index = a.l.sc_start;
      setIter(a);
    },
    csRbHole: (a) => {
      a.k.cacheSet(inoOf(a), a.l.cs_iter, SLOT_HOLE, a.ix);
      owedSlotRef(a, -1);
      a.l.cs_nr_none--;
      a.l.cs_index = a.l.cs_iter + 1;
      setIter(a);
    },
    csRbRestorePage: (a) => {
      const k = a.k;
      const page = a.l.cs_list.shift()!;
      if (k.pages.index[page] !== a.l.cs_iter) {
        k.violate('collapse_shmem', `VM_BUG_ON_PAGE(page->index != iter.index): ${k.pages.index[page]} vs ${a.l.cs_iter}`);
      }
      k.pages.unfreeze(page, 2, a.ix);
      k.ref('drop', 'page', page, a.id, '', a.ix); // the pin is not given back: cache + isolation remain
      k.cacheSet(inoOf(a), a.l.cs_iter, page, a.ix);
      owedSlotRef(a, -1);
      a.l.cs_page = page;
      a.l.cs_index = a.l.cs_iter + 1;
    },
    csRbUnlockPage: (a) => {
      a.k.unlockPage(a.l.cs_page, a.ix);
      a.l.cs_page = -1;
    },
    csRbIter: (a) => setIter(a),
    csRbAssertNoneLeft: (a) => {
      if (a.l.cs_nr_none !== 0) a.k.violate('collapse_shmem', `VM_BUG_ON(nr_none): ${a.l.cs_nr_none} holes not restored`);
    },
    csRbReleaseNew: (a) => {
      const k = a.k;
      if (!noFreeze(k)) k.pages.unfreeze(a.l.cs_new, 1, a.ix);
      k.unlockPage(a.l.cs_new, a.ix);
      k.pages.mapping[a.l.cs_new] = -1;
    },
    csFreeNew: (a) => {
      putPageRef(a, a.l.cs_new);
      a.l.cs_new = -1;
    },
    // retract_page_tables
    rtImmapLock: (a) => a.k.downWrite(inoOf(a).mapping.iMmap, a.ix),
    rtImmapUnlock: (a) => a.k.upWrite(inoOf(a).mapping.iMmap, a.ix),
    rtCollect: (a) => {
      const k = a.k;
      a.l.rt_todo = [];
      for (const mm of k.mms) {
        if (mm.usersState() === 'exited') continue;
        for (const v of mm.vmas) {
          if (v.file !== a.l.sc_ino) continue;
          if (a.l.sc_start < v.pgoff || a.l.sc_start >= v.pgoff + (v.end - v.start)) continue;
          const addr = v.start + (a.l.sc_start - v.pgoff);
          if (addr % k.HPAGE_PMD_NR !== 0) continue;
          if (v.end < addr + k.HPAGE_PMD_NR) continue;
          const p = addr / k.HPAGE_PMD_NR;
          if (mm.kindAt(p) !== 'pte_table') continue; // mm_find_pmd: present and not huge
          a.l.rt_todo.push(mm.id, p);
        }
      }
    },
    rtMmapWriteLock: (a) => a.k.mmapWriteLock(a.k.mms[a.l.rt_todo[0]!]!, a.ix, true), // down_write_trylock
    rtTrylockFailed: (a) => {
      const mm = a.k.mms[a.l.rt_todo[0]!]!;
      // seed 003: remember to retry — design a: one flag per address_space; design b: this pmd
      if (a.k.variant('pte_mapped_thp_retry_as_flag')) a.k.mappingFlag(inoOf(a), 'AS_COLLAPSE_PMD', true, a.ix);
      if (a.k.variant('pte_mapped_thp_retry_per_pmd')) {
        mm.ptePmdRetry.add(a.l.rt_todo[1]!);
        a.k.mmField(mm, 'pte_mapped_thp', a.ix);
      }
      a.k.bus.publish({ kind: 'lock', op: 'trylock_failed', lock: mm.mmapLock.name, actor: a.ix });
      a.k.trace(a.ix, 'retract_page_tables', `mm=${mm.name} addr=${hex(a.l.rt_todo[1]! * a.k.HPAGE_PMD_NR * 4096)} down_write_trylock failed: pte-mapped THP after re-fault`);
      a.l.rt_todo.splice(0, 2);
    },
    rtLockPtl: (a) => a.k.spinLock(a.k.mms[a.l.rt_todo[0]!]!.pageTableLock, a.ix),
    rtCollapseFlush: (a) => {
      const mm = a.k.mms[a.l.rt_todo[0]!]!;
      prepareAndFlush(a, mm, a.l.rt_todo[1]!);
    },
    rtUnlockPtlAbort: (a) => a.k.spinUnlock(a.k.mms[a.l.rt_todo[0]!]!.pageTableLock, a.ix),
    rtAbortUpWrite: (a) => {
      const mm = a.k.mms[a.l.rt_todo[0]!]!;
      a.k.trace(a.ix, 'retract_page_tables', `mm=${mm.name} addr=${hex(a.l.rt_todo[1]! * a.k.HPAGE_PMD_NR * 4096)} prepare_pmd_for_collapse failed: a pte maps another page`);
      a.k.mmapWriteUnlock(mm, a.ix);
      a.l.rt_todo.splice(0, 2);
    },
    beginRetractCompound: (a) => {
      a.l.rt_hpage = a.l.sc_compound;
    },
    rtUnlockPtl: (a) => a.k.spinUnlock(a.k.mms[a.l.rt_todo[0]!]!.pageTableLock, a.ix),
    rtUpWriteFree: (a) => {
      const mm = a.k.mms[a.l.rt_todo[0]!]!;
      a.k.mmapWriteUnlock(mm, a.ix);
      a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
      a.l.rt_todo.splice(0, 2);
    },
  
};

export const khugepagedChart: TaskChartDef<K> = {
  id: 'khugepaged',
  description: 'khugepaged: scan mm_slots, khugepaged_scan_shmem, collapse_shmem, retract_page_tables',
  initial: 'do_scan',
  states: {
    do_scan: { always: [{ guard: 'noWork', target: 'wait_work' }, { actions: 'beginPass', target: 'scan_mm_slot' }] },
    // khugepaged_wait_work with no mm_slot: wait_event_freezable(khugepaged_wait, khugepaged_wait_event())
    // until __khugepaged_enter adds one (an mm never registered is never scanned)
    wait_work: step('khugepaged_wait_work: wait_event_freezable(khugepaged_wait, khugepaged_wait_event())', {
      guard: 'hasWork', target: 'do_scan',
    }),
    scan_mm_slot: {
      always: [
        { guard: 'passDone', target: 'sleep' },
        // khugepaged_prealloc_page: after a failed allocation, sleep alloc_sleep_millisecs
        // once in this pass; a second failure ends the pass
        { guard: { and: ['allocFailed', 'allocWaited'] }, target: 'sleep' },
        { guard: 'allocFailed', target: 'alloc_sleep' },
        { guard: 'slotsWrapped', actions: 'fullScan', target: 'wrapped' },
        { guard: 'slotMmGone', actions: 'nextSlot', target: 'next_slot' },
        { guard: 'hasPtePmdRetry', target: 'collapse_pte_mapped_thps' },
        { target: 'down_read' },
      ],
    },
    // seed 003, design b (per-PMD retry, as the reviewer asks; mainline's per-mm list)
    collapse_pte_mapped_thps: { ...collapsePteMappedThps(), onDone: 'down_read' },
    wrapped: { always: [{ guard: 'allScansDone', target: 'parked' }, { target: 'scan_mm_slot' }] },
    // the scenario's bound on full scans reached: khugepaged sleeps on (the kernel's never
    // stops) — and scans again if a task's wait asks for more full scans
    parked: step('khugepaged_wait_work: the scenario\'s full_scans reached; asleep until a wait asks for more', {
      guard: { not: 'allScansDone' }, target: 'scan_mm_slot',
    }),
    alloc_sleep: step('khugepaged_prealloc_page → khugepaged_alloc_sleep: wait alloc_sleep_millisecs', {
      actions: 'allocSleep', target: 'scan_mm_slot',
    }),
    next_slot: { always: { target: 'scan_mm_slot' } },
    down_read: step('khugepaged_scan_mm_slot: down_read(&mm->mmap_sem)', {
      guard: 'mmapReadFree', actions: 'mmapReadLock', target: 'find_vma',
    }, { sleeps: 'mmap_lock' }),
    find_vma: {
      always: [
        { guard: 'haveVma', actions: 'noteVma', target: 'up_read_for_file' },
        { target: 'mm_done' },
      ],
    },
    up_read_for_file: step('khugepaged_scan_mm_slot: get_file; pgoff = linear_page_index(vma, address); up_read(&mm->mmap_sem)', {
      actions: 'beginScanShmem', target: 'scan_shmem',
    }),
    scan_shmem: { ...khugepagedScanShmem(), onDone: 'after_file' },
    after_file: { always: { actions: 'afterFile', target: 'scan_mm_slot' } },
    mm_done: step('khugepaged_scan_mm_slot: up_read(&mm->mmap_sem); move to the next mm_slot', {
      actions: ['mmapReadUnlock', 'nextSlot'], target: 'scan_mm_slot',
    }),
    sleep: step('khugepaged_wait_work: wait scan_sleep_millisecs', {
      actions: 'sleepAfterPass', target: 'do_scan',
    }),
    done: final,
  },
  guards: {
    ...collapseGuards,
    passDone: (a) => a.l.progress >= a.k.sysfs.khugepaged.pages_to_scan || a.l.pass_through_head >= 2,
    allocFailed: (a) => a.l.alloc_failed,
    allocWaited: (a) => a.l.alloc_waited,
    slotsWrapped: (a) => a.l.slot >= a.k.khugepagedMmSlots.length,
    // khugepaged_has_work(): an mm_slot on the list (and khugepaged enabled)
    noWork: (a) => a.k.khugepagedMmSlots.length === 0 || a.k.sysfs.enabled === 'never',
    hasWork: (a) => a.k.khugepagedMmSlots.length > 0 && a.k.sysfs.enabled !== 'never',
    // (and every task's wait for more scans satisfied: the kernel's khugepaged never stops)
    allScansDone: (a) => a.k.khugepaged.full_scans >= Math.max(a.l.full_scans_target, a.k.khugepagedScansWanted),
    slotMmGone: (a) => mmOf(a).usersState() !== 'live' || mmOf(a).forking,
    mmapReadFree: (a) => mmOf(a).mmapLock.readFree,
    // khugepaged_test_exit(mm) after down_read: an exiting mm has no vma to scan
    haveVma: (a) => mmOf(a).usersState() === 'live' && findVma(a) !== null,
    hasPtePmdRetry: (a) => a.k.variant('pte_mapped_thp_retry_per_pmd') && mmOf(a).ptePmdRetry.size > 0,
    cpTrylock: (a) => mmOf(a).mmapLock.writeFree,
    cpDone: (a) => a.l.cp_todo.length === 0,
    cpNoHugePage: (a) => cpHugePage(a) < 0,
    cpPageUnlocked: (a) => !a.k.pages.isLocked(cpHugePage(a)),
    cpPtlFree: (a) => mmOf(a).pageTableLock.free,
    cpCollapsible: (a) => {
      const mm = mmOf(a);
      const p = a.l.cp_todo[0]!;
      return mm.kindAt(p) === 'pte_table' && ptesMapOnly(a, mm, p, a.l.cp_hpage);
    },
  },
  actions: {
    ...collapseActions,
    beginPass: (a) => {
      a.l.progress = 0;
      a.l.alloc_waited = false;
      a.l.pass_through_head = a.l.slot === 0 && a.l.address === 0 ? 1 : 0;
    },
    fullScan: (a) => {
      a.k.khugepagedCount('full_scans', a.ix);
      a.l.slot = 0;
      a.l.address = 0;
      a.l.pass_through_head++;
    },
    allocSleep: (a) => {
      a.l.alloc_failed = false;
      a.l.alloc_waited = true;
      a.wakeAt = a.k.now + a.k.sysfs.khugepaged.alloc_sleep_millisecs * 1_000_000;
    },
    nextSlot: (a) => {
      a.l.slot++;
      a.l.address = 0;
    },
    mmapReadLock: (a) => a.k.mmapReadLock(mmOf(a), a.ix),
    mmapReadUnlock: (a) => a.k.mmapReadUnlock(mmOf(a), a.ix),
    noteVma: (a) => {
      const f = findVma(a)!;
      a.l.vma_file = f.vma.file;
      a.l.vma_pgoff = f.vma.pgoff;
      a.l.vma_start = f.vma.start;
      a.l.hstart = f.hstart;
      a.l.hend = f.hend;
    },
    beginScanShmem: (a) => {
      const k = a.k;
      a.l.address = Math.max(a.l.address, a.l.hstart);
      a.k.mmapReadUnlock(mmOf(a), a.ix);
      a.l.cc_mm = a.k.khugepagedMmSlots[a.l.slot]!;
      a.l.cc_khugepaged = true;
      a.l.sc_ino = a.l.vma_file;
      a.l.sc_start = a.l.vma_pgoff + (a.l.address - a.l.vma_start);
      a.l.sc_index = a.l.sc_start;
      a.l.sc_present = 0;
      a.l.sc_swap = 0;
      a.l.sc_pfn = -1;
      a.l.sc_compound = -1;
      a.l.result = 'SCAN_SUCCEED';
      if (a.l.sc_start % k.HPAGE_PMD_NR !== 0) k.violate('khugepaged', `VM_BUG_ON(start & (HPAGE_PMD_NR - 1)): start ${a.l.sc_start}`);
    },
    afterFile: (a) => {
      traceScanFile(a);
      a.l.address += NR(a);
      a.l.progress += NR(a);
    },
    sleepAfterPass: (a) => {
      a.l.alloc_failed = false;
      a.wakeAt = a.k.now + a.k.sysfs.khugepaged.scan_sleep_millisecs * 1_000_000;
    },
    cpBegin: (a) => {
      const mm = mmOf(a);
      a.k.mmapWriteLock(mm, a.ix, true); // down_write_trylock
      a.l.cp_todo = [...mm.ptePmdRetry].sort((x, y) => x - y);
      mm.ptePmdRetry.clear();
      a.k.mmField(mm, 'pte_mapped_thp', a.ix);
    },
    cpSkip: (a) => {
      a.l.cp_todo.shift();
    },
    cpGetLock: (a) => {
      a.l.cp_hpage = cpHugePage(a);
      getPageRef(a, a.l.cp_hpage);
      a.k.lockPage(a.l.cp_hpage, a.ix);
    },
    cpLockPtl: (a) => a.k.spinLock(mmOf(a).pageTableLock, a.ix),
    cpUnlockPtl: (a) => a.k.spinUnlock(mmOf(a).pageTableLock, a.ix),
    cpCollapse: (a) => {
      const mm = mmOf(a);
      prepareAndFlush(a, mm, a.l.cp_todo[0]!, true);
      a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
      a.k.trace(a.ix, 'collapse_pte_mapped_thp', `mm=${mm.name} addr=${hex(a.l.cp_todo[0]! * a.k.HPAGE_PMD_NR * 4096)} pte table retracted`);
    },
    cpAbort: (a) => {
      a.k.trace(a.ix, 'collapse_pte_mapped_thp', `mm=${mmOf(a).name} addr=${hex(a.l.cp_todo[0]! * a.k.HPAGE_PMD_NR * 4096)} fallback: a pte maps another page`);
    },
    cpDrop: (a) => {
      a.k.unlockPage(a.l.cp_hpage, a.ix);
      putPageRef(a, a.l.cp_hpage);
      a.l.cp_hpage = -1;
      a.l.cp_todo.shift();
    },
    cpUpWrite: (a) => a.k.mmapWriteUnlock(mmOf(a), a.ix),
  },
};

/**
 * prepare_pmd_for_collapse (seed 003) step 1: every present pte of the range maps the
 * matching subpage of hpage. Without a retry design selected (seed 000 as posted) the
 * page table is assumed clear, and the pmd chart refuses to free one that is not.
 */
function ptesMapOnly(a: C, mm: MmStruct, pmdIx: number, hpage: number): boolean {
  const k = a.k;
  if (!retryDesign(k)) return true;
  const ptes = mm.pmds.get(pmdIx)?.ptes;
  if (!ptes) return true;
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    const pfn = ptes[i]!;
    if (pfn !== PTE_NONE && pfn !== hpage + i) return false;
  }
  return true;
}

const retryDesign = (k: Kernel) => k.variant('pte_mapped_thp_retry_as_flag') || k.variant('pte_mapped_thp_retry_per_pmd');

/**
 * prepare_pmd_for_collapse steps 2-3 (page_remove_rmap for each pte, page_ref_sub(hpage,
 * count), add_mm_counter(-count)), then pmdp_collapse_flush: the pte table goes. The
 * page table lock is held.
 */
export function prepareAndFlush(a: Actor, mm: MmStruct, pmdIx: number, removePtes = retryDesign(a.k)): void {
  const k = a.k;
  const p = mm.pmds.get(pmdIx)!;
  if (removePtes && p.ptes) {
    const base = pmdIx * k.HPAGE_PMD_NR;
    let count = 0;
    let head = -1;
    for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
      const pfn = p.ptes[i]!;
      if (pfn === PTE_NONE) continue;
      k.setPte(mm, base + i, PTE_NONE, false, a.ix);
      k.pages.unmapPte(pfn, a.ix);
      head = k.pages.compoundHead(pfn);
      count++;
    }
    for (let i = 0; i < count; i++) k.pages.put(head, a.ix); // page_ref_sub(hpage, count)
    if (count) k.addMmCounter(mm, k.mmCounterFile(head), -count, a.ix);
  }
  k.pmdCmd(mm, pmdIx, 'PMDP_CLEAR', -1, a.ix);
}

/** The huge page the page cache holds at the file offset pmd cp_todo[0] maps, or -1. */
function cpHugePage(a: K): number {
  const k = a.k;
  const mm = mmOf(a);
  const vpn = a.l.cp_todo[0]! * k.HPAGE_PMD_NR;
  const f = k.fileOffset(mm, vpn);
  if (!f || mm.kindAt(a.l.cp_todo[0]!) !== 'pte_table') return -1;
  const v = f.ino.mapping.lookup(f.index);
  if (v < 0) return -1;
  const h = k.pages.compoundHead(v);
  return h === v && k.pages.order[h] === k.HPAGE_PMD_ORDER && k.pages.index[h] === f.index ? h : -1;
}

/** The radix-tree iterator found no entry at or after the index. */
const NO_ENTRY = Number.MAX_SAFE_INTEGER;

/**
 * The next present slot at or after cs_index — radix_tree_for_each_slot is not bounded
 * by `end`: it stops at the first entry beyond it, or finds none at all (NO_ENTRY).
 */
function setIter(a: C): void {
  const m = inoOf(a).mapping;
  const n = m.slots.length;
  let i = a.l.cs_index;
  while (i < n && m.lookup(i) === SLOT_HOLE) i++;
  a.l.cs_iter = i < n ? i : NO_ENTRY;
}

/**
 * Variant collapse_shmem_clear_holes: clear_highpage() every subpage that stood for a
 * hole (mainline clears them in the copy loop; the new page is frozen and locked
 * throughout, so doing it once before it is exposed is the same to every other CPU).
 */
function clearHoles(a: C): void {
  const k = a.k;
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) if (!a.l.cs_copied[i]) k.setPageData(a.l.cs_new + i, 0, 'clear', a.ix);
}

/** The next VMA of the current mm that khugepaged may collapse in, with address in its aligned range. */
function findVma(a: K): { vma: Vma; hstart: number; hend: number } | null {
  const mm = mmOf(a);
  const n = a.k.HPAGE_PMD_NR;
  const vmas = [...mm.vmas].sort((x, y) => x.start - y.start);
  for (const v of vmas) {
    if (v.end <= a.l.address) continue;
    if (!khugepagedVmaCheck(a, v)) continue;
    const hstart = Math.ceil(v.start / n) * n;
    const hend = Math.floor(v.end / n) * n;
    if (hstart >= hend) continue;
    if (Math.max(a.l.address, hstart) >= hend) continue;
    return { vma: v, hstart, hend };
  }
  return null;
}

function traceScanFile(a: C): void {
  a.k.trace(
    a.ix,
    'mm_khugepaged_scan_file',
    `mm=${ccMm(a).name} pfn=${a.l.sc_pfn < 0 ? '-1' : hex(a.l.sc_pfn)} filename=${inoOf(a).name} present=${a.l.sc_present} swap=${a.l.sc_swap} result=${SCAN_STRINGS[a.l.result]}`,
  );
  a.k.bus.publish({ kind: 'scan', result: a.l.result, ino: a.l.sc_ino, start: a.l.sc_start, actor: a.ix });
}
