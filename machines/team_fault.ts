/**
 * The huge tmpfs fault on a team (the series' patches 07 and 10: shmem_fault with
 * FAULT_FLAG_MAY_HUGE, map_team_by_pmd): a page of a team whose head is PageChecked is
 * mapped by one huge pmd of the whole team — the head referenced, its team_usage counting
 * the mapping (page_add_team_rmap: TEAM_MAPPING_COUNTER), a page table deposited under the
 * pmd. The states are in shmemFaultStates() (machines/shmem.ts); their guards and actions
 * are here.
 *
 * shmem_populate_hugeteam (the fault instantiating the rest of an unchecked team itself)
 * is not modelled: a fault on a team not yet PageChecked goes the "single" way, one pte
 * (docs/teams.md).
 */
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { MmStruct } from '../src/memory/mm.ts';
import { VM } from '../src/memory/mm.ts';
import { PageTeam, teamHead } from '../src/memory/team.ts';

/** The locals of a fault that may map a team by pmd. */
export interface TeamFaultLocals {
  mmName: string;
  vpn: number;
  write: boolean;
  fault: 'none' | 'ok' | 'retry' | 'fallback' | 'SIGSEGV' | 'SIGBUS' | 'VM_FAULT_OOM';
  gp_ino: number;
  gp_page: number;
  gp_err: '' | 'EINVAL' | 'ENOMEM' | 'hole';
  /** The team head the fault maps by pmd (referenced), or -1. */
  sf_head: number;
  /** shmem_fault's `once`: the huge attempt was made; the retry goes "single" (one pte). */
  sf_once: boolean;
}

type F = Actor<TeamFaultLocals>;
/** The team head the fault's pmd maps. */
const teamHeadOfPmd = (a: F): number => a.k.mmByName(a.l.mmName)!.pmdAt(Math.floor(a.l.vpn / a.k.HPAGE_PMD_NR)).pfn;
const mmOf = (a: F): MmStruct => a.k.mmByName(a.l.mmName)!;
const pmdIx = (a: F) => Math.floor(a.l.vpn / a.k.HPAGE_PMD_NR);

export const teamFaultGuards: Record<string, TaskGuard<F>> = {
  /**
   * shmem_fault's tests for a huge mapping: a PageTeam page, shmem_huge != DENY and
   * (FORCE or the huge mount), once, a shared mapping, the VMA's file offset aligned to the
   * huge page and the whole huge range in the VMA, pmd_none (FAULT_FLAG_MAY_HUGE).
   */
  sfTeamMayHuge: (a) => {
    const k = a.k;
    if (a.l.sf_once || a.l.gp_page < 0 || !PageTeam(k, a.l.gp_page)) return false;
    // (the huge mount, shmem_huge != DENY: as gpHugeMount)
    if (k.sysfs.shmem_enabled === 'deny' || !k.inodes[a.l.gp_ino]!.huge) return false;
    const mm = mmOf(a);
    const vma = mm.findVma(a.l.vpn);
    if (!vma || !(vma.flags & VM.SHARED)) return false;
    const N = k.HPAGE_PMD_NR;
    const base = pmdIx(a) * N;
    if (((vma.start - vma.pgoff) & (N - 1)) !== 0 || base < vma.start || base + N > vma.end) return false;
    return mm.kindAt(pmdIx(a)) === 'none';
  },
  /** get_page_unless_zero(head) && PageTeam(head). */
  sfTeamHeadOk: (a) => {
    const head = teamHead(a.k, a.l.gp_page);
    return a.k.pages.refcount[head]! > 0 && PageTeam(a.k, head);
  },
  sfTeamChecked: (a) => a.k.pages.testFlag(a.l.sf_head, 'checked'),
  sfTeamHeadUnlocked: (a) => !a.k.pages.isLocked(a.l.sf_head),
  sfTeamHeadIsTeam: (a) => PageTeam(a.k, a.l.sf_head),
  sfTeamPmdNone: (a) => mmOf(a).kindAt(pmdIx(a)) === 'none',
  sfTeamPtlFree: (a) => mmOf(a).pageTableLock.free,
};

export const teamFaultActions: Record<string, TaskAction<F>> = {
  /** head = team_head(page); get_page_unless_zero(head); unlock_page(page); put_page(page). */
  sfTeamTakeHead: (a) => {
    const k = a.k;
    const head = teamHead(k, a.l.gp_page);
    k.pages.get(head, a.ix, a.id);
    k.unlockPage(a.l.gp_page, a.ix);
    k.pages.put(a.l.gp_page, a.ix, a.id);
    a.l.gp_page = -1;
    a.l.sf_head = head;
  },
  /** No huge mapping after all: the page (still locked, referenced) goes the pte way. */
  sfTeamNotHuge: (a) => {
    a.l.sf_once = true;
  },
  /** goto single: the head put, shmem_getpage_gfp again, this time for one pte. */
  sfTeamSingle: (a) => {
    if (a.l.sf_head >= 0) a.k.pages.put(a.l.sf_head, a.ix, a.id);
    a.l.sf_head = -1;
    a.l.sf_once = true;
    a.l.gp_page = -1;
    a.l.gp_err = '';
  },
  sfTeamLockHead: (a) => a.k.lockPage(a.l.sf_head, a.ix),
  sfTeamUnlockHead: (a) => a.k.unlockPage(a.l.sf_head, a.ix),
  /** unlock_page(head) after map_team_by_pmd (its reference is the pmd's now). */
  sfTeamUnlockHeadMapped: (a) => a.k.unlockPage(teamHeadOfPmd(a), a.ix),
  sfTeamPutHead: (a) => {
    a.k.pages.put(a.l.sf_head, a.ix, a.id);
    a.l.sf_head = -1;
  },
  sfTeamLockPtl: (a) => a.k.spinLock(mmOf(a).pageTableLock, a.ix),
  sfTeamUnlockPtl: (a) => a.k.spinUnlock(mmOf(a).pageTableLock, a.ix),
  /**
   * map_team_by_pmd under the page table lock: set_pmd_at a huge pmd of the team;
   * pgtable_trans_huge_deposit; page_add_file_rmap(head) and page_add_team_rmap(head)
   * (team_usage += TEAM_MAPPING_COUNTER); nr_ptes++; MM_SHMEMPAGES += HPAGE_PMD_NR. The
   * head's reference is the mapping's.
   */
  sfMapTeamByPmd: (a) => {
    const k = a.k;
    const mm = mmOf(a);
    const head = a.l.sf_head;
    k.pages.mapPmd(head, a.ix);
    const p = k.pmdCmd(mm, pmdIx(a), 'SET_PMD_HUGE', head, a.ix);
    p.writable = ((mm.findVma(a.l.vpn)!.flags) & VM.WRITE) !== 0;
    p.deposited++;
    k.addMmCounter(mm, 'nr_ptes', 1, a.ix);
    k.addMmCounter(mm, 'MM_SHMEMPAGES', k.HPAGE_PMD_NR, a.ix);
    k.ref('move', 'page', head, a.id, 'pmd', a.ix);
    a.l.sf_head = -1;
  },
};
