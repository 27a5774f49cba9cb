/**
 * split_huge_page_pmd() (v3.8-era name; __split_huge_pmd later): the pmd at l.vpn becomes
 * a pte table — of the huge zero page's ptes (seed 004), of the anonymous huge page's
 * subpages — or, for a file THP, is simply cleared (the pages refault by pte). Called by
 * the `split` operation, by do_huge_pmd_wp_page's fallback, and by zap_pmd_range and
 * change_pmd_range on a range that covers only part of a huge pmd.
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { hex } from '../src/memory/pages.ts';
import { zapFileRange } from './shmem.ts';
import { putHugeZeroPageStates } from './huge_zero_page.ts';
import { type A, mmOf, pmdIndex } from './task_mm.ts';

/** put_huge_zero_page() as a call that returns to `next`. */
export const putHugeZeroPage = (next: string): StateDef => ({ ...putHugeZeroPageStates(), onDone: next });

export function splitHugePmd(): StateDef {
  return {
    meta: { kernel: 'split_huge_page_pmd' },
    initial: 'spin_lock',
    states: {
      spin_lock: step('split_huge_page_pmd: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'route',
      }),
      route: {
        always: [
          { guard: 'pmdIsHugeZero', target: 'split_zero' },
          { guard: { and: ['pmdIsHuge', 'vmaIsFile'] }, target: 'split_file' },
          { guard: 'pmdIsHuge', target: 'split_anon' },
          { target: 'spin_unlock' },
        ],
      },
      split_zero: step('__split_huge_zero_page_pmd: pmdp_clear_flush; ptes → ZERO_PAGE; pmd_populate', {
        actions: 'splitHugeZeroPmd', target: 'put_huge_zero_page',
      }),
      put_huge_zero_page: putHugeZeroPage('spin_unlock'),
      split_file: step('__split_huge_pmd_locked on a file THP: pmdp_huge_clear_flush; page_remove_rmap; put_page', {
        actions: 'splitFileHugePmd', target: 'spin_unlock',
      }),
      split_anon: step('__split_huge_pmd: ptes → each subpage; page_ref_add(page, HPAGE_PMD_NR - 1)', {
        actions: 'splitAnonHugePmd', target: 'spin_unlock',
      }),
      spin_unlock: step('split_huge_page_pmd: spin_unlock(&mm->page_table_lock)', {
        actions: 'unlockPtl', target: 'returned',
      }),
      returned: final,
    },
  };
}


export const splitHugePmdActions: Record<string, TaskAction<A>> = {
    splitHugeZeroPmd: (a) => {
      const mm = mmOf(a);
      const k = a.k;
      const ix = pmdIndex(a);
      const base = ix * k.HPAGE_PMD_NR;
      const p = k.pmdCmd(mm, ix, 'SPLIT_HUGE_ZERO', -1, a.ix);
      p.deposited--; // pgtable_trans_huge_withdraw: the deposited table becomes the pte table
      for (let i = 0; i < k.HPAGE_PMD_NR; i++) k.setPte(mm, base + i, k.ZERO_PAGE, false, a.ix);
      k.ref('move', 'huge_zero_refcount', -1, 'pmd', a.id, a.ix);
    },
    splitAnonHugePmd: (a) => {
      const mm = mmOf(a);
      const k = a.k;
      const ix = pmdIndex(a);
      const base = ix * k.HPAGE_PMD_NR;
      const old = mm.pmd(ix);
      const head = old.pfn;
      const writable = old.writable;
      const p = k.pmdCmd(mm, ix, 'SPLIT_HUGE', -1, a.ix);
      p.deposited--;
      for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
        k.pages.mapPte(head + i, a.ix);
        k.setPte(mm, base + i, head + i, writable, a.ix);
      }
      for (let i = 1; i < k.HPAGE_PMD_NR; i++) k.pages.get(head, a.ix);
      k.pages.unmapPmd(head, a.ix);
      k.count('thp_split_pmd', 1, a.ix);
      k.trace(a.ix, 'thp_split_pmd', `mm=${mm.name} addr=${hex(base * 4096)} pfn=${hex(head)}`);
    },
    splitFileHugePmd: (a) => {
      const f = a.k.fileOffset(mmOf(a), a.l.vpn)!;
      zapFileRange(a, mmOf(a), pmdIndex(a), f.ino.id, 0, Number.MAX_SAFE_INTEGER);
    },
};

/**
 * vma_adjust_trans_huge() (mm/huge_memory.c), from __split_vma: a VMA split at an address
 * inside a huge pmd first splits that pmd (split_huge_pmd_address), so that no huge pmd
 * straddles two VMAs. l.vs_split holds the addresses a VMA is about to be split at
 * (set by the caller with vmaSplitPoints); each one's pmd, if still huge, is split.
 */
export function vmaAdjustTransHuge(): StateDef {
  return {
    meta: { kernel: 'vma_adjust_trans_huge → split_huge_pmd_address' },
    initial: 'next',
    states: {
      next: {
        always: [
          { guard: 'vsDone', target: 'returned' },
          { guard: 'vsPmdHuge', actions: 'vsAt', target: 'split_huge_pmd' },
          { target: 'advance' },
        ],
      },
      split_huge_pmd: { ...splitHugePmd(), onDone: 'advance' },
      advance: { always: { actions: 'vsSkip', target: 'next' } },
      returned: final,
    },
  };
}

/**
 * The addresses __split_vma will split a VMA at for a change of [start, end)'s flags: an
 * end of the range strictly inside a VMA whose flags the change alters (madvise_update_vma
 * and mprotect_fixup leave a VMA whose flags stay the same alone), and not pmd-aligned.
 */
export function vmaSplitPoints(a: A, start: number, end: number, change: (flags: number) => number): number[] {
  const n = a.k.HPAGE_PMD_NR;
  const out: number[] = [];
  for (const b of [start, end]) {
    if (b % n === 0) continue;
    const v = mmOf(a).vmas.find((x) => x.start < b && b < x.end);
    if (v && change(v.flags) !== v.flags) out.push(b);
  }
  return out;
}

export const vmaAdjustGuards: Record<string, TaskGuard<A>> = {
  vsDone: (a) => a.l.vs_split.length === 0,
  vsPmdHuge: (a) => {
    const kind = mmOf(a).kindAt(Math.floor(a.l.vs_split.at(0)! / a.k.HPAGE_PMD_NR));
    return kind === 'huge' || kind === 'huge_zero';
  },
};

export const vmaAdjustActions: Record<string, TaskAction<A>> = {
  vsAt: (a) => {
    a.l.vpn = a.l.vs_split.at(0)!;
  },
  vsSkip: (a) => {
    a.l.vs_split.shift();
  },
};
