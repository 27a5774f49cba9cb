/**
 * mm_struct, its VMAs and page tables. Page tables are kept per PMD: a pmd entry is
 * none, a pte table, a huge pmd or a huge zero pmd (machines/pmd.ts), and a pte table
 * holds one pfn (or none) per small page. Virtual addresses are kept as virtual page
 * numbers (vpn); a PMD covers HPAGE_PMD_NR of them.
 */
import { compiledObjectChart } from '../object_charts.ts';
import { RwSem, SpinLock } from './locks.ts';
import type { StateVector } from '../vector/state_vector.ts';

export const PMD_CHART = compiledObjectChart('pmd');
export const MM_CHART = compiledObjectChart('mm_struct');

export type PmdKind = 'none' | 'pte_table' | 'huge' | 'huge_zero';
const PMD_KINDS = Array.from({ length: PMD_CHART.nStates }, (_, s) => PMD_CHART.stateName(s, 'entry') as PmdKind);
export const pmdKind = (state: number): PmdKind => PMD_KINDS[state]!;
const MM_USERS = Array.from({ length: MM_CHART.nStates }, (_, s) => MM_CHART.stateName(s, 'users'));

/** vm_flags the seeds test. */
export const VM = {
  READ: 1 << 0,
  WRITE: 1 << 1,
  EXEC: 1 << 2,
  SHARED: 1 << 3,
  HUGEPAGE: 1 << 29,
  NOHUGEPAGE: 1 << 30,
} as const;
export type VmFlag = keyof typeof VM;

export interface Vma {
  /** First and one-past-last vpn. */
  start: number;
  end: number;
  flags: number;
  /** File offset of `start`, in pages. */
  pgoff: number;
  /** Inode id of the mapped file, or -1 for anonymous memory. */
  file: number;
}

/** The pte value meaning "no pte". */
export const PTE_NONE = -1;

export interface Pmd {
  state: number;
  /** The huge page (or huge zero page) a huge pmd maps; -1 otherwise. */
  pfn: number;
  writable: boolean;
  ptes: Int32Array | null;
  pteWritable: Uint8Array | null;
  /**
   * Per pte, 1 where try_to_unmap left a migration entry (the pte itself reads as none): a
   * zap of the pte removes it, remove_migration_ptes turns it back into a pte of the page.
   */
  pteMigration: Uint8Array | null;
  /** Page tables deposited under a huge pmd (pgtable_trans_huge_deposit). */
  deposited: number;
  /**
   * The actors holding a pointer to this pte table, a bit per actor index: exit_mmap()'s
   * zap_pte_range() read *pmd, and goes on to use the table it pointed to. Cleared when the
   * table is freed (or another installed): a holder then uses a freed table. (A bit in the
   * pmd rather than the table object in the actor's locals: the state hash sees a
   * reference from an actor into the page tables only by contents, never by identity.)
   */
  noted: number;
}

/** What a pmd never written reads as. */
const PMD_NONE: Readonly<Pmd> = Object.freeze({ state: PMD_CHART.initial, pfn: -1, writable: false, ptes: null, pteWritable: null, pteMigration: null, deposited: 0, noted: 0 });

export class MmStruct {
  /** Packed mm chart state (users × mmap_lock). */
  state = MM_CHART.initial;
  readonly mmapLock: RwSem;
  /** mm->page_table_lock (the seeds predate split pmd locks). */
  readonly pageTableLock: SpinLock;
  users = 1;
  /** dup_mmap() is still copying into this mm: the child task does not run yet. */
  forking = false;
  /** MMF_VM_HUGEPAGE: registered with khugepaged (__khugepaged_enter put it on khugepaged's mm_slot list). */
  mmfVmHugepage = false;
  /** Seed 003 design b: pmds whose page table retract_page_tables could not take (mainline: mm_slot->pte_mapped_thp). */
  readonly ptePmdRetry = new Set<number>();
  /** File vpns whose pte now maps a private page (uprobe's __replace_page): reads follow this mm, not the file. */
  readonly replaced = new Set<number>();
  readonly vmas: Vma[] = [];
  readonly pmds = new Map<number, Pmd>();
  /** mm->nr_ptes: page-table pages allocated (including ones deposited under huge pmds). */
  nr_ptes = 0;
  readonly rss = { MM_FILEPAGES: 0, MM_ANONPAGES: 0, MM_SHMEMPAGES: 0 };
  /**
   * What a read of each vpn must return: the token last written there (absent = never
   * written = zeroes). Private memory: fork copies it.
   */
  readonly expected = new Map<number, number>();

  constructor(readonly id: number, readonly name: string, sv?: StateVector) {
    this.mmapLock = new RwSem(`mmap_lock(${name})`, sv);
    this.pageTableLock = new SpinLock(`page_table_lock(${name})`, sv);
  }

  findVma(vpn: number): Vma | undefined {
    for (const v of this.vmas) if (vpn >= v.start && vpn < v.end) return v;
    return undefined;
  }

  /**
   * The pmd at `index`, to read: one never written reads as none (and stays absent: a read
   * — a fault's guard looking at *pmd — writes nothing, so it changes no state).
   */
  pmdAt(index: number): Readonly<Pmd> {
    return this.pmds.get(index) ?? PMD_NONE;
  }

  /** The pmd at `index`, to write (made, none, on first use). */
  pmd(index: number): Pmd {
    let p = this.pmds.get(index);
    if (!p) {
      p = { state: PMD_CHART.initial, pfn: -1, writable: false, ptes: null, pteWritable: null, pteMigration: null, deposited: 0, noted: 0 };
      this.pmds.set(index, p);
    }
    return p;
  }

  kindAt(index: number): PmdKind {
    const p = this.pmds.get(index);
    return p ? pmdKind(p.state) : 'none';
  }

  usersState(): string { return MM_USERS[this.state]!; }

  /** Where the VMAs from `start` stop being contiguous, at most `end` (`start` itself if unmapped). */
  mappedEnd(start: number, end: number): number {
    let at = start;
    for (const v of [...this.vmas].sort((x, y) => x.start - y.start)) if (v.start <= at && v.end > at) at = Math.min(v.end, end);
    return at;
  }

  /**
   * mprotect_fixup / madvise_update_vma on [start, end): split_vma at both ends, give the
   * VMAs inside the range flags = change(flags), then vma_merge neighbours that became
   * alike (same flags and file, contiguous file offsets). Returns whether every page of
   * the range was mapped (the syscall's ENOMEM otherwise; the mapped parts still change).
   */
  changeVmaFlags(start: number, end: number, change: (flags: number) => number): boolean {
    const out: Vma[] = [];
    let covered = 0;
    for (const v of [...this.vmas].sort((x, y) => x.start - y.start)) {
      if (v.end <= start || v.start >= end) {
        out.push(v);
        continue;
      }
      const lo = Math.max(v.start, start);
      const hi = Math.min(v.end, end);
      covered += hi - lo;
      if (v.start < lo) out.push({ ...v, end: lo });
      out.push({ ...v, start: lo, end: hi, pgoff: v.pgoff + (lo - v.start), flags: change(v.flags) });
      if (v.end > hi) out.push({ ...v, start: hi, pgoff: v.pgoff + (hi - v.start) });
    }
    const merged: Vma[] = [];
    for (const v of out) {
      const prev = merged[merged.length - 1];
      if (prev && prev.end === v.start && prev.flags === v.flags && prev.file === v.file
        && (v.file < 0 || prev.pgoff + (prev.end - prev.start) === v.pgoff)) {
        merged[merged.length - 1] = { ...prev, end: v.end };
      } else merged.push({ ...v });
    }
    this.vmas.splice(0, this.vmas.length, ...merged);
    return covered === end - start;
  }
}
