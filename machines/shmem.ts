/**
 * shmem/tmpfs as the seeds' kernels run it (v4.8-era mm/shmem.c, mm/memory.c,
 * mm/truncate.c): shmem_getpage_gfp() finding, swapping in or instantiating a page,
 * read(2)/write(2) through the page cache, truncation and hole punch (shmem_undo_range
 * with unmap_mapping_range). The shmem fault is in shmem_fault.ts, swap-out by reclaim
 * (shmem_writepage) in shmem_reclaim.ts.
 *
 * These are compound states that task charts embed as calls, with their locals in
 * ShmemLocals.
 */
import { type BoundedArray, array, bool, fields, int, str } from '../src/vector/struct.ts';
import { hugeteamLocalsFields } from './shmem_hugeteam.ts';
import { shmemHugeLocalsFields } from './shmem_huge.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import { type MmStruct, PTE_NONE, pmdKind } from '../src/memory/mm.ts';
import {
  type HugeteamLocals, disbandActions, disbandGuards, hugeteamActions, hugeteamGuards, shmemDisbandHugeteamStates,
} from './shmem_hugeteam.ts';
import { type ShmemHugeLocals, shmemHugeActions, shmemHugeGuards } from './shmem_huge.ts';

/**
 * Which caller shmem_getpage_gfp() serves (enum sgp_type): SGP_READ, SGP_WRITE, SGP_CACHE
 * for a fault, SGP_NOHUGE for collapse_shmem, and huge tmpfs's SGP_TEAM ("may exceed
 * i_size, may make team page Uptodate") for recovery.
 */
export type Sgp = 'read' | 'write' | 'fault' | 'nohuge' | 'team';

export interface ShmemLocals extends HugeteamLocals, ShmemHugeLocals {
  // shmem_getpage_gfp(inode, index, &page, sgp)
  gp_ino: number;
  gp_index: number;
  gp_sgp: Sgp;
  /** The page found or made (a subpage pfn as the slot holds it), locked and with a reference; -1 if none. */
  gp_page: number;
  gp_err: '' | 'EINVAL' | 'ENOMEM' | 'hole';
  gp_entry: number;
  gp_new: number;
  /** This call instantiated the page (alloced in shmem_getpage_gfp). */
  gp_alloced: boolean;
  // unmap_mapping_range(mapping, start, end)
  um_ino: number;
  um_start: number;
  um_end: number;
  /** [mm id, pmd index] pairs still to zap. */
  get um_todo(): BoundedArray;
  set um_todo(v: Iterable<number>);
  // shmem_undo_range(inode, start, end)
  ur_ino: number;
  ur_start: number;
  ur_end: number;
  ur_index: number;
  ur_page: number;
  ur_op: 'truncate' | 'punch';
  /** This pass found something to remove (truncation restarts until a pass finds nothing). */
  ur_found: boolean;
}
export const shmemLocalsFields = fields<ShmemLocals>({
  ...hugeteamLocalsFields,
  ...shmemHugeLocalsFields,
  gp_entry: int(),
  um_ino: int(-1), um_start: int(), um_end: int(), um_todo: array('2 × the pmds every mm maps files at: (mm, pmd) pairs', (b) => 2 * b.filePmds),
  ur_ino: int(-1), ur_start: int(), ur_end: int(), ur_index: int(), ur_page: int(-1), ur_op: str('truncate'), ur_found: bool(),
});

export type A = Actor<ShmemLocals>;


// ---- helpers -----------------------------------------------------------------------------

export const ino = (a: A, id: number): Inode => a.k.inodes[id]!;
export const slotOf = (a: A, id: number, index: number): number => ino(a, id).mapping.lookup(index);

/** The head of the page a slot value points at. */
export const headOf = (k: Kernel, pfn: number) => k.pages.compoundHead(pfn);

/** page_mapping(page) == mapping && page->index covers `index`. */
export function stillCached(k: Kernel, pfn: number, inodeId: number, index: number): boolean {
  const h = headOf(k, pfn);
  if (k.pages.mapping[h] !== inodeId) return false;
  const nr = 1 << k.pages.order[h]!;
  return index >= k.pages.index[h]! && index < k.pages.index[h]! + nr;
}

/** The anon-ref bookkeeping every page reference taken by an actor carries. */
export function getPageRef(a: Actor, pfn: number): void {
  a.k.pages.get(pfn, a.ix, a.id);
}
export function putPageRef(a: Actor, pfn: number): void {
  a.k.pages.put(pfn, a.ix, a.id);
}

/** Inserts a page into the page cache (shmem_add_to_page_cache), under the tree lock. */
export function addToPageCache(a: Actor, inode: Inode, index: number, pfn: number): void {
  const k = a.k;
  k.pages.setMapping(pfn, inode.id);
  k.pages.setIndex(pfn, index);
  k.pages.get(pfn, a.ix); // the page cache's reference
  k.cacheSet(inode, index, pfn, a.ix);
  a.k.inodeAdd(inode, 'nrpages', 1, a.ix);
  k.count('nr_file_pages', 1, a.ix);
  k.count('nr_shmem', 1, a.ix);
}

/** VMAs mapping file `inodeId` at page offsets overlapping [start, end): [mm, first vpn, last vpn + 1]. */
export function fileMappings(k: Kernel, inodeId: number, start: number, end: number): [MmStruct, number, number][] {
  const out: [MmStruct, number, number][] = [];
  for (const mm of k.mms) {
    if (mm.usersState() === 'exited') continue;
    for (const v of mm.vmas) {
      if (v.file !== inodeId) continue;
      const lo = Math.max(start, v.pgoff);
      const hi = Math.min(end, v.pgoff + (v.end - v.start));
      if (lo < hi) out.push([mm, v.start + (lo - v.pgoff), v.start + (hi - v.pgoff)]);
    }
  }
  return out;
}

// ---- shmem_getpage_gfp ---------------------------------------------------------------------

/** shmem_getpage_gfp(): returns through `returned` with l.gp_page locked and referenced, or l.gp_err. */
export function shmemGetpageStates(): StateDef {
  const ready = 'gpSlotNotFrozen';
  return {
    meta: { kernel: 'shmem_getpage_gfp' },
    initial: 'find_lock_entry',
    states: {
      // find_get_entry() retries while page_cache_get_speculative() fails on a frozen
      // page: the task spins, i.e. cannot progress until the page is unfrozen or replaced.
      find_lock_entry: step('shmem_getpage_gfp: page = find_lock_entry(mapping, index) (find_get_entry under RCU)', [
        { guard: { and: [ready, 'gpBeyondEof'] }, actions: 'gpEinval', target: 'returned' },
        { guard: { and: [ready, 'gpSlotIsPage'] }, actions: 'gpGetSlotPage', target: 'lock_page' },
        { guard: { and: [ready, 'gpSlotIsSwap'] }, actions: 'gpNoteSwapEntry', target: 'swapin_alloc' },
        { guard: { and: [ready, 'gpReadHole'] }, actions: 'gpHole', target: 'returned' },
        { guard: { and: [ready, 'gpHugeMount'] }, actions: 'gpAllocBegin', target: 'hugeteam_lookup' },
        // shmem_huge / sbinfo->huge / sgp_huge say alloc_huge (machines/shmem_huge.ts)
        { guard: { and: [ready, 'gpHugeAllowed'] }, actions: 'gpAllocBegin', target: 'huge_lookup' },
        { guard: ready, actions: 'gpAllocBegin', target: 'alloc' },
      ], { spins: 'page_frozen' }),
      huge_lookup: step('shmem_alloc_hugepage: rcu_read_lock(); radix_tree_gang_lookup_slot(hindex, 1): an entry below hindex + HPAGE_PMD_NR → return NULL (alloc_nohuge); rcu_read_unlock()', [
        { guard: 'gpExtentEmpty', target: 'alloc_hugepage' },
        { target: 'alloc' },
      ]),
      alloc_hugepage: step('shmem_alloc_hugepage: alloc_pages_vma(HPAGE_PMD_ORDER) (else THP_FILE_FALLBACK, alloc_nohuge); prep_transhuge_page; __SetPageLocked; __SetPageSwapBacked', [
        { guard: 'injectedFailure', actions: 'gpHugeAllocFailed', target: 'alloc' },
        { actions: 'gpAllocHugePage', target: 'charge' },
      ], { inject: 'shmem_alloc_hugepage', sleeps: 'alloc_pages' }),
      // huge tmpfs (seed 001): shmem_alloc_page with a hugehint (machines/shmem_hugeteam.ts)
      hugeteam_lookup: step('shmem_alloc_page: rcu_read_lock(); *hugehint = shmem_hugeteam_lookup(mapping, index, true); rcu_read_unlock()', {
        actions: 'gpHugeteamLookup', target: 'hint_route',
      }),
      hint_route: {
        always: [
          { guard: 'gpHintIsHuge', target: 'alloc_huge' },
          { guard: 'gpHintIsTeamPage', target: 'team_lock_page' },
          { target: 'alloc' },
        ],
      },
      alloc_huge: step('shmem_alloc_page: alloc_pages_vma(HPAGE_PMD_ORDER); split_page; head->team_usage = TEAM_LRU_WEIGHT_ONE; __SetPageTeam(head); head->mapping, head->index; get_page(page); __SetPageLocked(page)', [
        // no huge page: a small one, the hint still SHMEM_ALLOC_HUGE_PAGE (confirmed under the tree lock)
        { guard: 'injectedFailure', target: 'alloc' },
        { actions: 'gpAllocHugeTeam', target: 'charge' },
      ], { inject: 'alloc_huge_page', sleeps: 'alloc_pages' }),
      team_lock_page: step('shmem_alloc_page: lock_page(page); if (!PageSwapBacked(page) && PageTeam(head)) goto out; else unlock_page, put_page, SHMEM_ALLOC_SMALL_PAGE', [
        { guard: { and: ['gpHintPageUnlocked', 'gpTeamPageUsable'] }, actions: 'gpTakeTeamPage', target: 'charge' },
        { guard: 'gpHintPageUnlocked', actions: 'gpDropTeamPage', target: 'alloc' },
      ], { sleeps: 'lock_page' }),
      lock_page: step('find_lock_entry: lock_page(page)', {
        guard: 'gpPageUnlocked', actions: 'gpLockPage', target: 'check_mapping',
      }, { sleeps: 'lock_page' }),
      check_mapping: {
        always: [
          // "Has the page been truncated?" — unlock, put, and look again
          { guard: 'gpPageTruncated', actions: 'gpUnlockPutPage', target: 'find_lock_entry' },
          { target: 'eof_check' },
        ],
      },
      // "Perhaps the file has been truncated since we checked" (sgp <= SGP_CACHE)
      eof_check: {
        always: [
          // "if (alloced && !PageTeam(page)) delete_from_page_cache(page)": a team page stays
          { guard: { and: ['gpTruncatedSince', 'gpAlloced', { not: 'gpNewIsTeam' }] }, target: 'eof_delete' },
          // variant shmem_getpage_disband_truncated: the team disbanded first, then the page deleted like any other
          { guard: { and: ['gpTruncatedSince', 'gpAlloced', 'gpDisbandTruncated'] }, actions: 'gpDisbandBegin', target: 'eof_disband' },
          { guard: 'gpTruncatedSince', actions: ['gpUnlockPutPage', 'gpEinval'], target: 'returned' },
          { target: 'returned' },
        ],
      },
      eof_disband: { ...shmemDisbandHugeteamStates(unmapMappingRangeStates()), onDone: 'eof_disbanded' },
      eof_disbanded: {
        always: [
          { guard: { not: 'gpNewIsTeam' }, target: 'eof_delete' },
          // variant shmem_getpage_disband_truncated_retry: the head was locked by another
          // (its own disband, a truncation's): unlock_page(page), then lock_page(page) again —
          // find_lock_entry's lock_page and its "Has the page been truncated?" — and check again
          { guard: 'gpDisbandRetry', actions: 'gpUnlockPage', target: 'lock_page' },
          // the disband did not succeed (the head was locked): left as posted
          { actions: ['gpUnlockPutPage', 'gpEinval'], target: 'returned' },
        ],
      },
      eof_delete: step('shmem_getpage_gfp: ClearPageDirty; delete_from_page_cache(page) (every subpage of a huge one); shmem_recalc_inode; -EINVAL', {
        guard: 'gpTreeLockFree', actions: ['gpDeleteAlloced', 'gpUnlockPutPage', 'gpEinval'], target: 'returned',
      }),
      alloc: step('shmem_getpage_gfp: page = shmem_alloc_page(gfp, info, index); __SetPageLocked', [
        { guard: 'injectedFailure', actions: 'gpEnomem', target: 'returned' },
        { actions: 'gpAllocPage', target: 'charge' },
      ], { inject: 'alloc_page', sleeps: 'alloc_pages' }),
      charge: step('shmem_getpage_gfp: mem_cgroup_try_charge(page, ...)', [
        // a compound page: unacct → unlock_page, put_page, goto alloc_nohuge
        { guard: { and: ['injectedFailure', 'gpNewIsHuge'] }, actions: ['gpFreeNewPage', 'gpHugeChargeFailed'], target: 'alloc' },
        { guard: { and: ['injectedFailure', 'gpAllocedHuge'] }, actions: ['gpFreeNewPage', 'gpEnomem'], target: 'disband_huge' },
        { guard: 'injectedFailure', actions: ['gpFreeNewPage', 'gpEnomem'], target: 'returned' },
        { target: 'tree_lock' },
      ], { inject: 'mem_cgroup_charge', sleeps: 'mem_cgroup_charge' }),
      tree_lock: step('shmem_add_to_page_cache: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'gpTreeLockFree', actions: 'gpLockTree', target: 'add_to_page_cache',
      }),
      add_to_page_cache: step('shmem_add_to_page_cache: (hugehint confirmed by shmem_hugeteam_lookup;) radix_tree_insert (a PageTransHuge page: every subpage if no entry is in the extent, THP_FILE_ALLOC, NR_SHMEM_THPS); shmem_added_to_hugeteam or get_page; nrpages++; NR_FILE_PAGES, NR_SHMEM; spin_unlock_irq', [
        { guard: { and: ['gpNewIsHuge', 'gpExtentEmpty'] }, actions: ['gpAddHugePage', 'gpUnlockTree'], target: 'lru_add' },
        // -EEXIST for the huge page: unacct → unlock_page, put_page, goto alloc_nohuge
        { guard: 'gpNewIsHuge', actions: ['gpUnlockTree', 'gpFreeNewPage'], target: 'alloc' },
        { guard: { and: ['gpSlotIsHole', 'gpHintConfirmed', 'gpNewIsTeamPage'] }, actions: ['gpAddTeamPage', 'gpUnlockTree'], target: 'lru_add' },
        { guard: { and: ['gpSlotIsHole', 'gpHintConfirmed'] }, actions: ['gpAddNewPage', 'gpUnlockTree'], target: 'lru_add' },
        // -EEXIST: somebody else instantiated it (or the extent changed under the hint); free ours and look again
        { guard: 'gpAllocedHuge', actions: ['gpUnlockTree', 'gpFreeNewPage'], target: 'disband_huge' },
        { actions: ['gpUnlockTree', 'gpFreeNewPage'], target: 'find_lock_entry' },
      ]),
      disband_huge: step('shmem_getpage_gfp: if (alloced_huge) shmem_disband_hugeteam(alloced_huge) (never exposed in the cache: freed)', [
        { guard: { and: ['gpTreeLockFree', 'gpFailedEnomem'] }, actions: 'gpDisbandAllocedHuge', target: 'returned' },
        { guard: 'gpTreeLockFree', actions: 'gpDisbandAllocedHuge', target: 'find_lock_entry' },
      ]),
      lru_add: step('shmem_getpage_gfp: lru_cache_add_anon(page); info->alloced += 1 << compound_order(page); if (alloced_huge && list_empty(&info->shrinklist)) { spin_lock(&shmem_shrinklist_lock); list_add_tail }', {
        guard: 'gpShrinklistLockFree', actions: ['gpLruAddAlloced', 'gpShrinklistAdd'], target: 'clear',
      }),
      clear: step('shmem_getpage_gfp: if (sgp != SGP_WRITE) clear_highpage(head + i) for each subpage; SetPageUptodate(head)', {
        actions: 'gpClearUptodate', target: 'eof_check',
      }),
      swapin_alloc: step('shmem_getpage_gfp: page = shmem_swapin(swap, gfp, info, index); swap_readpage; lock_page', [
        { guard: 'injectedFailure', actions: 'gpEnomem', target: 'returned' },
        { actions: 'gpSwapinReadPage', target: 'swapin_tree_lock' },
      ], { inject: 'alloc_page', sleeps: 'swap_in' }),
      swapin_tree_lock: step('shmem_add_to_page_cache: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'gpTreeLockFree', actions: 'gpLockTree', target: 'swapin_replace',
      }),
      swapin_replace: step('shmem_add_to_page_cache: replace the swap entry (shmem_confirm_swap); info->swapped--; swap_free', [
        { guard: 'gpSlotIsOurSwapEntry', actions: ['gpReplaceSwapEntry', 'gpUnlockTree'], target: 'swapin_lru' },
        { actions: ['gpUnlockTree', 'gpFreeNewPage'], target: 'find_lock_entry' },
      ]),
      swapin_lru: step('shmem_getpage_gfp: lru_cache_add_anon(page)', {
        actions: 'gpSwapinLruAdd', target: 'eof_check',
      }),
      returned: final,
    },
  };
}

/**
 * filemap_fault() for a regular (non-shmem) file: find_get_page, or on a miss
 * page_cache_sync_readahead → a new page read from disk (->readpage) and
 * add_to_page_cache_lru; then lock_page and the mapping check. Regular files are only
 * mapped read-only here (READ_ONLY_THP_FOR_FS text): no writes, no swap.
 */
export function filemapGetpageStates(): StateDef {
  const ready = 'gpSlotNotFrozen';
  return {
    meta: { kernel: 'filemap_fault' },
    initial: 'find_get_page',
    states: {
      find_get_page: step('filemap_fault: page = find_get_page(mapping, offset)', [
        { guard: { and: [ready, 'gpBeyondEof'] }, actions: 'gpEinval', target: 'returned' },
        { guard: { and: [ready, 'gpSlotIsPage'] }, actions: 'gpGetSlotPage', target: 'lock_page' },
        { guard: ready, target: 'readahead' },
      ], { spins: 'page_frozen' }),
      readahead: step('filemap_fault: page_cache_sync_readahead → __page_cache_alloc; ->readpage (the data from disk); __SetPageLocked', [
        { guard: 'injectedFailure', actions: 'gpEnomem', target: 'returned' },
        { actions: 'fmReadPage', target: 'add_to_page_cache' },
      ], { inject: 'alloc_page', sleeps: 'readpage' }),
      add_to_page_cache: step('add_to_page_cache_lru: insert under the tree lock; nrpages++; NR_FILE_PAGES; lru_cache_add', [
        { guard: { and: ['gpTreeLockFree', 'gpSlotIsHole'] }, actions: 'fmAddToPageCache', target: 'returned' },
        // -EEXIST: somebody else read it in
        { guard: 'gpTreeLockFree', actions: 'gpFreeNewPage', target: 'find_get_page' },
      ]),
      lock_page: step('filemap_fault: lock_page_or_retry(page)', {
        guard: 'gpPageUnlocked', actions: 'gpLockPage', target: 'check_mapping',
      }, { sleeps: 'lock_page' }),
      check_mapping: {
        always: [
          // "Did it get truncated?"
          { guard: 'gpPageTruncated', actions: 'gpUnlockPutPage', target: 'find_get_page' },
          { target: 'returned' },
        ],
      },
      returned: final,
    },
  };
}

/**
 * Variant shmem_getpage_team_eof (the series' patch 27): SGP_TEAM is checked against i_size
 * like SGP_CACHE, with the offset rounded down to the huge page — it fills any extent that
 * starts below i_size, nothing beyond. As posted (patch 07's `sgp <= SGP_CACHE`) it is never
 * checked.
 */
function teamBeyondEof(a: A): boolean {
  if (!a.k.variant('shmem_getpage_team_eof')) return false;
  const start = a.l.gp_index - (a.l.gp_index & (a.k.HPAGE_PMD_NR - 1));
  return start >= ino(a, a.l.gp_ino).i_size;
}

export const shmemGetpageGuards: Record<string, TaskGuard<A>> = {
  ...(hugeteamGuards as Record<string, TaskGuard<A>>),
  ...(shmemHugeGuards as Record<string, TaskGuard<A>>),
  ...(disbandGuards as Record<string, TaskGuard<A>>),
  gpDisbandTruncated: (a) => a.k.variant('shmem_getpage_disband_truncated') || a.k.variant('shmem_getpage_disband_truncated_retry'),
  gpDisbandRetry: (a) => a.k.variant('shmem_getpage_disband_truncated_retry'),
  gpFailedEnomem: (a) => a.l.gp_err === 'ENOMEM',
  gpSlotNotFrozen: (a) => {
    const v = slotOf(a, a.l.gp_ino, a.l.gp_index);
    return v < 0 || !a.k.pages.isFrozen(headOf(a.k, v));
  },
  // "sgp <= SGP_CACHE && index >= i_size": SGP_WRITE and SGP_TEAM may go beyond i_size (but
  // see shmem_getpage_team_eof)
  gpBeyondEof: (a) => (a.l.gp_sgp === 'team' ? teamBeyondEof(a) : a.l.gp_sgp !== 'write' && a.l.gp_index >= ino(a, a.l.gp_ino).i_size),
  gpSlotIsPage: (a) => slotOf(a, a.l.gp_ino, a.l.gp_index) >= 0,
  gpSlotIsSwap: (a) => isSwapEntry(slotOf(a, a.l.gp_ino, a.l.gp_index)),
  gpSlotIsHole: (a) => slotOf(a, a.l.gp_ino, a.l.gp_index) === SLOT_HOLE,
  gpSlotIsOurSwapEntry: (a) => slotOf(a, a.l.gp_ino, a.l.gp_index) === a.l.gp_entry,
  gpReadHole: (a) => a.l.gp_sgp === 'read',
  gpPageUnlocked: (a) => !a.k.pages.isLocked(headOf(a.k, a.l.gp_page)),
  gpPageTruncated: (a) => !stillCached(a.k, a.l.gp_page, a.l.gp_ino, a.l.gp_index),
  gpTreeLockFree: (a) => ino(a, a.l.gp_ino).mapping.treeLock.free,
  gpTruncatedSince: (a) => (a.l.gp_sgp === 'team' ? teamBeyondEof(a) : (a.l.gp_sgp === 'read' || a.l.gp_sgp === 'fault') && a.l.gp_index >= ino(a, a.l.gp_ino).i_size),
  gpAlloced: (a) => a.l.gp_alloced,
};

export const shmemGetpageActions: Record<string, TaskAction<A>> = {
  ...(hugeteamActions as Record<string, TaskAction<A>>),
  ...(shmemHugeActions as Record<string, TaskAction<A>>),
  ...(disbandActions as Record<string, TaskAction<A>>),
  gpDisbandBegin: (a) => {
    a.l.dt_page = a.l.gp_page;
  },
  gpEinval: (a) => {
    a.l.gp_page = -1;
    a.l.gp_err = 'EINVAL';
  },
  gpEnomem: (a) => {
    a.l.gp_page = -1;
    a.l.gp_err = 'ENOMEM';
  },
  gpHole: (a) => {
    a.l.gp_page = -1;
    a.l.gp_err = 'hole';
  },
  gpGetSlotPage: (a) => {
    a.l.gp_alloced = false;
    a.l.gp_page = slotOf(a, a.l.gp_ino, a.l.gp_index);
    preadFound(a);
    getPageRef(a, a.l.gp_page);
  },
  gpNoteSwapEntry: (a) => {
    a.l.gp_entry = slotOf(a, a.l.gp_ino, a.l.gp_index);
  },
  gpLockPage: (a) => a.k.lockPage(headOf(a.k, a.l.gp_page), a.ix),
  gpUnlockPage: (a) => a.k.unlockPage(headOf(a.k, a.l.gp_page), a.ix),
  gpUnlockPutPage: (a) => {
    a.k.unlockPage(headOf(a.k, a.l.gp_page), a.ix);
    putPageRef(a, a.l.gp_page);
    a.l.gp_page = -1;
  },
  gpAllocPage: (a) => {
    const pfn = a.k.pages.alloc(0, false, a.ix, a.id);
    a.k.pages.setFlag(pfn, 'swapbacked');
    a.k.lockPage(pfn, a.ix, '__SetPageLocked');
    a.l.gp_new = pfn;
  },
  gpFreeNewPage: (a) => {
    a.k.unlockPage(a.l.gp_new, a.ix);
    putPageRef(a, a.l.gp_new);
    a.l.gp_new = -1;
  },
  gpLockTree: (a) => a.k.spinLock(ino(a, a.l.gp_ino).mapping.treeLock, a.ix),
  gpUnlockTree: (a) => a.k.spinUnlock(ino(a, a.l.gp_ino).mapping.treeLock, a.ix),
  gpAddNewPage: (a) => {
    a.l.gp_alloced = true;
    addToPageCache(a, ino(a, a.l.gp_ino), a.l.gp_index, a.l.gp_new);
    a.l.gp_page = a.l.gp_new;
    a.l.gp_new = -1;
  },
  gpLruAddAlloced: (a) => {
    const h = headOf(a.k, a.l.gp_page);
    a.k.pages.lruAdd(h, a.ix);
    a.k.inodeAdd(ino(a, a.l.gp_ino), 'alloced', 1 << a.k.pages.order[h]!, a.ix);
  },
  gpClearUptodate: (a) => {
    const k = a.k;
    const h = headOf(k, a.l.gp_page);
    const nr = 1 << k.pages.order[h]!;
    // SGP_WRITE: write(2) fills its own page; shmem_write_end clears a huge page's other
    // subpages before SetPageUptodate (done here: the page stays locked until then)
    for (let p = h; p < h + nr; p++) if (a.l.gp_sgp !== 'write' || (nr > 1 && p !== a.l.gp_page)) k.setPageData(p, 0, 'clear', a.ix);
    k.pages.setUptodate(h, a.ix);
    a.l.gp_err = '';
  },
  gpSwapinReadPage: (a) => {
    const pfn = a.k.pages.alloc(0, false, a.ix, a.id);
    a.k.pages.setFlag(pfn, 'swapbacked');
    a.k.setPageData(pfn, a.k.swapData(a.l.gp_entry), 'fill', a.ix);
    a.k.lockPage(pfn, a.ix);
    a.l.gp_new = pfn;
  },
  gpReplaceSwapEntry: (a) => {
    const inode = ino(a, a.l.gp_ino);
    const pfn = a.l.gp_new;
    a.k.pages.setMapping(pfn, inode.id);
    a.k.pages.setIndex(pfn, a.l.gp_index);
    a.k.pages.get(pfn, a.ix);
    a.k.cacheSet(inode, a.l.gp_index, pfn, a.ix);
    a.k.inodeAdd(inode, 'nrpages', 1, a.ix);
    a.k.count('nr_file_pages', 1, a.ix);
    a.k.count('nr_shmem', 1, a.ix);
    a.k.inodeAdd(inode, 'swapped', -1, a.ix);
    a.k.swapFree(a.l.gp_entry, a.ix);
    a.k.pages.setUptodate(pfn, a.ix);
    a.l.gp_alloced = false;
    a.l.gp_page = pfn;
    a.l.gp_new = -1;
    preadFound(a);
  },
  gpDeleteAlloced: (a) => {
    const k = a.k;
    const inode = ino(a, a.l.gp_ino);
    const h = headOf(k, a.l.gp_page);
    const nr = 1 << k.pages.order[h]!;
    const first = nr > 1 ? k.pages.index[h]! : a.l.gp_index;
    k.spinLock(inode.mapping.treeLock, a.ix);
    for (let i = 0; i < nr; i++) k.cacheSet(inode, first + i, SLOT_HOLE, a.ix);
    a.k.inodeAdd(inode, 'nrpages', -nr, a.ix);
    k.pages.setMapping(h, -1);
    k.count('nr_file_pages', -nr, a.ix);
    k.count('nr_shmem', -nr, a.ix);
    if (nr > 1) k.count('nr_shmem_hugepages', -1, a.ix);
    k.spinUnlock(inode.mapping.treeLock, a.ix);
    for (let i = 0; i < nr; i++) k.pages.put(h, a.ix); // the page cache's references
    a.k.inodeAdd(inode, 'alloced', -nr, a.ix); // shmem_recalc_inode
  },
  fmReadPage: (a) => {
    // ->readpage: the page holds what the file holds on disk (read-only files: what was written before)
    const pfn = a.k.pages.alloc(0, false, a.ix, a.id);
    a.k.setPageData(pfn, ino(a, a.l.gp_ino).expected.get(a.l.gp_index) ?? 0, 'fill', a.ix);
    a.k.lockPage(pfn, a.ix, '__SetPageLocked'); // add_to_page_cache_lru
    a.l.gp_new = pfn;
  },
  fmAddToPageCache: (a) => {
    const k = a.k;
    const inode = ino(a, a.l.gp_ino);
    const pfn = a.l.gp_new;
    k.spinLock(inode.mapping.treeLock, a.ix);
    k.pages.setMapping(pfn, inode.id);
    k.pages.setIndex(pfn, a.l.gp_index);
    k.pages.get(pfn, a.ix); // the page cache's reference
    k.cacheSet(inode, a.l.gp_index, pfn, a.ix);
    a.k.inodeAdd(inode, 'nrpages', 1, a.ix);
    k.count('nr_file_pages', 1, a.ix);
    k.spinUnlock(inode.mapping.treeLock, a.ix);
    k.pages.lruAdd(pfn, a.ix);
    k.pages.setUptodate(pfn, a.ix);
    a.l.gp_page = pfn;
    a.l.gp_new = -1;
    a.l.gp_err = '';
  },
  gpSwapinLruAdd: (a) => {
    a.k.pages.lruAdd(a.l.gp_page, a.ix);
    a.l.gp_err = '';
  },
};

// ---- unmap_mapping_range -------------------------------------------------------------------

/**
 * unmap_mapping_range(mapping, start, len): under i_mmap_lock_read, every VMA mapping
 * the range has its ptes zapped, one pmd at a time under the page table lock; a huge
 * pmd mapping a file THP is split, which for file pages simply clears it.
 */
export function unmapMappingRangeStates(): StateDef {
  return {
    meta: { kernel: 'unmap_mapping_range' },
    initial: 'i_mmap_lock',
    states: {
      i_mmap_lock: step('unmap_mapping_range: i_mmap_lock_read(mapping)', {
        guard: 'umImmapReadFree', actions: ['umImmapLock', 'umCollect'], target: 'next',
      }, { sleeps: 'i_mmap_rwsem' }),
      next: { always: [{ guard: 'umDone', target: 'i_mmap_unlock' }, { target: 'zap' }] },
      zap: step('zap_page_range_single → zap_pmd_range/zap_pte_range under the page table lock', {
        guard: 'umPtlFree', actions: 'umZapOne', target: 'next',
      }),
      i_mmap_unlock: step('unmap_mapping_range: i_mmap_unlock_read(mapping)', {
        actions: 'umImmapUnlock', target: 'returned',
      }),
      returned: final,
    },
  };
}

export const unmapGuards: Record<string, TaskGuard<A>> = {
  umImmapReadFree: (a) => ino(a, a.l.um_ino).mapping.iMmap.readFree,
  umDone: (a) => a.l.um_todo.length === 0,
  umPtlFree: (a) => a.k.mms[a.l.um_todo.at(0)!]!.pageTableLock.free,
};

export const unmapActions: Record<string, TaskAction<A>> = {
  umImmapLock: (a) => a.k.downRead(ino(a, a.l.um_ino).mapping.iMmap, a.ix),
  umImmapUnlock: (a) => a.k.upRead(ino(a, a.l.um_ino).mapping.iMmap, a.ix),
  umCollect: (a) => {
    const k = a.k;
    a.l.um_todo = [];
    for (const [mm, lo, hi] of fileMappings(k, a.l.um_ino, a.l.um_start, a.l.um_end)) {
      for (let p = Math.floor(lo / k.HPAGE_PMD_NR); p <= Math.floor((hi - 1) / k.HPAGE_PMD_NR); p++) {
        if (mm.kindAt(p) !== 'none') a.l.um_todo.push(mm.id, p);
      }
    }
  },
  umZapOne: (a) => {
    const k = a.k;
    const [mmId, p] = a.l.um_todo.splice(0, 2) as [number, number];
    const mm = k.mms[mmId]!;
    k.spinLock(mm.pageTableLock, a.ix);
    zapFileRange(a, mm, p, a.l.um_ino, a.l.um_start, a.l.um_end);
    k.spinUnlock(mm.pageTableLock, a.ix);
  },
};

/** Zaps what pmd `p` of `mm` maps of file pages [start, end); the page table lock is held. */
export function zapFileRange(a: Actor, mm: MmStruct, p: number, inodeId: number, start: number, end: number): void {
  const k = a.k;
  const pmd = mm.pmds.get(p);
  if (!pmd) return;
  const kind = pmdKind(pmd.state);
  const base = p * k.HPAGE_PMD_NR;
  const off = (vpn: number) => k.fileOffset(mm, vpn);
  if (kind === 'huge') {
    const f = off(base);
    if (!f || f.ino.id !== inodeId) return;
    if (f.index + k.HPAGE_PMD_NR <= start || f.index >= end) return;
    // __split_huge_pmd on a file THP (or zap_huge_pmd): clear the pmd, drop the mapping
    // (a huge tmpfs team's pmd too: the series remaps the rest of a partly zapped team by
    // ptes, remap_team_by_ptes, which the model does not: the pages refault)
    const head = pmd.pfn;
    k.pmdCmd(mm, p, 'PMDP_CLEAR', -1, a.ix);
    if (pmd.deposited > 0) {
      // map_team_by_pmd deposited a page table under a team's pmd: withdrawn and freed
      pmd.deposited--;
      k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
    }
    k.pages.unmapPmd(head, a.ix);
    k.addMmCounter(mm, k.mmCounterFile(head), -k.HPAGE_PMD_NR, a.ix);
    k.ref('move', 'page', head, 'pmd', a.id, a.ix);
    putPageRef(a, head);
    return;
  }
  if (kind !== 'pte_table') return;
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    const vpn = base + i;
    const pfn = pmd.ptes.at(i)!;
    if (pfn === PTE_NONE) {
      // a migration entry in the range is zapped too
      if (pmd.pteMigration.at(i)) {
        const f = off(vpn);
        if (f && f.ino.id === inodeId && f.index >= start && f.index < end) k.migrationEntry(mm, vpn, false, a.ix);
      }
      continue;
    }
    const f = off(vpn);
    if (!f || f.ino.id !== inodeId || f.index < start || f.index >= end) continue;
    k.setPte(mm, vpn, PTE_NONE, false, a.ix);
    k.pages.unmapPte(pfn, a.ix);
    k.addMmCounter(mm, k.mmCounterFile(pfn), -1, a.ix);
    k.ref('move', 'page', pfn, 'pte', a.id, a.ix);
    putPageRef(a, pfn);
  }
}

/**
 * read(2) has its page — found in the page cache, or swapped in — and copies from it later:
 * a ghost event (no kernel state), from which the data-integrity monitor takes every value
 * the offset holds until the copy as a valid answer.
 */
function preadFound(a: A): void {
  if (a.l.gp_sgp === 'read' && a.k.bus.wants('pread')) {
    const value = a.k.inodes[a.l.gp_ino]!.expected.get(a.l.gp_index) ?? 0;
    a.k.bus.publish({ kind: 'pread', op: 'begin', ino: a.l.gp_ino, index: a.l.gp_index, value, actor: a.ix });
  }
}
