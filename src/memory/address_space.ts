/**
 * struct address_space and the inode behind it: the page cache as one slot per file
 * page, each a page (pfn ≥ 0), a hole, or a swap entry (shmem), with radix-tree tags;
 * the mapping's tree lock and i_mmap lock; i_size and shmem's alloced/swapped counts.
 */
import type { StateVector } from '../vector/state_vector.ts';
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

export class AddressSpace {
  /** slots[index]: pfn, SLOT_HOLE or a swap entry. */
  slots: Int32Array;
  /** Per slot, its radix-tree tag bits (RADIX_TAG). */
  tagBits: Uint8Array;
  readonly treeLock: SpinLock;
  readonly iMmap: RwSem;
  nrpages = 0;
  /** Address-space flags (e.g. AS_COLLAPSE_PMD of seed 003), by name. */
  readonly flags = new Set<string>();

  constructor(readonly id: number, readonly name: string, nrSlots: number, sv?: StateVector) {
    this.slots = new Int32Array(nrSlots).fill(SLOT_HOLE);
    this.tagBits = new Uint8Array(nrSlots);
    this.treeLock = new SpinLock(`tree_lock(${name})`, sv);
    this.iMmap = new RwSem(`i_mmap_rwsem(${name})`, sv);
  }

  lookup(index: number): number {
    return index < this.slots.length ? this.slots[index]! : SLOT_HOLE;
  }

  tag(index: number, tag: RadixTag): void {
    if (index >= this.tagBits.length) {
      const grown = new Uint8Array(Math.max(index + 1, this.tagBits.length * 2));
      grown.set(this.tagBits);
      this.tagBits = grown;
    }
    this.tagBits[index] = this.tagBits[index]! | RADIX_TAG[tag];
  }

  untag(index: number, tag: RadixTag): void {
    if (index < this.tagBits.length) this.tagBits[index] = this.tagBits[index]! & ~RADIX_TAG[tag];
  }

  tagged(index: number, tag: RadixTag): boolean {
    return index < this.tagBits.length && (this.tagBits[index]! & RADIX_TAG[tag]) !== 0;
  }

  /** radix_tree_gang_lookup_tag(..., first, 1): the first index ≥ first (and < end) tagged `tag`, or -1. */
  firstTagged(first: number, end: number, tag: RadixTag): number {
    const bit = RADIX_TAG[tag];
    for (let i = first; i < Math.min(end, this.tagBits.length); i++) if (this.tagBits[i]! & bit) return i;
    return -1;
  }
}

/** Data tokens by page offset in a typed array (0 = zeroes), with a Map's get/set/delete. */
export class OffsetTokens {
  private a = new Int32Array(64);

  get(index: number): number | undefined {
    const v = index < this.a.length ? this.a[index]! : 0;
    return v === 0 ? undefined : v;
  }

  set(index: number, token: number): void {
    if (index >= this.a.length) {
      let n = this.a.length;
      while (n <= index) n *= 2;
      const b = new Int32Array(n);
      b.set(this.a);
      this.a = b;
    }
    this.a[index] = token;
  }

  delete(index: number): void {
    if (index < this.a.length) this.a[index] = 0;
  }
}

export class Inode {
  /** i_size in pages. */
  i_size: number;
  /** shmem_inode_info: pages allocated to the file, and how many of them are in swap. */
  alloced = 0;
  /** Mounted huge=1 (huge tmpfs, seed 001): shmem_getpage_gfp allocates teams (hugehint). */
  huge = false;
  /** On shmem_shrinklist (list_empty(&info->shrinklist) is false): the huge-hole shrinker looks here. */
  shrinklist = false;
  /**
   * Per huge extent (index / HPAGE_PMD_NR): a recovery of it is on shmem_recoverylist,
   * queued and not yet finished (shmem_huge_recovery's dedup on inode and head_index).
   */
  recovering = new Uint8Array(0);

  /** Marks extent `extent` listed on shmem_recoverylist (or not). */
  setRecovering(extent: number, on: boolean): void {
    if (extent >= this.recovering.length) {
      const grown = new Uint8Array(Math.max(extent + 1, this.recovering.length * 2));
      grown.set(this.recovering);
      this.recovering = grown;
    }
    this.recovering[extent] = on ? 1 : 0;
  }
  swapped = 0;
  readonly mapping: AddressSpace;
  /** What a read of each page offset must return: the token last written (absent = zeroes). */
  readonly expected = new OffsetTokens();

  /** The offset now holds `token` (0: zeroes — a hole, a punch, a truncation). */
  setExpected(index: number, token: number): void {
    if (token === 0) this.expected.delete(index);
    else this.expected.set(index, token);
  }

  constructor(readonly id: number, readonly name: string, readonly shmem: boolean, sizePages: number, sv?: StateVector) {
    this.i_size = sizePages;
    this.mapping = new AddressSpace(id, name, sizePages, sv);
  }
}
