/**
 * mprotect(2) (mm/mprotect.c, v4.x–v5.x): do_mprotect_pkey under mmap_lock for write;
 * mprotect_fixup splits the VMAs at the range's ends (split_vma), sets their new
 * vm_flags and merges alike neighbours (vma_merge); change_protection then walks the
 * range's pmds — a huge pmd the range covers whole is write-protected in place
 * (change_huge_pmd), one it covers in part is split first (__split_huge_pmd), and a pte
 * table has each pte in the range write-protected (change_pte_range). Taking write away is
 * what changes page tables; adding it leaves them read-only until a write fault (the
 * era's mprotect makes no pte writable). A PROT_NONE VMA faults every access (SIGSEGV).
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { PTE_NONE, VM } from '../src/memory/mm.ts';
import { hex } from '../src/memory/pages.ts';
import { splitHugePmd, vmaAdjustTransHuge, vmaSplitPoints } from './huge_pmd_split.ts';
import { type A, curPmdIx, mmOf } from './task_mm.ts';
import { pmdsIn } from './zap.ts';

type MprotectOp = { op: 'mprotect'; start: number; end: number; prot: number };
const mpOp = (a: A) => a.l.ops[a.l.pc] as unknown as MprotectOp;
const PROT_MASK = VM.READ | VM.WRITE | VM.EXEC;

export function mprotect(): StateDef {
  return {
    meta: { kernel: 'do_mprotect_pkey' },
    initial: 'down_write',
    onDone: 'op_done',
    states: {
      down_write: step('do_mprotect_pkey: mmap_write_lock(current->mm)', {
        guard: 'mmapWriteFree', actions: ['mmapWriteLock', 'mpCheck'], target: 'vma_adjust',
      }, { sleeps: 'mmap_lock' }),
      vma_adjust: { ...vmaAdjustTransHuge(), onDone: 'mprotect_fixup' },
      mprotect_fixup: step('mprotect_fixup: split_vma; vma->vm_flags = newflags; vma_set_page_prot; vma_merge', {
        actions: 'mpFixup', target: 'change_protection',
      }),
      change_protection: {
        meta: { kernel: 'change_protection → change_pmd_range' },
        initial: 'next',
        onDone: 'up_write',
        states: {
          next: {
            always: [
              { guard: { or: ['mpNothingToProtect', 'cursorDone'] }, target: 'returned' },
              { guard: { and: ['cursorPmdHuge', { not: 'mpCoversPmd' }] }, actions: 'mpSplitAt', target: 'split_huge_pmd' },
              { guard: 'cursorPmdHuge', target: 'huge_lock' },
              { guard: 'cursorPmdPteTable', target: 'pte_lock' },
              { target: 'advance' },
            ],
          },
          split_huge_pmd: { ...splitHugePmd(), onDone: 'next' },
          huge_lock: step('change_huge_pmd: __pmd_trans_huge_lock (pmd_lock)', {
            guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'huge_change',
          }),
          huge_change: step('change_huge_pmd: entry = pmdp_invalidate; pmd_modify(entry, newprot); set_pmd_at; spin_unlock', [
            { guard: 'cursorPmdHuge', actions: ['mpWrprotectPmd', 'unlockCursorPtl'], target: 'advance' },
            // split under us (a racing zap): change_pmd_range looks again
            { actions: 'unlockCursorPtl', target: 'next' },
          ]),
          pte_lock: step('change_pte_range: pte_offset_map_lock()', {
            guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'pte_change',
          }),
          pte_change: step('change_pte_range: ptep_modify_prot_start / pte_modify(oldpte, newprot) / ptep_modify_prot_commit for each pte; pte_unmap_unlock', {
            actions: ['mpWrprotectPtes', 'unlockCursorPtl'], target: 'advance',
          }),
          advance: { always: { actions: 'cursorAdvance', target: 'next' } },
          returned: final,
        },
      },
      up_write: step('do_mprotect_pkey: mmap_write_unlock(current->mm)', {
        actions: ['mmapWriteUnlock', 'mpReturn'], target: 'returned',
      }),
      returned: final,
    },
  };
}

export const mprotectGuards: Record<string, TaskGuard<A>> = {
  // only taking write away changes the page tables here
  mpNothingToProtect: (a) => a.l.cursor.length === 0 || (mpOp(a).prot & VM.WRITE) !== 0,
  mpCoversPmd: (a) => {
    const base = curPmdIx(a) * a.k.HPAGE_PMD_NR;
    const op = mpOp(a);
    return op.start <= base && op.end >= base + a.k.HPAGE_PMD_NR;
  },
};

export const mprotectActions: Record<string, TaskAction<A>> = {
  // the checks before any change: a read-only regular file cannot gain PROT_WRITE on a
  // shared mapping (EACCES); the range must start in a VMA (ENOMEM); then where __split_vma
  // will split VMAs (each such pmd split first: vma_adjust_trans_huge)
  mpCheck: (a) => {
    const op = mpOp(a);
    const mm = mmOf(a);
    a.l.md_err = '';
    a.l.vs_split = [];
    if (!mm.findVma(op.start)) a.l.md_err = 'ENOMEM';
    else if (op.prot & VM.WRITE && mm.vmas.some((v) => v.start < op.end && v.end > op.start && v.file >= 0 && !a.k.inodes[v.file]!.shmem)) a.l.md_err = 'EACCES';
    if (!a.l.md_err) a.l.vs_split = vmaSplitPoints(a, op.start, mmOf(a).mappedEnd(op.start, op.end), (f) => (f & ~PROT_MASK) | op.prot);
  },
  mpFixup: (a) => {
    const op = mpOp(a);
    const mm = mmOf(a);
    a.l.cursor = [];
    a.l.ci = 0;
    if (a.l.md_err) return;
    // a gap is ENOMEM after the VMAs before it
    const end = mmOf(a).mappedEnd(op.start, op.end);
    if (end < op.end) a.l.md_err = 'ENOMEM';
    const change = (f: number) => (f & ~PROT_MASK) | op.prot;
    // change_protection runs over the VMAs whose flags change ("if (newflags == oldflags)
    // return 0" leaves the others alone)
    const pmds = new Set<number>();
    for (const v of mm.vmas) {
      const lo = Math.max(v.start, op.start);
      const hi = Math.min(v.end, end);
      if (lo >= hi || change(v.flags) === v.flags) continue;
      for (const i of pmdsIn(a, lo, hi)) pmds.add(i);
    }
    a.l.cursor = [...pmds].sort((x, y) => x - y);
    mm.changeVmaFlags(op.start, end, change);
    a.k.mmField(mm, 'vmas', a.ix);
  },
  mpSplitAt: (a) => {
    a.l.vpn = Math.max(mpOp(a).start, curPmdIx(a) * a.k.HPAGE_PMD_NR);
  },
  mpWrprotectPmd: (a) => {
    const mm = mmOf(a);
    mm.pmd(curPmdIx(a)).writable = false;
    a.k.mmField(mm, 'pmd_writable', a.ix);
  },
  mpWrprotectPtes: (a) => {
    const k = a.k;
    const mm = mmOf(a);
    const op = mpOp(a);
    const base = curPmdIx(a) * k.HPAGE_PMD_NR;
    const p = mm.pmd(curPmdIx(a));
    for (let i = Math.max(op.start - base, 0); i < Math.min(op.end - base, k.HPAGE_PMD_NR); i++) {
      const pfn = p.ptes.at(i)!;
      if (pfn !== PTE_NONE && p.pteWritable.at(i)) k.setPte(mm, base + i, pfn, false, a.ix);
    }
  },
  mpReturn: (a) => {
    const op = mpOp(a);
    const prot = ['READ', 'WRITE', 'EXEC'].filter((f) => op.prot & VM[f as 'READ']).map((f) => `PROT_${f}`).join('|') || 'PROT_NONE';
    const line = `mprotect(${hex(op.start * 4096)}, ${hex((op.end - op.start) * 4096)}, ${prot}) = ${a.l.md_err ? `-1 ${a.l.md_err}` : '0'}`;
    a.results.push(line);
    a.k.trace(a.ix, 'mprotect', line);
  },
};
