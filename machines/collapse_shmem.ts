/**
 * Seed 000's collapse context, shared by khugepaged and a MADV_COLLAPSE caller (one
 * definition, embedded by both: a fix variant reaches every caller): khugepaged_scan_shmem
 * (the lockless RCU walk), collapse_shmem (every step of the diff, success and rollback)
 * and retract_page_tables (down_write_trylock of mmap_sem), with seed 003's
 * prepare_pmd_for_collapse. Split out of machines/khugepaged.ts by kernel function.
 */
import { type BoundedArray, array, bool, fields, int, str } from '../src/vector/struct.ts';
import { shmemLocalsFields } from './shmem.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import { type MmStruct, PTE_NONE, hasPteTable } from '../src/memory/mm.ts';
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
  get cs_list(): BoundedArray;
  set cs_list(v: Iterable<number>);
  cs_page: number;
  /** Which subpages of the new page received an old page's data (the rest stood for holes). */
  get cs_copied(): BoundedArray;
  set cs_copied(v: Iterable<number>);
  /** The next present slot the radix-tree iterator stands on. */
  cs_iter: number;
  // retract_page_tables: [mm id, pmd index] pairs still to try, and the huge page (hpage) to map
  get rt_todo(): BoundedArray;
  set rt_todo(v: Iterable<number>);
  rt_hpage: number;
  /** *hpage is an error: the last huge page allocation failed (khugepaged_prealloc_page). */
  alloc_failed: boolean;
}
export const collapseLocalsFields = fields<CollapseLocals>({
  ...shmemLocalsFields,
  cc_mm: int(-1), cc_khugepaged: bool(), sc_ino: int(-1), sc_start: int(), sc_index: int(), sc_present: int(), sc_swap: int(), sc_pfn: int(-1),
  result: str('SCAN_SUCCEED'), sc_compound: int(-1), cs_new: int(-1), cs_index: int(), cs_nr_none: int(),
  cs_list: array('HPAGE_PMD_NR: the pages of one huge page', (b) => b.hpagePmdNr), cs_page: int(-1),
  cs_copied: array('HPAGE_PMD_NR: the subpages of one huge page', (b) => b.hpagePmdNr), cs_iter: int(),
  rt_todo: array('2 × the pmds every mm maps files at: (mm, pmd) pairs', (b) => 2 * b.filePmds), rt_hpage: int(-1), alloc_failed: bool(),
});

export type C = Actor<CollapseLocals>;
export const inoOf = (a: C): Inode => a.k.inodes[a.l.sc_ino]!;
const slot = (a: C, i: number) => inoOf(a).mapping.lookup(i);
export const NR = (a: C) => a.k.HPAGE_PMD_NR;
const end = (a: C) => a.l.sc_start + NR(a);
const ccMm = (a: C): MmStruct => a.k.mms[a.l.cc_mm]!;

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
export function collapseShmem(): StateDef {
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

/** retract_page_tables(mapping, pgoff) as posted. */
export function retractPageTables(): StateDef {
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
    csRbIsHole: (a) => a.l.cs_list.length === 0 || a.l.cs_iter < a.k.pages.index[a.l.cs_list.at(0)!]!,
    csNoneLeft: (a) => a.l.cs_nr_none === 0,
    // retract_page_tables
    rtImmapWriteFree: (a) => inoOf(a).mapping.iMmap.writeFree,
    rtDone: (a) => a.l.rt_todo.length === 0,
    rtTrylock: (a) => a.k.mms[a.l.rt_todo.at(0)!]!.mmapLock.writeFree,
    rtPtlFree: (a) => a.k.mms[a.l.rt_todo.at(0)!]!.pageTableLock.free,
    rtPrepareFails: (a) => !ptesMapOnly(a, a.k.mms[a.l.rt_todo.at(0)!]!, a.l.rt_todo.at(1)!, a.l.rt_hpage),
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
      k.pages.setIndex(p, a.l.sc_start);
      k.pages.setMapping(p, a.l.sc_ino);
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
      k.pages.setMapping(pfn, ino.id);
      k.pages.setIndex(pfn, a.l.cs_index);
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
      a.l.cs_copied.set(sub - a.l.cs_new, 1);
      k.unlockPage(page, a.ix);
      k.pages.unfreeze(page, 1, a.ix);
      k.ref('drop', 'page', page, a.id, '', a.ix); // pin + isolation: one reference is left
      k.pages.setMapping(page, -1);
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
      k.pages.setMapping(a.l.cs_new, -1);
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
    rtMmapWriteLock: (a) => a.k.mmapWriteLock(a.k.mms[a.l.rt_todo.at(0)!]!, a.ix, true), // down_write_trylock
    rtTrylockFailed: (a) => {
      const mm = a.k.mms[a.l.rt_todo.at(0)!]!;
      // seed 003: remember to retry — design a: one flag per address_space; design b: this pmd
      if (a.k.variant('pte_mapped_thp_retry_as_flag')) a.k.mappingFlag(inoOf(a), 'AS_COLLAPSE_PMD', true, a.ix);
      if (a.k.variant('pte_mapped_thp_retry_per_pmd')) {
        mm.ptePmdRetry.add(a.l.rt_todo.at(1)!);
        a.k.mmField(mm, 'pte_mapped_thp', a.ix);
      }
      a.k.bus.publish({ kind: 'lock', op: 'trylock_failed', lock: mm.mmapLock.name, actor: a.ix });
      a.k.trace(a.ix, 'retract_page_tables', `mm=${mm.name} addr=${hex(a.l.rt_todo.at(1)! * a.k.HPAGE_PMD_NR * 4096)} down_write_trylock failed: pte-mapped THP after re-fault`);
      a.l.rt_todo.splice(0, 2);
    },
    rtLockPtl: (a) => a.k.spinLock(a.k.mms[a.l.rt_todo.at(0)!]!.pageTableLock, a.ix),
    rtCollapseFlush: (a) => {
      const mm = a.k.mms[a.l.rt_todo.at(0)!]!;
      prepareAndFlush(a, mm, a.l.rt_todo.at(1)!);
    },
    rtUnlockPtlAbort: (a) => a.k.spinUnlock(a.k.mms[a.l.rt_todo.at(0)!]!.pageTableLock, a.ix),
    rtAbortUpWrite: (a) => {
      const mm = a.k.mms[a.l.rt_todo.at(0)!]!;
      a.k.trace(a.ix, 'retract_page_tables', `mm=${mm.name} addr=${hex(a.l.rt_todo.at(1)! * a.k.HPAGE_PMD_NR * 4096)} prepare_pmd_for_collapse failed: a pte maps another page`);
      a.k.mmapWriteUnlock(mm, a.ix);
      a.l.rt_todo.splice(0, 2);
    },
    beginRetractCompound: (a) => {
      a.l.rt_hpage = a.l.sc_compound;
    },
    rtUnlockPtl: (a) => a.k.spinUnlock(a.k.mms[a.l.rt_todo.at(0)!]!.pageTableLock, a.ix),
    rtUpWriteFree: (a) => {
      const mm = a.k.mms[a.l.rt_todo.at(0)!]!;
      a.k.mmapWriteUnlock(mm, a.ix);
      a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
      a.l.rt_todo.splice(0, 2);
    },
  
};

/**
 * prepare_pmd_for_collapse (seed 003) step 1: every present pte of the range maps the
 * matching subpage of hpage. Without a retry design selected (seed 000 as posted) the
 * page table is assumed clear, and the pmd chart refuses to free one that is not.
 */
export function ptesMapOnly(a: C, mm: MmStruct, pmdIx: number, hpage: number): boolean {
  const k = a.k;
  if (!retryDesign(k)) return true;
  const p = mm.pmds.get(pmdIx);
  if (!p || !hasPteTable(p)) return true;
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    const pfn = p.ptes.at(i)!;
    if (pfn !== PTE_NONE && pfn !== hpage + i) return false;
  }
  return true;
}

export const retryDesign = (k: Kernel) => k.variant('pte_mapped_thp_retry_as_flag') || k.variant('pte_mapped_thp_retry_per_pmd');

/**
 * prepare_pmd_for_collapse steps 2-3 (page_remove_rmap for each pte, page_ref_sub(hpage,
 * count), add_mm_counter(-count)), then pmdp_collapse_flush: the pte table goes. The
 * page table lock is held.
 */
export function prepareAndFlush(a: Actor, mm: MmStruct, pmdIx: number, removePtes = retryDesign(a.k)): void {
  const k = a.k;
  const p = mm.pmds.get(pmdIx)!;
  if (removePtes && hasPteTable(p)) {
    const base = pmdIx * k.HPAGE_PMD_NR;
    let count = 0;
    let head = -1;
    for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
      const pfn = p.ptes.at(i)!;
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
/** The radix-tree iterator found no entry at or after the index. */
const NO_ENTRY = Number.MAX_SAFE_INTEGER;

/**
 * The next present slot at or after cs_index — radix_tree_for_each_slot is not bounded
 * by `end`: it stops at the first entry beyond it, or finds none at all (NO_ENTRY).
 */
function setIter(a: C): void {
  const m = inoOf(a).mapping;
  const n = m.nrSlots;
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
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) if (!a.l.cs_copied.at(i)) k.setPageData(a.l.cs_new + i, 0, 'clear', a.ix);
}

export function traceScanFile(a: C): void {
  a.k.trace(
    a.ix,
    'mm_khugepaged_scan_file',
    `mm=${ccMm(a).name} pfn=${a.l.sc_pfn < 0 ? '-1' : hex(a.l.sc_pfn)} filename=${inoOf(a).name} present=${a.l.sc_present} swap=${a.l.sc_swap} result=${SCAN_STRINGS[a.l.result]}`,
  );
  a.k.bus.publish({ kind: 'scan', result: a.l.result, ino: a.l.sc_ino, start: a.l.sc_start, actor: a.ix });
}
