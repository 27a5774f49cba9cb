/**
 * Reclaim swapping shmem pages out (v4.8-era mm/vmscan.c shrink_page_list → mm/shmem.c
 * shmem_writepage), with huge tmpfs's team checks (seed 001's series): a tail whose head
 * is instantiated is redirtied, any other team page disbands its team first.
 */
import { final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskChartDef, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { PageSwapBacked, PageTeam, teamHead } from '../src/memory/team.ts';
import { type ShmemLocals, getPageRef, putPageRef, unmapActions, unmapGuards, unmapMappingRangeStates } from './shmem.ts';
import { disbandActions, disbandGuards, shmemDisbandHugeteamStates } from './shmem_hugeteam.ts';

/** The head of the page a slot value points at. */
const headOf = (k: Kernel, pfn: number) => k.pages.compoundHead(pfn);

export interface ShmemReclaimLocals extends ShmemLocals {
  /** The file pages to try to swap out, as [inode id, index] pairs, in order. */
  targets: number[];
  page: number;
}

type R = Actor<ShmemReclaimLocals>;
const rIno = (a: R) => a.k.inodes[a.l.targets[0]!]!;
const rIndex = (a: R) => a.l.targets[1]!;

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
      { guard: { and: ['srSlotIsSmallPage', 'srOnLru', { not: 'injectedFailure' }] }, actions: 'srIsolate', target: 'trylock' },
      { actions: 'srSkip', target: 'next' },
    ], { inject: 'isolate_lru_page' }),
    trylock: step('shrink_page_list: trylock_page(page)', [
      { guard: 'srTrylock', actions: 'srLock', target: 'unmap' },
      { actions: 'srPutback', target: 'next' },
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
      actions: 'srUnlockPutback', target: 'next',
    }),
    disband: {
      ...shmemDisbandHugeteamStates(unmapMappingRangeStates()),
      onDone: [
        { guard: 'srPageTeam', target: 'free_swap' },
        { target: 'writepage_lock' },
      ],
    },
    free_swap: step('shmem_writepage: shmem_disband_hugeteam(page); if (PageTeam(page)) goto free_swap → swapcache_free; redirty: set_page_dirty; AOP_WRITEPAGE_ACTIVATE → shrink_page_list: unlock_page; putback', {
      actions: 'srUnlockPutback', target: 'next',
    }),
    writepage_lock: step('shmem_writepage → shmem_delete_from_page_cache: spin_lock_irq(&mapping->tree_lock)', {
      guard: 'srTreeLockFree', actions: 'srLockTree', target: 'writepage',
    }),
    writepage: step('shmem_writepage: info->swapped++; the slot becomes the swap entry; put_page; swap_writepage', [
      { guard: 'srStillCached', actions: ['srWritepage', 'srUnlockTree'], target: 'free' },
      { actions: ['srUnlockTree', 'srUnlockPutback'], target: 'next' },
    ]),
    free: step('shrink_page_list: unlock_page; __remove_mapping; free the page', {
      actions: 'srFree', target: 'next',
    }),
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
    srTrylock: (a) => !a.k.pages.isLocked(a.l.page),
    srTreeLockFree: (a) => rIno(a).mapping.treeLock.free,
    srStillCached: (a) => rIno(a).mapping.lookup(rIndex(a)) === a.l.page && !a.k.pages.isMapped(a.l.page),
    srPageTeam: (a) => PageTeam(a.k, a.l.page),
    srRedirtyTeamTail: (a) => {
      const k = a.k;
      if (!PageTeam(k, a.l.page)) return false;
      const head = teamHead(k, a.l.page);
      return head !== a.l.page && PageSwapBacked(k, head);
    },
    ...(unmapGuards as unknown as Record<string, TaskGuard<R>>),
    ...(disbandGuards as unknown as Record<string, TaskGuard<R>>),
  },
  actions: {
    srSkip: (a) => {
      a.l.targets.splice(0, 2);
    },
    srIsolate: (a) => {
      a.l.page = rIno(a).mapping.lookup(rIndex(a));
      a.k.pages.isolate(a.l.page, a.ix);
      getPageRef(a, a.l.page); // isolate_lru_page's reference
    },
    srLock: (a) => {
      a.k.lockPage(a.l.page, a.ix);
      a.l.um_ino = rIno(a).id;
      a.l.um_start = rIndex(a);
      a.l.um_end = rIndex(a) + 1;
    },
    srPutback: (a) => {
      a.k.pages.lruAdd(a.l.page, a.ix);
      putPageRef(a, a.l.page);
      a.l.targets.splice(0, 2);
    },
    srUnlockPutback: (a) => {
      a.k.unlockPage(a.l.page, a.ix);
      a.k.pages.lruAdd(a.l.page, a.ix);
      putPageRef(a, a.l.page);
      a.l.targets.splice(0, 2);
    },
    srDisbandBegin: (a) => {
      a.l.dt_page = a.l.page;
    },
    srLockTree: (a) => a.k.spinLock(rIno(a).mapping.treeLock, a.ix),
    srUnlockTree: (a) => a.k.spinUnlock(rIno(a).mapping.treeLock, a.ix),
    srWritepage: (a) => {
      const k = a.k;
      const inode = rIno(a);
      const entry = k.swapOut(k.pages.data[a.l.page]!, a.ix);
      a.k.inodeAdd(inode, 'swapped', 1, a.ix);
      k.cacheSet(inode, rIndex(a), entry, a.ix);
      a.k.inodeAdd(inode, 'nrpages', -1, a.ix);
      k.pages.mapping[a.l.page] = -1;
      k.count('nr_file_pages', -1, a.ix);
      k.count('nr_shmem', -1, a.ix);
      k.pages.put(a.l.page, a.ix); // the page cache's reference
    },
    srFree: (a) => {
      a.k.unlockPage(a.l.page, a.ix);
      putPageRef(a, a.l.page);
      a.l.page = -1;
      a.l.targets.splice(0, 2);
    },
    ...(unmapActions as unknown as Record<string, TaskAction<R>>),
    ...(disbandActions as unknown as Record<string, TaskAction<R>>),
  },
};
