/**
 * Huge tmpfs recovery (seed 001: patch 24/31 of Hugh Dickins' 2016 series, on patch 23's
 * framework): the recovery worker, queued by a fault on a small page of a huge=1 file,
 * runs shmem_recovery_work → shmem_recovery_populate to gather the extent's pages into
 * a team: each offset through shmem_getpage_gfp(SGP_TEAM) (swapcache to pagecache,
 * existing pagecache, or a new page), correctly placed pages enteamed (with the rmap dance
 * for a page already mapped), misplaced ones isolated and migrated into their team
 * location by migrate_pages(MR_SHMEM_RECOVERY), passes repeated until complete or
 * impossible. Three endings: complete (PageChecked), partial (SHMEM_TAG_HUGEHOLE and the
 * shrinklist: the shrinker may take the holes, a later recovery resumes), failed
 * (disbanded). Each state is one atomic step, named after the seed's line.
 *
 * shmem_recovery_remap (patch 25) is not part of the seed: the work ends after populate.
 */
import { type BoundedArray, array, bool, fields, int, str } from '../src/vector/struct.ts';
import { shmemLocalsFields } from './shmem.ts';
import { migrateLocalsFields } from './migrate.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskChartDef, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { hex } from '../src/memory/pages.ts';
import type { ShrStat } from '../src/memory/vmstat.ts';
import {
  PageSwapBacked, PageTeam, shmemAddedToHugeteam, shmemClearTagHugehole, shmemDisbandHugehead, shmemDisbandHugetails, shmemFreeholes,
  shrinklist, tagTeamHugehole, teamCmd, teamHead, teamMember,
} from '../src/memory/team.ts';
import { type ShmemLocals, shmemGetpageActions, shmemGetpageGuards, shmemGetpageStates, unmapActions, unmapGuards } from './shmem.ts';
import { type MigrateLocals, migrateActions, migrateGuards, migratePagesStates, putbackMovablePages } from './migrate.ts';

export interface RecoveryLocals extends ShmemLocals, MigrateLocals {
  /** struct recovery: the inode, the mm that faulted, the extent's first index. */
  rc_ino: number;
  rc_mm: number;
  rc_head_index: number;
  /** The offset of the page whose fault queued the work. */
  rc_fault_index: number;
  /** recovery->page: the faulting page (referenced), then the team head. */
  rc_page: number;
  rc_head: number;
  rc_migrated_head: number;
  rc_exposed_team: boolean;
  rc_result: '' | 'completed' | 'partial' | 'failed' | 'too_late' | 'huge_failed';
  // shmem_recovery_populate's locals
  rp_index: number;
  /** `team`: the team page for rp_index (head + offset). */
  rp_team: number;
  rp_error: '' | 'ENOENT' | 'ENOMEM' | 'EINVAL' | 'EAGAIN';
  rp_nr: number;
  rp_migratable: number;
  rp_unmigratable: number;
  rp_drained_all: boolean;
  rp_account_head: boolean;
  /** LIST_HEAD(migrate): the isolated pages. */
  get rp_migrate(): BoundedArray;
  set rp_migrate(v: Iterable<number>);
}
export const recoveryLocalsFields = fields<RecoveryLocals>({
  ...shmemLocalsFields,
  ...migrateLocalsFields,
  rc_ino: int(-1), rc_mm: int(-1), rc_head_index: int(), rc_fault_index: int(), rc_page: int(-1), rc_head: int(-1), rc_migrated_head: int(-1),
  rc_exposed_team: bool(), rc_result: str(''), rp_index: int(), rp_team: int(-1), rp_error: str(''), rp_nr: int(), rp_migratable: int(),
  rp_unmigratable: int(), rp_drained_all: bool(), rp_account_head: bool(), rp_migrate: array('HPAGE_PMD_NR: the pages of one team', (b) => b.hpagePmdNr),
});

type A = Actor<RecoveryLocals>;
const inode = (a: A): Inode => a.k.inodes[a.l.rc_ino]!;
const N = (a: A) => a.k.HPAGE_PMD_NR;
const stat = (a: A, s: ShrStat, n = 1) => a.k.count(s, n, a.ix);
const page = (a: A) => a.l.gp_page;

/** list_add / list_del of the recovery on shmem_recoverylist (shmem_recoverylist_lock held). */
function recoverylist(a: A, on: boolean): void {
  const ino = inode(a);
  const extent = a.l.rc_head_index / N(a);
  ino.setRecovering(extent, on);
  a.k.bus.publish({ kind: 'inode', field: 'recovering', ino: ino.id, old: on ? 0 : 1, value: on ? 1 : 0, index: a.l.rc_head_index, actor: a.ix });
}

function recoveryEvent(a: A, op: 'pass' | 'end'): void {
  a.k.bus.publish({ kind: 'recovery', op, ino: a.l.rc_ino, index: a.l.rc_head_index, head: a.l.rc_head, result: op === 'end' ? a.l.rc_result : '', actor: a.ix });
}

/** shmem_recovery_populate(recovery, head): 0, -EAGAIN (partial) or an error; rp_error holds it. */
export function shmemRecoveryPopulateStates(): StateDef {
  return {
    meta: { kernel: 'shmem_recovery_populate' },
    initial: 'checked',
    states: {
      checked: step('shmem_recovery_populate: if (PageTeam(head) && PageChecked(head)) return 0 ("relies on disband\'s ClearPageChecked")', [
        { guard: 'rpAlreadyChecked', target: 'returned' },
        { target: 'again' },
      ]),
      again: { always: { actions: 'rpAgain', target: 'loop' } },
      loop: {
        always: [
          { guard: 'rpLoopDone', target: 'after_loop' },
          // PageTeam(team) && PageUptodate(team) && PageDirty(team) && !account_head: resolved in a pass before
          { guard: 'rpSkip', target: 'advance' },
          { actions: 'rpGetpageBegin', target: 'getpage' },
        ],
      },
      advance: { always: { actions: 'rpAdvance', target: 'loop' } },
      getpage: { ...shmemGetpageStates(), onDone: 'got' },
      got: {
        always: [
          { guard: 'rpGetpageFailed', actions: 'rpGetpageError', target: 'after_loop' },
          { target: 'set_dirty' },
        ],
      },
      set_dirty: step('VM_BUG_ON(!PageUptodate(page)); if (!PageDirty(page)) SetPageDirty(page); if (PageTeam(page) && PageTeam(team_head(page))) { if (page != team) -ENOENT; if (error || !account_head) goto unlock }', [
        { guard: 'rpInOtherTeam', actions: ['rpDirty', 'rpEnoent'], target: 'unlock' },
        { guard: 'rpEnteamedAlready', actions: 'rpDirty', target: 'unlock' },
        { actions: 'rpDirty', target: 'swapbacked_check' },
      ]),
      swapbacked_check: step('if (PageSwapBacked(team) && page != team) -ENOENT: "offset was truncated or hole-punched meanwhile"', [
        { guard: 'rpTeamTaken', actions: 'rpEnoent', target: 'unlock' },
        { guard: 'rpExposed', target: 'head_team_check' },
        { target: 'expose' },
      ]),
      expose: step('if (!recovery->exposed_team) { exposed_team = true; head->team_usage = TEAM_LRU_WEIGHT_ONE; SetPageTeam(head); head->mapping = mapping; head->index = index; if (page == head) account_head = true }', {
        actions: 'rpExpose', target: 'head_team_check',
      }),
      head_team_check: step('if (!PageTeam(head)) -ENOENT: "Eviction or truncation or hole-punch already disbanded?"', [
        { guard: 'rpHeadNotTeam', actions: 'rpEnoent', target: 'unlock' },
        { guard: 'rpPageIsTeam', target: 'enteam_rmap' },
        { target: 'isolate' },
      ]),
      enteam_rmap: step('VM_BUG_ON_PAGE(!PageSwapBacked(page)); if (page_mapped(page)) { preempt_disable(); page_add_file_rmap(page) }', {
        actions: 'rpRmapBump', target: 'enteam_lock',
      }),
      enteam_lock: step('spin_lock_irq(&mapping->tree_lock)', {
        guard: 'rpTreeLockFree', actions: 'rpLockTree', target: 'enteam',
      }),
      enteam: step('if (PageTeam(head)) { if (page != head) { team_usage = TEAM_LRU_WEIGHT_ONE; SetPageTeam(page) } if (page != head || account_head) { shmem_added_to_hugeteam(page, zone, NULL); put_page(page); page_teamed } } spin_unlock_irq', {
        actions: ['rpEnteam', 'rpUnlockTree'], target: 'enteam_unrmap',
      }),
      enteam_unrmap: step('if (page_mapped(page)) { inc_team_pte_mapped(page); page_remove_rmap(page, false); preempt_enable() } account_head = false', {
        actions: 'rpRmapUnbump', target: 'unlock',
      }),
      isolate: step('VM_BUG_ON(account_head); if (!PageLRU(page)) lru_add_drain(); if (isolate_lru_page(page) == 0) { NR_ISOLATED_ANON++; list_add_tail(&page->lru, &migrate); migratable++ } else unmigratable++', [
        { guard: { and: ['rpOnLru', { not: 'injectedFailure' }] }, actions: 'rpIsolate', target: 'unlock' },
        { actions: 'rpOffLru', target: 'unlock' },
      ], { inject: 'isolate_lru_page' }),
      unlock: step('unlock: unlock_page(page); put_page(page); cond_resched()', {
        actions: ['rpUnlockPut', 'rpAdvance'], target: 'loop',
      }),
      after_loop: {
        always: [
          { guard: { and: ['rpHaveMigrate', 'rpNoError'] }, actions: 'rpMigrateBegin', target: 'migrate' },
          { guard: 'rpHaveMigrate', target: 'putback' },
          { target: 'retry_route' },
        ],
      },
      migrate: { ...migratePagesStates(), onDone: 'migrated' },
      migrated: { always: { actions: 'rpMigrated', target: 'putback' } },
      putback: step('putback_movable_pages(&migrate); lru_add_drain()', {
        actions: 'rpPutback', target: 'retry_route',
      }),
      retry_route: {
        always: [
          // "the preparatory isolate_lru_page() can too easily fail": lru_add_drain_all() and again, once
          { guard: 'rpRetryDrain', actions: 'rpDrainAll', target: 'again' },
          // "Make another pass to SetPageTeam on them"
          { guard: 'rpRetryMigrated', target: 'again' },
          { target: 'lock_head' },
        ],
      },
      lock_head: step('lock_page(head); nr = HPAGE_PMD_NR; decide: disband_hugetails, shmem_freeholes, or a concurrent disband', [
        { guard: { and: ['rpHeadUnlocked', { not: 'rpExposed' }] }, actions: 'rpLockHead', target: 'disband_tails_only' },
        { guard: { and: ['rpHeadUnlocked', 'rpHeadIsTeam'] }, actions: ['rpLockHead', 'rpFreeholes'], target: 'decide' },
        // "A concurrent actor took over our team and disbanded it"
        { guard: 'rpHeadUnlocked', actions: ['rpLockHead', 'rpEnoentIfNone'], target: 'ending' },
      ], { sleeps: 'lock_page' }),
      decide: {
        always: [
          { guard: 'rpNoError', target: 'ending' },
          { target: 'disband_lock' },
        ],
      },
      disband_tails_only: step('VM_BUG_ON(!error); shmem_disband_hugetails(head, NULL, 0): "Failed before even setting team head"', {
        actions: 'rpDisbandTailsOnly', target: 'ending',
      }),
      disband_lock: step('shmem_disband_hugeteam(head) → shmem_disband_hugehead: spin_lock_irqsave(&mapping->tree_lock) ("Unsafe to let shrinker back in on this team")', {
        guard: 'rpTreeLockFree', actions: 'rpLockTree', target: 'disband_head',
      }),
      disband_head: step('shmem_disband_hugehead: team_usage = TEAM_LRU_WEIGHT_ONE; ClearPageTeam(head); stats; spin_unlock_irqrestore', {
        actions: ['rpDisbandHead', 'rpUnlockTree'], target: 'disband_tails',
      }),
      disband_tails: step('shmem_disband_hugeteam → shmem_disband_hugetails(head, NULL, 0)', {
        actions: 'rpDisbandTails', target: 'ending',
      }),
      ending: {
        always: [
          { guard: { not: 'rpNoError' }, actions: 'rpFailed', target: 'unlock_head' },
          // variant shmem_recovery_check_uptodate: PageChecked only after a pass that found every page resolved
          { guard: { and: ['rpNoHoles', 'rpCheckUptodate', 'rpTeamNotAllResolved'] }, target: 'recheck' },
          { guard: 'rpNoHoles', target: 'set_checked' },
          { target: 'tag_lock' },
        ],
      },
      recheck: step('(shmem_recovery_check_uptodate) a page counted but not yet PageUptodate && PageDirty: unlock_page(head); goto again', {
        actions: 'rpUnlockHead', target: 'again',
      }),
      set_checked: step('"Team is complete and ready for pmd mapping": SetPageChecked(head); recov_completed', {
        actions: 'rpSetChecked', target: 'unlock_head',
      }),
      tag_lock: step('spin_lock_irq(&mapping->tree_lock)', {
        guard: 'rpTreeLockFree', actions: 'rpLockTree', target: 'tag',
      }),
      tag: step('for (team = head;; team++) if (PageSwapBacked(team)) { VM_BUG_ON(!PageTeam(team)); radix_tree_tag_set(team->index, SHMEM_TAG_HUGEHOLE) } spin_unlock_irq', {
        actions: ['rpTag', 'rpUnlockTree'], target: 'shrinklist',
      }),
      shrinklist: step('if (list_empty(&info->shrinklist)) { spin_lock(&shmem_shrinklist_lock); list_add_tail; shmem_shrinklist_depth++ } recov_partial; error = -EAGAIN', {
        guard: 'rpShrinklistLockFree', actions: 'rpShrinklist', target: 'unlock_head',
      }),
      unlock_head: step('unlock_page(head); return error', {
        actions: 'rpUnlockHead', target: 'returned',
      }),
      returned: final,
    },
  };
}

const populateGuards: Record<string, TaskGuard<A>> = {
  rpAlreadyChecked: (a) => PageTeam(a.k, a.l.rc_head) && a.k.pages.testFlag(a.l.rc_head, 'checked'),
  rpLoopDone: (a) => a.l.rp_team >= a.l.rc_head + N(a) || a.l.rp_error !== '',
  rpSkip: (a) => {
    const k = a.k;
    const t = a.l.rp_team;
    return PageTeam(k, t) && k.pages.isUptodate(t) && k.pages.isDirty(t) && !a.l.rp_account_head;
  },
  rpGetpageFailed: (a) => a.l.gp_page < 0,
  rpInOtherTeam: (a) => {
    const k = a.k;
    return PageTeam(k, page(a)) && PageTeam(k, teamHead(k, page(a))) && page(a) !== a.l.rp_team;
  },
  rpEnteamedAlready: (a) => {
    const k = a.k;
    return PageTeam(k, page(a)) && PageTeam(k, teamHead(k, page(a))) && !a.l.rp_account_head;
  },
  rpTeamTaken: (a) => PageSwapBacked(a.k, a.l.rp_team) && page(a) !== a.l.rp_team,
  rpExposed: (a) => a.l.rc_exposed_team,
  rpHeadNotTeam: (a) => !PageTeam(a.k, a.l.rc_head),
  rpPageIsTeam: (a) => page(a) === a.l.rp_team,
  rpTreeLockFree: (a) => inode(a).mapping.treeLock.free,
  rpOnLru: (a) => a.k.pages.isOnLru(page(a)),
  rpHaveMigrate: (a) => a.l.rp_migrate.length > 0,
  rpNoError: (a) => a.l.rp_error === '',
  rpRetryDrain: (a) => a.l.rp_error === '' && a.l.rp_unmigratable > 0 && !a.l.rp_drained_all,
  // (patch 29 drops this pass: the migrated pages are enteamed already)
  rpRetryMigrated: (a) => a.l.rp_error === '' && a.l.rp_migratable > 0 && !a.k.variant('shmem_recovery_migrate_page'),
  rpHeadUnlocked: (a) => !a.k.pages.isLocked(a.l.rc_head),
  rpHeadIsTeam: (a) => PageTeam(a.k, a.l.rc_head),
  rpNoHoles: (a) => a.l.rp_nr === 0,
  rpCheckUptodate: (a) => a.k.variant('shmem_recovery_check_uptodate'),
  /** Some page of the team is not what populate's skip test calls resolved: PageTeam, PageUptodate, PageDirty. */
  rpTeamNotAllResolved: (a) => {
    const k = a.k;
    for (let t = a.l.rc_head; t < a.l.rc_head + N(a); t++) {
      if (!(PageTeam(k, t) && k.pages.isUptodate(t) && k.pages.isDirty(t))) return true;
    }
    return false;
  },
  rpShrinklistLockFree: (a) => inode(a).shrinklist || a.k.shmemShrinklistLock.free,
};

const populateActions: Record<string, TaskAction<A>> = {
  rpAgain: (a) => {
    a.l.rp_migratable = 0;
    // (patch 29 sets unmigratable = 0 once, before again:)
    if (!a.k.variant('shmem_recovery_migrate_page')) a.l.rp_unmigratable = 0;
    a.l.rp_index = a.l.rc_head_index;
    a.l.rp_team = a.l.rc_head;
    recoveryEvent(a, 'pass');
  },
  rpAdvance: (a) => {
    a.l.rp_index++;
    a.l.rp_team++;
  },
  rpGetpageBegin: (a) => {
    a.l.gp_ino = a.l.rc_ino;
    a.l.gp_index = a.l.rp_index;
    a.l.gp_sgp = 'team';
    a.l.gp_err = '';
    a.l.gp_page = -1;
  },
  rpGetpageError: (a) => {
    a.l.rp_error = a.l.gp_err === 'ENOMEM' || a.l.gp_err === 'EINVAL' ? a.l.gp_err : 'ENOENT';
  },
  rpDirty: (a) => {
    const k = a.k;
    if (!k.pages.isUptodate(page(a))) k.violate('team', `shmem_recovery_populate: VM_BUG_ON_PAGE(!PageUptodate(page)) on ${hex(page(a))}`);
    if (!k.pages.isDirty(page(a))) k.pages.setDirty(page(a), a.ix);
  },
  rpEnoent: (a) => {
    a.l.rp_error = 'ENOENT';
  },
  rpExpose: (a) => {
    const k = a.k;
    const head = a.l.rc_head;
    if (a.l.rp_team !== head) k.violate('team', `shmem_recovery_populate: VM_BUG_ON(team != head) exposing at ${hex(a.l.rp_team)}`);
    a.l.rc_exposed_team = true;
    teamCmd(k, head, 'EXPOSE', a.ix, k.T.LRU_WEIGHT_ONE);
    k.pages.setMapping(head, a.l.rc_ino);
    k.pages.setIndex(head, a.l.rp_index);
    if (page(a) === head) a.l.rp_account_head = true;
  },
  rpRmapBump: (a) => {
    const k = a.k;
    if (!PageSwapBacked(k, page(a))) k.violate('team', `shmem_recovery_populate: VM_BUG_ON_PAGE(!PageSwapBacked(page)) on ${hex(page(a))}`);
    if (k.pages.isMapped(page(a))) k.pages.mapPte(page(a), a.ix); // the artificial mapcount bump
  },
  rpLockTree: (a) => a.k.spinLock(inode(a).mapping.treeLock, a.ix),
  rpUnlockTree: (a) => a.k.spinUnlock(inode(a).mapping.treeLock, a.ix),
  rpEnteam: (a) => {
    const k = a.k;
    const p = page(a);
    const head = a.l.rc_head;
    if (!PageTeam(k, head)) return;
    if (p !== head) teamMember(k, p, true, a.ix);
    if (p !== head || a.l.rp_account_head) {
      shmemAddedToHugeteam(k, inode(a), p, false, a.ix);
      k.pages.put(p, a.ix, 'team'); // the hole's split reference: the cache holds its own
      stat(a, 'page_teamed');
    }
  },
  rpRmapUnbump: (a) => {
    const k = a.k;
    if (k.pages.isMapped(page(a))) {
      k.teamPteMapped(page(a), 1, a.ix); // inc_team_pte_mapped
      k.pages.unmapPte(page(a), a.ix); // page_remove_rmap: the bump back off
    }
    a.l.rp_account_head = false;
  },
  rpIsolate: (a) => {
    const k = a.k;
    if (a.l.rp_account_head) k.violate('team', 'shmem_recovery_populate: VM_BUG_ON(account_head) isolating a misplaced page');
    k.pages.isolate(page(a), a.ix);
    k.pages.get(page(a), a.ix, a.id); // isolate_lru_page's reference
    k.count('nr_isolated_anon', 1, a.ix);
    a.l.rp_migrate.push(page(a));
    k.bus.publish({ kind: 'migrate', op: 'isolate', pfn: page(a), newpfn: -1, reason: 'shmem_recovery', succeeded: 0, failed: 0, actor: a.ix });
    stat(a, 'page_migrate');
    a.l.rp_migratable++;
  },
  rpOffLru: (a) => {
    stat(a, 'page_off_lru');
    a.l.rp_unmigratable++;
  },
  rpUnlockPut: (a) => {
    a.k.unlockPage(page(a), a.ix);
    a.k.pages.put(page(a), a.ix, a.id);
    a.l.gp_page = -1;
  },
  rpMigrateBegin: (a) => {
    a.l.rc_migrated_head = -1;
    // migrate_pages works on the list in place (moved, not shared: what it leaves is put back after)
    Object.assign(a.l, { mg_from: a.l.rp_migrate, rp_migrate: [], mg_pass: 0, mg_retry: 1, mg_i: 0, mg_new: -1, mg_rc: '', mg_succeeded: 0, mg_failed: 0, mg_nr: 0, mg_ptes: [], mg_reason: 'shmem_recovery', mg_mode: 'MIGRATE_SYNC' });
  },
  rpMigrated: (a) => {
    a.l.rp_migrate = a.l.mg_from;
    a.l.mg_from = [];
    a.l.rp_account_head = a.l.rc_migrated_head >= 0;
    const nr = a.l.mg_nr;
    // "If migrate_pages() returned error (-ENOMEM) ... the team should be disbanded now anyway"
    if (nr < 0) a.l.rp_error = 'ENOENT';
    if (nr > 0) {
      stat(a, 'page_unmigrated', nr);
      a.l.rp_unmigratable += nr;
      a.l.rp_migratable -= nr;
    }
  },
  rpPutback: (a) => {
    putbackMovablePages(a, a.l.rp_migrate, 'shmem_recovery');
    a.l.rp_migrate = [];
  },
  rpDrainAll: (a) => {
    a.l.rp_drained_all = true;
    stat(a, 'recov_retried');
  },
  rpLockHead: (a) => {
    a.k.lockPage(a.l.rc_head, a.ix);
    a.l.rp_nr = N(a);
  },
  rpFreeholes: (a) => {
    if (a.l.rp_error !== '') return;
    a.l.rp_nr = shmemFreeholes(a.k, a.l.rc_head);
    // "We made no progress so not worth resuming"
    if (a.l.rp_nr === N(a)) a.l.rp_error = 'ENOENT';
  },
  rpEnoentIfNone: (a) => {
    if (a.l.rp_error === '') a.l.rp_error = 'ENOENT';
  },
  rpDisbandTailsOnly: (a) => {
    const k = a.k;
    if (a.l.rp_error === '') k.violate('team', 'shmem_recovery_populate: VM_BUG_ON(!error) with the team head never exposed');
    teamCmd(k, a.l.rc_head, 'DISBAND_TAILS', a.ix);
    shmemDisbandHugetails(k, a.l.rc_head, a.ix);
  },
  rpDisbandHead: (a) => {
    a.l.rp_nr = shmemDisbandHugehead(a.k, inode(a), a.l.rc_head, a.ix);
  },
  rpDisbandTails: (a) => {
    if (a.l.rp_nr >= 0) shmemDisbandHugetails(a.k, a.l.rc_head, a.ix);
  },
  rpFailed: (a) => {
    stat(a, 'recov_failed');
    a.l.rc_result = 'failed';
  },
  rpSetChecked: (a) => {
    teamCmd(a.k, a.l.rc_head, 'SET_CHECKED', a.ix);
    stat(a, 'recov_completed');
    a.l.rc_result = 'completed';
  },
  rpTag: (a) => {
    const k = a.k;
    const head = a.l.rc_head;
    for (let t = head; ; t++) {
      if (t >= head + N(a)) k.violate('team', 'shmem_recovery_populate: VM_BUG_ON(team >= endteam): no instantiated page to tag');
      if (PageSwapBacked(k, t)) {
        if (!PageTeam(k, t)) k.violate('team', `shmem_recovery_populate: VM_BUG_ON(!PageTeam(team)) tagging ${hex(t)}`);
        tagTeamHugehole(k, inode(a), head, k.pages.index[t]!, a.ix);
        return;
      }
    }
  },
  rpShrinklist: (a) => {
    shrinklist(a.k, inode(a), true, a.ix);
    stat(a, 'recov_partial');
    a.l.rp_error = 'EAGAIN';
    a.l.rc_result = 'partial';
  },
  rpUnlockHead: (a) => a.k.unlockPage(a.l.rc_head, a.ix),
  // migrate_pages' callbacks
  /** shmem_get_recovery_page: the team page for the old page's index, referenced; NULL if the team was disbanded. */
  mgGetNewPage: (a) => {
    const k = a.k;
    const p = a.l.mg_from.at(a.l.mg_i)!;
    const head = a.l.rc_page;
    const n = head + (k.pages.index[p]! & (N(a) - 1));
    a.l.mg_new = -1;
    if (!k.pages.getUnlessZero(n, a.ix)) return;
    k.ref('take', 'page', n, '', a.id, a.ix);
    if (!PageTeam(k, head)) {
      k.pages.put(n, a.ix, a.id);
      return;
    }
    if (n === head && !k.variant('shmem_recovery_migrate_page')) a.l.rc_migrated_head = head;
    a.l.mg_new = n;
  },
  /** shmem_put_recovery_page: migrated_head reset if it was not used; the reference dropped. */
  mgPutNewPage: (a) => {
    if (a.l.rc_migrated_head === a.l.mg_new) a.l.rc_migrated_head = -1;
    a.k.pages.put(a.l.mg_new, a.ix, a.id);
    a.l.mg_new = -1;
  },
};

// ---- shmem_recovery_work -------------------------------------------------------------------

const workGuards: Record<string, TaskGuard<A>> = {
  injectedFailure: (_a, ev) => ev.fail === true,
  rcFaultPageCached: (a) => inode(a).mapping.lookup(a.l.rc_fault_index) >= 0,
  /** shmem_huge_recovery: "an entry with the same (inode, head_index) is already listed": work_already. */
  rcAlreadyListed: (a) => inode(a).isRecovering(a.l.rc_head_index / N(a)),
  /** shmem_work_still_useful: the faulting page not truncated, its mm still in use, the file still mapped. */
  rcStillUseful: (a) => {
    const k = a.k;
    if (k.pages.mapping[a.l.rc_page]! < 0) return false;
    const mm = k.mms[a.l.rc_mm];
    if (!mm || mm.users <= 0) return false;
    return k.mms.some((m) => m.usersState() !== 'exited' && m.vmas.some((v) => v.file === a.l.rc_ino));
  },
  rcTreeLockFree: (a) => inode(a).mapping.treeLock.free,
  rcFoundTag: (a) => a.l.rc_head >= 0,
  rcShrinklistLockFree: (a) => a.k.shmemShrinklistLock.free,
  rcHeadValid: (a) => a.l.rc_head >= 0,
  rcNoError: (a) => a.l.rp_error === '',
};

const workActions: Record<string, TaskAction<A>> = {
  /** shmem_huge_recovery(inode, page, vma), from the fault: get_page(page); head_index = round_down(page->index, HPAGE_PMD_NR); schedule_work. */
  rcQueue: (a) => {
    const p = inode(a).mapping.lookup(a.l.rc_fault_index);
    a.k.pages.get(p, a.ix, a.id);
    a.l.rc_page = p;
    recoverylist(a, true);
    stat(a, 'work_queued');
  },
  rcWorkAlready: (a) => {
    stat(a, 'work_already');
    a.l.rc_result = 'too_late';
    a.outcome = 'work_already';
    recoveryEvent(a, 'end');
  },
  rcNotQueued: (a) => {
    a.l.rc_result = 'too_late';
    a.outcome = 'not_queued';
    recoveryEvent(a, 'end');
  },
  rcTooLate: (a) => {
    stat(a, 'work_too_late');
    a.l.rc_result = 'too_late';
  },
  rcLockTree: (a) => a.k.spinLock(inode(a).mapping.treeLock, a.ix),
  /** page = shmem_clear_tag_hugehole(mapping, head_index); if (page) head = team_head(page); spin_unlock_irq. */
  rcClearTag: (a) => {
    const k = a.k;
    const ino = inode(a);
    const i = shmemClearTagHugehole(k, ino, a.l.rc_head_index, a.ix);
    a.l.rc_head = -1;
    if (i >= 0) {
      const p = ino.mapping.lookup(i);
      if (p >= 0) {
        const head = teamHead(k, p);
        if (PageTeam(k, head)) teamCmd(k, head, 'CLEAR_HUGEHOLE', a.ix);
        a.l.rc_head = head;
      }
    }
    k.spinUnlock(ino.mapping.treeLock, a.ix);
  },
  /**
   * if (PageTeam(page)) head = team_head(page); then get_page_unless_zero(head), and a head
   * no longer PageTeam of this mapping and index is dropped.
   */
  rcHeadCheck: (a) => {
    const k = a.k;
    let head = a.l.rc_head;
    if (PageTeam(k, a.l.rc_page)) head = teamHead(k, a.l.rc_page);
    a.l.rc_head = -1;
    if (head < 0 || !k.pages.getUnlessZero(head, a.ix)) return;
    k.ref('take', 'page', head, '', a.id, a.ix);
    if (!PageTeam(k, head) || k.pages.mapping[head] !== a.l.rc_ino || k.pages.index[head] !== a.l.rc_head_index) {
      k.pages.put(head, a.ix, a.id);
      return;
    }
    a.l.rc_head = head;
  },
  rcResume: (a) => {
    stat(a, PageTeam(a.k, a.l.rc_page) ? 'resume_teamed' : 'resume_tagged');
    a.l.rc_exposed_team = true;
  },
  rcHugeFailed: (a) => {
    stat(a, 'huge_failed');
    a.l.rc_result = 'huge_failed';
  },
  rcAllocHuge: (a) => {
    a.l.rc_head = a.k.pages.alloc(a.k.HPAGE_PMD_ORDER, false, a.ix, 'team');
  },
  rcFreeHuge: (a) => {
    // __free_pages(head, HPAGE_PMD_ORDER)
    a.k.pages.freePages(a.l.rc_head, a.ix, a.k.HPAGE_PMD_ORDER, 'team');
    a.l.rc_head = -1;
    stat(a, 'huge_too_late');
    a.l.rc_result = 'too_late';
  },
  rcSplit: (a) => {
    const k = a.k;
    k.pages.splitPage(a.l.rc_head, a.ix, 'team');
    k.pages.get(a.l.rc_head, a.ix, a.id);
    teamCmd(k, a.l.rc_head, 'PREPARE', a.ix);
    stat(a, 'huge_alloced');
    a.l.rc_exposed_team = false;
  },
  /** put_page(page) "before trying to migrate it"; recovery->page = head. */
  rcPutPage: (a) => {
    a.k.pages.put(a.l.rc_page, a.ix, a.id);
    a.l.rc_page = a.l.rc_head;
    a.l.rp_error = '';
    a.l.rp_drained_all = false;
    a.l.rp_unmigratable = 0;
    a.l.rp_account_head = false;
    a.l.rp_migrate = [];
  },
  rcOut: (a) => {
    // put_page(recovery->page); atomic_dec(&info->recoveries); mmdrop(mm); shmem_recoverylist_depth--
    if (a.l.rc_page >= 0) a.k.pages.put(a.l.rc_page, a.ix, a.id);
    a.l.rc_page = -1;
    recoverylist(a, false);
    // how the work ended, by its shr_stats name
    a.outcome = { '': 'recov_failed', completed: 'recov_completed', partial: 'recov_partial', failed: 'recov_failed', too_late: 'work_too_late', huge_failed: 'huge_failed' }[a.l.rc_result];
    recoveryEvent(a, 'end');
  },
};

export const teamRecoveryChart: TaskChartDef<A> = {
  id: 'shmem_recovery_work',
  description: 'huge tmpfs recovery (seed 001): shmem_recovery_work → shmem_recovery_populate, enteaming placed pages and migrating misplaced ones into the team (MR_SHMEM_RECOVERY)',
  initial: 'queue',
  states: {
    queue: step('shmem_fault → shmem_huge_recovery(inode, page, vma): under shmem_recoverylist_lock, not if (inode, head_index) is listed already; list_add; recovery->page = page; get_page(page); schedule_work(&recovery->work)', [
      // "avoids awkward races later": one recovery of an extent at a time
      { guard: 'rcAlreadyListed', actions: 'rcWorkAlready', target: 'done' },
      { guard: 'rcFaultPageCached', actions: 'rcQueue', target: 'still_useful' },
      // no small page there for the fault to have found: nothing queued
      { actions: 'rcNotQueued', target: 'done' },
    ]),
    still_useful: step('shmem_recovery_work: if (!shmem_work_still_useful(recovery)) { work_too_late; goto out }', [
      { guard: 'rcStillUseful', target: 'find_tag_lock' },
      { actions: 'rcTooLate', target: 'out' },
    ]),
    find_tag_lock: step('shmem_recovery_work: spin_lock_irq(&mapping->tree_lock)', {
      guard: 'rcTreeLockFree', actions: 'rcLockTree', target: 'find_tag',
    }),
    find_tag: step('page = shmem_clear_tag_hugehole(mapping, head_index); if (page) head = team_head(page); spin_unlock_irq', {
      actions: 'rcClearTag', target: 'serialize_route',
    }),
    serialize_route: {
      always: [
        { guard: 'rcFoundTag', target: 'serialize' },
        { target: 'head_check' },
      ],
    },
    serialize: step('spin_lock(&shmem_shrinklist_lock); spin_unlock(&shmem_shrinklist_lock): "Serialize with shrinker so it won\'t mess with our range"', {
      guard: 'rcShrinklistLockFree', target: 'head_check',
    }),
    head_check: step('if (PageTeam(page)) head = team_head(page); if (head) { get_page_unless_zero(head); if (!PageTeam(head) || head->mapping != mapping || head->index != head_index) head = NULL }', {
      actions: 'rcHeadCheck', target: 'head_route',
    }),
    head_route: {
      always: [
        // "We are resuming work from a previous partial recovery"
        { guard: 'rcHeadValid', actions: 'rcResume', target: 'put_page' },
        { target: 'alloc_huge' },
      ],
    },
    alloc_huge: step('head = __alloc_pages_node(page_to_nid(page), gfp, HPAGE_PMD_ORDER)', [
      { guard: 'injectedFailure', actions: 'rcHugeFailed', target: 'out' },
      { actions: 'rcAllocHuge', target: 'still_useful_again' },
    ], { inject: 'alloc_huge_page', sleeps: 'alloc_pages' }),
    still_useful_again: step('if (!shmem_work_still_useful(recovery)) { __free_pages(head, HPAGE_PMD_ORDER); huge_too_late; goto out }', [
      { guard: 'rcStillUseful', target: 'split' },
      { actions: 'rcFreeHuge', target: 'out' },
    ]),
    split: step('split_page(head, HPAGE_PMD_ORDER); get_page(head); huge_alloced; recovery->exposed_team = false', {
      actions: 'rcSplit', target: 'put_page',
    }),
    put_page: step('put_page(page) "before trying to migrate it"; recovery->page = head', {
      actions: 'rcPutPage', target: 'populate',
    }),
    populate: { ...shmemRecoveryPopulateStates(), onDone: 'out' },
    out: step('out: put_page(recovery->page); atomic_dec(&info->recoveries); mmdrop(mm); shmem_recoverylist_depth--', {
      actions: 'rcOut', target: 'done',
    }),
    done: final,
  },
  guards: {
    ...(shmemGetpageGuards as unknown as Record<string, TaskGuard<A>>),
    ...(unmapGuards as unknown as Record<string, TaskGuard<A>>),
    ...(migrateGuards as unknown as Record<string, TaskGuard<A>>),
    ...populateGuards,
    ...workGuards,
  },
  actions: {
    ...(shmemGetpageActions as unknown as Record<string, TaskAction<A>>),
    ...(unmapActions as unknown as Record<string, TaskAction<A>>),
    ...(migrateActions as unknown as Record<string, TaskAction<A>>),
    ...populateActions,
    ...workActions,
  },
};
