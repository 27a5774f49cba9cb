/**
 * madvise(2) as the task chart runs it: MADV_COLLAPSE (madvise_collapse, seed 002's
 * collapse_shmem reached from a user call) and the behaviours a THP test uses around it
 * (MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTNEED, MADV_REMOVE). Split out of
 * machines/task.ts by syscall.
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import { PTE_NONE, VM as VMF, hasPteTable } from '../src/memory/mm.ts';
import { hex } from '../src/memory/pages.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { getPageRef, putPageRef, unmapMappingRangeStates } from './shmem.ts';
import { shmemUndoRangeStates } from './shmem_undo_range.ts';
import { setZapRange, unmapRange } from './zap.ts';
import { shrinkPageListStates } from './shmem_reclaim.ts';
import { vmaAdjustTransHuge, vmaSplitPoints } from './huge_pmd_split.ts';
import { type ScanResult, khugepagedEnterVma, khugepagedScanShmem, khugepagedVmaCheck, prepareAndFlush } from './khugepaged.ts';
import { type A, curPmdIx, lockPtl, mmOf, publishPunchBegin } from './task_mm.ts';

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
      }, { sleeps: 'mmap_lock' }),
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
      ], { sleeps: 'mmap_lock' }),
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
      }, { sleeps: 'mmap_lock' }),
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
          ], { sleeps: 'lock_page' }),
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
      }, { sleeps: 'mmap_lock' }),
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
    if (!p || !hasPteTable(p)) return false;
    for (let i = 0; i < a.k.HPAGE_PMD_NR; i++) {
      const pfn = p.ptes.at(i)!;
      if (pfn !== PTE_NONE && pfn !== a.l.mc_hpage + i) return false;
    }
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


// ---- madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE / MADV_DONTNEED / MADV_REMOVE) ---------------

export type MadviseAdvice = 'MADV_HUGEPAGE' | 'MADV_NOHUGEPAGE' | 'MADV_DONTNEED' | 'MADV_REMOVE' | 'MADV_PAGEOUT';

type MadviseOp = { op: 'madvise'; advice: MadviseAdvice; start: number; end: number };
const mdOp = (a: A) => a.l.ops[a.l.pc] as MadviseOp;

/**
 * do_madvise for the behaviours a THP test uses (mm/madvise.c, v5.x): MADV_HUGEPAGE and
 * MADV_NOHUGEPAGE change the VMAs' flags under mmap_lock for write (hugepage_madvise,
 * madvise_update_vma splitting and merging VMAs; MADV_HUGEPAGE registers the mm with
 * khugepaged_enter_vma); MADV_DONTNEED zaps the range under mmap_lock for read
 * (zap_page_range: a huge pmd the range covers in part is split, page tables stay);
 * MADV_REMOVE punches the file's range (madvise_remove drops mmap_lock around
 * vfs_fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)). A range not wholly mapped
 * returns ENOMEM after the mapped parts are done, as the kernel's VMA walk does.
 */
export function madviseBehavior(): StateDef {
  return {
    meta: { kernel: 'do_madvise' },
    initial: 'route',
    onDone: 'op_done',
    states: {
      route: {
        always: [
          { guard: 'mdNeedsWrite', target: 'down_write' },
          { target: 'down_read' },
        ],
      },
      down_write: step('do_madvise: mmap_write_lock(mm) (madvise_need_mmap_write)', {
        guard: 'mmapWriteFree', actions: ['mmapWriteLock', 'mdSplitPoints'], target: 'vma_adjust',
      }, { sleeps: 'mmap_lock' }),
      vma_adjust: { ...vmaAdjustTransHuge(), onDone: 'hugepage_madvise' },
      hugepage_madvise: step('madvise_vma_behavior → hugepage_madvise; madvise_update_vma (split_vma, vma_merge); khugepaged_enter_vma', {
        actions: 'mdHugepage', target: 'up_write',
      }),
      up_write: step('do_madvise: mmap_write_unlock(mm)', { actions: ['mmapWriteUnlock', 'mdReturn'], target: 'returned' }),
      down_read: step('do_madvise: mmap_read_lock(mm)', [
        { guard: { and: ['mmapReadFree', 'mdIsRemove'] }, actions: ['mmapReadLock', 'mdCheckRemove'], target: 'remove_route' },
        { guard: { and: ['mmapReadFree', 'mdIsPageout'] }, actions: ['mmapReadLock', 'mdBeginPageout'], target: 'pageout' },
        { guard: 'mmapReadFree', actions: ['mmapReadLock', 'mdBeginDontneed'], target: 'zap' },
      ], { sleeps: 'mmap_lock' }),
      zap: { ...unmapRange(), meta: { kernel: 'madvise_dontneed_single_vma → zap_page_range' }, onDone: 'up_read' },
      pageout: {
        meta: { kernel: 'madvise_pageout → madvise_cold_or_pageout_pte_range; reclaim_pages' },
        initial: 'next',
        onDone: 'up_read',
        states: {
          next: {
            always: [
              { guard: 'cursorDone', target: 'returned' },
              { guard: 'cursorPmdPteTable', target: 'pte_lock' },
              { actions: 'poSkipPmd', target: 'advance' },
            ],
          },
          pte_lock: step('madvise_cold_or_pageout_pte_range: pte_offset_map_lock()', {
            guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'isolate',
          }),
          isolate: step('madvise_cold_or_pageout_pte_range: each pte\'s page mapped once and on the LRU: ClearPageReferenced; isolate_lru_page → page_list; pte_unmap_unlock', {
            actions: ['poIsolate', 'unlockCursorPtl'], target: 'reclaim',
          }),
          reclaim: { always: [{ guard: 'poListEmpty', target: 'advance' }, { actions: 'poNextPage', target: 'shrink_page_list' }] },
          shrink_page_list: { ...shrinkPageListStates(), onDone: 'reclaim' },
          advance: { always: { actions: 'cursorAdvance', target: 'next' } },
          returned: final,
        },
      },
      remove_route: { always: [{ guard: 'mdFailed', target: 'up_read' }, { target: 'remove_unlock' }] },
      remove_unlock: step('madvise_remove: get_file(f); mmap_read_unlock(mm)', { actions: ['mmapReadUnlock', 'mdBeginRemove'], target: 'unmap' }),
      unmap: { ...unmapMappingRangeStates(), onDone: 'undo' },
      undo: { ...shmemUndoRangeStates(), onDone: 'remove_relock' },
      remove_relock: step('madvise_remove: fput(f); mmap_read_lock(mm)', {
        guard: 'mmapReadFree', actions: 'mmapReadLock', target: 'up_read',
      }, { sleeps: 'mmap_lock' }),
      up_read: step('do_madvise: mmap_read_unlock(mm)', { actions: ['mmapReadUnlock', 'mdReturn'], target: 'returned' }),
      returned: final,
    },
  };
}

/** hugepage_madvise's change of vm_flags. */
const hugepageFlags = (advice: MadviseAdvice) => advice === 'MADV_HUGEPAGE'
  ? (f: number) => (f & ~VMF.NOHUGEPAGE) | VMF.HUGEPAGE
  : (f: number) => (f & ~VMF.HUGEPAGE) | VMF.NOHUGEPAGE;

export const madviseBehaviorGuards: Record<string, TaskGuard<A>> = {
  mdNeedsWrite: (a) => mdOp(a).advice === 'MADV_HUGEPAGE' || mdOp(a).advice === 'MADV_NOHUGEPAGE',
  mdIsRemove: (a) => mdOp(a).advice === 'MADV_REMOVE',
  mdIsPageout: (a) => mdOp(a).advice === 'MADV_PAGEOUT',
  poListEmpty: (a) => a.l.po_pages.length === 0,
  mdFailed: (a) => a.l.md_err !== '',
};

export const madviseBehaviorActions: Record<string, TaskAction<A>> = {
  mdSplitPoints: (a) => {
    const op = mdOp(a);
    a.l.vs_split = vmaSplitPoints(a, op.start, op.end, hugepageFlags(op.advice));
  },
  mdHugepage: (a) => {
    const op = mdOp(a);
    const mm = mmOf(a);
    const huge = op.advice === 'MADV_HUGEPAGE';
    const mapped = mm.changeVmaFlags(op.start, op.end, hugepageFlags(op.advice));
    a.k.mmField(mm, 'vmas', a.ix);
    a.l.md_err = mapped ? '' : 'ENOMEM';
    // "If the vma become good for khugepaged to scan, register it here without waiting a
    // page fault that may not happen any time soon."
    if (huge) for (const v of mm.vmas) if (v.start < op.end && v.end > op.start) khugepagedEnterVma(a.k, mm, v, a.ix);
  },
  mdBeginDontneed: (a) => {
    const op = mdOp(a);
    a.l.md_err = mmOf(a).mappedEnd(op.start, op.end) === op.end ? '' : 'ENOMEM';
    setZapRange(a, op.start, op.end, false);
  },
  mdBeginPageout: (a) => {
    const op = mdOp(a);
    a.l.md_err = mmOf(a).mappedEnd(op.start, op.end) === op.end ? '' : 'ENOMEM';
    setZapRange(a, op.start, op.end, false);
    a.l.po_pages = [];
  },
  // a huge pmd: the THP split for pageout (split_huge_page) is not modelled — left alone
  poSkipPmd: (a) => {
    const mm = mmOf(a);
    if (mm.kindAt(curPmdIx(a)) !== 'none') a.k.trace(a.ix, 'madvise_pageout', `mm=${mm.name} addr=${hex(curPmdIx(a) * a.k.HPAGE_PMD_NR * 4096)} huge pmd left mapped (its split for pageout is not modelled)`);
  },
  poIsolate: (a) => {
    const k = a.k;
    const mm = mmOf(a);
    const base = curPmdIx(a) * k.HPAGE_PMD_NR;
    const p = mm.pmd(curPmdIx(a));
    for (let i = Math.max(a.l.zap_start - base, 0); i < Math.min(a.l.zap_end - base, k.HPAGE_PMD_NR); i++) {
      const pfn = p.ptes.at(i)!;
      if (pfn === PTE_NONE || pfn === k.ZERO_PAGE) continue;
      // reclaim here swaps shmem pages only: an anonymous page (swap cache), a regular file's
      // (dropped clean) or a compound page (split first) is left alone
      const ino = k.pages.mapping[pfn]!;
      if (ino < 0 || !k.inodes[ino]!.shmem || k.pages.order[k.pages.compoundHead(pfn)] !== 0) continue;
      // "if (!PageLRU(page) || page_mapcount(page) != 1) continue;"
      if (!k.pages.isOnLru(pfn) || k.pages.pageMapcount(pfn) !== 1 || k.pages.isFrozen(pfn)) continue;
      k.pages.isolate(pfn, a.ix);
      getPageRef(a, pfn); // isolate_lru_page's reference
      a.l.po_pages.push(pfn, ino, k.pages.index[pfn]!);
    }
  },
  poNextPage: (a) => {
    const [pfn, ino, index] = a.l.po_pages.splice(0, 3);
    a.l.sr_page = pfn!;
    a.l.sr_ino = ino!;
    a.l.sr_index = index!;
  },
  mdCheckRemove: (a) => {
    const op = mdOp(a);
    const vma = mmOf(a).findVma(op.start);
    a.l.md_err = '';
    if (!vma || vma.file < 0) a.l.md_err = 'EINVAL';
    else if ((vma.flags & (VMF.SHARED | VMF.WRITE)) !== (VMF.SHARED | VMF.WRITE)) a.l.md_err = 'EACCES';
    else if (!a.k.inodes[vma.file]!.shmem) a.l.md_err = 'EOPNOTSUPP'; // (the model's regular files have no fallocate)
    else if (op.end > vma.end) a.l.md_err = 'EINVAL'; // madvise_remove works on one VMA here; a range past it is not modelled
  },
  mdBeginRemove: (a) => {
    const op = mdOp(a);
    const vma = mmOf(a).findVma(op.start)!;
    const start = vma.pgoff + (op.start - vma.start);
    const end = start + (op.end - op.start);
    Object.assign(a.l, {
      um_ino: vma.file, um_start: start, um_end: end,
      ur_ino: vma.file, ur_start: start, ur_end: end, ur_index: start, ur_page: -1, ur_op: 'punch', ur_found: false,
    });
    publishPunchBegin(a, vma.file, start, end);
  },
  mdReturn: (a) => {
    const op = mdOp(a);
    const ret = a.l.md_err ? `-1 ${a.l.md_err}` : '0';
    const line = `madvise(${hex(op.start * 4096)}, ${hex((op.end - op.start) * 4096)}, ${op.advice}) = ${ret}`;
    a.results.push(line);
    a.k.trace(a.ix, 'madvise', line);
  },
};
