/**
 * shmem_undo_range (truncate, hole punch): its states, guards and actions, embedded in the
 * task chart's truncate, punch and MADV_REMOVE (one definition: a fix variant reaches every
 * caller). Its locals are ShmemLocals' ur_* fields (./shmem.ts).
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import { hex } from '../src/memory/pages.ts';
import { PageTeam } from '../src/memory/team.ts';
import { disbandActions, disbandGuards, shmemDisbandHugeteamStates } from './shmem_hugeteam.ts';
import { type A, getPageRef, headOf, ino, putPageRef, slotOf, stillCached, unmapMappingRangeStates } from './shmem.ts';

/**
 * shmem_undo_range(inode, start, end), its second ("more careful") pass: each page of
 * the range is looked up (with a reference; a frozen page is retried), locked, and —
 * still in this file — unmapped and deleted from the page cache; swap entries are freed.
 * A huge page wholly inside the range goes; one straddling its edge has the covered
 * subpages zeroed (v4.8). "If all gone or hole-punch, we're done. But if truncating,
 * restart to make sure all gone." Each lookup is find_get_entries(mapping, index) — one RCU
 * walk from index to the first entry, holes passed over within that step — taking one entry
 * at a time (the kernel takes up to PAGEVEC_SIZE per walk: a page added behind the walk is
 * left to the next pass either way). A pass ends at a lookup that finds nothing; a truncation
 * whose pass found anything goes round again from start.
 *
 * Huge tmpfs (seed 001; the series' patch 04): "Truncation (and hole-punch and eviction)
 * needs to disband the team before any page is freed from it". A PageTeam page is passed to
 * shmem_disband_hugeteam(page), "but that may not succeed"; if the page is still PageTeam,
 * a hole punch unlocks it and looks the same index up again ("Punch retry disband now":
 * unlock_page; index--; break), while truncation leaves it and goes on — its next pass
 * comes back to it, so it too spins until the racing disband has cleared PageTeam.
 * Otherwise the page is truncated like any small page.
 */
export function shmemUndoRangeStates(): StateDef {
  return {
    meta: { kernel: 'shmem_undo_range' },
    initial: 'next',
    states: {
      next: {
        always: [
          { guard: { and: ['urDone', 'urRestart'] }, actions: 'urRestartPass', target: 'skip' },
          { guard: 'urDone', actions: 'urRecalc', target: 'returned' },
          { target: 'lookup' },
        ],
      },
      skip: { always: { target: 'next' } },
      // One RCU walk of the radix tree from index, in one step: the holes before the first
      // entry are passed over as it finds that entry, so a page added behind it meanwhile
      // is not missed by a walk that had passed its index a step earlier.
      lookup: step('shmem_undo_range: find_get_entries(mapping, index): the first entry at or after index (RCU; get_page_unless_zero, retried while frozen); none: "If all gone or hole-punch, we\'re done" / "But if truncating, restart to make sure all gone"', [
        { guard: { and: ['urNoEntry', 'urRestart'] }, actions: 'urRestartPass', target: 'next' },
        { guard: 'urNoEntry', actions: 'urRecalc', target: 'returned' },
        { guard: { and: ['urEntryNotFrozen', 'urEntryIsSwap'] }, actions: 'urSeekEntry', target: 'free_swap_lock' },
        { guard: { and: ['urEntryNotFrozen', 'urEntryIsPage'] }, actions: ['urSeekEntry', 'urGetPage'], target: 'lock_page' },
      ], { spins: 'page_frozen' }),
      free_swap_lock: step('shmem_free_swap: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'urTreeLockFree', actions: 'urLockTree', target: 'free_swap',
      }),
      free_swap: step('shmem_free_swap: radix_tree_delete_item(swap entry); free_swap_and_cache; info->swapped--', {
        actions: ['urFreeSwap', 'urUnlockTree', 'urAdvance'], target: 'next',
      }),
      lock_page: step('shmem_undo_range: lock_page(page)', {
        guard: 'urPageUnlocked', actions: 'urLockPage', target: 'route',
      }, { sleeps: 'lock_page' }),
      route: {
        always: [
          { guard: 'urPageGone', actions: ['urUnlockPutPage', 'urAdvance'], target: 'next' },
          { guard: 'urPageTeam', actions: 'urDisbandBegin', target: 'disband' },
          { guard: 'urHugeStraddles', actions: ['urZeroSubpages', 'urUnlockPutPage', 'urAdvanceHuge'], target: 'next' },
          { actions: 'urBeginUnmap', target: 'unmap' },
        ],
      },
      disband: {
        ...shmemDisbandHugeteamStates(unmapMappingRangeStates()),
        onDone: [
          // else if (end != -1) { unlock_page(page); index--; break } ("Punch retry disband now")
          { guard: { and: ['urPageTeam', 'urPunch'] }, actions: 'urRetryTeam', target: 'next' },
          // truncation: unlock_page(page) and on to the next; "restart to make sure all gone"
          { guard: 'urPageTeam', actions: ['urUnlockPutPage', 'urAdvance'], target: 'next' },
          // if (!PageTeam(page)) truncate_inode_page(mapping, page)
          { actions: 'urBeginUnmap', target: 'unmap' },
        ],
      },
      unmap: { ...unmapMappingRangeStates(), onDone: 'delete_lock' },
      delete_lock: step('truncate_inode_page → delete_from_page_cache: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'urTreeLockFree', actions: 'urLockTree', target: 'delete',
      }),
      delete: step('__delete_from_page_cache: slots cleared; page->mapping = NULL; NR_FILE_PAGES, NR_SHMEM', {
        actions: ['urDeleteFromPageCache', 'urUnlockTree'], target: 'unlock',
      }),
      unlock: step('shmem_undo_range: unlock_page(page); put_page (pagevec_release)', {
        actions: ['urUnlockPutPage', 'urAdvanceHuge'], target: 'next',
      }),
      returned: final,
    },
  };
}

const urSlot = (a: A) => slotOf(a, a.l.ur_ino, a.l.ur_index);
/** find_get_entries from ur_index: the index of the first entry (page or swap) at or after it in the range, or -1. */
function urEntry(a: A): number {
  const m = ino(a, a.l.ur_ino).mapping;
  const end = Math.min(a.l.ur_end, m.nrSlots);
  for (let i = a.l.ur_index; i < end; i++) if (m.lookup(i) !== SLOT_HOLE) return i;
  return -1;
}
const urEntrySlot = (a: A) => slotOf(a, a.l.ur_ino, urEntry(a));

export const undoGuards: Record<string, TaskGuard<A>> = {
  ...(disbandGuards as Record<string, TaskGuard<A>>),
  urPageTeam: (a) => PageTeam(a.k, a.l.ur_page),
  urPunch: (a) => a.l.ur_op === 'punch',
  urRestart: (a) => a.l.ur_op === 'truncate' && a.l.ur_found,
  urDone: (a) => a.l.ur_index >= Math.min(a.l.ur_end, ino(a, a.l.ur_ino).mapping.nrSlots),
  urNoEntry: (a) => urEntry(a) < 0,
  urEntryNotFrozen: (a) => urEntry(a) >= 0 && (urEntrySlot(a) < 0 || !a.k.pages.isFrozen(headOf(a.k, urEntrySlot(a)))),
  urEntryIsSwap: (a) => urEntry(a) >= 0 && isSwapEntry(urEntrySlot(a)),
  urEntryIsPage: (a) => urEntry(a) >= 0 && urEntrySlot(a) >= 0,
  urTreeLockFree: (a) => ino(a, a.l.ur_ino).mapping.treeLock.free,
  urPageUnlocked: (a) => !a.k.pages.isLocked(headOf(a.k, a.l.ur_page)),
  urPageGone: (a) => !stillCached(a.k, a.l.ur_page, a.l.ur_ino, a.l.ur_index),
  urHugeStraddles: (a) => {
    const k = a.k;
    const h = headOf(k, a.l.ur_page);
    if (k.pages.order[h] === 0) return false;
    const first = k.pages.index[h]!;
    return first < a.l.ur_start || first + k.HPAGE_PMD_NR > a.l.ur_end;
  },
};

export const undoActions: Record<string, TaskAction<A>> = {
  ...(disbandActions as Record<string, TaskAction<A>>),
  urDisbandBegin: (a) => {
    a.l.dt_page = a.l.ur_page;
  },
  /** unlock_page(page); index--; break → pagevec_release: the same index is looked up again. */
  urRetryTeam: (a) => {
    a.k.unlockPage(a.l.ur_page, a.ix);
    putPageRef(a, a.l.ur_page);
    a.l.ur_page = -1;
  },
  urRestartPass: (a) => {
    a.l.ur_index = a.l.ur_start;
    a.l.ur_found = false;
  },
  urAdvance: (a) => {
    a.l.ur_index++;
  },
  urSeekEntry: (a) => {
    a.l.ur_index = urEntry(a);
  },
  urAdvanceHuge: (a) => {
    const k = a.k;
    const h = a.l.ur_page >= 0 ? headOf(k, a.l.ur_page) : -1;
    if (h >= 0 && k.pages.order[h]! > 0) a.l.ur_index = Math.max(a.l.ur_index + 1, k.pages.index[h]! + k.HPAGE_PMD_NR);
    else a.l.ur_index++;
    a.l.ur_page = -1;
  },
  urGetPage: (a) => {
    a.l.ur_found = true;
    a.l.ur_page = urSlot(a);
    getPageRef(a, a.l.ur_page);
  },
  urLockTree: (a) => a.k.spinLock(ino(a, a.l.ur_ino).mapping.treeLock, a.ix),
  urUnlockTree: (a) => a.k.spinUnlock(ino(a, a.l.ur_ino).mapping.treeLock, a.ix),
  urFreeSwap: (a) => {
    const inode = ino(a, a.l.ur_ino);
    const entry = urSlot(a);
    a.l.ur_found = true;
    if (!isSwapEntry(entry)) return; // swapped in meanwhile: left to the page path on the next pass
    a.k.cacheSet(inode, a.l.ur_index, SLOT_HOLE, a.ix);
    a.k.swapFree(entry, a.ix);
    a.k.inodeAdd(inode, 'swapped', -1, a.ix);
    a.k.inodeAdd(inode, 'alloced', -1, a.ix);
    a.k.setExpected(inode, a.l.ur_index, 0, a.ix);
  },
  urLockPage: (a) => a.k.lockPage(headOf(a.k, a.l.ur_page), a.ix),
  urUnlockPutPage: (a) => {
    a.k.unlockPage(headOf(a.k, a.l.ur_page), a.ix);
    putPageRef(a, a.l.ur_page);
  },
  urZeroSubpages: (a) => {
    // "Partial THP: zero out the covered subpages" (clear_highpage); they stay cached
    const k = a.k;
    const h = headOf(k, a.l.ur_page);
    const first = k.pages.index[h]!;
    const inode = ino(a, a.l.ur_ino);
    for (let i = Math.max(first, a.l.ur_start); i < Math.min(first + k.HPAGE_PMD_NR, a.l.ur_end); i++) {
      k.setPageData(h + (i - first), 0, 'clear', a.ix);
      k.setExpected(inode, i, 0, a.ix);
    }
    // "Partial thp truncate due 'start' in middle of THP: don't need to look on these
    // pages again on !pvec.nr restart" (start++ per tail page)
    if (first < a.l.ur_start) a.l.ur_start = Math.min(first + k.HPAGE_PMD_NR, a.l.ur_end);
  },
  urBeginUnmap: (a) => {
    const k = a.k;
    const h = headOf(k, a.l.ur_page);
    a.l.um_ino = a.l.ur_ino;
    a.l.um_start = k.pages.index[h]!;
    a.l.um_end = a.l.um_start + (1 << k.pages.order[h]!);
  },
  urDeleteFromPageCache: (a) => {
    const k = a.k;
    const inode = ino(a, a.l.ur_ino);
    const h = headOf(k, a.l.ur_page);
    const nr = 1 << k.pages.order[h]!;
    const first = k.pages.index[h]!;
    if (k.pages.isMapped(h)) k.violate('truncate', `page ${hex(h)} is still mapped when deleted from the page cache`);
    for (let i = 0; i < nr; i++) {
      k.cacheSet(inode, first + i, SLOT_HOLE, a.ix);
      k.pages.put(h, a.ix); // the page cache's reference for that slot
      k.setExpected(inode, first + i, 0, a.ix);
    }
    k.pages.setMapping(h, -1);
    a.k.inodeAdd(inode, 'nrpages', -nr, a.ix);
    k.count('nr_file_pages', -nr, a.ix);
    k.count('nr_shmem', -nr, a.ix);
    if (nr > 1) k.count('nr_shmem_hugepages', -1, a.ix);
    a.k.inodeAdd(inode, 'alloced', -nr, a.ix);
  },
  urRecalc: (a) => {
    a.k.bus.publish({
      kind: 'truncate', op: a.l.ur_op, ino: a.l.ur_ino, start: a.l.ur_start, end: a.l.ur_end, actor: a.ix,
    });
  },
};
