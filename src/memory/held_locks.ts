/**
 * The locks an actor holds (Kernel.held): lock name → how many times, in the order they
 * were taken (the order reports and lockdep's chains print). For a world a search copies
 * and hashes, a list of (name, count) pairs in the state vector (`held_locks`: the names
 * by their fingerprint, src/vector/strings.ts); otherwise a Map. Both behave as the Map
 * did: a count that comes back to 0 removes its lock, one taken again goes last.
 */
import { type BoundedArray, OrderedPairs, array, makeStruct, struct } from '../vector/struct.ts';
import { type StateVector, VECTOR, VECTOR_BASE } from '../vector/state_vector.ts';
import { stringId, stringOf } from '../vector/strings.ts';

/** What Kernel asks of an actor's held locks (a Map<string, number> is one). */
export interface HeldLocks {
  readonly size: number;
  get(name: string): number | undefined;
  has(name: string): boolean;
  set(name: string, n: number): unknown;
  delete(name: string): unknown;
  keys(): IterableIterator<string>;
}

interface HeldLocksState {
  /** (name's fingerprint, count) pairs, in the order taken. */
  locks: BoundedArray;
}
const heldLocks = struct<HeldLocksState>('held_locks', {
  locks: array('2 × the locks of the run (two an mm, two a file, shmem_shrinklist_lock)', (b) => 2 * (2 * b.mms + 2 * b.files + 1)),
});

/** An actor's held locks as slots of the state vector. */
class HeldLocksInVector implements HeldLocks {
  private readonly pairs: OrderedPairs;
  /** (laid out in the vector: a walk of the model takes it as the vector's, a step's footprint as its slots) */
  readonly [VECTOR_BASE]: number;
  readonly [VECTOR]: StateVector;

  constructor(sv: StateVector, name: string) {
    const s = makeStruct(sv, heldLocks, name, {});
    this.pairs = new OrderedPairs(s.locks);
    this[VECTOR_BASE] = (s as unknown as { [VECTOR_BASE]: number })[VECTOR_BASE];
    this[VECTOR] = sv;
  }

  get size(): number {
    return this.pairs.size;
  }

  get(name: string): number | undefined {
    return this.pairs.get(stringId(name));
  }

  has(name: string): boolean {
    return this.pairs.has(stringId(name));
  }

  set(name: string, n: number): this {
    this.pairs.set(stringId(name), n);
    return this;
  }

  delete(name: string): boolean {
    return this.pairs.delete(stringId(name));
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.pairs.size; i++) yield stringOf(this.pairs.keyAt(i));
  }
}

/** An actor's held locks: in the state vector's slots, or a Map in a plain world. */
export function makeHeldLocks(sv: StateVector, actor: string): HeldLocks {
  return sv.plain ? new Map<string, number>() : new HeldLocksInVector(sv, `${actor} held locks`);
}

/**
 * Who holds each page lock (Kernel.pageLockHolder): pfn → the holder, in the order the locks
 * were taken (the order reports print; a lock taken again goes last). What Kernel asks of it
 * (a Map<number, number> is one).
 */
export interface PageLockHolders {
  readonly size: number;
  get(pfn: number): number | undefined;
  set(pfn: number, holder: number): unknown;
  delete(pfn: number): unknown;
  values(): IterableIterator<number>;
  entries(): IterableIterator<[number, number]>;
  [Symbol.iterator](): IterableIterator<[number, number]>;
}

interface PageLockHoldersState {
  /** (pfn, holder) pairs, in the order taken. */
  locks: BoundedArray;
}
const pageLockHolders = struct<PageLockHoldersState>('page_lock_holders', {
  // collapse_shmem holds HPAGE_PMD_NR pages and the new huge page at once; no path holds more
  locks: array('2 × (the actors + 1) × (HPAGE_PMD_NR + 1): each actor, and the kernel populating files, holding one huge page\'s pages and a new one', (b) => 2 * (b.actors + 1) * (b.hpagePmdNr + 1)),
});

/** The page-lock holders as slots of the state vector. */
class PageLockHoldersInVector implements PageLockHolders {
  private readonly pairs: OrderedPairs;
  readonly [VECTOR_BASE]: number;
  readonly [VECTOR]: StateVector;

  constructor(sv: StateVector) {
    const s = makeStruct(sv, pageLockHolders, 'page lock holders', {});
    this.pairs = new OrderedPairs(s.locks);
    this[VECTOR_BASE] = (s as unknown as { [VECTOR_BASE]: number })[VECTOR_BASE];
    this[VECTOR] = sv;
  }

  get size(): number {
    return this.pairs.size;
  }

  get(pfn: number): number | undefined {
    return this.pairs.get(pfn);
  }

  set(pfn: number, holder: number): this {
    this.pairs.set(pfn, holder);
    return this;
  }

  delete(pfn: number): boolean {
    return this.pairs.delete(pfn);
  }

  *values(): IterableIterator<number> {
    for (let i = 0; i < this.pairs.size; i++) yield this.pairs.valueAt(i);
  }

  *entries(): IterableIterator<[number, number]> {
    for (let i = 0; i < this.pairs.size; i++) yield [this.pairs.keyAt(i), this.pairs.valueAt(i)];
  }

  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
}

/** The page-lock holders: in the state vector's slots, or a Map in a plain world. */
export function makePageLockHolders(sv: StateVector): PageLockHolders {
  return sv.plain ? new Map<number, number>() : new PageLockHoldersInVector(sv);
}
