/**
 * Zapping user page tables: unmap_vmas → zap_pmd_range → zap_huge_pmd / zap_pte_range,
 * then free_pgtables — for munmap, exit_mmap and MADV_DONTNEED (zap_page_range).
 * Split out of machines/task.ts by kernel function.
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { PTE_NONE, hasPteTable, pmdKind } from '../src/memory/mm.ts';
import { hex } from '../src/memory/pages.ts';
import { putPageRef } from './shmem.ts';
import { putHugeZeroPage, splitHugePmd } from './huge_pmd_split.ts';
import { type A, curPmdIx, mmOf } from './task_mm.ts';

/** The indices of the mm's pmds ever populated that [start, end) touches, in order. */
export function pmdsIn(a: A, start: number, end: number): number[] {
  const n = a.k.HPAGE_PMD_NR;
  const lo = Math.floor(start / n);
  const hi = Math.ceil(end / n);
  return [...mmOf(a).pmds.keys()].filter((i) => i >= lo && i < hi).sort((x, y) => x - y);
}

/** No end: exit_mmap zaps everything. */
export const ZAP_ALL = Number.MAX_SAFE_INTEGER;

/**
 * The cursor over the pmds [start, end) touches that have ever been populated (zap_pmd_range
 * skips a none pmd without a step: walking a 1 GiB range of them is no work), and the range
 * to zap in them. (Under mmap_lock for read — MADV_DONTNEED — a fault may populate a pmd of
 * the range after this: it is left, as when the fault comes after the walk has passed it.)
 */
export function setZapRange(a: A, start: number, end: number, free: boolean): void {
  a.l.cursor = pmdsIn(a, start, end);
  a.l.ci = 0;
  a.l.zap_start = start;
  a.l.zap_end = end;
  a.l.zap_free = free;
}

/**
 * unmap_vmas → zap_pmd_range over every pmd in l.cursor, zapping [zap_start, zap_end): a
 * huge pmd the range covers only in part is split first (__split_huge_pmd, as
 * zap_pmd_range does when next - addr != HPAGE_PMD_SIZE), a pte table loses only the
 * ptes in the range, and with zap_free (munmap, exit_mmap) free_pgtables frees a pte
 * table no remaining VMA still covers. MADV_DONTNEED zaps without freeing tables.
 */
export function unmapRange(): StateDef {
  return {
    meta: { kernel: 'unmap_vmas → zap_pmd_range' },
    initial: 'next',
    states: {
      next: {
        always: [
          { guard: 'cursorDone', target: 'returned' },
          { guard: { and: ['cursorPmdHuge', { not: 'zapCoversPmd' }] }, actions: 'zapSplitAt', target: 'split_huge_pmd' },
          { guard: 'cursorPmdHuge', target: 'zap_huge_lock' },
          { guard: 'cursorPmdPteTable', actions: 'zapNoteTable', target: 'zap_pte_lock' },
          { target: 'advance' },
        ],
      },
      split_huge_pmd: { ...splitHugePmd(), onDone: 'next' },
      zap_huge_lock: step('zap_huge_pmd: spin_lock(&tlb->mm->page_table_lock)', {
        guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'zap_huge_clear',
      }),
      zap_huge_clear: step('zap_huge_pmd: __pmd_trans_huge_lock still huge? orig_pmd = pmdp_get_and_clear(); is_huge_zero_pmd? nr_ptes--', [
        { guard: 'cursorPmdHuge', actions: 'zapHugePmd', target: 'zap_huge_unlock' },
        // no longer huge (a racing unmap_mapping_range cleared it): zap_pmd_range looks again
        { actions: 'unlockCursorPtl', target: 'next' },
      ]),
      zap_huge_unlock: step('zap_huge_pmd: spin_unlock(&tlb->mm->page_table_lock)', {
        actions: 'unlockCursorPtl', target: 'zap_huge_put',
      }),
      zap_huge_put: {
        always: [{ guard: 'zappedHugeZero', target: 'put_huge_zero_page' }, { target: 'zap_huge_put_page' }],
      },
      put_huge_zero_page: putHugeZeroPage('advance'),
      zap_huge_put_page: step('zap_huge_pmd: tlb_remove_page(tlb, page)', {
        actions: 'putZappedHugePage', target: 'advance',
      }),
      zap_pte_lock: step('zap_pte_range: pte_offset_map_lock()', {
        guard: 'cursorPtlFree', actions: 'lockCursorPtl', target: 'zap_ptes',
      }),
      zap_ptes: step('zap_pte_range: ptep_get_and_clear_full; page_remove_rmap for each pte', {
        actions: 'zapPteRange', target: 'zap_pte_unlock',
      }),
      zap_pte_unlock: step('zap_pte_range: pte_unmap_unlock()', {
        actions: 'unlockCursorPtl', target: 'zap_pte_free_pages',
      }),
      zap_pte_free_pages: step('tlb_finish_mmu: free_pages_and_swap_cache', {
        actions: 'putZappedPages', target: 'free_pgtables',
      }),
      free_pgtables: { always: [{ guard: { and: ['zapFreeTables', 'zapPgtableUnused'] }, target: 'free_pgtable' }, { target: 'advance' }] },
      free_pgtable: step('free_pgtables: unlink_file_vma (i_mmap_lock_write); pmd_clear; pte_free; mm->nr_ptes--', {
        guard: 'unlinkFileVmaFree', actions: 'freePgtable', target: 'advance',
      }, { sleeps: 'i_mmap_rwsem' }),
      advance: { always: { actions: 'cursorAdvance', target: 'next' } },
      returned: final,
    },
  };
}

export const zapGuards: Record<string, TaskGuard<A>> = {
  zappedHugeZero: (a) => a.l.zapped_zero,
  // unlink_file_vma() needs the file's i_mmap_rwsem for write (retract_page_tables holds it)
  unlinkFileVmaFree: (a) => {
    const f = mmOf(a).findVma(curPmdIx(a) * a.k.HPAGE_PMD_NR)?.file ?? -1;
    return f < 0 || a.k.inodes[f]!.mapping.iMmap.writeFree;
  },
  zapCoversPmd: (a) => {
  const base = curPmdIx(a) * a.k.HPAGE_PMD_NR;
  return a.l.zap_start <= base && a.l.zap_end >= base + a.k.HPAGE_PMD_NR;
  },
  zapFreeTables: (a) => a.l.zap_free,
  // free_pgtables(floor, ceiling): a pte table goes only when no VMA left covers any of its range
  zapPgtableUnused: (a) => {
    const n = a.k.HPAGE_PMD_NR;
    const base = curPmdIx(a) * n;
    // a VMA that keeps part of [base, base + n) outside the zapped range keeps the table
    return !mmOf(a).vmas.some((v) => v.start < base + n && v.end > base
      && (Math.max(v.start, base) < a.l.zap_start || Math.min(v.end, base + n) > a.l.zap_end));
  },
};

export const zapActions: Record<string, TaskAction<A>> = {
  zapSplitAt: (a) => {
    a.l.vpn = Math.max(a.l.zap_start, curPmdIx(a) * a.k.HPAGE_PMD_NR);
  },
  zapHugePmd: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    const ix = curPmdIx(a);
    const p = mm.pmd(ix);
    const pfn = p.pfn;
    const zero = k.isHugeZeroPfn(pfn);
    k.pmdCmd(mm, ix, 'PMDP_CLEAR', -1, a.ix);
    if (p.deposited > 0) {
      // zap_deposited_table: anonymous and huge zero pmds carry a deposited page table
      p.deposited--;
      a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
    }
    a.l.zapped_pfn = pfn;
    a.l.zapped_zero = zero;
    if (zero) k.ref('move', 'huge_zero_refcount', -1, 'pmd', a.id, a.ix);
    else {
      k.folioRemoveRmapPmd(pfn, a.ix);
      if (k.pages.mapping[pfn]! >= 0) k.addMmCounter(mm, k.mmCounterFile(pfn), -k.HPAGE_PMD_NR, a.ix);
      else a.k.addMmCounter(mm, 'MM_ANONPAGES', -k.HPAGE_PMD_NR, a.ix);
      k.ref('move', 'page', pfn, 'pmd', a.id, a.ix);
    }
  },
  putZappedHugePage: (a) => {
    putPageRef(a, a.l.zapped_pfn);
  },
  zapNoteTable: (a) => {
    const mm = mmOf(a);
    const p = mm.pmd(curPmdIx(a));
    a.l.zap_table = hasPteTable(p);
    p.noted |= 1 << a.ix;
    a.k.mmField(mm, 'pmd_noted', a.ix);
  },
  zapPteRange: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    const ix = curPmdIx(a);
    const base = ix * k.HPAGE_PMD_NR;
    const p = mm.pmd(ix);
    if (hasPteTable(p) ? (p.noted & (1 << a.ix)) === 0 : a.l.zap_table) {
      // exit_mmap() runs without mmap_lock: *pmd was read, then cleared and its table freed
      k.violate('page-table', `zap_pte_range ${mm.name}:${hex(base * 4096)}: the pte table *pmd pointed to was freed under it (pmd is now ${pmdKind(p.state)}): "BUG: Bad page map"`);
    }
    a.l.zap_pages = [];
    const lo = Math.max(a.l.zap_start - base, 0);
    const hi = Math.min(a.l.zap_end - base, k.HPAGE_PMD_NR);
    // zap_present_ptes: folio_pte_batch() takes the ptes mapping consecutive pages of one
    // folio with the same bits together, and folio_remove_rmap_ptes() removes them at once
    // (its deferred split sees the folio after the whole batch)
    let batchHead = -1;
    let batchUnmapped = 0;
    let prev = PTE_NONE;
    let prevWritable = 0;
    for (let i = lo; i < hi; i++) {
      const pfn = p.ptes.at(i)!;
      const writable = p.pteWritable.at(i)!;
      const head = pfn === PTE_NONE || pfn === k.ZERO_PAGE ? -1 : k.pages.compoundHead(pfn);
      if (batchHead >= 0 && (head !== batchHead || pfn !== prev + 1 || writable !== prevWritable)) {
        k.deferredSplitCheck(batchHead, 'pte', batchUnmapped, a.ix);
        batchHead = -1;
      }
      prev = pfn;
      prevWritable = writable;
      if (pfn === PTE_NONE) continue;
      k.setPte(mm, base + i, PTE_NONE, false, a.ix);
      if (pfn === k.ZERO_PAGE) continue;
      k.pages.unmapPte(pfn, a.ix);
      if (batchHead < 0) {
        batchHead = head;
        batchUnmapped = 0;
      }
      if (k.pages.pteMapcount(pfn) === 0) batchUnmapped++;
      if (k.pages.mapping[head]! >= 0) k.addMmCounter(mm, k.mmCounterFile(pfn), -1, a.ix);
      else a.k.addMmCounter(mm, 'MM_ANONPAGES', -1, a.ix);
      k.ref('move', 'page', pfn, 'pte', a.id, a.ix);
      a.l.zap_pages.push(pfn);
    }
    if (batchHead >= 0) k.deferredSplitCheck(batchHead, 'pte', batchUnmapped, a.ix);
    // a migration entry is zapped with the rest (remove_migration_ptes finds it gone)
    for (let i = lo; i < hi; i++) if (p.pteMigration.at(i)) k.migrationEntry(mm, base + i, false, a.ix);
  },
  putZappedPages: (a) => {
    for (const pfn of a.l.zap_pages) putPageRef(a, pfn);
    a.l.zap_pages = [];
  },
  freePgtable: (a) => {
    // free_pgd_range skips a pmd that is already none (retract_page_tables got there first)
    const mm = mmOf(a);
    if (mm.kindAt(curPmdIx(a)) !== 'pte_table') return;
    a.k.pmdCmd(mm, curPmdIx(a), 'PMDP_CLEAR', -1, a.ix);
    a.k.addMmCounter(mm, 'nr_ptes', -1, a.ix);
  },
};
