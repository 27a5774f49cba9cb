/**
 * migrate_pages() as huge tmpfs recovery calls it (seed 001: MIGRATE_SYNC,
 * MR_SHMEM_RECOVERY; v4.6 mm/migrate.c): up to ten passes over the list, each page by
 * unmap_and_move() — the series' backstop (patch 05: a PageTeam page is never migrated:
 * -EBUSY in unmap_and_move, -EAGAIN in migrate_page_move_mapping), get_new_page and put_new_page (the embedding chart's actions
 * 'mgGetNewPage' and 'mgPutNewPage': shmem_get_recovery_page, shmem_put_recovery_page), __unmap_and_move (lock the page, the seed's new
 * "truncated?" check, trylock the new page, try_to_unmap into migration entries,
 * migrate_page_move_mapping under the tree lock, migrate_page_copy,
 * remove_migration_ptes), then the page off the list or left for the next pass. -ENOMEM
 * ends it at once. Every step another CPU could observe is a state of its own.
 *
 * Other callers embed the same definition with their own callbacks (an extension's
 * compaction: examples/extensions/compaction/): mg_reason is migrate_pages()'s reason
 * argument, and the seed's recovery-only checks (the truncated check, patch 29's
 * shmem_recovery_migrate_page) look at it as the seed does.
 *
 * A migration entry is a cleared pte marked as one (Pmd.pteMigration): a zap removes the
 * mark with the pte, remove_migration_ptes fills only the ptes still marked. A fault on
 * one finds the old page locked and waits, then finds the new one (docs/teams.md).
 */
import { type BoundedArray, array, fields, int, str } from '../src/vector/struct.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { PTE_NONE, VM, hasPteTable } from '../src/memory/mm.ts';
import { hex } from '../src/memory/pages.ts';
import { PageTeam, shmemAddedToHugeteam, teamMember } from '../src/memory/team.ts';

export type MigrateRc = '' | 'SUCCESS' | 'EAGAIN' | 'ENOMEM' | 'EBUSY' | 'FREED';
/** enum migrate_reason, by its mm_migrate_pages string: the seed's MR_SHMEM_RECOVERY, and MR_COMPACTION. */
export type MigrateReason = 'shmem_recovery' | 'compaction';
/** enum migrate_mode (MIGRATE_SYNC_LIGHT: kcompactd's; the model's steps are the same for both). */
export type MigrateMode = 'MIGRATE_SYNC' | 'MIGRATE_SYNC_LIGHT';

export interface MigrateLocals {
  /** The pages to migrate (list `from`), in order. */
  get mg_from(): BoundedArray;
  set mg_from(v: Iterable<number>);
  mg_pass: number;
  mg_retry: number;
  /** Cursor into mg_from. */
  mg_i: number;
  mg_new: number;
  mg_rc: MigrateRc;
  mg_succeeded: number;
  mg_failed: number;
  /** migrate_pages()'s return: pages not migrated, or -1 for -ENOMEM. */
  mg_nr: number;
  /** [mm id, vpn] pairs try_to_unmap turned into migration entries. */
  get mg_ptes(): BoundedArray;
  set mg_ptes(v: Iterable<number>);
  /** migrate_pages()'s reason and mode arguments, set by the caller with the list. */
  mg_reason: MigrateReason;
  mg_mode: MigrateMode;
}
export const migrateLocalsFields = fields<MigrateLocals>({
  mg_from: array('HPAGE_PMD_NR: the pages of one team', (b) => b.hpagePmdNr), mg_pass: int(), mg_retry: int(), mg_i: int(), mg_new: int(-1), mg_rc: str(''),
  mg_succeeded: int(), mg_failed: int(), mg_nr: int(), mg_ptes: array('2 × the VMAs mapping files: (mm, vpn) pairs, a file page mapped once in each', (b) => 2 * b.fileVmas),
  mg_reason: str('shmem_recovery'), mg_mode: str('MIGRATE_SYNC'),
});

type M = Actor<MigrateLocals>;
const cur = (a: M): number => a.l.mg_from.at(a.l.mg_i)!;
const inodeOf = (a: M, pfn: number): Inode | undefined => {
  const m = a.k.pages.mapping[pfn]!;
  return m >= 0 ? a.k.inodes[m] : undefined;
};
const MIGRATE_PASSES = 10;

/**
 * putback_movable_pages(l) (mm/migrate.c), for the small shmem pages the model migrates:
 * each page left on the list back on its LRU, NR_ISOLATED_ANON down, the isolation
 * reference dropped. One definition for every migrate_pages() caller's putback.
 */
export function putbackMovablePages(a: Actor<unknown>, pages: Iterable<number>, reason: MigrateReason): void {
  const k = a.k;
  for (const p of pages) {
    k.count('nr_isolated_anon', -1, a.ix);
    k.bus.publish({ kind: 'migrate', op: 'putback', pfn: p, newpfn: -1, reason, succeeded: 0, failed: 0, actor: a.ix });
    k.pages.lruAdd(p, a.ix);
    k.pages.put(p, a.ix, a.id);
  }
}

/** migrate_pages(from, get_new_page, put_new_page, private, MIGRATE_SYNC, reason): returns through `returned`, mg_nr set. */
export function migratePagesStates(kernel = 'migrate_pages(&migrate, shmem_get_recovery_page, shmem_put_recovery_page, recovery, MIGRATE_SYNC, MR_SHMEM_RECOVERY)'): StateDef {
  return {
    meta: { kernel },
    initial: 'pass',
    states: {
      // for (pass = 0; pass < 10 && retry; pass++)
      pass: {
        always: [
          { guard: 'mgPassesDone', actions: 'mgDone', target: 'returned' },
          { actions: 'mgPassBegin', target: 'next' },
        ],
      },
      next: {
        always: [
          { guard: 'mgListDone', actions: 'mgPassEnd', target: 'pass_end' },
          { target: 'get_new_page' },
        ],
      },
      pass_end: { always: { target: 'pass' } },
      get_new_page: step('unmap_and_move: newpage = get_new_page(page, private, &result); if (PageTeam(page)) -EBUSY; if (page_count(page) == 1) "page was freed from under us"', {
        actions: 'mgGetNewPage', target: 'after_new',
      }),
      after_new: {
        always: [
          { guard: 'mgNoNewPage', actions: 'mgRcEnomem', target: 'counted' },
          // huge tmpfs (series 05): "if (PageTeam(page)) { rc = -EBUSY; goto out }" — a team member is never migrated away
          { guard: 'mgPageTeam', actions: 'mgRcEbusy', target: 'out' },
          { guard: 'mgFreedUnderUs', actions: 'mgRcFreed', target: 'out' },
          { target: 'trylock' },
        ],
      },
      trylock: step('__unmap_and_move: if (!trylock_page(page)) { if (!force) goto out; lock_page(page) } (force: pass > 2)', [
        { guard: 'mgPageUnlocked', actions: 'mgLockPage', target: 'truncated_check' },
        { guard: 'mgNotForce', actions: 'mgRcEagain', target: 'out' },
      ], { sleeps: 'lock_page' }),
      truncated_check: {
        always: [
          // the seed: "huge tmpfs recovery: must not proceed if page has been truncated"
          { guard: 'mgPageTruncated', actions: 'mgRcEnomem', target: 'unlock_page' },
          { target: 'trylock_new' },
        ],
      },
      trylock_new: step('__unmap_and_move: if (unlikely(!trylock_page(newpage))) goto out_unlock', [
        { guard: 'mgNewUnlocked', actions: 'mgLockNew', target: 'unmap_route' },
        { actions: 'mgRcEagain', target: 'unlock_page' },
      ]),
      unmap_route: {
        always: [
          { guard: 'mgPageMapped', target: 'try_to_unmap' },
          { target: 'move_route' },
        ],
      },
      try_to_unmap: step('__unmap_and_move: try_to_unmap(page, TTU_MIGRATION|TTU_IGNORE_MLOCK|TTU_IGNORE_ACCESS): each pte of the page a migration entry', {
        guard: 'mgPtlsFree', actions: 'mgUnmap', target: 'move_route',
      }),
      // move_to_new_page: mapping = page_mapping(page) — NULL once truncation deleted the page
      // under its lock (recovery stopped at truncated_check; any other caller goes on)
      move_route: {
        always: [
          { guard: 'mgNoMapping', target: 'move_no_mapping' },
          { target: 'move_tree_lock' },
        ],
      },
      // the truncated page is migrated, no slot to replace; unmap_and_move then frees both
      move_no_mapping: step('migrate_page_move_mapping(NULL, newpage, page): "Anonymous page without mapping": if (page_count(page) != 1) return -EAGAIN; newpage->index = page->index; return MIGRATEPAGE_SUCCESS', [
        { guard: 'mgCountIsOne', actions: 'mgRcSuccess', target: 'unlock_new' },
        { actions: 'mgRcEagain', target: 'unlock_new' },
      ]),
      move_tree_lock: step('migrate_page_move_mapping: spin_lock_irq(&mapping->tree_lock)', {
        guard: 'mgTreeLockFree', actions: 'mgLockTree', target: 'move_mapping',
      }),
      move_mapping: step('migrate_page_move_mapping: page_count == 2 && slot == page; page_ref_freeze; newpage->index, ->mapping; if (PageSwapBacked(page)) SetPageSwapBacked(newpage); get_page(newpage); dirty moved; radix_tree_replace_slot; page_ref_unfreeze(page, 1); spin_unlock_irq', [
        // variant shmem_recovery_migrate_page (patch 29): "if (!shmem_recovery_migrate_page(newpage, page)) { unfreeze; unlock; return -ENOMEM }"
        { guard: { and: ['mgCountAndSlotOk', 'mgRecoveryMigrateRefused'] }, actions: ['mgUnlockTree', 'mgRcEnomem'], target: 'remove_ptes_route' },
        { guard: 'mgCountAndSlotOk', actions: ['mgMoveMapping', 'mgUnlockTree'], target: 'copy' },
        { actions: ['mgUnlockTree', 'mgRcEagain'], target: 'remove_ptes_route' },
      ]),
      copy: step('migrate_page_copy(newpage, page): copy_highpage; SetPageUptodate(newpage); move_to_new_page: page->mapping = NULL', {
        actions: 'mgCopy', target: 'remove_ptes_route',
      }),
      remove_ptes_route: {
        always: [
          { guard: 'mgWasMapped', target: 'remove_migration_ptes' },
          { target: 'unlock_new' },
        ],
      },
      remove_migration_ptes: step('remove_migration_ptes(page, rc == MIGRATEPAGE_SUCCESS ? newpage : page)', {
        guard: 'mgPtlsFree', actions: 'mgRemoveMigrationPtes', target: 'unlock_new',
      }),
      unlock_new: step('__unmap_and_move: unlock_page(newpage); out_unlock: unlock_page(page)', {
        actions: ['mgUnlockNew', 'mgUnlockPage'], target: 'out',
      }),
      unlock_page: step('__unmap_and_move out_unlock: unlock_page(page)', {
        actions: 'mgUnlockPage', target: 'out',
      }),
      out: step('unmap_and_move out: if (rc != -EAGAIN) { list_del; NR_ISOLATED_ANON--; putback_lru_page(page) }; put_new_page(newpage) or putback_lru_page(newpage)', [
        { guard: 'mgRcIsSuccess', actions: ['mgOut', 'mgPutbackNew'], target: 'counted' },
        // the embedding chart's put_new_page callback
        { actions: ['mgOut', 'mgPutNewPage'], target: 'counted' },
      ]),
      counted: {
        always: [
          { guard: 'mgRcIsEnomem', actions: 'mgEnomem', target: 'returned' },
          { actions: 'mgCount', target: 'next' },
        ],
      },
      returned: final,
    },
  };
}

export const migrateGuards: Record<string, TaskGuard<M>> = {
  mgPassesDone: (a) => a.l.mg_pass >= MIGRATE_PASSES || (a.l.mg_pass > 0 && a.l.mg_retry === 0),
  mgListDone: (a) => a.l.mg_i >= a.l.mg_from.length,
  mgNoNewPage: (a) => a.l.mg_new < 0,
  mgFreedUnderUs: (a) => a.k.pages.refcount[cur(a)] === 1,
  mgPageTeam: (a) => PageTeam(a.k, cur(a)),
  mgPageUnlocked: (a) => !a.k.pages.isLocked(cur(a)),
  mgNotForce: (a) => a.l.mg_pass <= 2,
  // the seed: "if (reason == MR_SHMEM_RECOVERY && !page->mapping)"
  mgPageTruncated: (a) => a.l.mg_reason === 'shmem_recovery' && a.k.pages.mapping[cur(a)]! < 0,
  mgNoMapping: (a) => a.k.pages.mapping[cur(a)]! < 0,
  mgCountIsOne: (a) => a.k.pages.refcount[cur(a)] === 1,
  mgNewUnlocked: (a) => !a.k.pages.isLocked(a.l.mg_new),
  mgPageMapped: (a) => a.k.pages.isMapped(cur(a)),
  mgPtlsFree: (a) => a.k.mms.every((mm) => mm.pageTableLock.free),
  mgTreeLockFree: (a) => inodeOf(a, cur(a))?.mapping.treeLock.free ?? true,
  mgCountAndSlotOk: (a) => {
    const p = cur(a);
    const inode = inodeOf(a, p);
    // (series 05: "|| PageTeam(page)")
    return !!inode && a.k.pages.refcount[p] === 2 && !PageTeam(a.k, p) && inode.mapping.lookup(a.k.pages.index[p]!) === p;
  },
  mgWasMapped: (a) => a.l.mg_ptes.length > 0,
  mgRcIsEnomem: (a) => a.l.mg_rc === 'ENOMEM',
  mgRcIsSuccess: (a) => a.l.mg_rc === 'SUCCESS',
  /** shmem_recovery_migrate_page(newpage, page) would return false: the team head is no longer PageTeam. */
  mgRecoveryMigrateRefused: (a) => {
    const k = a.k;
    if (!k.variant('shmem_recovery_migrate_page') || a.l.mg_reason !== 'shmem_recovery') return false;
    const head = a.l.mg_new - (k.pages.index[cur(a)]! & (k.HPAGE_PMD_NR - 1));
    return !PageTeam(k, head);
  },
};

export const migrateActions: Record<string, TaskAction<M>> = {
  mgPassBegin: (a) => {
    a.l.mg_retry = 0;
    a.l.mg_i = 0;
  },
  mgPassEnd: (a) => {
    a.l.mg_pass++;
  },
  mgRcEnomem: (a) => { a.l.mg_rc = 'ENOMEM'; },
  mgRcEagain: (a) => { a.l.mg_rc = 'EAGAIN'; },
  mgRcFreed: (a) => { a.l.mg_rc = 'FREED'; },
  mgRcEbusy: (a) => { a.l.mg_rc = 'EBUSY'; },
  mgRcSuccess: (a) => { a.l.mg_rc = 'SUCCESS'; },
  // trylock_page, or with force lock_page (which may wait: the guard blocks)
  mgLockPage: (a) => a.k.lockPage(cur(a), a.ix, a.l.mg_pass > 2 ? 'lock_page' : 'trylock_page'),
  mgUnlockPage: (a) => a.k.unlockPage(cur(a), a.ix),
  mgLockNew: (a) => a.k.lockPage(a.l.mg_new, a.ix, 'trylock_page'),
  mgUnlockNew: (a) => a.k.unlockPage(a.l.mg_new, a.ix),
  mgLockTree: (a) => a.k.spinLock(inodeOf(a, cur(a))!.mapping.treeLock, a.ix),
  // (the old page's mapping cannot change while its tree lock is held: truncation deletes under it)
  mgUnlockTree: (a) => a.k.spinUnlock(inodeOf(a, cur(a))!.mapping.treeLock, a.ix),
  /** try_to_unmap: every pte of the page cleared, remembered as a migration entry. */
  mgUnmap: (a) => {
    const k = a.k;
    const p = cur(a);
    a.l.mg_ptes = [];
    for (const mm of k.mms) {
      for (const [ix, pmd] of mm.pmds) {
        if (!hasPteTable(pmd)) continue;
        for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
          if (pmd.ptes.at(i) !== p) continue;
          const vpn = ix * k.HPAGE_PMD_NR + i;
          k.setPte(mm, vpn, PTE_NONE, false, a.ix);
          k.pages.unmapPte(p, a.ix);
          k.addMmCounter(mm, k.mmCounterFile(p), -1, a.ix);
          k.ref('move', 'page', p, 'pte', a.id, a.ix);
          k.pages.put(p, a.ix, a.id);
          k.migrationEntry(mm, vpn, true, a.ix);
          a.l.mg_ptes.push(mm.id, vpn);
        }
      }
    }
  },
  /** remove_migration_ptes: each migration entry back to a pte of the page now in the cache (if no fault put one there). */
  mgRemoveMigrationPtes: (a) => {
    const k = a.k;
    const target = a.l.mg_rc === 'SUCCESS' ? a.l.mg_new : cur(a);
    for (let i = 0; i < a.l.mg_ptes.length; i += 2) {
      const mm = k.mms[a.l.mg_ptes.at(i)!]!;
      const vpn = a.l.mg_ptes.at(i + 1)!;
      // only where the migration entry is still there (a zap, exit or munmap, removes it)
      if (!k.isMigrationEntry(mm, vpn)) continue;
      k.migrationEntry(mm, vpn, false, a.ix);
      const vma = mm.findVma(vpn);
      if (!vma || k.pte(mm, vpn) !== PTE_NONE) continue;
      k.pages.get(target, a.ix, a.id);
      k.pages.mapPte(target, a.ix);
      k.setPte(mm, vpn, target, (vma.flags & VM.WRITE) !== 0, a.ix);
      k.addMmCounter(mm, k.mmCounterFile(target), 1, a.ix);
      k.ref('move', 'page', target, a.id, 'pte', a.ix);
    }
    a.l.mg_ptes = [];
  },
  /**
   * migrate_page_move_mapping, the tree lock held: the old page frozen at its two
   * references (the cache's, the isolation's), the new page given its index and mapping,
   * PageSwapBacked composed onto it (with PageTeam, when it is the team head: the seed's
   * account_head case), a cache reference, PG_dirty; the slot replaced; the old page
   * unfrozen at one (the isolation's).
   */
  mgMoveMapping: (a) => {
    const k = a.k;
    const p = cur(a);
    const n = a.l.mg_new;
    const inode = inodeOf(a, p)!;
    const index = k.pages.index[p]!;
    if (!k.pages.freeze(p, 2, a.ix)) k.violate('team', `migrate_page_move_mapping: page_ref_freeze(${hex(p)}, 2) failed under the tree lock`);
    k.pages.setIndex(n, index);
    k.pages.setMapping(n, inode.id);
    if (k.pages.testFlag(p, 'swapbacked')) k.pages.setFlag(n, 'swapbacked');
    // (patch 29: in MIGRATE_SHMEM_RECOVERY mode only)
    const enteam = k.variant('shmem_recovery_migrate_page') && a.l.mg_reason === 'shmem_recovery';
    if (enteam) k.ref('drop', 'page', n, 'team', '', a.ix); // its split reference is the cache's
    else k.pages.get(n, a.ix);
    if (k.pages.isDirty(p)) {
      k.pages.clearDirty(p, a.ix);
      k.pages.setDirty(n, a.ix);
    }
    k.cacheSet(inode, index, n, a.ix);
    if (enteam) {
      // shmem_recovery_migrate_page: the migrated page a team member at once
      const head = n - (index & (k.HPAGE_PMD_NR - 1));
      if (n !== head) teamMember(k, n, true, a.ix);
      shmemAddedToHugeteam(k, inode, n, false, a.ix);
    }
    k.pages.unfreeze(p, 1, a.ix);
    a.l.mg_rc = 'SUCCESS';
  },
  mgCopy: (a) => {
    const k = a.k;
    const p = cur(a);
    const n = a.l.mg_new;
    k.setPageData(n, k.pages.data[p]!, 'copy', a.ix);
    if (k.pages.isUptodate(p)) k.pages.setUptodate(n, a.ix);
    k.pages.setMapping(p, -1);
    // the page is moved: its slot, data and flags are the new page's
    k.bus.publish({ kind: 'migrate', op: 'move', pfn: p, newpfn: n, reason: a.l.mg_reason, succeeded: 0, failed: 0, actor: a.ix });
  },
  /** unmap_and_move's out: label. */
  mgOut: (a) => {
    const k = a.k;
    const p = cur(a);
    const rc = a.l.mg_rc;
    if (rc !== 'EAGAIN') {
      // list_del(&page->lru); dec_zone_page_state(page, NR_ISOLATED_ANON)
      a.l.mg_from.splice(a.l.mg_i, 1);
      a.l.mg_i--;
      k.count('nr_isolated_anon', -1, a.ix);
      k.bus.publish({ kind: 'migrate', op: 'putback', pfn: p, newpfn: -1, reason: a.l.mg_reason, succeeded: 0, failed: 0, actor: a.ix });
      if (rc === 'SUCCESS' || rc === 'FREED') k.pages.put(p, a.ix, a.id); // the isolation reference: the last
      else {
        k.pages.lruAdd(p, a.ix); // putback_lru_page
        k.pages.put(p, a.ix, a.id);
      }
    }
  },
  /** putback_lru_page(newpage): onto the LRU, get_new_page's reference dropped. */
  mgPutbackNew: (a) => {
    a.k.pages.lruAdd(a.l.mg_new, a.ix);
    a.k.pages.put(a.l.mg_new, a.ix, a.id);
    a.l.mg_new = -1;
  },
  mgCount: (a) => {
    const rc = a.l.mg_rc;
    if (rc === 'EAGAIN') a.l.mg_retry++;
    else if (rc === 'SUCCESS' || rc === 'FREED') a.l.mg_succeeded++;
    else a.l.mg_failed++;
    a.l.mg_i++;
    a.l.mg_rc = '';
  },
  mgEnomem: (a) => {
    a.l.mg_failed++;
    a.l.mg_rc = '';
    a.l.mg_nr = -1;
    mgTrace(a);
  },
  mgDone: (a) => {
    a.l.mg_nr = a.l.mg_failed + a.l.mg_retry;
    a.l.mg_failed += a.l.mg_retry;
    mgTrace(a);
  },
};

function mgTrace(a: M): void {
  a.k.bus.publish({ kind: 'migrate', op: 'done', pfn: -1, newpfn: -1, reason: a.l.mg_reason, mode: a.l.mg_mode, succeeded: a.l.mg_succeeded, failed: a.l.mg_failed, actor: a.ix });
}
