/**
 * Seed 000 (khugepaged: add support of collapse for tmpfs/shmem pages): the khugepaged
 * thread (khugepaged_do_scan → khugepaged_scan_mm_slot over the mm_slots khugepaged_enter
 * registered), hugepage_vma_check with the shmem alignment rule, and seed 003's
 * khugepaged_collapse_pte_mapped_thps. The collapse context it runs — khugepaged_scan_shmem,
 * collapse_shmem, retract_page_tables — is machines/collapse_shmem.ts.
 */
import { type BoundedArray, array, bool, int, struct } from '../src/vector/struct.ts';
import { collapseLocalsFields } from './collapse_shmem.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskChartDef } from '../src/engine/task_chart.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { type MmStruct, type Vma, VM } from '../src/memory/mm.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { hex } from '../src/memory/pages.ts';
import { getPageRef, putPageRef } from './shmem.ts';
import {
  type CollapseLocals, NR, collapseActions, collapseGuards, khugepagedScanShmem, prepareAndFlush, ptesMapOnly, traceScanFile,
} from './collapse_shmem.ts';
export { type CollapseLocals, type ScanResult, SCAN_STRINGS, collapseActions, collapseGuards, khugepagedScanShmem, prepareAndFlush } from './collapse_shmem.ts';

export interface KhugepagedLocals extends CollapseLocals {
  /** Stop after this many full scans of the mm_slot list. */
  full_scans_target: number;
  /** khugepaged_scan: the mm_slot (index into the kernel's mms) and address. */
  slot: number;
  address: number;
  progress: number;
  /** khugepaged_do_scan: times this pass came round to the head of the mm_slot list. */
  pass_through_head: number;
  /** khugepaged_prealloc_page's `wait`: it already slept alloc_sleep_millisecs this pass. */
  alloc_waited: boolean;
  /** The VMA being scanned (as find_vma found it under mmap_sem): its file, pgoff and start, and [hstart, hend). */
  vma_file: number;
  vma_pgoff: number;
  vma_start: number;
  hstart: number;
  hend: number;
  /** Seed 003 design b (per-PMD): the pmd indexes still to try in the current mm. */
  get cp_todo(): BoundedArray;
  set cp_todo(v: Iterable<number>);
  cp_hpage: number;
}
export const khugepagedLocals = struct<KhugepagedLocals>('khugepaged', {
  ...collapseLocalsFields,
  full_scans_target: int(), slot: int(), address: int(), progress: int(), pass_through_head: int(), alloc_waited: bool(),
  vma_file: int(-1), vma_pgoff: int(), vma_start: int(), hstart: int(), hend: int(),
  cp_todo: array('the pmds of an mm', (b) => b.pmds), cp_hpage: int(-1),
});

type K = Actor<KhugepagedLocals>;
/** The mm of khugepaged_scan.mm_slot. */
const mmOf = (a: K): MmStruct => a.k.mms[a.k.mmHead.at(a.l.slot)]!;

/**
 * khugepaged_enter_vma(vma, vm_flags) — from mmap_region (the scenario's VMAs at the start),
 * vma_merge, madvise(MADV_HUGEPAGE) and, for anonymous memory, a huge fault's
 * khugepaged_enter: registers the mm (__khugepaged_enter) once khugepaged is enabled
 * (sysfs enabled always or madvise) and the VMA passes hugepage_vma_check with sysfs
 * enforced and has an aligned huge range. Anonymous VMAs register as in the kernel,
 * though the model's khugepaged scans only file VMAs (khugepaged_scan_pmd is not modelled).
 */
export function khugepagedEnterVma(k: Kernel, mm: MmStruct, vma: Vma, a: number): void {
  if (mm.mmfVmHugepage || k.sysfs.enabled === 'never') return;
  const n = k.HPAGE_PMD_NR;
  if (Math.ceil(vma.start / n) * n >= Math.floor(vma.end / n) * n) return;
  const ok = vma.file < 0
    ? !(vma.flags & VM.NOHUGEPAGE) && (k.sysfs.enabled === 'always' || (vma.flags & VM.HUGEPAGE) !== 0)
    : khugepagedVmaCheck({ k } as Actor, vma); // (it reads only the kernel)
  if (ok) k.khugepagedEnter(mm, a);
}

/**
 * hugepage_vma_check() with the seed's shmem rule, and shmem_huge_enabled().
 * `shmemHugeForce`: as shmem_is_huge()'s shmem_huge_force (MADV_COLLAPSE does not enforce
 * sysfs): the shmem_enabled setting is taken as "force".
 */
export function khugepagedVmaCheck(a: Actor, vma: Vma, shmemHugeForce = false): boolean {
  const k = a.k;
  if ((!(vma.flags & VM.HUGEPAGE) && k.sysfs.enabled !== 'always') || vma.flags & VM.NOHUGEPAGE) return false;
  if (vma.file < 0) return false; // anonymous collapse (khugepaged_scan_pmd) is not in the seeds
  const ino = k.inodes[vma.file]!;
  if ((vma.start - vma.pgoff) % k.HPAGE_PMD_NR !== 0) return false;
  // a regular file: file_thp_enabled() — CONFIG_READ_ONLY_THP_FOR_FS, VM_EXEC, not open for write
  if (!ino.shmem) return k.config.READ_ONLY_THP_FOR_FS && (vma.flags & VM.EXEC) !== 0;
  return shmemHugeEnabled(a, vma, ino, shmemHugeForce);
}

function shmemHugeEnabled(a: Actor, vma: Vma, ino: Inode, force: boolean): boolean {
  const k = a.k;
  // shmem_is_huge(): "if (shmem_huge == SHMEM_HUGE_DENY) return false;" comes before
  // "if (shmem_huge_force || shmem_huge == SHMEM_HUGE_FORCE) return true;"
  if (k.sysfs.shmem_enabled === 'deny') return false;
  switch (force ? 'force' : k.sysfs.shmem_enabled) {
    case 'force': case 'always': return true;
    case 'never': return false;
    case 'advise': return (vma.flags & VM.HUGEPAGE) !== 0;
    case 'within_size': {
      const off = Math.ceil(vma.pgoff / k.HPAGE_PMD_NR) * k.HPAGE_PMD_NR;
      if (ino.i_size >= k.HPAGE_PMD_NR && ino.i_size >= off) return true;
      // no break: SHMEM_HUGE_WITHIN_SIZE falls through to SHMEM_HUGE_ADVISE
      return (vma.flags & VM.HUGEPAGE) !== 0;
    }
  }
}

/**
 * khugepaged_collapse_pte_mapped_thps(mm_slot) → collapse_pte_mapped_thp(mm, haddr) for
 * every pmd retract_page_tables could not take: under mmap_sem for write (trylock), the
 * huge page found and locked, prepare_pmd_for_collapse, the pte table freed.
 */
function collapsePteMappedThps(): StateDef {
  return {
    meta: { kernel: 'khugepaged_collapse_pte_mapped_thps' },
    initial: 'trylock',
    states: {
      trylock: step('khugepaged_collapse_pte_mapped_thps: if (!down_write_trylock(&mm->mmap_sem)) return', [
        { guard: 'cpTrylock', actions: 'cpBegin', target: 'next' },
        { target: 'returned' },
      ]),
      next: {
        always: [
          { guard: 'cpDone', target: 'up_write' },
          { guard: 'cpNoHugePage', actions: 'cpSkip', target: 'skip' },
          { target: 'find_lock_page' },
        ],
      },
      skip: { always: { target: 'next' } },
      find_lock_page: step('collapse_pte_mapped_thp: hpage = find_lock_page(vma->vm_file->f_mapping, linear_page_index(vma, haddr))', {
        guard: 'cpPageUnlocked', actions: 'cpGetLock', target: 'pmd_lock',
      }, { sleeps: 'lock_page' }),
      pmd_lock: step('collapse_pte_mapped_thp: pte_offset_map_lock / pmd_lock', {
        guard: 'cpPtlFree', actions: 'cpLockPtl', target: 'prepare',
      }),
      prepare: step('collapse_pte_mapped_thp: every pte maps hpage + i? page_remove_rmap; page_ref_sub; add_mm_counter; pmdp_collapse_flush', [
        { guard: 'cpCollapsible', actions: ['cpCollapse', 'cpUnlockPtl'], target: 'drop' },
        // "a subpage replaced behind the THP's back": fall back, leave the pte table
        { actions: ['cpAbort', 'cpUnlockPtl'], target: 'drop' },
      ]),
      drop: step('collapse_pte_mapped_thp: unlock_page(hpage); put_page(hpage)', {
        actions: 'cpDrop', target: 'next',
      }),
      up_write: step('khugepaged_collapse_pte_mapped_thps: up_write(&mm->mmap_sem)', {
        actions: 'cpUpWrite', target: 'returned',
      }),
      returned: final,
    },
  };
}

export const khugepagedChart: TaskChartDef<K> = {
  id: 'khugepaged',
  description: 'khugepaged: scan mm_slots, khugepaged_scan_shmem, collapse_shmem, retract_page_tables',
  initial: 'do_scan',
  states: {
    do_scan: { always: [{ guard: 'noWork', target: 'wait_work' }, { actions: 'beginPass', target: 'scan_mm_slot' }] },
    // khugepaged_wait_work with no mm_slot: wait_event_freezable(khugepaged_wait, khugepaged_wait_event())
    // until __khugepaged_enter adds one (an mm never registered is never scanned)
    wait_work: step('khugepaged_wait_work: wait_event_freezable(khugepaged_wait, khugepaged_wait_event())', {
      guard: 'hasWork', target: 'do_scan',
    }),
    scan_mm_slot: {
      always: [
        { guard: 'passDone', target: 'sleep' },
        // khugepaged_prealloc_page: after a failed allocation, sleep alloc_sleep_millisecs
        // once in this pass; a second failure ends the pass
        { guard: { and: ['allocFailed', 'allocWaited'] }, target: 'sleep' },
        { guard: 'allocFailed', target: 'alloc_sleep' },
        { guard: 'slotsWrapped', actions: 'fullScan', target: 'wrapped' },
        { guard: 'slotMmGone', actions: 'nextSlot', target: 'next_slot' },
        { guard: 'hasPtePmdRetry', target: 'collapse_pte_mapped_thps' },
        { target: 'down_read' },
      ],
    },
    // seed 003, design b (per-PMD retry, as the reviewer asks; mainline's per-mm list)
    collapse_pte_mapped_thps: { ...collapsePteMappedThps(), onDone: 'down_read' },
    wrapped: { always: [{ guard: 'allScansDone', target: 'parked' }, { target: 'scan_mm_slot' }] },
    // the scenario's bound on full scans reached: khugepaged sleeps on (the kernel's never
    // stops) — and scans again if a task's wait asks for more full scans
    parked: step('khugepaged_wait_work: the scenario\'s full_scans reached; asleep until a wait asks for more', {
      guard: { not: 'allScansDone' }, target: 'scan_mm_slot',
    }),
    alloc_sleep: step('khugepaged_prealloc_page → khugepaged_alloc_sleep: wait alloc_sleep_millisecs', {
      actions: 'allocSleep', target: 'scan_mm_slot',
    }),
    next_slot: { always: { target: 'scan_mm_slot' } },
    down_read: step('khugepaged_scan_mm_slot: down_read(&mm->mmap_sem)', {
      guard: 'mmapReadFree', actions: 'mmapReadLock', target: 'find_vma',
    }, { sleeps: 'mmap_lock' }),
    find_vma: {
      always: [
        { guard: 'haveVma', actions: 'noteVma', target: 'up_read_for_file' },
        { target: 'mm_done' },
      ],
    },
    up_read_for_file: step('khugepaged_scan_mm_slot: get_file; pgoff = linear_page_index(vma, address); up_read(&mm->mmap_sem)', {
      actions: 'beginScanShmem', target: 'scan_shmem',
    }),
    scan_shmem: { ...khugepagedScanShmem(), onDone: 'after_file' },
    after_file: { always: { actions: 'afterFile', target: 'scan_mm_slot' } },
    mm_done: step('khugepaged_scan_mm_slot: up_read(&mm->mmap_sem); move to the next mm_slot', {
      actions: ['mmapReadUnlock', 'nextSlot'], target: 'scan_mm_slot',
    }),
    sleep: step('khugepaged_wait_work: wait scan_sleep_millisecs', {
      actions: 'sleepAfterPass', target: 'do_scan',
    }),
    done: final,
  },
  guards: {
    ...collapseGuards,
    passDone: (a) => a.l.progress >= a.k.sysfs.khugepaged.pages_to_scan || a.l.pass_through_head >= 2,
    allocFailed: (a) => a.l.alloc_failed,
    allocWaited: (a) => a.l.alloc_waited,
    slotsWrapped: (a) => a.l.slot >= a.k.mmHead.length,
    // khugepaged_has_work(): an mm_slot on the list (and khugepaged enabled)
    noWork: (a) => a.k.mmHead.length === 0 || a.k.sysfs.enabled === 'never',
    hasWork: (a) => a.k.mmHead.length > 0 && a.k.sysfs.enabled !== 'never',
    // (and every task's wait for more scans satisfied: the kernel's khugepaged never stops)
    allScansDone: (a) => a.k.khugepaged.full_scans >= Math.max(a.l.full_scans_target, a.k.khugepagedScansWanted),
    slotMmGone: (a) => mmOf(a).usersState() !== 'live' || mmOf(a).forking,
    mmapReadFree: (a) => mmOf(a).mmapLock.readFree,
    // khugepaged_test_exit(mm) after down_read: an exiting mm has no vma to scan
    haveVma: (a) => mmOf(a).usersState() === 'live' && findVma(a) !== null,
    hasPtePmdRetry: (a) => a.k.variant('pte_mapped_thp_retry_per_pmd') && mmOf(a).ptePmdRetry.size > 0,
    cpTrylock: (a) => mmOf(a).mmapLock.writeFree,
    cpDone: (a) => a.l.cp_todo.length === 0,
    cpNoHugePage: (a) => cpHugePage(a) < 0,
    cpPageUnlocked: (a) => !a.k.pages.isLocked(cpHugePage(a)),
    cpPtlFree: (a) => mmOf(a).pageTableLock.free,
    cpCollapsible: (a) => {
      const mm = mmOf(a);
      const p = a.l.cp_todo.at(0)!;
      return mm.kindAt(p) === 'pte_table' && ptesMapOnly(a, mm, p, a.l.cp_hpage);
    },
  },
  actions: {
    ...collapseActions,
    beginPass: (a) => {
      a.l.progress = 0;
      a.l.alloc_waited = false;
      a.l.pass_through_head = a.l.slot === 0 && a.l.address === 0 ? 1 : 0;
    },
    fullScan: (a) => {
      a.k.khugepagedCount('full_scans', a.ix);
      a.l.slot = 0;
      a.l.address = 0;
      a.l.pass_through_head++;
    },
    allocSleep: (a) => {
      a.l.alloc_failed = false;
      a.l.alloc_waited = true;
      a.wakeAt = a.k.now + a.k.sysfs.khugepaged.alloc_sleep_millisecs * 1_000_000;
    },
    nextSlot: (a) => {
      a.l.slot++;
      a.l.address = 0;
    },
    mmapReadLock: (a) => a.k.mmapReadLock(mmOf(a), a.ix),
    mmapReadUnlock: (a) => a.k.mmapReadUnlock(mmOf(a), a.ix),
    noteVma: (a) => {
      const f = findVma(a)!;
      a.l.vma_file = f.vma.file;
      a.l.vma_pgoff = f.vma.pgoff;
      a.l.vma_start = f.vma.start;
      a.l.hstart = f.hstart;
      a.l.hend = f.hend;
    },
    beginScanShmem: (a) => {
      const k = a.k;
      a.l.address = Math.max(a.l.address, a.l.hstart);
      a.k.mmapReadUnlock(mmOf(a), a.ix);
      a.l.cc_mm = a.k.mmHead.at(a.l.slot);
      a.l.cc_khugepaged = true;
      a.l.sc_ino = a.l.vma_file;
      a.l.sc_start = a.l.vma_pgoff + (a.l.address - a.l.vma_start);
      a.l.sc_index = a.l.sc_start;
      a.l.sc_present = 0;
      a.l.sc_swap = 0;
      a.l.sc_pfn = -1;
      a.l.sc_compound = -1;
      a.l.result = 'SCAN_SUCCEED';
      if (a.l.sc_start % k.HPAGE_PMD_NR !== 0) k.violate('khugepaged', `VM_BUG_ON(start & (HPAGE_PMD_NR - 1)): start ${a.l.sc_start}`);
    },
    afterFile: (a) => {
      traceScanFile(a);
      a.l.address += NR(a);
      a.l.progress += NR(a);
    },
    sleepAfterPass: (a) => {
      a.l.alloc_failed = false;
      a.wakeAt = a.k.now + a.k.sysfs.khugepaged.scan_sleep_millisecs * 1_000_000;
    },
    cpBegin: (a) => {
      const mm = mmOf(a);
      a.k.mmapWriteLock(mm, a.ix, true); // down_write_trylock
      a.l.cp_todo = [...mm.ptePmdRetry].sort((x, y) => x - y);
      mm.ptePmdRetry.clear();
      a.k.mmField(mm, 'pte_mapped_thp', a.ix);
    },
    cpSkip: (a) => {
      a.l.cp_todo.shift();
    },
    cpGetLock: (a) => {
      a.l.cp_hpage = cpHugePage(a);
      getPageRef(a, a.l.cp_hpage);
      a.k.lockPage(a.l.cp_hpage, a.ix);
    },
    cpLockPtl: (a) => a.k.spinLock(mmOf(a).pageTableLock, a.ix),
    cpUnlockPtl: (a) => a.k.spinUnlock(mmOf(a).pageTableLock, a.ix),
    cpCollapse: (a) => {
      const mm = mmOf(a);
      prepareAndFlush(a, mm, a.l.cp_todo.at(0)!, true);
      a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
      a.k.trace(a.ix, 'collapse_pte_mapped_thp', `mm=${mm.name} addr=${hex(a.l.cp_todo.at(0)! * a.k.HPAGE_PMD_NR * 4096)} pte table retracted`);
    },
    cpAbort: (a) => {
      a.k.trace(a.ix, 'collapse_pte_mapped_thp', `mm=${mmOf(a).name} addr=${hex(a.l.cp_todo.at(0)! * a.k.HPAGE_PMD_NR * 4096)} fallback: a pte maps another page`);
    },
    cpDrop: (a) => {
      a.k.unlockPage(a.l.cp_hpage, a.ix);
      putPageRef(a, a.l.cp_hpage);
      a.l.cp_hpage = -1;
      a.l.cp_todo.shift();
    },
    cpUpWrite: (a) => a.k.mmapWriteUnlock(mmOf(a), a.ix),
  },
};

/** The huge page the page cache holds at the file offset pmd cp_todo[0] maps, or -1. */
function cpHugePage(a: K): number {
  const k = a.k;
  const mm = mmOf(a);
  const vpn = a.l.cp_todo.at(0)! * k.HPAGE_PMD_NR;
  const f = k.fileOffset(mm, vpn);
  if (!f || mm.kindAt(a.l.cp_todo.at(0)!) !== 'pte_table') return -1;
  const v = f.ino.mapping.lookup(f.index);
  if (v < 0) return -1;
  const h = k.pages.compoundHead(v);
  return h === v && k.pages.order[h] === k.HPAGE_PMD_ORDER && k.pages.index[h] === f.index ? h : -1;
}

/** The next VMA of the current mm that khugepaged may collapse in, with address in its aligned range. */
function findVma(a: K): { vma: Vma; hstart: number; hend: number } | null {
  const mm = mmOf(a);
  const n = a.k.HPAGE_PMD_NR;
  const vmas = [...mm.vmas].sort((x, y) => x.start - y.start);
  for (const v of vmas) {
    if (v.end <= a.l.address) continue;
    if (!khugepagedVmaCheck(a, v)) continue;
    const hstart = Math.ceil(v.start / n) * n;
    const hend = Math.floor(v.end / n) * n;
    if (hstart >= hend) continue;
    if (Math.max(a.l.address, hstart) >= hend) continue;
    return { vma: v, hstart, hend };
  }
  return null;
}

