/**
 * Huge tmpfs in shmem_getpage_gfp (seed 001; the series' patches 04, 06, 13 and 24):
 * on a huge=1 mount a page is allocated with a hugehint — shmem_hugeteam_lookup() says
 * whether the extent is empty (SHMEM_ALLOC_HUGE_PAGE: allocate a huge page, split it
 * into a team), has small pages or swap in it (SHMEM_ALLOC_SMALL_PAGE), or belongs to a
 * team whose page for this index is still a hole (that page is the hint, and is used).
 * shmem_add_to_page_cache() confirms the hint under the tree lock and, for a team page,
 * counts it into the team (shmem_added_to_hugeteam). The states are in
 * shmemGetpageStates() (machines/shmem.ts); their guards and actions are here.
 */
import { bool, fields, int, str } from '../src/vector/struct.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { isSwapEntry } from '../src/memory/address_space.ts';
import {
  PageSwapBacked, PageTeam, shmemAddedToHugeteam, shmemDisbandHugehead, shmemDisbandHugetails, shrinklist, teamCmd, teamHead, teamMember,
} from '../src/memory/team.ts';

/** hugehint values (mm/shmem.c): NULL to choose a small page always; otherwise the team page to use. */
export const HINT_NULL = -1;
export const SHMEM_ALLOC_SMALL_PAGE = -2;
export const SHMEM_ALLOC_HUGE_PAGE = -3;

/** The locals shmem_getpage_gfp keeps for huge tmpfs (part of ShmemLocals). */
export interface HugeteamLocals {
  gp_ino: number;
  gp_index: number;
  gp_sgp: 'read' | 'write' | 'fault' | 'nohuge' | 'team';
  gp_page: number;
  gp_new: number;
  gp_err: '' | 'EINVAL' | 'ENOMEM' | 'hole';
  gp_alloced: boolean;
  /** hugehint: HINT_NULL, SHMEM_ALLOC_SMALL_PAGE, SHMEM_ALLOC_HUGE_PAGE, or the team page (pfn) to use. */
  gp_hint: number;
  /** alloced_huge: the head of a team this call allocated, until the page is in the cache (-1: none). */
  gp_alloced_huge: number;
  // shmem_disband_hugeteam(page)
  dt_page: number;
  /** team_head(page); referenced and locked by us when it is not `page`. */
  dt_head: number;
  /** nr_used: what shmem_disband_hugehead returned (the pages the team counted), or -1 (-EALREADY). */
  dt_nr: number;
}
export const hugeteamLocalsFields = fields<HugeteamLocals>({
  gp_ino: int(-1), gp_index: int(), gp_sgp: str('read'), gp_page: int(-1), gp_new: int(-1), gp_err: str(''), gp_alloced: bool(),
  gp_hint: int(-1), gp_alloced_huge: int(-1), dt_page: int(-1), dt_head: int(-1), dt_nr: int(-1),
});

type A = Actor<HugeteamLocals>;
const ino = (a: A): Inode => a.k.inodes[a.l.gp_ino]!;

/**
 * shmem_hugeteam_lookup(mapping, index, speculative): the first page-cache entry of the
 * extent decides. None: SHMEM_ALLOC_HUGE_PAGE. A swap entry or a page not PageTeam:
 * SHMEM_ALLOC_SMALL_PAGE. Otherwise the team page for `index` (found from that first
 * page), if its head is still PageTeam with this mapping and index — and (patch 24) not
 * PageSwapBacked, i.e. still a hole: "holepunch racing with recovery migration, in between
 * migrating to the page and marking it team, can leave a PageSwapBacked NULL mapping page
 * here". `speculative` takes a reference on the page returned (page_cache_get_speculative).
 */
export function shmemHugeteamLookup(k: Kernel, inode: Inode, index: number): number {
  const N = k.HPAGE_PMD_NR;
  const start = index - (index & (N - 1));
  const slots = inode.mapping.slots;
  let first = -1;
  for (let i = start; i < Math.min(start + N, inode.mapping.nrSlots); i++) {
    if (slots[i] !== -1) {
      first = i;
      break;
    }
  }
  if (first < 0) return SHMEM_ALLOC_HUGE_PAGE;
  const cachepage = slots[first]!;
  if (isSwapEntry(cachepage)) return SHMEM_ALLOC_SMALL_PAGE;
  if (!PageTeam(k, cachepage)) return SHMEM_ALLOC_SMALL_PAGE;
  const headpage = cachepage - (first - start);
  const page = headpage + (index - start);
  if (k.pages.refcount[page] === 0) return SHMEM_ALLOC_SMALL_PAGE; // (freed: the speculative get fails; a restart finds it gone)
  if (!PageTeam(k, headpage) || k.pages.mapping[headpage] !== inode.id || k.pages.index[headpage] !== start) return SHMEM_ALLOC_SMALL_PAGE;
  if (PageSwapBacked(k, page)) return SHMEM_ALLOC_SMALL_PAGE;
  return page;
}

/**
 * shmem_disband_hugeteam(head) on a team this actor allocated and never exposed in the
 * cache (the shmem_getpage_gfp failure path; the tree lock taken inside): its head and
 * holes go back to the allocator.
 */
export function disbandAllocedHuge(a: Actor, inode: Inode, head: number): void {
  const k = a.k;
  k.spinLock(inode.mapping.treeLock, a.ix);
  const nr = shmemDisbandHugehead(k, inode, head, a.ix);
  k.spinUnlock(inode.mapping.treeLock, a.ix);
  if (nr >= 0) shmemDisbandHugetails(k, head, a.ix);
}

export const hugeteamGuards: Record<string, TaskGuard<A>> = {
  /**
   * shmem_getpage_gfp: hugehint = SHMEM_ALLOC_HUGE_PAGE if shmem_huge == FORCE ||
   * (sbinfo->huge && shmem_huge != DENY). The series' shmem_huge knob is read from sysfs
   * shmem_enabled's `deny` only: its `force` is mainline's compound-THP setting (seeds
   * 000/002), which does not make every tmpfs file a huge tmpfs one (docs/teams.md).
   */
  gpHugeMount: (a) => a.l.gp_sgp !== 'nohuge' && ino(a).huge && a.k.sysfs.shmem_enabled !== 'deny',
  gpHintIsHuge: (a) => a.l.gp_hint === SHMEM_ALLOC_HUGE_PAGE,
  gpHintIsTeamPage: (a) => a.l.gp_hint >= 0,
  gpHintPageUnlocked: (a) => !a.k.pages.isLocked(a.l.gp_hint),
  /** shmem_alloc_page (patch 24): if (!PageSwapBacked(page) && PageTeam(head)) use it. */
  gpTeamPageUsable: (a) => {
    const k = a.k;
    const page = a.l.gp_hint;
    const head = page - (a.l.gp_index & (k.HPAGE_PMD_NR - 1));
    return !PageSwapBacked(k, page) && PageTeam(k, head);
  },
  /** shmem_add_to_page_cache: if (hugehint && shmem_hugeteam_lookup(mapping, index, false) != hugehint) -EEXIST. */
  gpHintConfirmed: (a) => a.l.gp_hint === HINT_NULL || shmemHugeteamLookup(a.k, ino(a), a.l.gp_index) === a.l.gp_hint,
  gpAllocedHuge: (a) => a.l.gp_alloced_huge >= 0,
  /** The shrinklist needs shmem_shrinklist_lock only when this call allocated a team and the inode is not on the list yet. */
  gpShrinklistLockFree: (a) => a.l.gp_alloced_huge < 0 || ino(a).shrinklist || a.k.shmemShrinklistLock.free,
  /** shmem_add_to_page_cache: "if (hugehint && !PageSwapBacked(page))": a team page, not a small one (those are born SwapBacked). */
  gpNewIsTeamPage: (a) => a.l.gp_hint !== HINT_NULL && !PageSwapBacked(a.k, a.l.gp_new),
  gpNewIsTeam: (a) => PageTeam(a.k, a.l.gp_page),
};

export const hugeteamActions: Record<string, TaskAction<A>> = {
  gpAllocBegin: (a) => {
    a.l.gp_hint = HINT_NULL;
    a.l.gp_alloced_huge = -1;
  },
  gpHugeteamLookup: (a) => {
    const hint = shmemHugeteamLookup(a.k, ino(a), a.l.gp_index);
    if (hint >= 0) a.k.pages.get(hint, a.ix, a.id); // page_cache_get_speculative
    a.l.gp_hint = hint;
  },
  /**
   * shmem_alloc_page(SHMEM_ALLOC_HUGE_PAGE): the huge page split into a team whose head is
   * PageTeam, with mapping and index, before any page of it is instantiated; the page for
   * `index` referenced and locked. Its holes hold the split references ('team').
   */
  gpAllocHugeTeam: (a) => {
    const k = a.k;
    const N = k.HPAGE_PMD_NR;
    const head = k.pages.alloc(k.HPAGE_PMD_ORDER, false, a.ix, 'team');
    k.pages.splitPage(head, a.ix, 'team');
    teamCmd(k, head, 'EXPOSE', a.ix, k.T.LRU_WEIGHT_ONE);
    k.pages.setMapping(head, a.l.gp_ino);
    k.pages.setIndex(head, a.l.gp_index - (a.l.gp_index & (N - 1)));
    const page = head + (a.l.gp_index & (N - 1));
    k.pages.get(page, a.ix, a.id);
    k.lockPage(page, a.ix, '__SetPageLocked');
    a.l.gp_alloced_huge = head;
    a.l.gp_new = page;
  },
  gpTakeTeamPage: (a) => {
    a.k.lockPage(a.l.gp_hint, a.ix);
    a.l.gp_new = a.l.gp_hint;
  },
  gpDropTeamPage: (a) => {
    // lock_page; unlock_page; put_page; *hugehint = SHMEM_ALLOC_SMALL_PAGE
    a.k.pages.put(a.l.gp_hint, a.ix, a.id);
    a.l.gp_hint = SHMEM_ALLOC_SMALL_PAGE;
  },
  /**
   * shmem_add_to_page_cache with a hugehint, the tree lock held: a team page not yet
   * instantiated becomes PageSwapBacked and PageTeam, goes in without a reference of its own
   * (its split reference is the cache's), and is counted into its team.
   */
  gpAddTeamPage: (a) => {
    const k = a.k;
    const inode = ino(a);
    const page = a.l.gp_new;
    if (!PageSwapBacked(k, page)) {
      k.pages.setFlag(page, 'swapbacked');
      if (!PageTeam(k, page)) teamMember(k, page, true, a.ix);
    }
    k.pages.setMapping(page, inode.id);
    k.pages.setIndex(page, a.l.gp_index);
    k.ref('drop', 'page', page, 'team', '', a.ix);
    k.cacheSet(inode, a.l.gp_index, page, a.ix);
    shmemAddedToHugeteam(k, inode, page, a.l.gp_hint === SHMEM_ALLOC_HUGE_PAGE, a.ix);
    k.inodeAdd(inode, 'nrpages', 1, a.ix);
    k.count('nr_file_pages', 1, a.ix);
    k.count('nr_shmem', 1, a.ix);
    a.l.gp_alloced = true;
    a.l.gp_page = page;
    a.l.gp_new = -1;
  },
  gpShrinklistAdd: (a) => {
    // if (alloced_huge && list_empty(&info->shrinklist)): under shmem_shrinklist_lock
    if (a.l.gp_alloced_huge >= 0) shrinklist(a.k, ino(a), true, a.ix);
    a.l.gp_alloced_huge = -1;
  },
  gpDisbandAllocedHuge: (a) => {
    disbandAllocedHuge(a, ino(a), a.l.gp_alloced_huge);
    a.l.gp_alloced_huge = -1;
  },
};

// ---- shmem_disband_hugeteam ----------------------------------------------------------------

/**
 * shmem_disband_hugeteam(page) (patches 04, 11, 13), called with `page` locked by the
 * caller (shmem_undo_range, shmem_writepage) and l.dt_page set; it "may not succeed", so
 * the caller checks PageTeam(page) again after it returns. A team tail finds its head by
 * team_head(page), takes a reference with get_page_unless_zero and trylocks it — on
 * failure simply returns ("Little point in returning error, it has to check PageTeam
 * anyway"). Then shmem_disband_hugehead under the mapping's tree lock, unlock_page(head),
 * shmem_disband_hugetails(head, NULL, 0) if the team was still one, put_page(head).
 *
 * Not modelled: patch 11's "while (team_pmd_mapped(head)) unmap_mapping_range(...)" — the
 * model has no team pmd mapping (map_team_by_pmd) yet, so that loop never runs; and patch
 * 13's LRU weight (head_lru_weight, shmem_evictify_hugetails).
 */
export function shmemDisbandHugeteamStates(unmapMappingRange: StateDef): StateDef {
  return {
    meta: { kernel: 'shmem_disband_hugeteam' },
    initial: 'team_head',
    states: {
      // head = team_head(page): by page->index, which "remains stable across disband and truncation"
      team_head: {
        always: [
          { guard: 'dtHeadIsPage', actions: 'dtTeamHead', target: 'pmd_check' },
          { actions: 'dtTeamHead', target: 'get_head' },
        ],
      },
      get_head: step('shmem_disband_hugeteam: if (head != page) { if (!get_page_unless_zero(head)) return', [
        { guard: 'dtHeadHasRefs', actions: 'dtGetHead', target: 'trylock_head' },
        { target: 'returned' },
      ]),
      trylock_head: step('shmem_disband_hugeteam: if (!trylock_page(head)) { put_page(head); return } ("Little point in returning error")', [
        { guard: 'dtHeadUnlocked', actions: 'dtLockHead', target: 'head_team' },
        { actions: ['dtTrylockFailed', 'dtPutHead'], target: 'returned' },
      ]),
      head_team: step('shmem_disband_hugeteam: if (!PageTeam(head)) { unlock_page(head); put_page(head); return } }', [
        { guard: 'dtHeadIsTeam', target: 'pmd_check' },
        { actions: ['dtUnlockHead', 'dtPutHead'], target: 'returned' },
      ]),
      // "while (team_pmd_mapped(head)) unmap_mapping_range(page->mapping, ...)": huge pmds of the team go first (series 11)
      pmd_check: {
        always: [
          { guard: 'dtTeamPmdMapped', actions: 'dtUnmapBegin', target: 'pmd_unmap' },
          { target: 'tree_lock' },
        ],
      },
      pmd_unmap: { ...unmapMappingRange, onDone: 'pmd_check' },
      tree_lock: step('shmem_disband_hugehead: mapping = READ_ONCE(head->mapping); if (!mapping) return -EALREADY; spin_lock_irq(&mapping->tree_lock)', [
        { guard: 'dtHeadNoMapping', actions: 'dtEalready', target: 'disbanded' },
        { guard: 'dtTreeLockFree', actions: 'dtLockTree', target: 'disband_hugehead' },
      ]),
      disband_hugehead: step('shmem_disband_hugehead: if (PageTeam(head)) { nr = cmpxchg(team_usage, u, TEAM_LRU_WEIGHT_ONE) / TEAM_PAGE_COUNTER; ClearPageTeam(head); if (!PageSwapBacked(head)) head->mapping = NULL; complete: ClearPageChecked, NR_SHMEM_HUGEPAGES--; partial: shmem_clear_tag_hugehole, NR_SHMEM_FREEHOLES += nr - HPAGE_PMD_NR } spin_unlock_irq', {
        actions: 'dtDisbandHugehead', target: 'disbanded',
      }),
      disbanded: {
        always: [
          { guard: { not: 'dtHeadIsPage' }, target: 'unlock_head' },
          { guard: 'dtNrUsed', target: 'disband_hugetails' },
          { target: 'returned' },
        ],
      },
      unlock_head: step('shmem_disband_hugeteam: if (head != page) unlock_page(head)', [
        { guard: 'dtNrUsed', actions: 'dtUnlockHead', target: 'disband_hugetails' },
        { actions: 'dtUnlockHead', target: 'put_head' },
      ]),
      disband_hugetails: step('shmem_disband_hugeteam: if (nr_used >= 0) shmem_disband_hugetails(head, NULL, 0): a head never instantiated freed; tails ClearPageTeam; "half recovered" tails and holes put', [
        { guard: 'dtHeadIsPage', actions: 'dtDisbandHugetails', target: 'returned' },
        { actions: 'dtDisbandHugetails', target: 'put_head' },
      ]),
      put_head: step('shmem_disband_hugeteam: if (head != page) put_page(head)', {
        actions: 'dtPutHead', target: 'returned',
      }),
      returned: final,
    },
  };
}

/** The inode head->mapping names (READ_ONCE(head->mapping)), or undefined for NULL. */
const headMapping = (a: A): Inode | undefined => {
  const m = a.k.pages.mapping[a.l.dt_head]!;
  return m >= 0 ? a.k.inodes[m] : undefined;
};

export const disbandGuards: Record<string, TaskGuard<A>> = {
  dtHeadIsPage: (a) => teamHead(a.k, a.l.dt_page) === a.l.dt_page,
  dtHeadHasRefs: (a) => a.k.pages.refcount[a.l.dt_head]! > 0,
  dtHeadUnlocked: (a) => !a.k.pages.isLocked(a.l.dt_head),
  dtHeadIsTeam: (a) => PageTeam(a.k, a.l.dt_head),
  dtHeadNoMapping: (a) => headMapping(a) === undefined,
  dtTreeLockFree: (a) => headMapping(a)!.mapping.treeLock.free,
  dtNrUsed: (a) => a.l.dt_nr >= 0,
  /** team_pmd_mapped(head): team_usage >= TEAM_PMD_MAPPED. */
  dtTeamPmdMapped: (a) => PageTeam(a.k, a.l.dt_head) && a.k.pages.teamUsage[a.l.dt_head]! >= a.k.T.PMD_MAPPED,
};

export const disbandActions: Record<string, TaskAction<A>> = {
  /** unmap_mapping_range over the team's extent (its huge pmds zapped). */
  dtUnmapBegin: (a) => {
    const k = a.k;
    const l = a.l as HugeteamLocals & { um_ino: number; um_start: number; um_end: number };
    l.um_ino = k.pages.mapping[a.l.dt_head]!;
    l.um_start = k.pages.index[a.l.dt_head]!;
    l.um_end = l.um_start + k.HPAGE_PMD_NR;
  },
  dtTeamHead: (a) => {
    a.l.dt_head = teamHead(a.k, a.l.dt_page);
    a.l.dt_nr = -1;
  },
  /** get_page_unless_zero(head): a reference this actor holds with no other holder. */
  dtGetHead: (a) => {
    a.k.pages.getUnlessZero(a.l.dt_head, a.ix);
    a.k.ref('take', 'page', a.l.dt_head, '', a.id, a.ix);
  },
  dtPutHead: (a) => a.k.pages.put(a.l.dt_head, a.ix, a.id),
  dtLockHead: (a) => a.k.lockPage(a.l.dt_head, a.ix, 'trylock_page'),
  dtTrylockFailed: (a) => a.k.trylockPageFailed(a.l.dt_head, a.ix),
  dtUnlockHead: (a) => a.k.unlockPage(a.l.dt_head, a.ix),
  dtEalready: (a) => {
    a.l.dt_nr = -1;
  },
  dtLockTree: (a) => a.k.spinLock(headMapping(a)!.mapping.treeLock, a.ix),
  dtDisbandHugehead: (a) => {
    // the mapping read before: shmem_disband_hugehead may NULL head->mapping
    const inode = headMapping(a)!;
    a.l.dt_nr = shmemDisbandHugehead(a.k, inode, a.l.dt_head, a.ix);
    a.k.spinUnlock(inode.mapping.treeLock, a.ix);
  },
  dtDisbandHugetails: (a) => shmemDisbandHugetails(a.k, a.l.dt_head, a.ix),
};
