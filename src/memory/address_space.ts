/**
 * struct address_space and the inode behind it: the page cache as one slot per file
 * page, each a page (pfn ≥ 0), a hole, or a swap entry (shmem), with radix-tree tags;
 * the mapping's tree lock and i_mmap lock; i_size and shmem's alloced/swapped counts.
 */
import { type Column, type StateVector, VECTOR_COLUMNS } from '../vector/state_vector.ts';
import { stringId, stringOf } from '../vector/strings.ts';
import { ChangeStamp } from '../vector/change_stamp.ts';
import { bool, int, makeStruct, struct } from '../vector/struct.ts';
import { RwSem, SpinLock } from './locks.ts';

export const SLOT_HOLE = -1;
/** Swap entries are stored as -(2 + swap offset). */
export const swapEntry = (offset: number): number => -2 - offset;
export const isSwapEntry = (slot: number): boolean => slot <= -2;
export const swapOffset = (slot: number): number => -2 - slot;

/**
 * Radix-tree tags, a bit each per slot. SHMEM_TAG_HUGEHOLE (huge tmpfs, seed 001) is
 * PAGECACHE_TAG_DIRTY reused ("shmem does no dirty accounting"): a team with holes the
 * huge-hole shrinker may take.
 */
export const RADIX_TAG = { dirty: 1, writeback: 2, towrite: 4, hugehole: 1 } as const;
export type RadixTag = keyof typeof RADIX_TAG;

/** An inode's arrays, by their place in InodeArrays.arrays(). */
export const SLOTS = 0;
export const TAGS = 1;
export const RECOVERING = 2;
export const EXPECTED = 3;
const NAMES = ['slots', 'tagBits', 'recovering', 'expected'] as const;
const FILLS = [SLOT_HOLE, 0, 0, 0];

/** The lengths the arrays have, in a world a search copies and hashes (the arrays themselves only ever grow). */
interface InodeArrayLengths {
  slots: number;
  tagBits: number;
  recovering: number;
  expected: number;
}
const inodeArrayLengths = struct<InodeArrayLengths>('inode_array_lengths', { slots: int(), tagBits: int(), recovering: int(), expected: int() });

/**
 * An inode's per-index arrays: the page cache's slots and radix-tree tags, the per-extent
 * recovery marks, the per-offset expected data. Each has the length its growth gave it
 * (doubling, or to the index written: `length`), which is state. In a world a search copies
 * and hashes they are columns of the state vector (written through `put`: hashed and
 * trailed by it) and their lengths slots of it — grown, an array stays grown, a restore
 * gives its length back — so a walk of the inode neither hashes nor copies them; elsewhere,
 * arrays grown by copying.
 */
export class InodeArrays {
  slots: Int32Array;
  tagBits: Uint8Array;
  recovering: Uint8Array;
  expected: Int32Array;
  private readonly sv: StateVector | null;
  private readonly lengths: InodeArrayLengths | null;
  private readonly col0: number;

  constructor(name: string, nrSlots: number, sv?: StateVector) {
    this.slots = new Int32Array(nrSlots).fill(SLOT_HOLE);
    this.tagBits = new Uint8Array(nrSlots);
    this.recovering = new Uint8Array(0);
    this.expected = new Int32Array(64);
    if (sv && !sv.plain) {
      this.sv = sv;
      this.lengths = makeStruct(sv, inodeArrayLengths, `inode ${name} arrays`, {}, { slots: nrSlots, tagBits: nrSlots, recovering: 0, expected: 64 });
      const arrays = this.arrays();
      this.col0 = sv.addColumn(`inode ${name}.${NAMES[0]}`, arrays[0]!, FILLS[0]!);
      for (let c = 1; c < arrays.length; c++) sv.addColumn(`inode ${name}.${NAMES[c]}`, arrays[c]!, FILLS[c]!);
      // (walks write where its columns start and do not enter it)
      (this as unknown as Record<symbol, number>)[VECTOR_COLUMNS] = this.col0;
    } else {
      this.sv = null;
      this.lengths = null;
      this.col0 = 0;
    }
  }

  /** Whether they are columns of a state vector. */
  get inVector(): boolean {
    return this.sv !== null;
  }

  private arrays(): Column[] {
    return [this.slots, this.tagBits, this.recovering, this.expected];
  }

  /** Array c's length. */
  length(c: number): number {
    const l = this.lengths;
    if (l !== null) return c === SLOTS ? l.slots : c === TAGS ? l.tagBits : c === RECOVERING ? l.recovering : l.expected;
    return c === SLOTS ? this.slots.length : c === TAGS ? this.tagBits.length : c === RECOVERING ? this.recovering.length : this.expected.length;
  }

  /** Array c's element i (its fill past its length). */
  at(c: number, i: number): number {
    if (i >= this.length(c)) return FILLS[c]!;
    return (c === SLOTS ? this.slots : c === TAGS ? this.tagBits : c === RECOVERING ? this.recovering : this.expected)[i]!;
  }

  /** Array c's element i = x, grown first to have room for it. */
  put(c: number, i: number, x: number): void {
    const n = this.length(c);
    if (i >= n) this.grow(c, i, n);
    // (each array written where it is named: one kind of array a site; through a footprint's
    // view of it, the write is recorded)
    let o: number;
    if (c === SLOTS) {
      o = this.slots[i]!;
      this.slots[i] = x;
    } else if (c === TAGS) {
      o = this.tagBits[i]!;
      this.tagBits[i] = x;
    } else if (c === RECOVERING) {
      o = this.recovering[i]!;
      this.recovering[i] = x;
    } else {
      o = this.expected[i]!;
      this.expected[i] = x;
    }
    if (this.sv !== null && o !== x) this.sv.wrote(this.col0 + c, i, o, x);
  }

  /** Array c grown from length n to have room for index i: the expected data doubling from 64, the others to twice the length or i + 1. */
  private grow(c: number, i: number, n: number): void {
    let len: number;
    if (c === EXPECTED) {
      len = n;
      while (len <= i) len *= 2;
    } else len = Math.max(i + 1, n * 2);
    const was = this.arrays()[c]!;
    if (len > was.length) {
      const grown = new (c === SLOTS || c === EXPECTED ? Int32Array : Uint8Array)(len);
      if (FILLS[c] !== 0) grown.fill(FILLS[c]!);
      grown.set(was);
      if (c === SLOTS) this.slots = grown as Int32Array;
      else if (c === TAGS) this.tagBits = grown as Uint8Array;
      else if (c === RECOVERING) this.recovering = grown as Uint8Array;
      else this.expected = grown as Int32Array;
      this.sv?.setColumn(this.col0 + c, grown);
    }
    if (this.lengths !== null) this.lengths[NAMES[c]!] = len;
  }
}

const MAPPING_FLAGS: unique symbol = Symbol('thpsim.mapping_flags');

/**
 * In a world a search copies and hashes: an address space's flags as a column of the
 * vector, [how many, each flag's string id in the Set's order], a mirror of the Set written
 * as it changes; a restore of the vector gives the Set back from it (where it changed
 * since: a ChangeStamp). Kept behind a symbol key: a recording view of the mapping (a
 * footprint's) records the Set's keys as it always has, not this copy of them.
 */
class MappingFlagsColumn {
  private a = new Int32Array(8);
  private readonly c: number;
  private readonly stamp: ChangeStamp;

  constructor(private readonly sv: StateVector, name: string, private readonly flags: Set<string>) {
    this.c = sv.addColumn(`inode ${name}.mapping.flags`, this.a, 0);
    this.stamp = new ChangeStamp(sv, `inode ${name}.mapping.flags`);
    sv.onRestore(() => this.restored());
  }

  /** The column as the Set is now. */
  sync(): void {
    const was = this.a[0]!;
    const n = this.flags.size;
    if (n + 1 > this.a.length) {
      const b = new Int32Array(2 * (n + 1));
      b.set(this.a);
      this.a = b;
      this.sv.setColumn(this.c, b);
    }
    this.put(0, n);
    let i = 1;
    for (const f of this.flags) this.put(i++, stringId(f));
    for (; i <= was; i++) this.put(i, 0);
    this.stamp.changed();
  }

  private put(i: number, x: number): void {
    const o = this.a[i]!;
    this.a[i] = x;
    if (o !== x) this.sv.wrote(this.c, i, o, x);
  }

  /** The Set as the column says, in its order (where it changed since). */
  private restored(): void {
    if (!this.stamp.moved()) return;
    const a = this.a;
    const n = a[0]!;
    this.flags.clear();
    for (let i = 1; i <= n; i++) this.flags.add(stringOf(a[i]!));
  }
}

/** The inode's and its mapping's counts and flags (in the state vector for a world a search copies and hashes). */
interface InodeFields {
  i_size: number;
  alloced: number;
  swapped: number;
  huge: boolean;
  shrinklist: boolean;
  nrpages: number;
}
const inodeT = struct<InodeFields>('inode', { i_size: int(), alloced: int(), swapped: int(), huge: bool(), shrinklist: bool(), nrpages: int() });

export class AddressSpace {
  /** The page cache's arrays (and the inode's: see InodeArrays). */
  readonly arrays: InodeArrays;
  readonly treeLock: SpinLock;
  readonly iMmap: RwSem;
  /** Address-space flags (e.g. AS_COLLAPSE_PMD of seed 003), by name (written by setFlag). */
  readonly flags = new Set<string>();
  /** In a world a search copies and hashes: the flags mirrored in a column of the vector. */
  private readonly [MAPPING_FLAGS]: MappingFlagsColumn | null;

  /** set_bit() / clear_bit() on mapping->flags. */
  setFlag(flag: string, on: boolean): void {
    if (on) this.flags.add(flag);
    else this.flags.delete(flag);
    this[MAPPING_FLAGS]?.sync();
  }

  /** mapping->nrpages (an own field where the inode's counts are no slots: see Inode). */
  get nrpages(): number { return this.f!.nrpages; }
  set nrpages(x: number) { this.f!.nrpages = x; }

  constructor(
    readonly id: number,
    readonly name: string,
    nrSlots: number,
    sv?: StateVector,
    /** Its inode's counts laid out in the state vector, nrpages among them; null: an own field. */
    private readonly f: InodeFields | null = null,
  ) {
    if (f === null) ownFields(this, { nrpages: 0 });
    this.arrays = new InodeArrays(name, nrSlots, sv);
    this[MAPPING_FLAGS] = sv && !sv.plain ? new MappingFlagsColumn(sv, name, this.flags) : null;
    this.treeLock = new SpinLock(`tree_lock(${name})`, sv);
    this.iMmap = new RwSem(`i_mmap_rwsem(${name})`, sv);
  }

  /** slots[index]: pfn, SLOT_HOLE or a swap entry (read only: a slot is written by Kernel.cacheSet). */
  get slots(): Int32Array {
    return this.arrays.slots;
  }

  /** The slots the page cache has room for (its array's length). */
  get nrSlots(): number {
    return this.arrays.length(SLOTS);
  }

  /** Per slot, its radix-tree tag bits (RADIX_TAG). */
  get tagBits(): Uint8Array {
    return this.arrays.tagBits;
  }

  /** The tag bits' length. */
  get nrTagged(): number {
    return this.arrays.length(TAGS);
  }

  lookup(index: number): number {
    return this.arrays.at(SLOTS, index);
  }

  tag(index: number, tag: RadixTag): void {
    this.arrays.put(TAGS, index, this.arrays.at(TAGS, index) | RADIX_TAG[tag]);
  }

  untag(index: number, tag: RadixTag): void {
    if (index < this.arrays.length(TAGS)) this.arrays.put(TAGS, index, this.arrays.at(TAGS, index) & ~RADIX_TAG[tag]);
  }

  tagged(index: number, tag: RadixTag): boolean {
    return (this.arrays.at(TAGS, index) & RADIX_TAG[tag]) !== 0;
  }

  /** radix_tree_gang_lookup_tag(..., first, 1): the first index ≥ first (and < end) tagged `tag`, or -1. */
  firstTagged(first: number, end: number, tag: RadixTag): number {
    const bit = RADIX_TAG[tag];
    const bits = this.arrays.tagBits;
    for (let i = first; i < Math.min(end, this.arrays.length(TAGS)); i++) if (bits[i]! & bit) return i;
    return -1;
  }
}

/** Data tokens by page offset (0 = zeroes), with a Map's get/set/delete: the inode's EXPECTED array. */
export class OffsetTokens {
  constructor(private readonly arrays: InodeArrays) {}

  get(index: number): number | undefined {
    const v = this.arrays.at(EXPECTED, index);
    return v === 0 ? undefined : v;
  }

  set(index: number, token: number): void {
    this.arrays.put(EXPECTED, index, token);
  }

  delete(index: number): void {
    if (index < this.arrays.length(EXPECTED)) this.arrays.put(EXPECTED, index, 0);
  }
}

/**
 * Data properties of the object itself, shadowing its class's accessors (a plain run's
 * inode: its counts own fields, as a walk of it sees them).
 */
function ownFields(o: object, fields: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(fields)) Object.defineProperty(o, key, { value, writable: true, enumerable: true, configurable: true });
}

export class Inode {
  /** Its counts and flags, in the state vector for a world a search copies and hashes; null: own fields of the inode. */
  private readonly f: InodeFields | null;
  /** i_size in pages. */
  get i_size(): number { return this.f!.i_size; }
  set i_size(x: number) { this.f!.i_size = x; }
  /** shmem_inode_info: pages allocated to the file, and how many of them are in swap. */
  get alloced(): number { return this.f!.alloced; }
  set alloced(x: number) { this.f!.alloced = x; }
  get swapped(): number { return this.f!.swapped; }
  set swapped(x: number) { this.f!.swapped = x; }
  /** Mounted huge=1 (huge tmpfs, seed 001): shmem_getpage_gfp allocates teams (hugehint). */
  get huge(): boolean { return this.f!.huge; }
  set huge(x: boolean) { this.f!.huge = x; }
  /** On shmem_shrinklist (list_empty(&info->shrinklist) is false): the huge-hole shrinker looks here. */
  get shrinklist(): boolean { return this.f!.shrinklist; }
  set shrinklist(x: boolean) { this.f!.shrinklist = x; }

  /** Per huge extent (index / HPAGE_PMD_NR): a recovery of it is on shmem_recoverylist, queued and not yet finished (shmem_huge_recovery's dedup on inode and head_index). */
  isRecovering(extent: number): boolean {
    return this.mapping.arrays.at(RECOVERING, extent) === 1;
  }

  /** Marks extent `extent` listed on shmem_recoverylist (or not). */
  setRecovering(extent: number, on: boolean): void {
    this.mapping.arrays.put(RECOVERING, extent, on ? 1 : 0);
  }
  readonly mapping: AddressSpace;
  /** What a read of each page offset must return: the token last written (absent = zeroes). */
  readonly expected: OffsetTokens;

  /** The offset now holds `token` (0: zeroes — a hole, a punch, a truncation). */
  setExpected(index: number, token: number): void {
    if (token === 0) this.expected.delete(index);
    else this.expected.set(index, token);
  }

  constructor(readonly id: number, readonly name: string, readonly shmem: boolean, sizePages: number, sv?: StateVector) {
    if (sv && !sv.plain) {
      this.f = makeStruct(sv, inodeT, `inode ${name}`, {}, { i_size: sizePages });
    } else {
      this.f = null;
      ownFields(this, { i_size: sizePages, alloced: 0, huge: false, shrinklist: false, swapped: 0 });
    }
    this.mapping = new AddressSpace(id, name, sizePages, sv, this.f);
    this.expected = new OffsetTokens(this.mapping.arrays);
    // (every field of it in the state vector: walks write where its arrays' columns start
    // and do not enter it — it is no state component)
    if (this.f !== null && this.mapping.treeLock.inVector && this.mapping.iMmap.inVector) {
      (this as unknown as Record<symbol, number>)[VECTOR_COLUMNS] = (this.mapping.arrays as unknown as Record<symbol, number>)[VECTOR_COLUMNS]!;
    }
  }

  /** Every field of it is in the state vector (a world a search copies and hashes): no state component. */
  get inVector(): boolean {
    return (this as unknown as Record<symbol, number | undefined>)[VECTOR_COLUMNS] !== undefined;
  }
}
