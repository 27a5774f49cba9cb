/**
 * madvise(2) as the task chart runs it: MADV_COLLAPSE (madvise_collapse, seed 002's
 * collapse_shmem reached from a user call), split out of machines/task.ts by syscall.
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import { PTE_NONE, VM as VMF } from '../src/memory/mm.ts';
import { hex } from '../src/memory/pages.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { getPageRef, putPageRef } from './shmem.ts';
import { type ScanResult, khugepagedScanShmem, khugepagedVmaCheck, prepareAndFlush } from './khugepaged.ts';
import { type A, lockPtl, mmOf } from './task_mm.ts';

/** madvise_collapse_errno(): the errno MADV_COLLAPSE returns for the last failed range. */
export function madviseCollapseErrno(r: ScanResult | ''): string {
  switch (r) {
    case 'SCAN_ALLOC_HUGE_PAGE_FAIL': return 'ENOMEM';
    case 'SCAN_CGROUP_CHARGE_FAIL': case 'SCAN_EXCEED_NONE_PTE': return 'EBUSY';
    case 'SCAN_PAGE_COUNT': case 'SCAN_PAGE_LOCK': case 'SCAN_PAGE_LRU': case 'SCAN_DEL_PAGE_LRU': return 'EAGAIN';
    default: return 'EINVAL';
  }
}

/** Results after which madvise_collapse() goes on to the next range ("Whitelisted set of results where continuing OK"). */
const MADVISE_CONTINUE: ReadonlySet<string> = new Set([
  'SCAN_PMD_NULL', 'SCAN_PTE_NON_PRESENT', 'SCAN_PTE_UFFD_WP', 'SCAN_PAGE_RO', 'SCAN_LACK_REFERENCED_PAGE',
  'SCAN_PAGE_NULL', 'SCAN_PAGE_COUNT', 'SCAN_PAGE_LOCK', 'SCAN_PAGE_COMPOUND', 'SCAN_PAGE_LRU', 'SCAN_DEL_PAGE_LRU',
]);

/**
 * madvise(MADV_COLLAPSE) on a shmem mapping (seed 002): each hugepage-aligned range in
 * turn, hpage_collapse_scan_file → collapse_file (the shared collapse_shmem states, with
 * cc->is_khugepaged false: no sysfs, no max_ptes_* limits), then
 * collapse_pte_mapped_thp(mm, addr, install_pmd = true) under mmap_lock for write, which
 * installs the caller's pmd (directly when khugepaged already cleared it).
 */
export function madviseCollapse(): StateDef {
  return {
    meta: { kernel: 'madvise_collapse' },
    initial: 'down_read',
    onDone: 'op_done',
    states: {
      down_read: step('do_madvise: mmap_read_lock(mm) (MADV_COLLAPSE needs it for read)', {
        guard: 'mmapReadFree', actions: ['mmapReadLock', 'mcBegin'], target: 'vma_check',
      }),
      vma_check: {
        always: [
          { guard: 'mcVmaUnsuitable', actions: 'mcEinvalVma', target: 'finish' },
          { target: 'next' },
        ],
      },
      next: {
        always: [
          { guard: 'mcAllDone', target: 'maybe_relock' },
          { guard: 'mcUnlocked', target: 'relock' },
          { target: 'scan_prep' },
        ],
      },
      relock: step('madvise_collapse: mmap_read_lock(mm); hugepage_vma_revalidate', [
        { guard: { and: ['mmapReadFree', 'mcVmaUnsuitableAt'] }, actions: ['mmapReadLock', 'mcRelocked', 'mcRevalidateFailed'], target: 'finish' },
        { guard: 'mmapReadFree', actions: ['mmapReadLock', 'mcRelocked'], target: 'scan_prep' },
      ]),
      scan_prep: step('madvise_collapse: get_file; pgoff = linear_page_index(vma, addr); mmap_read_unlock(mm)', {
        actions: 'mcScanPrep', target: 'scan_file',
      }),
      scan_file: { ...khugepagedScanShmem(), onDone: 'handle_result' },
      handle_result: {
        always: [
          { guard: 'mcSucceeded', actions: 'mcThp', target: 'advance' },
          { guard: 'mcPteMapped', target: 'write_lock' },
          { guard: 'mcContinue', actions: 'mcNoteFail', target: 'advance' },
          { actions: 'mcNoteFail', target: 'maybe_relock' },
        ],
      },
      write_lock: step('madvise_collapse: mmap_write_lock(mm)', {
        guard: 'mmapWriteFree', actions: 'mmapWriteLock', target: 'collapse_pte_mapped_thp',
      }),
      collapse_pte_mapped_thp: {
        meta: { kernel: 'collapse_pte_mapped_thp(mm, addr, install_pmd = true)' },
        initial: 'route',
        onDone: 'write_unlock',
        states: {
          route: {
            always: [
              { guard: 'mcPmdMapped', actions: 'mcResultPmdMapped', target: 'returned' },
              { guard: 'mcNoHugePage', actions: 'mcResultPageNull', target: 'returned' },
              { target: 'find_lock_page' },
            ],
          },
          find_lock_page: step('collapse_pte_mapped_thp: hpage = find_lock_page(mapping, linear_page_index(vma, haddr))', [
            { guard: 'mcNoHugePage', actions: 'mcResultPageNull', target: 'returned' },
            { guard: 'mcPageUnlocked', actions: 'mcGetLockPage', target: 'pmd_lock' },
          ]),
          pmd_lock: step('collapse_pte_mapped_thp: pmd_lock / pte_offset_map_lock', {
            guard: 'ptlFree', actions: 'mcLockPtl', target: 'install',
          }),
          install: step('collapse_pte_mapped_thp: check every pte maps hpage + i; collapse_and_free_pmd; set_huge_pmd (none pmd: install directly)', [
            { guard: 'mcPmdNoneNow', actions: ['mcInstallPmd', 'unlockPtl'], target: 'drop' },
            { guard: 'mcPtesMapOnlyHpage', actions: ['mcCollapseAndInstall', 'unlockPtl'], target: 'drop' },
            { guard: 'mcPmdMappedNow', actions: ['mcResultPmdMapped', 'unlockPtl'], target: 'drop' },
            { actions: ['mcResultFail', 'unlockPtl'], target: 'drop' },
          ]),
          drop: step('collapse_pte_mapped_thp: unlock_page(hpage); put_page(hpage)', { actions: 'mcDropPage', target: 'returned' }),
          returned: final,
        },
      },
      write_unlock: step('madvise_collapse: mmap_write_unlock(mm); goto handle_result', {
        actions: 'mmapWriteUnlock', target: 'handle_result',
      }),
      advance: { always: { actions: 'mcAdvance', target: 'next' } },
      maybe_relock: { always: [{ guard: 'mcUnlocked', target: 'relock_out' }, { target: 'finish' }] },
      relock_out: step('madvise_collapse: out_maybelock: mmap_read_lock(mm) (the caller expects it held)', {
        guard: 'mmapReadFree', actions: ['mmapReadLock', 'mcRelocked'], target: 'finish',
      }),
      finish: { always: { actions: 'mcReturn', target: 'up_read' } },
      up_read: step('do_madvise: mmap_read_unlock(mm)', { actions: 'mmapReadUnlock', target: 'returned' }),
      returned: final,
    },
  };
}

const mcPmdIx = (a: A) => a.l.mc_addr / a.k.HPAGE_PMD_NR;

/** The huge page the page cache holds for mc_addr's file offset: a head of order HPAGE_PMD_ORDER at that index, or -1. */
function mcHugePage(a: A): number {
  const k = a.k;
  const f = k.fileOffset(mmOf(a), a.l.mc_addr);
  if (!f) return -1;
  const v = f.ino.mapping.lookup(f.index);
  if (v < 0) return -1;
  const h = k.pages.compoundHead(v);
  return h === v && k.pages.order[h] === k.HPAGE_PMD_ORDER && k.pages.index[h] === f.index ? h : -1;
}

/** hugepage_vma_check(enforce_sysfs = false) for MADV_COLLAPSE: a shmem VMA, not VM_NOHUGEPAGE, aligned in the file. */
function madviseVmaOk(a: A, vpn: number): boolean {
  const vma = mmOf(a).findVma(vpn);
  if (!vma || vma.file < 0 || vma.flags & VMF.NOHUGEPAGE) return false;
  // independent of sysfs enabled / shmem_enabled (shmem_is_huge(..., shmem_huge_force = true))
  return khugepagedVmaCheck(a, { ...vma, flags: vma.flags | VMF.HUGEPAGE }, true);
}

export const madviseGuards: Record<string, TaskGuard<A>> = {
  mcVmaUnsuitable: (a) => !madviseVmaOk(a, a.l.mc_start),
  mcVmaUnsuitableAt: (a) => !madviseVmaOk(a, a.l.mc_addr),
  mcAllDone: (a) => a.l.mc_addr >= a.l.mc_hend,
  mcUnlocked: (a) => !a.l.mc_locked,
  mcSucceeded: (a) => a.l.result === 'SCAN_SUCCEED' || a.l.result === 'SCAN_PMD_MAPPED',
  mcPteMapped: (a) => a.l.result === 'SCAN_PTE_MAPPED_HUGEPAGE',
  mcContinue: (a) => MADVISE_CONTINUE.has(a.l.result),
  mcPmdMapped: (a) => mmOf(a).kindAt(mcPmdIx(a)) === 'huge',
  mcNoHugePage: (a) => mcHugePage(a) < 0,
  mcPageUnlocked: (a) => !a.k.pages.isLocked(mcHugePage(a)),
  mcPmdNoneNow: (a) => mmOf(a).kindAt(mcPmdIx(a)) === 'none',
  mcPmdMappedNow: (a) => mmOf(a).kindAt(mcPmdIx(a)) === 'huge',
  mcPtesMapOnlyHpage: (a) => {
    const p = mmOf(a).pmds.get(mcPmdIx(a));
    if (!p?.ptes) return false;
    for (let i = 0; i < a.k.HPAGE_PMD_NR; i++) if (p.ptes[i] !== PTE_NONE && p.ptes[i] !== a.l.mc_hpage + i) return false;
    return true;
  },
};

/** set_huge_pmd(): do_set_pmd with hpage, and the pmd's reference (get_page). */
function setHugePmd(a: A): void {
  const k = a.k;
  const mm = mmOf(a);
  const h = a.l.mc_hpage;
  k.pages.get(h, a.ix);
  k.pages.mapPmd(h, a.ix);
  const p = k.pmdCmd(mm, mcPmdIx(a), 'SET_PMD_HUGE', h, a.ix);
  p.writable = ((mm.findVma(a.l.mc_addr)?.flags ?? 0) & VMF.WRITE) !== 0;
  k.addMmCounter(mm, k.mmCounterFile(h), k.HPAGE_PMD_NR, a.ix);
  k.count('thp_file_mapped', 1, a.ix);
  a.l.result = 'SCAN_SUCCEED';
}

export const madviseActions: Record<string, TaskAction<A>> = {
  mcBegin: (a) => {
    const op = a.l.ops[a.l.pc] as { op: 'madvise_collapse'; start: number; end: number };
    const n = a.k.HPAGE_PMD_NR;
    a.l.mc_start = op.start;
    a.l.mc_end = op.end;
    a.l.mc_hstart = Math.ceil(op.start / n) * n;
    a.l.mc_hend = Math.floor(op.end / n) * n;
    a.l.mc_addr = a.l.mc_hstart;
    a.l.mc_thps = 0;
    a.l.mc_last_fail = '';
    a.l.mc_locked = true;
  },
  mcEinvalVma: (a) => {
    a.l.mc_last_fail = 'SCAN_VMA_CHECK';
    a.l.mc_thps = -1;
  },
  mcRelocked: (a) => {
    a.l.mc_locked = true;
  },
  mcRevalidateFailed: (a) => {
    a.l.mc_last_fail = 'SCAN_VMA_CHECK';
  },
  mcScanPrep: (a) => {
    const mm = mmOf(a);
    const f = a.k.fileOffset(mm, a.l.mc_addr)!;
    a.k.mmapReadUnlock(mm, a.ix);
    a.l.mc_locked = false;
    Object.assign(a.l, {
      cc_mm: mm.id, cc_khugepaged: false, sc_ino: f.ino.id, sc_start: f.index, sc_index: f.index,
      sc_present: 0, sc_swap: 0, sc_pfn: -1, sc_compound: -1, result: 'SCAN_SUCCEED',
    });
  },
  mcThp: (a) => {
    a.l.mc_thps++;
  },
  mcNoteFail: (a) => {
    a.l.mc_last_fail = a.l.result;
  },
  mcAdvance: (a) => {
    a.l.mc_addr += a.k.HPAGE_PMD_NR;
  },
  mcResultPmdMapped: (a) => {
    a.l.result = 'SCAN_PMD_MAPPED';
  },
  mcResultPageNull: (a) => {
    a.l.result = 'SCAN_PAGE_NULL';
  },
  mcResultFail: (a) => {
    a.l.result = 'SCAN_FAIL';
  },
  mcGetLockPage: (a) => {
    a.l.mc_hpage = mcHugePage(a);
    getPageRef(a, a.l.mc_hpage);
    a.k.lockPage(a.l.mc_hpage, a.ix);
  },
  mcLockPtl: (a) => lockPtl(a),
  mcInstallPmd: (a) => setHugePmd(a),
  mcCollapseAndInstall: (a) => {
    const mm = mmOf(a);
    prepareAndFlush(a, mm, mcPmdIx(a), true);
    a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
    setHugePmd(a);
  },
  mcDropPage: (a) => {
    a.k.unlockPage(a.l.mc_hpage, a.ix);
    putPageRef(a, a.l.mc_hpage);
    a.l.mc_hpage = -1;
  },
  mcReturn: (a) => {
    const total = (a.l.mc_hend - a.l.mc_hstart) / a.k.HPAGE_PMD_NR;
    const ok = a.l.mc_thps === total;
    const ret = ok ? '0' : `-1 ${madviseCollapseErrno(a.l.mc_last_fail)}`;
    const line = `madvise(${hex(a.l.mc_start * 4096)}, ${hex((a.l.mc_end - a.l.mc_start) * 4096)}, MADV_COLLAPSE) = ${ret}`;
    a.results.push(ok ? line : `${line} (last: ${a.l.mc_last_fail})`);
    a.k.trace(a.ix, 'madvise_collapse', `${line} thps=${Math.max(a.l.mc_thps, 0)}/${total}${ok ? '' : ` last=${a.l.mc_last_fail}`}`);
  },
};

