/**
 * Huge tmpfs teams (seed 001; Hugh Dickins' 2016 series, include/linux/pageteam.h and
 * mm/shmem.c): a huge page split into HPAGE_PMD_NR small pages, each placed in the page
 * cache at its own offset of one aligned extent, counted in the head's team_usage. The
 * fields are typed-array columns of the page store (PageStore.teamState, teamUsage,
 * teamPteMapped) and of the address_space (the SHMEM_TAG_HUGEHOLE bit per slot); every
 * change of a team head goes through its statechart (machines/team_head.ts), so an illegal
 * one is a violation, and is published on the bus ('team' events).
 *
 * These are the functions the seed calls but does not show, as the series defines them
 * (docs/teams.md says which parts are read from the series and which are inferred). Each
 * is one atomic piece of kernel code under the lock its caller holds; the task charts
 * (machines/team_recovery.ts, machines/shmem.ts) decide the steps around them.
 */
import type { TeamHeadEvent } from '../../machines/team_head.ts';
import type { ActorIx } from '../bus/events.ts';
import type { Kernel } from './kernel.ts';
import type { Inode } from './address_space.ts';
import { TEAM_HEAD_CHART, hex } from './pages.ts';

/** The TEAM_* constants of pageteam.h (64-bit, after patches 13-15 of the series), for HPAGE_PMD_ORDER. */
export interface TeamConsts {
  LRU_WEIGHT_ONE: number;
  LRU_WEIGHT_MASK: number;
  PTE_COUNTER: number;
  /** TEAM_PAGE_COUNTER = TEAM_HIGH_COUNTER = TEAM_MAPPING_COUNTER. */
  PAGE_COUNTER: number;
  COMPLETE: number;
  PMD_MAPPED: number;
}

export function teamConsts(order: number): TeamConsts {
  const PAGE_COUNTER = 2 ** (2 * order + 4);
  const COMPLETE = PAGE_COUNTER * 2 ** order;
  return {
    LRU_WEIGHT_ONE: 1,
    LRU_WEIGHT_MASK: 2 ** (order + 1) - 1,
    PTE_COUNTER: 2 ** (order + 3),
    PAGE_COUNTER,
    COMPLETE,
    PMD_MAPPED: COMPLETE + PAGE_COUNTER,
  };
}

const NS = TEAM_HEAD_CHART.nStates;
const NEXT = TEAM_HEAD_CHART.next;
const EV = TEAM_HEAD_CHART.eventIndex;
const TEAM_REGION = TEAM_HEAD_CHART.regionNames.indexOf('team');
/** Per packed team-head state, its team region's state name (looked up once, not per call). */
const TEAM_STATE_NAME = Array.from({ length: NS }, (_, s) => TEAM_HEAD_CHART.regionStates[TEAM_REGION]![TEAM_HEAD_CHART.digit(s, TEAM_REGION)]!);

/** The head's state in the team region: none, prepared, exposed, filling, complete, disbanded. */
export function teamState(k: Kernel, head: number): string {
  return TEAM_STATE_NAME[k.pages.teamState[head]!]!;
}

/** team_head(page): page - (page->index & (HPAGE_PMD_NR-1)) — by index, so page->index must be set. */
export function teamHead(k: Kernel, pfn: number): number {
  return pfn - (k.pages.index[pfn]! & (k.HPAGE_PMD_NR - 1));
}

/** PageTeam(page). */
export const PageTeam = (k: Kernel, pfn: number): boolean => k.pages.testFlag(pfn, 'team');
/** PageSwapBacked(page): for a team page, "instantiated in the page cache". */
export const PageSwapBacked = (k: Kernel, pfn: number): boolean => k.pages.testFlag(pfn, 'swapbacked');

/** One team-head chart command on `head`; an illegal one is a violation. `usage`: team_usage after it. */
export function teamCmd(k: Kernel, head: number, ev: TeamHeadEvent, a: ActorIx, usage = k.pages.teamUsage[head]!): void {
  const s = k.pages.teamState[head]!;
  const n = NEXT[EV[ev] * NS + s]!;
  if (n < 0) k.illegal(`team head ${hex(head)}`, ev, Object.values(TEAM_HEAD_CHART.value(s)).join(' '), a);
  k.pages.setTeamState(head, n);
  k.pages.setTeamUsage(head, usage);
  if (ev === 'EXPOSE') k.pages.setFlag(head, 'team');
  else if (ev === 'DISBAND') k.pages.clearFlag(head, 'team');
  else if (ev === 'SET_CHECKED') k.pages.setFlag(head, 'checked');
  else if (ev === 'CLEAR_CHECKED') k.pages.clearFlag(head, 'checked');
  k.bus.publish({ kind: 'team', op: ev, pfn: head, usage, actor: a });
}

/** SetPageTeam / ClearPageTeam on a team member other than the head (team_usage: its LRU weight). */
export function teamMember(k: Kernel, pfn: number, set: boolean, a: ActorIx): void {
  if (set) {
    k.pages.setFlag(pfn, 'team');
    k.pages.setTeamUsage(pfn, k.T.LRU_WEIGHT_ONE);
  } else k.pages.clearFlag(pfn, 'team');
  k.bus.publish({ kind: 'team', op: set ? 'member_set' : 'member_clear', pfn, usage: k.pages.teamUsage[pfn]!, actor: a });
}

/** head->team_usage written alone (inc_team_pte_mapped's cmpxchg). */
export function teamUsageSet(k: Kernel, head: number, usage: number, a: ActorIx): void {
  k.pages.setTeamUsage(head, usage);
  k.bus.publish({ kind: 'team', op: 'usage', pfn: head, usage, actor: a });
}

/** shmem_freeholes(head): HPAGE_PMD_NR less the pages counted, 0 once complete. */
export function shmemFreeholes(k: Kernel, head: number): number {
  const u = k.pages.teamUsage[head]!;
  return u >= k.T.COMPLETE ? 0 : k.HPAGE_PMD_NR - Math.floor(u / k.T.PAGE_COUNTER);
}

/** The team's instantiated pages as team_usage counts them. */
export function teamPagesCounted(k: Kernel, head: number): number {
  return Math.min(k.HPAGE_PMD_NR, Math.floor(k.pages.teamUsage[head]! / k.T.PAGE_COUNTER));
}

/** radix_tree_tag_set / _clear of SHMEM_TAG_HUGEHOLE (the tree lock is held). */
export function hugeholeTag(k: Kernel, ino: Inode, index: number, set: boolean, a: ActorIx): void {
  const was = ino.mapping.tagged(index, 'hugehole');
  if (set) ino.mapping.tag(index, 'hugehole');
  else ino.mapping.untag(index, 'hugehole');
  if (was !== set) k.bus.publish({ kind: 'inode', field: 'hugehole', ino: ino.id, old: was ? 1 : 0, value: set ? 1 : 0, index, actor: a });
}

/** list_add_tail / list_del_init of info->shrinklist on shmem_shrinklist (shmem_shrinklist_lock held). */
export function shrinklist(k: Kernel, ino: Inode, on: boolean, a: ActorIx): void {
  if (ino.shrinklist === on) return;
  ino.shrinklist = on;
  k.bus.publish({ kind: 'inode', field: 'shrinklist', ino: ino.id, old: on ? 0 : 1, value: on ? 1 : 0, actor: a });
}

/**
 * shmem_clear_tag_hugehole(mapping, index) (tree lock held): the first HUGEHOLE tag of
 * the extent — on whichever page was inserted first, not necessarily the head — cleared.
 * Returns the tagged index, or -1.
 */
export function shmemClearTagHugehole(k: Kernel, ino: Inode, index: number, a: ActorIx): number {
  const i = ino.mapping.firstTagged(index, index + k.HPAGE_PMD_NR, 'hugehole');
  if (i >= 0) hugeholeTag(k, ino, i, false, a);
  return i;
}

/** The team head whose tag is at `index` of `ino`, for the head chart's hugehole region. */
function tagRegion(k: Kernel, head: number, set: boolean, a: ActorIx): void {
  teamCmd(k, head, set ? 'TAG_HUGEHOLE' : 'CLEAR_HUGEHOLE', a);
}

/** Sets SHMEM_TAG_HUGEHOLE at `index` for the team headed by `head` (tree lock held). */
export function tagTeamHugehole(k: Kernel, ino: Inode, head: number, index: number, a: ActorIx): void {
  tagRegion(k, head, true, a);
  hugeholeTag(k, ino, index, true, a);
}

/** shmem_clear_tag_hugehole for the team headed by `head`: its chart's tag region too. */
export function clearTeamHugehole(k: Kernel, ino: Inode, head: number, a: ActorIx): void {
  shmemClearTagHugehole(k, ino, k.pages.index[head]!, a);
  tagRegion(k, head, false, a);
}

/**
 * shmem_added_to_hugeteam(page, zone, hugehint) as patch 24 leaves it (tree lock held):
 * team_usage += TEAM_PAGE_COUNTER; the first page adds HPAGE_PMD_NR-1 free holes (and
 * tags the extent when a fault allocated the team, SHMEM_ALLOC_HUGE_PAGE); the last
 * clears the tag and counts NR_SHMEM_HUGEPAGES; any other takes one free hole.
 */
export function shmemAddedToHugeteam(k: Kernel, ino: Inode, page: number, allocHuge: boolean, a: ActorIx): void {
  if (!PageTeam(k, page)) k.violate('team', `shmem_added_to_hugeteam: VM_BUG_ON_PAGE(!PageTeam(page)) on ${hex(page)}`, a);
  const head = teamHead(k, page);
  const T = k.T;
  const usage = k.pages.teamUsage[head]! + T.PAGE_COUNTER;
  if (usage < T.PAGE_COUNTER + T.PAGE_COUNTER) {
    teamCmd(k, head, 'ENTEAM_FIRST', a, usage);
    if (allocHuge) tagTeamHugehole(k, ino, head, k.pages.index[page]!, a);
    k.count('nr_shmem_freeholes', k.HPAGE_PMD_NR - 1, a);
  } else if (usage >= T.COMPLETE) {
    teamCmd(k, head, 'ENTEAM_LAST', a, usage);
    clearTeamHugehole(k, ino, head, a);
    k.count('nr_shmem_hugepages', 1, a);
    k.count('nr_shmem_freeholes', -1, a);
  } else {
    teamCmd(k, head, 'ENTEAM', a, usage);
    k.count('nr_shmem_freeholes', -1, a);
  }
}

/**
 * shmem_disband_hugehead(head) (tree lock held; the LRU weight is not modelled): team_usage
 * back to TEAM_LRU_WEIGHT_ONE, ClearPageTeam(head), head->mapping = NULL if it was never
 * instantiated; a complete team loses PageChecked and its NR_SHMEM_HUGEPAGES, a partial one
 * its tag and its free holes. Returns the pages it had counted, or -1 (-EALREADY) if it was
 * not a team.
 */
export function shmemDisbandHugehead(k: Kernel, ino: Inode, head: number, a: ActorIx): number {
  if (k.pages.mapping[head]! < 0 || !PageTeam(k, head)) return -1;
  const nr = teamPagesCounted(k, head);
  const complete = k.pages.teamUsage[head]! >= k.T.COMPLETE;
  if (complete) {
    if (k.pages.testFlag(head, 'checked')) teamCmd(k, head, 'CLEAR_CHECKED', a);
    k.count('nr_shmem_hugepages', -1, a);
  } else if (nr) {
    clearTeamHugehole(k, ino, head, a);
    k.count('nr_shmem_freeholes', nr - k.HPAGE_PMD_NR, a);
  }
  teamCmd(k, head, 'DISBAND', a, k.T.LRU_WEIGHT_ONE);
  if (!PageSwapBacked(k, head)) k.pages.setMapping(head, -1);
  return nr;
}

/**
 * shmem_disband_hugetails(head, NULL, 0) as patch 24 leaves it: a head never instantiated
 * goes back to the allocator (its split reference dropped); each tail member loses
 * PageTeam, a "half recovered" tail (instantiated, not yet a member) drops its split
 * reference, and each hole is freed.
 */
export function shmemDisbandHugetails(k: Kernel, head: number, a: ActorIx): void {
  if (!PageSwapBacked(k, head)) k.pages.put(head, a, 'team');
  for (let page = head + 1; page < head + k.HPAGE_PMD_NR; page++) {
    if (PageTeam(k, page)) teamMember(k, page, false, a);
    else k.pages.put(page, a, 'team');
  }
}
