/**
 * Reclaim swapping shmem pages out (v4.8-era mm/vmscan.c shrink_page_list → mm/shmem.c
 * shmem_writepage), with huge tmpfs's team checks (seed 001's series): a tail whose head
 * is instantiated is redirtied, any other team page disbands its team first.
 */
import { type BoundedArray, array, fields, int, struct } from '../src/vector/struct.ts';
import { shmemLocalsFields } from './shmem.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskChartDef, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { PageSwapBacked, PageTeam, teamHead } from '../src/memory/team.ts';
import { type ShmemLocals, getPageRef, putPageRef, unmapActions, unmapGuards, unmapMappingRangeStates } from './shmem.ts';
import { disbandActions, disbandGuards, shmemDisbandHugeteamStates } from './shmem_hugeteam.ts';

/** The head of the page a slot value points at. */
const headOf = (k: Kernel, pfn: number) => k.pages.compoundHead(pfn);

/** What shrink_page_list works on: the page isolated from its LRU (with isolate_lru_page's reference). */
export interface ShrinkPageListLocals extends ShmemLocals {
  sr_page: number;
  /** page->mapping (inode id) and page->index when it was isolated. */
  sr_ino: number;
  sr_index: number;
}
export const shrinkPageListLocalsFields = fields<ShrinkPageListLocals>({ ...shmemLocalsFields, sr_page: int(-1), sr_ino: int(-1), sr_index: int() });

export interface ShmemReclaimLocals extends ShrinkPageListLocals {
  /** The file pages to try to swap out, as [inode id, index] pairs, in order. */
  get targets(): BoundedArray;
  set targets(v: Iterable<number>);
}
export const shmemReclaimLocals = struct<ShmemReclaimLocals>('shrink_page_list', {
  ...shrinkPageListLocalsFields,
  targets: array('the (file, index) pairs the scenario names', (_b, init) => init.length),
});

type S = Actor<ShrinkPageListLocals>;
type R = Actor<ShmemReclaimLocals>;
const rIno = (a: R) => a.k.inodes[a.l.targets.at(0)!]!;
const rIndex = (a: R) => a.l.targets.at(1)!;
/** The isolated page's inode. */
const pIno = (a: S) => a.k.inodes[a.l.sr_ino]!;

/**
 * shrink_page_list() on one isolated small shmem page (l.sr_page, holding
 * isolate_lru_page's reference): trylock_page, try_to_unmap, shmem_writepage (the page-cache
 * slot becomes a swap entry) and the last put — or, on any failure, putback_lru_page. Run by
 * the reclaim actor for each target, and by MADV_PAGEOUT (reclaim_pages) for each page it
 * isolated: one definition for both.
 */
export function shrinkPageListStates(): StateDef {
  return {
    meta: { kernel: 'shrink_page_list' },
    initial: 'trylock',
    states: {
      trylock: step('shrink_page_list: trylock_page(page)', [
        { guard: 'srTrylock', actions: 'srLock', target: 'unmap' },
        { actions: 'srPutback', target: 'returned' },
      ]),
      unmap: {
        ...unmapMappingRangeStates(),
        meta: { kernel: 'try_to_unmap(page, TTU_UNMAP)' },
        onDone: 'writepage_team',
      },
      // shmem_writepage's huge tmpfs checks, read as it is entered (a page never in a team takes no step here)
      writepage_team: {
        always: [
          { guard: 'srRedirtyTeamTail', target: 'redirty' },
          { guard: 'srPageTeam', actions: 'srDisbandBegin', target: 'disband' },
          { target: 'writepage_lock' },
        ],
      },
      // "Only proceed if this is head, or if head is unpopulated"
      redirty: step('shmem_writepage: if (PageTeam(page) && page != team_head(page) && PageSwapBacked(head)) { wbc->for_reclaim = 0; goto redirty } → set_page_dirty; unlock_page; shrink_page_list: keep → putback', {
        actions: 'srUnlockPutback', target: 'returned',
      }),
      disband: {
        ...shmemDisbandHugeteamStates(unmapMappingRangeStates()),
        onDone: [
          { guard: 'srPageTeam', target: 'free_swap' },
          { target: 'writepage_lock' },
        ],
      },
      free_swap: step('shmem_writepage: shmem_disband_hugeteam(page); if (PageTeam(page)) goto free_swap → swapcache_free; redirty: set_page_dirty; AOP_WRITEPAGE_ACTIVATE → shrink_page_list: unlock_page; putback', {
        actions: 'srUnlockPutback', target: 'returned',
      }),
      writepage_lock: step('shmem_writepage → shmem_delete_from_page_cache: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'srTreeLockFree', actions: 'srLockTree', target: 'writepage',
      }),
      writepage: step('shmem_writepage: info->swapped++; the slot becomes the swap entry; put_page; swap_writepage', [
        { guard: 'srStillCached', actions: ['srWritepage', 'srUnlockTree'], target: 'free' },
        { actions: ['srUnlockTree', 'srUnlockPutback'], target: 'returned' },
      ]),
      free: step('shrink_page_list: unlock_page; __remove_mapping; free the page', {
        actions: 'srFree', target: 'returned',
      }),
      returned: final,
    },
  };
}

/** isolate_lru_page(page) for reclaim: off its LRU, with a reference; page->mapping and ->index noted. */
export function isolateForReclaim(a: S, pfn: number): void {
  a.l.sr_page = pfn;
  a.l.sr_ino = a.k.pages.mapping[pfn]!;
  a.l.sr_index = a.k.pages.index[pfn]!;
  a.k.pages.isolate(pfn, a.ix);
  getPageRef(a, pfn); // isolate_lru_page's reference
}

export const shrinkPageListGuards: Record<string, TaskGuard<S>> = {
  srTrylock: (a) => !a.k.pages.isLocked(a.l.sr_page),
  srTreeLockFree: (a) => pIno(a).mapping.treeLock.free,
  srStillCached: (a) => pIno(a).mapping.lookup(a.l.sr_index) === a.l.sr_page && !a.k.pages.isMapped(a.l.sr_page),
  srPageTeam: (a) => PageTeam(a.k, a.l.sr_page),
  srRedirtyTeamTail: (a) => {
    const k = a.k;
    if (!PageTeam(k, a.l.sr_page)) return false;
    const head = teamHead(k, a.l.sr_page);
    return head !== a.l.sr_page && PageSwapBacked(k, head);
  },
  ...(unmapGuards as unknown as Record<string, TaskGuard<S>>),
  ...(disbandGuards as unknown as Record<string, TaskGuard<S>>),
};

export const shrinkPageListActions: Record<string, TaskAction<S>> = {
  srLock: (a) => {
    a.k.lockPage(a.l.sr_page, a.ix, 'trylock_page');
    a.l.um_ino = a.l.sr_ino;
    a.l.um_start = a.l.sr_index;
    a.l.um_end = a.l.sr_index + 1;
  },
  srPutback: (a) => {
    a.k.pages.lruAdd(a.l.sr_page, a.ix);
    putPageRef(a, a.l.sr_page);
    a.l.sr_page = -1;
  },
  srUnlockPutback: (a) => {
    a.k.unlockPage(a.l.sr_page, a.ix);
    a.k.pages.lruAdd(a.l.sr_page, a.ix);
    putPageRef(a, a.l.sr_page);
    a.l.sr_page = -1;
  },
  srDisbandBegin: (a) => {
    a.l.dt_page = a.l.sr_page;
  },
  srLockTree: (a) => a.k.spinLock(pIno(a).mapping.treeLock, a.ix),
  srUnlockTree: (a) => a.k.spinUnlock(pIno(a).mapping.treeLock, a.ix),
  srWritepage: (a) => {
    const k = a.k;
    const inode = pIno(a);
    const entry = k.swapOut(k.pages.data[a.l.sr_page]!, a.ix);
    a.k.inodeAdd(inode, 'swapped', 1, a.ix);
    k.cacheSet(inode, a.l.sr_index, entry, a.ix);
    a.k.inodeAdd(inode, 'nrpages', -1, a.ix);
    k.pages.setMapping(a.l.sr_page, -1);
    k.count('nr_file_pages', -1, a.ix);
    k.count('nr_shmem', -1, a.ix);
    k.pages.put(a.l.sr_page, a.ix); // the page cache's reference
  },
  srFree: (a) => {
    a.k.unlockPage(a.l.sr_page, a.ix);
    putPageRef(a, a.l.sr_page);
    a.l.sr_page = -1;
  },
  ...(unmapActions as unknown as Record<string, TaskAction<S>>),
  ...(disbandActions as unknown as Record<string, TaskAction<S>>),
};

/**
 * Reclaim swapping shmem pages out: isolate_lru_page, trylock_page, try_to_unmap,
 * shmem_writepage (the page-cache slot becomes a swap entry), and the last put.
 *
 * A huge tmpfs team page (seed 001; the series' patches 04 and 13): swap-out disbands the
 * whole team. shmem_writepage redirties a team tail whose head is instantiated — the team
 * goes when reclaim reaches its head — and otherwise calls shmem_disband_hugeteam(page),
 * giving up if the page is still PageTeam after it. get_swap_page() is not modelled (it
 * never fails here); nor is patch 13's LRU-weight handover, where putback_inactive_pages
 * moves a redirtied tail's weight to its head and makes the tail unevictable (the model
 * keeps no LRU weight: a redirtied tail simply goes back on its LRU).
 */
export const shmemReclaimChart: TaskChartDef<R> = {
  id: 'shmem_reclaim',
  description: 'shrink_page_list() on shmem pages: isolate, trylock, try_to_unmap, shmem_writepage, free',
  initial: 'next',
  states: {
    next: {
      always: [
        { guard: 'srDone', target: 'done' },
        { target: 'isolate' },
      ],
    },
    isolate: step('shrink_inactive_list: isolate_lru_page(page) (a small shmem page on the LRU)', [
      { guard: { and: ['srSlotIsSmallPage', 'srOnLru', { not: 'injectedFailure' }] }, actions: 'srIsolate', target: 'shrink_page_list' },
      { actions: 'srSkip', target: 'next' },
    ], { inject: 'isolate_lru_page' }),
    shrink_page_list: { ...shrinkPageListStates(), onDone: { actions: 'srNextTarget', target: 'next' } },
    done: final,
  },
  guards: {
    injectedFailure: (_a, ev) => ev.fail === true,
    srDone: (a) => a.l.targets.length === 0,
    srSlotIsSmallPage: (a) => {
      const v = rIno(a).mapping.lookup(rIndex(a));
      return v >= 0 && a.k.pages.order[headOf(a.k, v)] === 0 && !a.k.pages.isFrozen(v);
    },
    srOnLru: (a) => a.k.pages.isOnLru(rIno(a).mapping.lookup(rIndex(a))),
    ...(shrinkPageListGuards as unknown as Record<string, TaskGuard<R>>),
  },
  actions: {
    srSkip: (a) => {
      a.l.targets.splice(0, 2);
    },
    srNextTarget: (a) => {
      a.l.targets.splice(0, 2);
    },
    srIsolate: (a) => {
      isolateForReclaim(a, rIno(a).mapping.lookup(rIndex(a)));
    },
    ...(shrinkPageListActions as unknown as Record<string, TaskAction<R>>),
  },
};
