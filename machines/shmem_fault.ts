/**
 * The shmem fault (v4.8-era mm/memory.c and mm/shmem.c): do_read_fault / do_shared_fault →
 * __do_fault → shmem_fault (shmem_getpage_gfp) → alloc_set_pte, mapping a page by pte or a
 * huge page (or a complete huge tmpfs team, machines/team_fault.ts) by pmd; also the
 * filemap_fault of a regular file. A compound state task charts embed as a call.
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { PTE_NONE, VM } from '../src/memory/mm.ts';
import { type ShmemLocals, putPageRef, shmemGetpageStates } from './shmem.ts';
import { sgpHugeFor } from './shmem_huge.ts';
import { type TeamFaultLocals, teamFaultActions, teamFaultGuards } from './team_fault.ts';

/** The head of the page a slot value points at. */
const headOf = (k: Kernel, pfn: number) => k.pages.compoundHead(pfn);

/**
 * do_read_fault / do_shared_fault → __do_fault → shmem_fault (shmem_getpage_gfp) →
 * alloc_set_pte: a huge page maps by pmd (do_set_pmd) where the pmd is none and the
 * VMA covers the aligned range; otherwise its subpage maps by pte. unlock_page after.
 */
export function shmemFaultStates(getpage: StateDef = shmemGetpageStates(), kernel = 'do_shared_fault → shmem_fault → alloc_set_pte'): StateDef {
  return {
    meta: { kernel },
    initial: 'sgp',
    states: {
      // shmem_fault: sgp = SGP_CACHE; VM_HUGEPAGE → SGP_HUGE; VM_NOHUGEPAGE → SGP_NOHUGE
      sgp: { always: { actions: 'sfSgp', target: 'getpage' } },
      getpage: { ...getpage, onDone: 'route' },
      route: {
        always: [
          { guard: 'sfNoPage', actions: 'sfFailed', target: 'returned' },
          { guard: 'sfCanMapPmd', target: 'pmd_lock' },
          // huge tmpfs (seed 001's series): a team page, maybe mapped by the team's pmd (machines/team_fault.ts)
          { guard: 'sfTeamMayHuge', target: 'team_head' },
          { guard: 'sfPmdIsHuge', actions: ['sfUnlockPutPage', 'sfRetry'], target: 'returned' },
          { guard: 'sfPmdIsNone', target: 'pte_alloc_one' },
          { target: 'pte_lock' },
        ],
      },
      team_head: step('shmem_fault: head = team_head(page); if (!get_page_unless_zero(head) || !PageTeam(head)) single; unlock_page(page); put_page(page)', [
        { guard: 'sfTeamHeadOk', actions: 'sfTeamTakeHead', target: 'team_checked' },
        // "return ret": the page, still locked, mapped by a pte
        { actions: 'sfTeamNotHuge', target: 'route' },
      ]),
      // shmem_populate_hugeteam: "return 0 if PageChecked(head)"; populating an unchecked team is not modelled: single
      team_checked: {
        always: [
          { guard: 'sfTeamChecked', target: 'team_lock_head' },
          { actions: 'sfTeamSingle', target: 'single_unlocked' },
        ],
      },
      team_lock_head: step('shmem_fault: lock_page(head); if (!PageTeam(head)) { unlock_page(head); put_page(head); goto single }', [
        { guard: { and: ['sfTeamHeadUnlocked', 'sfTeamHeadIsTeam'] }, actions: 'sfTeamLockHead', target: 'team_pte_alloc' },
        { guard: 'sfTeamHeadUnlocked', actions: 'sfTeamSingle', target: 'single_unlocked' },
      ], { sleeps: 'lock_page' }),
      team_pte_alloc: step('map_team_by_pmd: if (!pmd_none(*pmd)) goto raced2; pgtable = pte_alloc_one(mm, addr)', [
        { guard: { not: 'sfTeamPmdNone' }, actions: ['sfTeamUnlockHead', 'sfTeamPutHead', 'sfOk'], target: 'returned' },
        { guard: 'injectedFailure', actions: ['sfTeamUnlockHead', 'sfTeamPutHead', 'sfOom'], target: 'returned' },
        { target: 'team_pmd_lock' },
      ], { inject: 'pte_alloc_one', sleeps: 'alloc_pages' }),
      team_pmd_lock: step('map_team_by_pmd: ptl = pmd_lock(mm, pmd)', {
        guard: 'sfTeamPtlFree', actions: 'sfTeamLockPtl', target: 'team_set_pmd',
      }),
      team_set_pmd: step('map_team_by_pmd: if (pmd_none) { set_pmd_at(huge); deposit; page_add_file_rmap(head); page_add_team_rmap(head); nr_ptes++ } spin_unlock(ptl); unlock_page(head); MM_SHMEMPAGES += HPAGE_PMD_NR', [
        { guard: 'sfTeamPmdNone', actions: ['sfMapTeamByPmd', 'sfTeamUnlockPtl', 'sfTeamUnlockHeadMapped', 'sfOk'], target: 'returned' },
        { actions: ['sfTeamUnlockPtl', 'sfTeamUnlockHead', 'sfTeamPutHead', 'sfOk'], target: 'returned' },
      ]),
      // goto single: shmem_getpage_gfp again, for one pte ("once" keeps it from trying huge again)
      single_unlocked: { always: { target: 'getpage' } },
      pmd_lock: step('do_set_pmd: ptl = pmd_lock(vma->vm_mm, pmd)', {
        guard: 'sfPtlFree', actions: 'sfLockPtl', target: 'set_pmd',
      }),
      set_pmd: step('do_set_pmd: if (pmd_none) { page_add_file_rmap(page, true); set_pmd_at(); count THP_FILE_MAPPED }', [
        { guard: 'sfPmdIsNone', actions: ['sfMapPmd', 'sfUnlockPtl'], target: 'unlock_page' },
        { actions: ['sfUnlockPtl', 'sfUnlockPutPage', 'sfRetry'], target: 'returned' },
      ]),
      pte_alloc_one: step('pte_alloc_one_map: pte_alloc_one(); pmd_populate under the page table lock', [
        { guard: 'injectedFailure', actions: ['sfUnlockPutPage', 'sfOom'], target: 'returned' },
        { guard: { and: ['sfPtlFree', 'sfPmdIsNone'] }, actions: 'sfPmdPopulate', target: 'pte_lock' },
        { guard: 'sfPtlFree', target: 'route' },
      ], { inject: 'pte_alloc_one', sleeps: 'alloc_pages' }),
      pte_lock: step('alloc_set_pte: pte_offset_map_lock()', {
        guard: 'sfPtlFree', actions: 'sfLockPtl', target: 'set_pte',
      }),
      set_pte: step('alloc_set_pte: if (pte_none) { page_add_file_rmap(page); set_pte_at() }', [
        { guard: { and: ['sfPmdIsPteTable', 'sfPteNone'] }, actions: ['sfMapPte', 'sfUnlockPtl'], target: 'unlock_page' },
        { actions: ['sfUnlockPtl', 'sfUnlockPutPage', 'sfRetry'], target: 'returned' },
      ]),
      unlock_page: step('__do_fault / do_shared_fault: unlock_page(vmf->page)', {
        actions: ['sfUnlockPage', 'sfOk'], target: 'returned',
      }),
      returned: final,
    },
  };
}

/** The locals a shmem fault reads from its task: which mm and vpn, and whether a write. */
export interface ShmemFaultTask extends ShmemLocals, TeamFaultLocals {
  mmName: string;
  vpn: number;
  write: boolean;
  fault: 'none' | 'ok' | 'retry' | 'fallback' | 'SIGSEGV' | 'SIGBUS' | 'VM_FAULT_OOM';
}

type F = Actor<ShmemFaultTask>;
const fmm = (a: F) => a.k.mmByName(a.l.mmName)!;
const fpmd = (a: F) => Math.floor(a.l.vpn / a.k.HPAGE_PMD_NR);
const fkind = (a: F) => fmm(a).kindAt(fpmd(a));

export const shmemFaultGuards: Record<string, TaskGuard<F>> = {
  ...teamFaultGuards,
  sfNoPage: (a) => a.l.gp_page < 0,
  sfCanMapPmd: (a) => {
    const k = a.k;
    const h = headOf(k, a.l.gp_page);
    if (k.pages.order[h] === 0 || fkind(a) !== 'none') return false;
    const mm = fmm(a);
    const base = fpmd(a) * k.HPAGE_PMD_NR;
    const vma = mm.findVma(a.l.vpn)!;
    // the whole aligned range is in the VMA and maps exactly this huge page
    return base >= vma.start && base + k.HPAGE_PMD_NR <= vma.end && vma.pgoff + (base - vma.start) === k.pages.index[h];
  },
  sfPmdIsHuge: (a) => fkind(a) === 'huge',
  sfPmdIsNone: (a) => fkind(a) === 'none',
  sfPmdIsPteTable: (a) => fkind(a) === 'pte_table',
  sfPtlFree: (a) => fmm(a).pageTableLock.free,
  sfPteNone: (a) => a.k.pte(fmm(a), a.l.vpn) === PTE_NONE,
};

export const shmemFaultActions: Record<string, TaskAction<F>> = {
  ...teamFaultActions,
  sfSgp: (a) => {
    a.l.gp_sgp_huge = sgpHugeFor(fmm(a).findVma(a.l.vpn)!.flags);
  },
  sfFailed: (a) => {
    a.l.fault = a.l.gp_err === 'ENOMEM' ? 'VM_FAULT_OOM' : 'SIGBUS';
  },
  sfRetry: (a) => {
    a.l.fault = 'ok';
  },
  sfOk: (a) => {
    a.l.fault = 'ok';
  },
  sfOom: (a) => {
    a.l.fault = 'VM_FAULT_OOM';
  },
  sfLockPtl: (a) => a.k.spinLock(fmm(a).pageTableLock, a.ix),
  sfUnlockPtl: (a) => a.k.spinUnlock(fmm(a).pageTableLock, a.ix),
  sfUnlockPutPage: (a) => {
    a.k.unlockPage(headOf(a.k, a.l.gp_page), a.ix);
    putPageRef(a, a.l.gp_page);
    a.l.gp_page = -1;
  },
  sfUnlockPage: (a) => {
    a.k.unlockPage(headOf(a.k, a.l.gp_page), a.ix);
    a.l.gp_page = -1;
  },
  sfMapPmd: (a) => {
    const k = a.k;
    const mm = fmm(a);
    const h = headOf(k, a.l.gp_page);
    k.pages.mapPmd(h, a.ix);
    const p = k.pmdCmd(mm, fpmd(a), 'SET_PMD_HUGE', h, a.ix);
    const vma = mm.findVma(a.l.vpn)!;
    p.writable = (vma.flags & VM.WRITE) !== 0;
    k.addMmCounter(mm, k.mmCounterFile(h), k.HPAGE_PMD_NR, a.ix);
    k.ref('move', 'page', h, a.id, 'pmd', a.ix);
    k.count('thp_file_mapped', 1, a.ix);
  },
  sfPmdPopulate: (a) => {
    const mm = fmm(a);
    a.k.pmdCmd(mm, fpmd(a), 'PMD_POPULATE', -1, a.ix);
    a.k.addMmCounter(mm, 'nr_ptes', 1, a.ix);
  },
  sfMapPte: (a) => {
    const k = a.k;
    const mm = fmm(a);
    const vma = mm.findVma(a.l.vpn)!;
    // the subpage for this offset (a huge page's slot holds its subpage)
    const pfn = a.l.gp_page;
    k.pages.mapPte(pfn, a.ix);
    k.setPte(mm, a.l.vpn, pfn, (vma.flags & VM.WRITE) !== 0, a.ix);
    k.addMmCounter(mm, k.mmCounterFile(pfn), 1, a.ix);
    k.ref('move', 'page', pfn, a.id, 'pte', a.ix);
  },
};
