/**
 * A user task touching anonymous THP memory, in the kernel of seed 004 (v3.8-era
 * mm/memory.c and mm/huge_memory.c): its loads and stores, the page faults they take
 * (do_huge_pmd_anonymous_page with the huge zero page, do_huge_pmd_wp_page COWing it,
 * the pte-level do_anonymous_page / do_wp_page), fork (dup_mmap → copy_huge_pmd),
 * munmap and exit (zap_huge_pmd, zap_pte_range), and split_huge_page_pmd.
 *
 * The task runs a program of operations from the scenario. Every state is a program
 * point; every STEP one atomic step. Spinlocks are held across the steps between
 * spin_lock and spin_unlock; sleeping locks block the task in the acquiring state.
 */
import { type BoundedArray, array, bool, constant, int, str, struct } from '../src/vector/struct.ts';
import { collapseLocalsFields } from './collapse_shmem.ts';
import { hugeZeroLocals } from './huge_zero_page.ts';
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskChartDef, TaskGuard } from '../src/engine/task_chart.ts';
import { PTE_NONE, VM, pmdKind } from '../src/memory/mm.ts';
import { hex } from '../src/memory/pages.ts';
import {
  filemapGetpageStates, putPageRef,
  shmemGetpageActions, shmemGetpageGuards, shmemGetpageStates,
  unmapActions, unmapGuards, unmapMappingRangeStates,
} from './shmem.ts';
import { shmemUndoRangeStates, undoActions, undoGuards } from './shmem_undo_range.ts';
import { shmemFaultActions, shmemFaultGuards } from './shmem_fault.ts';
import {
  type CollapseLocals, type ScanResult, collapseActions, collapseGuards,
} from './khugepaged.ts';
import {
  type HugeZeroLocals, getHugeZeroPageStates, hugeZeroActions, hugeZeroGuards,
} from './huge_zero_page.ts';
import { type A, curPmdIx, lockPtl, mmOf, publishPunchBegin, runnableMm, unlockPtl } from './task_mm.ts';
import { faultActions, faultGuards, pageFault } from './memory_fault.ts';
import { splitHugePmd, splitHugePmdActions, vmaAdjustActions, vmaAdjustGuards } from './huge_pmd_split.ts';
import { ZAP_ALL, setZapRange, unmapRange, zapActions, zapGuards } from './zap.ts';
import {
  type MadviseAdvice, madviseActions, madviseBehavior, madviseBehaviorActions, madviseBehaviorGuards, madviseCollapse, madviseGuards,
} from './madvise.ts';
import { mprotect, mprotectActions, mprotectGuards } from './mprotect.ts';
import { shrinkPageListActions, shrinkPageListGuards } from './shmem_reclaim.ts';
import { type SysfsWriteOp, type WaitOp, selftestActions, selftestGuards, sysfsWrite, waitOp } from './selftest_ops.ts';
export { madviseCollapseErrno } from './madvise.ts';

export type TaskOp =
  | { op: 'read'; vpn: number }
  | { op: 'write'; vpn: number }
  | { op: 'fork'; child: string }
  | { op: 'munmap'; start: number; end: number }
  | { op: 'split'; vpn: number }
  | { op: 'pread'; ino: number; index: number }
  | { op: 'pwrite'; ino: number; index: number }
  | { op: 'truncate'; ino: number; size: number }
  | { op: 'punch'; ino: number; start: number; end: number }
  | { op: 'replace_page'; vpn: number }
  | { op: 'madvise_collapse'; start: number; end: number }
  | { op: 'madvise'; advice: MadviseAdvice; start: number; end: number }
  | { op: 'mprotect'; start: number; end: number; prot: number }
  | SysfsWriteOp
  | WaitOp
  | { op: 'exit' };

export interface TaskLocals extends HugeZeroLocals, CollapseLocals {
  /** madvise / mprotect: the errno to return ('' = 0). */
  md_err: string;
  /** MADV_PAGEOUT: the pages it isolated, as [pfn, inode id, index] triples, for reclaim_pages. */
  get po_pages(): BoundedArray;
  set po_pages(v: Iterable<number>);
  /** shrink_page_list's page (machines/shmem_reclaim.ts), its inode and index. */
  sr_page: number;
  sr_ino: number;
  sr_index: number;
  /** vma_adjust_trans_huge: the addresses a VMA is about to be split at (machines/huge_pmd_split.ts). */
  get vs_split(): BoundedArray;
  set vs_split(v: Iterable<number>);
  /** wait: the khugepaged full_scans count to wait for. */
  wait_target: number;
  /** The shmem fault's team head, mapped by pmd (machines/team_fault.ts); its `once`. */
  sf_head: number;
  sf_once: boolean;
  // madvise(MADV_COLLAPSE): the aligned range, the cursor, what succeeded and what failed last
  mc_start: number;
  mc_end: number;
  mc_hstart: number;
  mc_hend: number;
  mc_addr: number;
  mc_thps: number;
  mc_last_fail: ScanResult | '';
  mc_locked: boolean;
  /** collapse_pte_mapped_thp: the huge page found and locked. */
  mc_hpage: number;
  mmName: string;
  ops: readonly TaskOp[];
  pc: number;
  /** The access being made and the fault it takes. */
  vpn: number;
  write: boolean;
  fault: 'none' | 'ok' | 'retry' | 'fallback' | 'SIGSEGV' | 'SIGBUS' | 'VM_FAULT_OOM';
  /** *pmd as read without the lock (orig_pmd). */
  orig_pmd_state: number;
  orig_pmd_pfn: number;
  /** A preallocated page table (pte_alloc_one) not yet used or freed. */
  pgtable: boolean;
  new_page: number;
  /** An extra reference taken on the old page across an unlocked copy. */
  page: number;
  orig_pte: number;
  /** zap / copy cursors over pmd indices. */
  get cursor(): BoundedArray;
  set cursor(v: Iterable<number>);
  ci: number;
  zapped_pfn: number;
  zapped_zero: boolean;
  get zap_pages(): BoundedArray;
  set zap_pages(v: Iterable<number>);
  /**
   * zap_pte_range() found *pmd pointing to a pte table (pte_offset_map_lock reads it before
   * locking); that table is still there while this actor's bit in Pmd.noted is.
   */
  zap_table: boolean;
  /** The range zap_pmd_range zaps (vpns), and whether free_pgtables follows (munmap, exit; not MADV_DONTNEED). */
  zap_start: number;
  zap_end: number;
  zap_free: boolean;
  child: string;
}
export const taskLocals = struct<TaskLocals>('task', {
  ...hugeZeroLocals.fields,
  ...collapseLocalsFields,
  md_err: str(''), po_pages: array('3 × the pages of the task\'s MADV_PAGEOUT ranges: (pfn, inode, index) triples', (b) => 3 * b.mmPages),
  sr_page: int(-1), sr_ino: int(-1), sr_index: int(), vs_split: array('2: the two ends of a range', () => 2), wait_target: int(),
  sf_head: int(-1), sf_once: bool(),
  mc_start: int(), mc_end: int(), mc_hstart: int(), mc_hend: int(), mc_addr: int(), mc_thps: int(), mc_last_fail: str(''), mc_locked: bool(), mc_hpage: int(-1),
  mmName: constant, ops: constant, pc: int(),
  vpn: int(), write: bool(), fault: str('none'), orig_pmd_state: int(), orig_pmd_pfn: int(-1), pgtable: bool(), new_page: int(-1), page: int(-1), orig_pte: int(-1),
  cursor: array('the pmds of an mm', (b) => b.pmds), ci: int(), zapped_pfn: int(-1), zapped_zero: bool(),
  zap_pages: array('HPAGE_PMD_NR: the ptes of one table', (b) => b.hpagePmdNr), zap_table: bool(), zap_start: int(), zap_end: int(), zap_free: bool(), child: str(''),
});


/**
 * What the child must read in one PMD range: the parent's data at the moment that range
 * is copied (and write-protected) under both page table locks — a store by another
 * thread of the parent before that moment is part of the child's snapshot.
 */
function forkSnapshot(a: A, ix: number): void {
  const parent = mmOf(a);
  const child = a.k.mmByName(a.l.child)!;
  const base = ix * a.k.HPAGE_PMD_NR;
  for (let v = base; v < base + a.k.HPAGE_PMD_NR; v++) {
    const t = parent.expected.get(v);
    if (t !== undefined) child.expected.set(v, t);
  }
  a.k.mmField(child, 'expected', a.ix);
}

// ---- the function bodies as compound states -------------------------------------------

/** dup_mmap(): copy every pmd of the parent into the child (copy_huge_pmd / copy_pte_range). */
function dupMmap(): StateDef {
  return {
    meta: { kernel: 'dup_mmap → copy_page_range' },
    initial: 'next',
    states: {
      next: {
        always: [
          { guard: 'cursorDone', target: 'returned' },
          { guard: 'cursorPmdHuge', target: 'huge_pte_alloc' },
          { guard: 'cursorPmdPteTable', target: 'pte_alloc' },
          { target: 'advance' },
        ],
      },
      huge_pte_alloc: step('copy_huge_pmd: pgtable = pte_alloc_one(dst_mm, addr)', {
        actions: 'pteAllocOne', target: 'huge_lock_dst',
      }),
      huge_lock_dst: step('copy_huge_pmd: spin_lock(&dst_mm->page_table_lock)', {
        guard: 'childPtlFree', actions: 'lockChildPtl', target: 'huge_lock_src',
      }),
      huge_lock_src: step('copy_huge_pmd: spin_lock_nested(&src_mm->page_table_lock)', {
        guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'huge_route',
      }),
      huge_route: {
        always: [
          { guard: 'cursorPmdHugeZero', target: 'get_huge_zero_page' },
          { guard: 'cursorPmdHuge', target: 'huge_copy' },
          { actions: 'pteFree', target: 'unlock_src' },
        ],
      },
      // "get_huge_zero_page() will never allocate a new page here, since we already
      // have a zero page to copy. It just takes a reference."
      get_huge_zero_page: { ...getHugeZeroPageStates(), onDone: 'set_zero' },
      set_zero: step('copy_huge_pmd: set_huge_zero_page(pgtable, dst_mm, vma, addr, dst_pmd, zero_pfn)', {
        actions: 'copySetHugeZeroPage', target: 'unlock_src',
      }),
      huge_copy: step('copy_huge_pmd: get_page; page_dup_rmap; pmdp_set_wrprotect; set_pmd_at(dst)', {
        actions: 'copyAnonHugePmd', target: 'unlock_src',
      }),
      pte_alloc: step('copy_pte_range: pte_alloc_map_lock(dst_mm) → __pte_alloc', {
        actions: ['pteAllocOne', 'childPmdPopulate'], target: 'pte_lock_dst',
      }),
      pte_lock_dst: step('copy_pte_range: spin_lock(dst ptl)', {
        guard: 'childPtlFree', actions: 'lockChildPtl', target: 'pte_lock_src',
      }),
      pte_lock_src: step('copy_pte_range: spin_lock_nested(src ptl)', {
        guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'copy_ptes',
      }),
      copy_ptes: step('copy_one_pte for each pte: get_page; page_dup_rmap; ptep_set_wrprotect', {
        actions: 'copyPtes', target: 'unlock_src',
      }),
      unlock_src: step('copy_*: spin_unlock(src ptl)', { actions: 'unlockCursorPtl', target: 'unlock_dst' }),
      unlock_dst: step('copy_*: spin_unlock(dst ptl)', { actions: 'unlockChildPtl', target: 'advance' }),
      advance: { always: { actions: 'cursorAdvance', target: 'next' } },
      returned: final,
    },
  };
}

export const taskChart: TaskChartDef<A> = {
  id: 'task',
  description: 'A task on anonymous THP memory: loads, stores, page faults, fork, munmap, split, exit',
  initial: 'next_op',
  states: {
    next_op: {
      always: [
        { guard: 'noOpsLeft', target: 'done' },
        { guard: 'opIsAccess', actions: 'beginAccess', target: 'access' },
        { guard: 'opIs_fork', target: 'fork' },
        { guard: 'opIs_munmap', target: 'munmap' },
        { guard: 'opIs_split', target: 'split' },
        { guard: 'opIs_pread', actions: 'beginPread', target: 'pread' },
        { guard: 'opIs_pwrite', actions: 'beginPwrite', target: 'pwrite' },
        { guard: 'opIs_truncate', target: 'truncate' },
        { guard: 'opIs_punch', actions: 'beginPunch', target: 'punch' },
        { guard: 'opIs_replace_page', target: 'replace_page' },
        { guard: 'opIs_madvise_collapse', target: 'madvise_collapse' },
        { guard: 'opIs_madvise', target: 'madvise' },
        { guard: 'opIs_mprotect', target: 'mprotect' },
        { guard: 'opIs_sysfs', target: 'sysfs' },
        { guard: 'opIs_wait', target: 'wait' },
        { target: 'exit' },
      ],
    },
    pread: {
      meta: { kernel: 'shmem_file_read_iter / filemap_read' },
      initial: 'which',
      onDone: { actions: 'preadEnd', target: 'op_done' },
      states: {
        which: { always: [{ guard: 'gpRegularFile', target: 'getpage_file' }, { target: 'getpage' }] },
        getpage: { ...shmemGetpageStates(), onDone: 'route' },
        // filemap_read: a page not cached is read in (page_cache_sync_readahead)
        getpage_file: { ...filemapGetpageStates(), onDone: 'route' },
        route: {
          always: [
            { guard: 'gpGotPage', target: 'unlock_page' },
            { guard: 'gpHoleRead', actions: 'readHole', target: 'returned' },
            { target: 'returned' },
          ],
        },
        unlock_page: step('shmem_file_read_iter: if (page) unlock_page(page)', { actions: 'preadUnlock', target: 'copy' }),
        copy: step('shmem_file_read_iter: copy_page_to_iter(page, ...); put_page(page)', {
          actions: 'preadCopyPut', target: 'returned',
        }),
        returned: final,
      },
    },
    pwrite: {
      meta: { kernel: 'generic_perform_write → shmem_write_begin / shmem_write_end' },
      initial: 'getpage',
      onDone: 'op_done',
      states: {
        getpage: { ...shmemGetpageStates(), onDone: 'route' },
        route: { always: [{ guard: 'gpGotPage', target: 'copy' }, { target: 'returned' }] },
        copy: step('generic_perform_write: iov_iter_copy_from_user_atomic(page, ...)', { actions: 'pwriteCopy', target: 'write_end' }),
        write_end: step('shmem_write_end: i_size_write if extended; SetPageUptodate; set_page_dirty; unlock_page; put_page', {
          actions: 'pwriteEnd', target: 'returned',
        }),
        returned: final,
      },
    },
    truncate: {
      meta: { kernel: 'shmem_setattr (ftruncate shrinking the file)' },
      initial: 'i_size_write',
      onDone: 'op_done',
      states: {
        i_size_write: step('shmem_setattr: i_size_write(inode, newsize); unmap_mapping_range(holebegin...)', {
          actions: 'truncateSetSize', target: 'unmap',
        }),
        unmap: { ...unmapMappingRangeStates(), onDone: 'undo' },
        undo: { ...shmemUndoRangeStates(), onDone: 'returned' },
        returned: final,
      },
    },
    madvise_collapse: madviseCollapse(),
    madvise: madviseBehavior(),
    mprotect: mprotect(),
    sysfs: sysfsWrite(),
    wait: waitOp(),
    // uprobe_write_opcode → __replace_page: the pte now maps a private copy of the file page
    replace_page: {
      meta: { kernel: 'uprobe_write_opcode → __replace_page' },
      initial: 'down_read',
      onDone: 'op_done',
      states: {
        down_read: step('uprobe_write_opcode: down_read(&mm->mmap_sem) (held by the caller)', {
          guard: 'mmapReadFree', actions: ['mmapReadLock', 'beginReplace'], target: 'ptl_lock',
        }, { sleeps: 'mmap_lock' }),
        ptl_lock: step('__replace_page: page_vma_mapped_walk → pte lock', {
          guard: 'ptlFree', actions: 'lockPtl', target: 'replace',
        }),
        replace: step('__replace_page: ptep_clear_flush; set_pte_at(new anon page); page_remove_rmap(old); put_page(old)', {
          actions: ['replacePage', 'unlockPtl'], target: 'up_read',
        }),
        up_read: step('up_read(&mm->mmap_sem)', { actions: 'mmapReadUnlock', target: 'returned' }),
        returned: final,
      },
    },
    punch: {
      meta: { kernel: 'shmem_fallocate(FALLOC_FL_PUNCH_HOLE)' },
      initial: 'unmap',
      onDone: 'op_done',
      states: {
        unmap: { ...unmapMappingRangeStates(), onDone: 'undo' },
        undo: { ...shmemUndoRangeStates(), onDone: 'returned' },
        returned: final,
      },
    },
    access: step('the load or store itself, or the page fault it takes (do_page_fault: down_read(&mm->mmap_sem))', [
      { guard: 'accessAllowed', actions: 'doAccess', target: 'op_done' },
      { guard: 'mmapReadFree', actions: 'mmapReadLock', target: 'page_fault' },
    ], { sleeps: 'mmap_lock' }),
    page_fault: {
      ...pageFault(),
      // VM_FAULT_OOM / SIGSEGV: the task is killed, and do_exit() drops its mm
      onDone: [{ guard: 'faultKilled', actions: 'killed', target: 'exit' }, { target: 'access' }],
    },
    fork: {
      meta: { kernel: 'do_fork → dup_mm → dup_mmap' },
      initial: 'down_write',
      onDone: 'op_done',
      states: {
        down_write: step('dup_mmap: down_write(&oldmm->mmap_sem); copy the vmas to the new mm', {
          guard: 'mmapWriteFree', actions: ['mmapWriteLock', 'createChildMm'], target: 'copy',
        }, { sleeps: 'mmap_lock' }),
        copy: { ...dupMmap(), onDone: 'up_write' },
        up_write: step('dup_mmap: up_write(&oldmm->mmap_sem); the child runs (wake_up_new_task)', {
          actions: ['mmapWriteUnlock', 'childRuns'], target: 'returned',
        }),
        returned: final,
      },
    },
    munmap: {
      meta: { kernel: 'do_munmap' },
      initial: 'down_write',
      onDone: 'op_done',
      states: {
        down_write: step('vm_munmap: down_write(&mm->mmap_sem)', {
          guard: 'mmapWriteFree', actions: ['mmapWriteLock', 'cursorMunmapRange'], target: 'unmap',
        }, { sleeps: 'mmap_lock' }),
        unmap: { ...unmapRange(), onDone: 'remove_vmas' },
        remove_vmas: step('do_munmap: detach and free the vmas', { actions: 'removeVmaRange', target: 'up_write' }),
        up_write: step('vm_munmap: up_write(&mm->mmap_sem)', { actions: 'mmapWriteUnlock', target: 'returned' }),
        returned: final,
      },
    },
    split: {
      meta: { kernel: 'split_huge_page_pmd (e.g. from mprotect or MADV_DONTNEED of part of the range)' },
      initial: 'down_read',
      onDone: 'op_done',
      states: {
        down_read: step('down_read(&mm->mmap_sem)', {
          guard: 'mmapReadFree', actions: ['mmapReadLock', 'beginSplit'], target: 'split_huge_page_pmd',
        }, { sleeps: 'mmap_lock' }),
        split_huge_page_pmd: { ...splitHugePmd(), onDone: 'up_read' },
        up_read: step('up_read(&mm->mmap_sem)', { actions: 'mmapReadUnlock', target: 'returned' }),
        returned: final,
      },
    },
    exit: {
      meta: { kernel: 'do_exit → mmput' },
      initial: 'mmput',
      onDone: 'done',
      states: {
        mmput: step('mmput: if (atomic_dec_and_test(&mm->mm_users)) __mmput(mm)', [
          { guard: { and: ['mmExists', 'lastMmUser'] }, actions: ['mmputLast', 'cursorWholeMm'], target: 'khugepaged_exit' },
          { guard: 'mmExists', actions: 'mmputNotLast', target: 'returned' },
        ]),
        // __khugepaged_exit: "Stop here (after we return all pagetables will be destroyed)
        // until khugepaged has finished working on the pagetables under the mmap_sem."
        khugepaged_exit: step('__khugepaged_exit: down_write(&mm->mmap_sem)', {
          guard: 'mmapWriteFreeExiting', actions: 'mmapWriteLockExiting', target: 'khugepaged_exit_up',
        }, { sleeps: 'mmap_lock' }),
        khugepaged_exit_up: step('__khugepaged_exit: up_write(&mm->mmap_sem)', {
          actions: 'mmapWriteUnlockExiting', target: 'exit_mmap',
        }),
        exit_mmap: { ...unmapRange(), onDone: 'exit_mmap_done' },
        exit_mmap_done: step('exit_mmap: free_pgtables; the mm is gone', {
          actions: 'exitMmapDone', target: 'returned',
        }),
        returned: final,
      },
    },
    op_done: { always: { actions: 'nextOp', target: 'next_op' } },
    done: final,
  },
  guards: {
    ...hugeZeroGuards,
    noOpsLeft: (a) => a.l.pc >= a.l.ops.length,
    opIsAccess: (a) => a.l.ops[a.l.pc]!.op === 'read' || a.l.ops[a.l.pc]!.op === 'write',
    opIs_fork: (a) => a.l.ops[a.l.pc]!.op === 'fork',
    opIs_munmap: (a) => a.l.ops[a.l.pc]!.op === 'munmap',
    opIs_split: (a) => a.l.ops[a.l.pc]!.op === 'split',
    opIs_pread: (a) => a.l.ops[a.l.pc]!.op === 'pread',
    opIs_pwrite: (a) => a.l.ops[a.l.pc]!.op === 'pwrite',
    opIs_truncate: (a) => a.l.ops[a.l.pc]!.op === 'truncate',
    opIs_punch: (a) => a.l.ops[a.l.pc]!.op === 'punch',
    opIs_replace_page: (a) => a.l.ops[a.l.pc]!.op === 'replace_page',
    opIs_madvise_collapse: (a) => a.l.ops[a.l.pc]!.op === 'madvise_collapse',
    opIs_madvise: (a) => a.l.ops[a.l.pc]!.op === 'madvise',
    opIs_mprotect: (a) => a.l.ops[a.l.pc]!.op === 'mprotect',
    opIs_sysfs: (a) => a.l.ops[a.l.pc]!.op === 'sysfs',
    opIs_wait: (a) => a.l.ops[a.l.pc]!.op === 'wait',
    ...madviseBehaviorGuards,
    ...vmaAdjustGuards,
    ...(shrinkPageListGuards as unknown as Record<string, TaskGuard<A>>),
    ...mprotectGuards,
    ...selftestGuards,
    ...(collapseGuards as unknown as Record<string, TaskGuard<A>>),
    ...madviseGuards,
    gpGotPage: (a) => a.l.gp_page >= 0,
    // read from the program, not gp_ino: when pread is a task's first operation, this guard
    // runs in the start-up macrostep, before beginPread's deferred write of gp_ino (chart.start)
    gpRegularFile: (a) => !a.k.inodes[(a.l.ops[a.l.pc] as { op: 'pread'; ino: number }).ino]!.shmem,
    gpHoleRead: (a) => a.l.gp_err === 'hole',
    ...shmemGetpageGuards,
    ...(shmemFaultGuards as Record<string, TaskGuard<A>>),
    ...unmapGuards,
    ...undoGuards,
    ...zapGuards,
    accessAllowed: (a) => {
      const mm = runnableMm(a);
      const vma = mm?.findVma(a.l.vpn);
      if (!mm || !vma || !(vma.flags & (VM.READ | VM.WRITE | VM.EXEC))) return false;
      const t = a.k.translate(mm, a.l.vpn);
      return t !== null && (!a.l.write || t.writable);
    },
    mmapReadFree: (a) => {
      const mm = runnableMm(a);
      return !!mm && mm.mmapLock.readFree && mm.usersState() === 'live';
    },
    mmapWriteFree: (a) => {
      const mm = runnableMm(a);
      return !!mm && mm.mmapLock.writeFree && mm.usersState() === 'live';
    },
    mmExists: (a) => runnableMm(a) !== undefined,
    mmapWriteFreeExiting: (a) => mmOf(a).mmapLock.writeFree,
    faultKilled: (a) => a.l.fault === 'SIGSEGV' || a.l.fault === 'SIGBUS' || a.l.fault === 'VM_FAULT_OOM',
    ptlFree: (a) => mmOf(a).pageTableLock.free,
    cursorDone: (a) => a.l.ci >= a.l.cursor.length,
    cursorPmdHuge: (a) => {
      const kind = mmOf(a).kindAt(curPmdIx(a));
      return kind === 'huge' || kind === 'huge_zero';
    },
    cursorPmdHugeZero: (a) => {
      const p = mmOf(a).pmds.get(curPmdIx(a));
      return !!p && pmdKind(p.state) !== 'pte_table' && a.k.isHugeZeroPfn(p.pfn);
    },
    cursorPmdPteTable: (a) => mmOf(a).kindAt(curPmdIx(a)) === 'pte_table',
    cursorPtlFree: (a) => mmOf(a).pageTableLock.free,
    childPtlFree: (a) => a.k.mmByName(a.l.child)!.pageTableLock.free,
    lastMmUser: (a) => mmOf(a).users === 1,
    ...faultGuards,
  },
  actions: {
    ...hugeZeroActions,
    ...(collapseActions as unknown as Record<string, TaskAction<A>>),
    ...madviseActions,
    ...madviseBehaviorActions,
    ...vmaAdjustActions,
    ...(shrinkPageListActions as unknown as Record<string, TaskAction<A>>),
    ...mprotectActions,
    ...selftestActions,
    ...shmemGetpageActions,
    ...(shmemFaultActions as Record<string, TaskAction<A>>),
    ...unmapActions,
    ...undoActions,
    ...zapActions,
    ...splitHugePmdActions,
    beginPread: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'pread'; ino: number; index: number };
      Object.assign(a.l, { gp_ino: op.ino, gp_index: op.index, gp_sgp: 'read', gp_err: '', gp_page: -1 });
    },
    beginPwrite: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'pwrite'; ino: number; index: number };
      Object.assign(a.l, { gp_ino: op.ino, gp_index: op.index, gp_sgp: 'write', gp_err: '', gp_page: -1 });
    },
    readHole: (a) => {
      a.k.fileRead(a.k.inodes[a.l.gp_ino]!, a.l.gp_index, -1, a.ix);
    },
    preadUnlock: (a) => a.k.unlockPage(a.k.pages.compoundHead(a.l.gp_page), a.ix),
    preadCopyPut: (a) => {
      // "We must evaluate after, since reads (unlike writes) are called without i_mutex
      // protection against truncate": past the new i_size, nothing is read
      const inode = a.k.inodes[a.l.gp_ino]!;
      if (a.l.gp_index < inode.i_size) a.k.fileRead(inode, a.l.gp_index, a.l.gp_page, a.ix, true);
      putPageRef(a, a.l.gp_page);
      a.l.gp_page = -1;
    },
    preadEnd: (a) => {
      // (ghost: the read's window closes, on every way out of it — see preadFound)
      if (a.k.bus.wants('pread')) a.k.bus.publish({ kind: 'pread', op: 'end', ino: a.l.gp_ino, index: a.l.gp_index, actor: a.ix });
    },
    pwriteCopy: (a) => {
      a.k.fileWrite(a.k.inodes[a.l.gp_ino]!, a.l.gp_index, a.l.gp_page, a.ix);
    },
    pwriteEnd: (a) => {
      const k = a.k;
      const inode = k.inodes[a.l.gp_ino]!;
      if (a.l.gp_index >= inode.i_size) a.k.inodeAdd(inode, 'i_size', a.l.gp_index + 1 - inode.i_size, a.ix); // i_size_write()
      const h = k.pages.compoundHead(a.l.gp_page);
      k.pages.setUptodate(h, a.ix);
      k.pages.setDirty(h, a.ix);
      k.unlockPage(h, a.ix);
      putPageRef(a, a.l.gp_page);
      a.l.gp_page = -1;
    },
    truncateSetSize: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'truncate'; ino: number; size: number };
      const inode = a.k.inodes[op.ino]!;
      const old = Math.max(inode.i_size, inode.mapping.nrSlots);
      a.k.inodeAdd(inode, 'i_size', Math.min(0, op.size - inode.i_size), a.ix); // i_size_write(inode, newsize)
      Object.assign(a.l, {
        um_ino: op.ino, um_start: op.size, um_end: old,
        ur_ino: op.ino, ur_start: op.size, ur_end: old, ur_index: op.size, ur_page: -1, ur_op: 'truncate', ur_found: false,
      });
    },
    beginReplace: (a) => {
      a.l.vpn = (a.l.ops[a.l.pc] as { op: 'replace_page'; vpn: number }).vpn;
    },
    replacePage: (a) => {
      const k = a.k;
      const mm = mmOf(a);
      const old = k.pte(mm, a.l.vpn);
      // only a pte-mapped file page is replaced here (a pmd-mapped one would be split first)
      if (old === PTE_NONE || old === k.ZERO_PAGE || k.pages.mapping[k.pages.compoundHead(old)]! < 0) return;
      const copy = k.pages.alloc(0, false, a.ix, a.id);
      k.pages.setFlag(copy, 'swapbacked');
      k.setPageData(copy, k.pages.data[old]!, 'copy', a.ix);
      k.pages.mapPte(copy, a.ix);
      k.pages.lruAdd(copy, a.ix);
      k.setPte(mm, a.l.vpn, copy, false, a.ix);
      k.ref('move', 'page', copy, a.id, 'pte', a.ix);
      mm.replaced.add(a.l.vpn);
      k.mmField(mm, 'replaced', a.ix);
      mm.expected.set(a.l.vpn, k.pages.data[copy]!);
      k.mmField(mm, 'expected', a.ix);
      k.addMmCounter(mm, k.mmCounterFile(old), -1, a.ix);
      k.pages.unmapPte(old, a.ix);
      k.pages.put(old, a.ix); // the old mapping's reference
      a.k.addMmCounter(mm, 'MM_ANONPAGES', 1, a.ix);
      k.trace(a.ix, 'uprobe_replace_page', `mm=${mm.name} addr=${hex(a.l.vpn * 4096)} old=${hex(old)} new=${hex(copy)}`);
    },
    beginPunch: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'punch'; ino: number; start: number; end: number };
      Object.assign(a.l, {
        um_ino: op.ino, um_start: op.start, um_end: op.end,
        ur_ino: op.ino, ur_start: op.start, ur_end: op.end, ur_index: op.start, ur_page: -1, ur_op: 'punch', ur_found: false,
      });
      publishPunchBegin(a, op.ino, op.start, op.end);
    },
    beginAccess: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'read' | 'write'; vpn: number };
      a.l.vpn = op.vpn;
      a.l.write = op.op === 'write';
      a.l.fault = 'none';
    },
    doAccess: (a) => {
      const mm = mmOf(a);
      const t = a.k.translate(mm, a.l.vpn)!;
      if (a.l.write) a.k.write(mm, a.l.vpn, t.pfn, a.ix);
      else a.k.read(mm, a.l.vpn, t.pfn, a.ix);
    },
    nextOp: (a) => {
      a.l.pc++;
    },
    killed: (a) => {
      a.outcome = a.l.fault;
    },
    mmapReadLock: (a) => a.k.mmapReadLock(mmOf(a), a.ix),
    mmapReadUnlock: (a) => a.k.mmapReadUnlock(mmOf(a), a.ix),
    mmapWriteLock: (a) => a.k.mmapWriteLock(mmOf(a), a.ix),
    mmapWriteUnlock: (a) => a.k.mmapWriteUnlock(mmOf(a), a.ix),
    lockPtl: (a) => lockPtl(a),
    unlockPtl: (a) => unlockPtl(a),
    beginSplit: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'split'; vpn: number };
      a.l.vpn = op.vpn;
    },
    // zap
    cursorMunmapRange: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'munmap'; start: number; end: number };
      setZapRange(a, op.start, op.end, true);
    },
    cursorWholeMm: (a) => {
      a.l.cursor = [...mmOf(a).pmds.keys()].sort((x, y) => x - y);
      a.l.ci = 0;
      a.l.zap_start = 0;
      a.l.zap_end = ZAP_ALL;
      a.l.zap_free = true;
    },
    cursorAdvance: (a) => {
      a.l.ci++;
    },
    lockCursorPtl: (a) => lockPtl(a),
    unlockCursorPtl: (a) => unlockPtl(a),
    removeVmaRange: (a) => {
      const mm = mmOf(a);
      const op = a.l.ops[a.l.pc] as { op: 'munmap'; start: number; end: number };
      // (the vpns unmapped: a VMA's part in the range — no other vpn has expected data)
      const gone: [number, number][] = [];
      const keep = mm.vmas.flatMap((v) => {
        if (v.end <= op.start || v.start >= op.end) return [v];
        gone.push([Math.max(v.start, op.start), Math.min(v.end, op.end)]);
        const out = [];
        if (v.start < op.start) out.push({ ...v, end: op.start });
        if (v.end > op.end) out.push({ ...v, start: op.end, pgoff: v.pgoff + (op.end - v.start) });
        return out;
      });
      mm.setVmas(keep);
      a.k.mmField(mm, 'vmas', a.ix);
      for (const [lo, hi] of gone) for (let v = lo; v < hi; v++) mm.expected.delete(v);
      a.k.mmField(mm, 'expected', a.ix);
    },
    mmapWriteLockExiting: (a) => a.k.mmapWriteLock(mmOf(a), a.ix),
    mmapWriteUnlockExiting: (a) => a.k.mmapWriteUnlock(mmOf(a), a.ix),
    mmputLast: (a) => {
      a.k.mmput(mmOf(a), a.ix);
    },
    mmputNotLast: (a) => {
      a.k.mmput(mmOf(a), a.ix);
    },
    exitMmapDone: (a) => {
      const mm = mmOf(a);
      mm.clearVmas();
      a.k.mmField(mm, 'vmas', a.ix);
      mm.expected.clear();
      a.k.mmField(mm, 'expected', a.ix);
      a.k.exitMmapDone(mm, a.ix);
    },
    // fork
    createChildMm: (a) => {
      const op = a.l.ops[a.l.pc] as { op: 'fork'; child: string };
      const parent = mmOf(a);
      const child = a.k.createMm(op.child, a.ix);
      child.users = a.k.mmUsersAtFork.get(op.child) ?? 1;
      a.k.mmField(child, 'mm_users', a.ix);
      child.forking = true;
      a.k.mmField(child, 'forking', a.ix);
      for (const v of parent.vmas) child.addVma({ ...v });
      a.k.mmField(child, 'vmas', a.ix);
      a.l.child = op.child;
      // khugepaged_fork: the child of a registered mm is registered too
      if (parent.mmfVmHugepage) a.k.khugepagedEnter(child, a.ix);
      // copy_page_range: shared file mappings are not copied; the child faults them in
      const n = a.k.HPAGE_PMD_NR;
      a.l.cursor = [...parent.pmds.keys()]
        .filter((ix) => (parent.findVma(ix * n)?.file ?? -1) < 0)
        .sort((x, y) => x - y);
      a.l.ci = 0;
    },
    childRuns: (a) => {
      const child = a.k.mmByName(a.l.child)!;
      child.forking = false;
      a.k.mmField(child, 'forking', a.ix);
    },
    lockChildPtl: (a) => a.k.spinLock(a.k.mmByName(a.l.child)!.pageTableLock, a.ix),
    unlockChildPtl: (a) => a.k.spinUnlock(a.k.mmByName(a.l.child)!.pageTableLock, a.ix),
    copySetHugeZeroPage: (a) => {
      const child = a.k.mmByName(a.l.child)!;
      const ix = curPmdIx(a);
      const p = a.k.pmdCmd(child, ix, 'SET_HUGE_ZERO', a.l.zero_pfn, a.ix);
      p.writable = false;
      p.deposited++;
      a.k.ref('move', 'huge_zero_refcount', -1, a.id, 'pmd', a.ix);
      a.k.addMmCounter(child, 'nr_ptes', 1, a.ix);
      a.l.pgtable = false;
      forkSnapshot(a, ix);
    },
    copyAnonHugePmd: (a) => {
      const k = a.k;
      const parent = mmOf(a);
      const child = k.mmByName(a.l.child)!;
      const ix = curPmdIx(a);
      const src = parent.pmd(ix);
      const head = src.pfn;
      k.pages.get(head, a.ix);
      k.pages.mapPmd(head, a.ix);
      k.pmdCmd(parent, ix, 'PMD_WRPROTECT', head, a.ix);
      src.writable = false;
      const dst = k.pmdCmd(child, ix, 'SET_PMD_HUGE', head, a.ix);
      dst.writable = false;
      dst.deposited++;
      a.k.addMmCounter(child, 'nr_ptes', 1, a.ix);
      a.k.addMmCounter(child, 'MM_ANONPAGES', k.HPAGE_PMD_NR, a.ix);
      a.l.pgtable = false;
      forkSnapshot(a, ix);
    },
    childPmdPopulate: (a) => {
      const child = a.k.mmByName(a.l.child)!;
      a.k.pmdCmd(child, curPmdIx(a), 'PMD_POPULATE', -1, a.ix);
      a.k.addMmCounter(child, 'nr_ptes', 1, a.ix);
      a.l.pgtable = false;
    },
    copyPtes: (a) => {
      const k = a.k;
      const parent = mmOf(a);
      const child = k.mmByName(a.l.child)!;
      const ix = curPmdIx(a);
      const base = ix * k.HPAGE_PMD_NR;
      const src = parent.pmd(ix);
      for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
        const pfn = src.ptes.at(i)!;
        if (pfn === PTE_NONE) continue;
        if (pfn !== k.ZERO_PAGE) {
          k.pages.get(pfn, a.ix);
          k.pages.mapPte(pfn, a.ix);
          a.k.addMmCounter(child, 'MM_ANONPAGES', 1, a.ix);
          if (src.pteWritable.at(i)) k.setPte(parent, base + i, pfn, false, a.ix);
        }
        k.setPte(child, base + i, pfn, false, a.ix);
      }
      forkSnapshot(a, ix);
    },
    ...faultActions,
  },
};
