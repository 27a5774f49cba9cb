/**
 * struct address_space and the inode behind it: the page cache as one slot per file
 * page, each a page (pfn ≥ 0), a hole, or a swap entry (shmem), with radix-tree tags;
 * the mapping's tree lock and i_mmap lock; i_size and shmem's alloced/swapped counts.
 */
import { RwSem, SpinLock } from './locks.ts';

export const SLOT_HOLE = -1;
/** Swap entries are stored as -(2 + swap offset). */
export const swapEntry = (offset: number): number => -2 - offset;
export const isSwapEntry = (slot: number): boolean => slot <= -2;
export const swapOffset = (slot: number): number => -2 - slot;

export type RadixTag = 'dirty' | 'writeback' | 'towrite';

export class AddressSpace {
  /** slots[index]: pfn, SLOT_HOLE or a swap entry. */
  slots: Int32Array;
  readonly tags = new Map<RadixTag, Set<number>>();
  readonly treeLock: SpinLock;
  readonly iMmap: RwSem;
  nrpages = 0;
  /** Address-space flags (e.g. AS_COLLAPSE_PMD of seed 003), by name. */
  readonly flags = new Set<string>();

  constructor(readonly id: number, readonly name: string, nrSlots: number) {
    this.slots = new Int32Array(nrSlots).fill(SLOT_HOLE);
    this.treeLock = new SpinLock(`tree_lock(${name})`);
    this.iMmap = new RwSem(`i_mmap_rwsem(${name})`);
  }

  lookup(index: number): number {
    return index < this.slots.length ? this.slots[index]! : SLOT_HOLE;
  }

  tag(index: number, tag: RadixTag): void {
    let s = this.tags.get(tag);
    if (!s) this.tags.set(tag, (s = new Set()));
    s.add(index);
  }

  untag(index: number, tag: RadixTag): void {
    this.tags.get(tag)?.delete(index);
  }

  tagged(index: number, tag: RadixTag): boolean {
    return this.tags.get(tag)?.has(index) ?? false;
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
  swapped = 0;
  readonly mapping: AddressSpace;
  /** What a read of each page offset must return: the token last written (absent = zeroes). */
  readonly expected = new OffsetTokens();

  /** The offset now holds `token` (0: zeroes — a hole, a punch, a truncation). */
  setExpected(index: number, token: number): void {
    if (token === 0) this.expected.delete(index);
    else this.expected.set(index, token);
  }

  constructor(readonly id: number, readonly name: string, readonly shmem: boolean, sizePages: number) {
    this.i_size = sizePages;
    this.mapping = new AddressSpace(id, name, sizePages);
  }
}
