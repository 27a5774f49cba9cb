/**
 * mm_struct, its VMAs and page tables. Page tables are kept per PMD: a pmd entry is
 * none, a pte table, a huge pmd or a huge zero pmd (machines/pmd.ts), and a pte table
 * holds one pfn (or none) per small page. Virtual addresses are kept as virtual page
 * numbers (vpn); a PMD covers HPAGE_PMD_NR of them.
 */
import { compiledObjectChart } from '../object_charts.ts';
import { RwSem, SpinLock } from './locks.ts';
import { type StateVector, VECTOR, VECTOR_BASE, inVector } from '../vector/state_vector.ts';
import { type BoundedArray, PlainArray, array, bool, int, makeStruct, struct } from '../vector/struct.ts';
import { VectorMap, VectorSet } from '../vector/vector_map.ts';

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

/** A VMA's fields in the order its slots are laid out. */
const VMA_FIELDS = ['start', 'end', 'flags', 'pgoff', 'file'] as const;

/** A VMA entry's view: where its slots start, in which vector. */
interface VmaSlots {
  readonly [VECTOR_BASE]: number;
  readonly [VECTOR]: StateVector;
}

/** Per field, the one getter every view shares (one shape for all views: their loads stay monomorphic). */
const VMA_GETTERS = VMA_FIELDS.map((_, i) => function (this: VmaSlots): number {
  return this[VECTOR].get(this[VECTOR_BASE] + i);
});

/**
 * The slots of one VMA entry as a Vma: each field an own enumerable accessor reading its
 * slot (a step's footprint sees each field read; `{ ...vma }` copies the values).
 */
function vmaView(sv: StateVector, base: number): Vma {
  const v = {} as Vma;
  Object.defineProperty(v, VECTOR_BASE, { value: base });
  Object.defineProperty(v, VECTOR, { value: sv });
  VMA_FIELDS.forEach((f, i) => Object.defineProperty(v, f, { get: VMA_GETTERS[i], enumerable: true }));
  return Object.freeze(v);
}

/**
 * An mm's VMAs in the state vector (an mm made with a world a search copies and hashes): a
 * count slot, then `max` entries of five slots (start, end, flags, pgoff, file), zeroes past
 * the count. A change writes the count and every entry up to the longer of the old and new
 * lists — as the JavaScript array it replaces was rewritten whole (splice, length = 0) — so
 * a step's footprint relates steps as before; a reader reads the count, then the fields it
 * looks at.
 */
class VmaTable {
  private readonly at0: number;
  private readonly views: Vma[] = [];
  /**
   * The list of the first `count` views for the count now, and for the count before it (a
   * search's restore moves the count back and forth between two). Readonly by type, not
   * frozen: a frozen array's iteration took a slower path in V8 (zero-page-read-faults'
   * random schedules, side by side).
   */
  private list: readonly Vma[] = [];
  private before: readonly Vma[] = [];
  /** set()'s copy of the values it writes (the list given may be views of these very entries). */
  private readonly values: Float64Array;

  constructor(
    private readonly sv: StateVector,
    readonly max: number,
    private readonly name: string,
  ) {
    this.at0 = sv.alloc(1 + max * VMA_FIELDS.length, `${name} VMAs (at most ${max})`);
    this.values = new Float64Array(max * VMA_FIELDS.length);
  }

  /** Entry i's view (made when first wanted: a bound of thousands is mostly never reached). */
  private view(i: number): Vma {
    while (this.views.length <= i) this.views.push(vmaView(this.sv, this.at0 + 1 + this.views.length * VMA_FIELDS.length));
    return this.views[i]!;
  }

  /**
   * The VMAs now: the views of the first `count` entries (a new array only when the count
   * changed). The array is marked as the vector's: a step's footprint takes what it reads
   * of it from the slots (the count here, each field as read), not the array object.
   */
  get(): readonly Vma[] {
    const n = this.sv.get(this.at0);
    if (n === this.list.length) return this.list;
    const was = this.list;
    if (n === this.before.length) this.list = this.before;
    else {
      if (n > 0) this.view(n - 1);
      const views = this.views.slice(0, n);
      Object.defineProperty(views, VECTOR_BASE, { value: this.at0 });
      Object.defineProperty(views, VECTOR, { value: this.sv });
      this.list = views;
    }
    this.before = was;
    return this.list;
  }

  /** The VMA holding `vpn`, or undefined: the count, then each entry's start and end up to it (as a walk of the views reads them). */
  find(vpn: number): Vma | undefined {
    const sv = this.sv;
    const n = sv.get(this.at0);
    for (let i = 0; i < n; i++) {
      const base = this.at0 + 1 + i * VMA_FIELDS.length;
      if (vpn >= sv.get(base) && vpn < sv.get(base + 1)) return this.view(i);
    }
    return undefined;
  }

  set(vmas: readonly Vma[]): void {
    const n = vmas.length;
    if (n > this.max) {
      throw new RangeError(`${this.name}: ${n} VMAs, more than the ${this.max} its layout has room for (its own, and two more for each madvise, mprotect or munmap of the scenario)`);
    }
    // (the values first: the list may be views of these very entries)
    const F = VMA_FIELDS.length;
    const values = this.values;
    for (let i = 0; i < n; i++) for (let f = 0; f < F; f++) values[i * F + f] = vmas[i]![VMA_FIELDS[f]!];
    const upTo = Math.max(n, this.sv.get(this.at0));
    for (let i = 0; i < upTo; i++) {
      const base = this.at0 + 1 + i * F;
      for (let f = 0; f < F; f++) this.sv.put(base + f, i < n ? values[i * F + f]! : 0);
    }
    this.sv.put(this.at0, n);
  }

  /** One more entry at the end: the count and the new entry's slots (as an array's push writes its length and the new element). */
  push(v: Vma): void {
    const n = this.sv.get(this.at0);
    if (n + 1 > this.max) this.set([...this.get(), v]); // (the same error)
    const F = VMA_FIELDS.length;
    const base = this.at0 + 1 + n * F;
    for (let f = 0; f < F; f++) this.sv.put(base + f, v[VMA_FIELDS[f]!]);
    this.sv.put(this.at0, n + 1);
  }
}

/** The VMAs an mm laid out in the vector has room for when its maker gives no bound (src/world/build.ts vmaBounds does). */
const VMAS_UNBOUNDED = 16;

/** Where an mm keeps its VMA table (under a symbol: a walk of the model does not go into the vector). */
const VMAS = Symbol('thpsim.mm.vmas');

/** The pte value meaning "no pte". */
export const PTE_NONE = -1;

/**
 * A pmd entry: none, a pte table, a huge pmd or a huge zero pmd (its `state` in the pmd
 * chart). For a world a search copies and hashes, laid out in the state vector (`pmd_t`);
 * otherwise an object of the same accessors.
 */
export interface Pmd {
  state: number;
  /** The huge page (or huge zero page) a huge pmd maps; -1 otherwise. */
  pfn: number;
  writable: boolean;
  /** The pte table while the pmd points to one: HPAGE_PMD_NR ptes (a pfn, or PTE_NONE); empty otherwise (see hasPteTable). */
  ptes: BoundedArray;
  /** Per pte of the table, 1 where it is writable. */
  pteWritable: BoundedArray;
  /**
   * Per pte, 1 where try_to_unmap left a migration entry (the pte itself reads as none): a
   * zap of the pte removes it, remove_migration_ptes turns it back into a pte of the page.
   */
  pteMigration: BoundedArray;
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
  /** When the entry was first written, in the order the mm's entries were (1, 2, ...); 0: never (it reads as none). */
  order: number;
}
const pmdT = struct<Pmd>('pmd_t', {
  state: int(PMD_CHART.initial),
  pfn: int(-1),
  writable: bool(),
  ptes: array('HPAGE_PMD_NR ptes', (b) => b.hpagePmdNr),
  pteWritable: array('HPAGE_PMD_NR ptes', (b) => b.hpagePmdNr),
  pteMigration: array('HPAGE_PMD_NR ptes', (b) => b.hpagePmdNr),
  deposited: int(),
  noted: int(),
  order: int(),
});

/** The pmd points to a pte table (the pmd chart's pte_table state: its ptes are there). */
export const hasPteTable = (p: Readonly<Pmd>): boolean => p.ptes.length !== 0;

const SV = Symbol('thpsim.pmds.sv');

/** A list no pte is ever in (a pmd never written). */
const NO_PTES: BoundedArray = Object.freeze(new PlainArray(0, 'a pmd never written: no pte table'));
/** What a pmd never written reads as. */
const PMD_NONE: Readonly<Pmd> = Object.freeze({ state: PMD_CHART.initial, pfn: -1, writable: false, ptes: NO_PTES, pteWritable: NO_PTES, pteMigration: NO_PTES, deposited: 0, noted: 0, order: 0 });

interface PmdTableFields {
  /** Entries made so far: the next one made is entry `made` + 1 in the order made. */
  made: number;
}
const pmdTableT = struct<PmdTableFields>('pmd_table', { made: int() });

/**
 * An mm's page tables, pmd index → pmd entry. An entry is made (none) on first write and
 * never removed (a freed table leaves it none); the entries iterate in the order they were
 * made — as the Map they were, which is what the state hash saw. For an mm made with the
 * world (`layOut`, after its VMAs): an entry for every pmd its VMAs span, laid out at once
 * (in the state vector for a world a search copies and hashes), each knowing when it was
 * made (`order`, 0: not yet) — a lookup is one entry's, as a step's footprint sees it. An
 * mm made during the run (a fork's child) keeps them in a Map.
 */
export class PmdTable implements Iterable<[number, Pmd]> {
  /** pmd index → its entry (the VMAs' spans when laid out); null until then. */
  private slotOf: Map<number, number> | null = null;
  private readonly indices: number[] = [];
  private readonly slots: Pmd[] = [];
  private t: PmdTableFields | null = null;
  private readonly map = new Map<number, Pmd>();
  /** (under a symbol: a walk of the model does not go into the vector) */
  private readonly [SV]: StateVector | undefined;

  constructor(sv: StateVector | undefined) {
    this[SV] = sv;
  }

  /** An entry for each pmd index in `indices` (each pmd the mm's VMAs span), named after `name`. */
  layOut(indices: readonly number[], name: string): void {
    const sv = this[SV];
    if (!sv || this.slotOf || this.map.size) throw new Error(`${name}: page tables laid out twice, or after use`);
    this.slotOf = new Map();
    this.t = makeStruct(sv, pmdTableT, `${name} pmds`, {});
    for (const i of indices) {
      if (this.slotOf.has(i)) continue;
      this.slotOf.set(i, this.slots.length);
      this.indices.push(i);
      this.slots.push(makeStruct(sv, pmdT, `${name} pmd ${i}`, {}));
    }
    if (inVector(this.t)) {
      (this as unknown as { [VECTOR_BASE]: number })[VECTOR_BASE] = (this.t as unknown as { [VECTOR_BASE]: number })[VECTOR_BASE];
      (this as unknown as { [VECTOR]: StateVector })[VECTOR] = sv;
    }
  }

  get size(): number {
    return this.t ? this.t.made : this.map.size;
  }

  get(index: number): Pmd | undefined {
    if (!this.slotOf) return this.map.get(index);
    const j = this.slotOf.get(index);
    if (j === undefined) return undefined;
    const p = this.slots[j]!;
    return p.order !== 0 ? p : undefined;
  }

  /** The entry at `index`, made (none) if there is none. */
  make(index: number, mm: string): Pmd {
    if (!this.slotOf) {
      let p = this.map.get(index);
      if (!p) {
        const sv = this[SV];
        p = sv ? makeStruct(sv, pmdT, `${mm} pmd ${index}`, {}) : { ...PMD_NONE, ptes: new PlainArray(Infinity, 'ptes'), pteWritable: new PlainArray(Infinity, 'pte writable'), pteMigration: new PlainArray(Infinity, 'pte migration') };
        p.order = this.map.size + 1;
        this.map.set(index, p);
      }
      return p;
    }
    const j = this.slotOf.get(index);
    if (j === undefined) throw new RangeError(`${mm}: a pmd entry at index ${index} (address 0x${(index * this[SV]!.bounds.hpagePmdNr * 4096).toString(16)}), outside every pmd its VMAs span`);
    const p = this.slots[j]!;
    if (p.order === 0) p.order = ++this.t!.made;
    return p;
  }

  /** The entries made, in the order made. */
  private made(): number[] {
    const js: number[] = [];
    for (let j = 0; j < this.slots.length; j++) if (this.slots[j]!.order !== 0) js.push(j);
    return js.sort((x, y) => this.slots[x]!.order - this.slots[y]!.order);
  }

  *keys(): IterableIterator<number> {
    if (!this.slotOf) yield* this.map.keys();
    else for (const j of this.made()) yield this.indices[j]!;
  }

  *values(): IterableIterator<Pmd> {
    if (!this.slotOf) yield* this.map.values();
    else for (const j of this.made()) yield this.slots[j]!;
  }

  *entries(): IterableIterator<[number, Pmd]> {
    if (!this.slotOf) yield* this.map.entries();
    else for (const j of this.made()) yield [this.indices[j]!, this.slots[j]!];
  }

  [Symbol.iterator](): IterableIterator<[number, Pmd]> {
    return this.entries();
  }
}

/** The mm_struct's own fields (its counters, users, where its mm chart is). */
interface MmFields {
  /** Packed mm chart state (users × mmap_lock). */
  state: number;
  users: number;
  forking: boolean;
  mmfVmHugepage: boolean;
  nr_ptes: number;
}
const mmStructT = struct<MmFields>('mm_struct', { state: int(MM_CHART.initial), users: int(1), forking: bool(), mmfVmHugepage: bool(), nr_ptes: int() });

/** mm->rss_stat. */
export interface MmRss {
  MM_FILEPAGES: number;
  MM_ANONPAGES: number;
  MM_SHMEMPAGES: number;
}
const mmRssStat = struct<MmRss>('mm_rss_stat', { MM_FILEPAGES: int(), MM_ANONPAGES: int(), MM_SHMEMPAGES: int() });

export class MmStruct {
  /** Its own fields: in the state vector for a world a search copies and hashes. */
  private readonly f: MmFields;
  readonly mmapLock: RwSem;
  /** mm->page_table_lock (the seeds predate split pmd locks). */
  readonly pageTableLock: SpinLock;
  /** Seed 003 design b: pmds whose page table retract_page_tables could not take (mainline: mm_slot->pte_mapped_thp). */
  readonly ptePmdRetry = new VectorSet();
  /** File vpns whose pte now maps a private page (uprobe's __replace_page): reads follow this mm, not the file. */
  readonly replaced = new VectorSet();
  /**
   * The VMAs, in the order kept (not sorted). For an mm made with a world a search copies and
   * hashes, entries of the state vector (VmaTable; this getter); otherwise an own array of
   * that name, which shadows it. Changed through setVmas() / addVma().
   */
  get vmas(): readonly Vma[] {
    return this[VMAS]!.get();
  }

  private readonly [VMAS]: VmaTable | undefined;
  readonly pmds: PmdTable;
  readonly rss: MmRss;
  /**
   * What a read of each vpn must return: the token last written there (absent = never
   * written = zeroes). Private memory: fork copies it.
   */
  readonly expected = new VectorMap();
  /** Its own fields and page tables are slots of the state vector (made with a world a search copies and hashes). */
  get inVector(): boolean {
    return inVector(this.f);
  }

  /** Packed mm chart state (users × mmap_lock). */
  get state(): number { return this.f.state; }
  set state(x: number) { this.f.state = x; }
  get users(): number { return this.f.users; }
  set users(x: number) { this.f.users = x; }
  /** dup_mmap() is still copying into this mm: the child task does not run yet. */
  get forking(): boolean { return this.f.forking; }
  set forking(x: boolean) { this.f.forking = x; }
  /** MMF_VM_HUGEPAGE: registered with khugepaged (__khugepaged_enter put it on khugepaged's mm_slot list). */
  get mmfVmHugepage(): boolean { return this.f.mmfVmHugepage; }
  set mmfVmHugepage(x: boolean) { this.f.mmfVmHugepage = x; }
  /** mm->nr_ptes: page-table pages allocated (including ones deposited under huge pmds). */
  get nr_ptes(): number { return this.f.nr_ptes; }
  set nr_ptes(x: number) { this.f.nr_ptes = x; }

  constructor(readonly id: number, readonly name: string, sv?: StateVector, vmas?: number) {
    this.f = sv ? makeStruct(sv, mmStructT, `mm ${name}`, {}) : { state: MM_CHART.initial, users: 1, forking: false, mmfVmHugepage: false, nr_ptes: 0 };
    this.rss = sv ? makeStruct(sv, mmRssStat, `mm ${name} rss_stat`, {}) : { MM_FILEPAGES: 0, MM_ANONPAGES: 0, MM_SHMEMPAGES: 0 };
    this.pmds = new PmdTable(sv);
    if (inVector(this.f)) this[VMAS] = new VmaTable(sv!, vmas ?? VMAS_UNBOUNDED, `mm ${name}`);
    else {
      this[VMAS] = undefined;
      // (an own array, where the class field was: hashed, copied and footprinted as before)
      Object.defineProperty(this, 'vmas', { value: [] as Vma[], writable: true, enumerable: true, configurable: true });
    }
    this.mmapLock = new RwSem(`mmap_lock(${name})`, sv);
    this.pageTableLock = new SpinLock(`page_table_lock(${name})`, sv);
    // (in a world a search copies and hashes: the expected data a column of the vector too,
    // so a store does not make the whole mm hashed and copied again)
    if (inVector(this.f)) {
      this.expected.layIn(sv!, `mm ${name}.expected`);
      // (the vpns replaced and the pmds to retry too: each a column)
      this.replaced.layIn(sv!, `mm ${name}.replaced`);
      this.ptePmdRetry.layIn(sv!, `mm ${name}.pte_mapped_thp`);
    }
  }

  /** The VMAs become `vmas` (vma_merge, split_vma, unmap_region, exit_mmap...). */
  setVmas(vmas: readonly Vma[]): void {
    const t = this[VMAS];
    if (t) t.set(vmas);
    else {
      const own = this.vmas as Vma[];
      own.splice(0, own.length, ...vmas);
    }
  }

  /** One more VMA, at the end of the list (the scenario's mmap; dup_mmap's copy of a parent's). */
  addVma(v: Vma): void {
    const t = this[VMAS];
    if (t) t.push(v);
    else (this.vmas as Vma[]).push(v);
  }

  /** exit_mmap: no VMA left. */
  clearVmas(): void {
    const t = this[VMAS];
    if (t) t.set([]);
    else (this.vmas as Vma[]).length = 0;
  }

  findVma(vpn: number): Vma | undefined {
    const t = this[VMAS];
    if (t) return t.find(vpn);
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
    return this.pmds.make(index, `mm ${this.name}`);
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
    this.setVmas(merged);
    return covered === end - start;
  }
}
