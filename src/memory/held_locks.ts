/**
 * The locks an actor holds (Kernel.held): lock name → how many times, in the order they
 * were taken (the order reports and lockdep's chains print). For a world a search copies
 * and hashes, a list of (name, count) pairs in the state vector (`held_locks`: the names
 * by their fingerprint, src/vector/strings.ts); otherwise a Map. Both behave as the Map
 * did: a count that comes back to 0 removes its lock, one taken again goes last.
 */
import { type BoundedArray, array, makeStruct, struct } from '../vector/struct.ts';
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
  private readonly list: BoundedArray;
  /** (laid out in the vector: a walk of the model takes it as the vector's, a step's footprint as its slots) */
  readonly [VECTOR_BASE]: number;
  readonly [VECTOR]: StateVector;

  constructor(sv: StateVector, name: string) {
    const s = makeStruct(sv, heldLocks, name, {});
    this.list = s.locks;
    this[VECTOR_BASE] = (s as unknown as { [VECTOR_BASE]: number })[VECTOR_BASE];
    this[VECTOR] = sv;
  }

  get size(): number {
    return this.list.length / 2;
  }

  private find(id: number): number {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l.at(i) === id) return i;
    return -1;
  }

  get(name: string): number | undefined {
    const i = this.find(stringId(name));
    return i < 0 ? undefined : this.list.at(i + 1);
  }

  has(name: string): boolean {
    return this.find(stringId(name)) >= 0;
  }

  set(name: string, n: number): this {
    const id = stringId(name);
    const i = this.find(id);
    if (i < 0) this.list.push(id, n);
    else this.list.set(i + 1, n);
    return this;
  }

  delete(name: string): boolean {
    const i = this.find(stringId(name));
    if (i >= 0) this.list.splice(i, 2);
    return i >= 0;
  }

  *keys(): IterableIterator<string> {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) yield stringOf(l.at(i)!);
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
  private readonly list: BoundedArray;
  readonly [VECTOR_BASE]: number;
  readonly [VECTOR]: StateVector;

  constructor(sv: StateVector) {
    const s = makeStruct(sv, pageLockHolders, 'page lock holders', {});
    this.list = s.locks;
    this[VECTOR_BASE] = (s as unknown as { [VECTOR_BASE]: number })[VECTOR_BASE];
    this[VECTOR] = sv;
  }

  get size(): number {
    return this.list.length / 2;
  }

  private find(pfn: number): number {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l.at(i) === pfn) return i;
    return -1;
  }

  get(pfn: number): number | undefined {
    const i = this.find(pfn);
    return i < 0 ? undefined : this.list.at(i + 1);
  }

  set(pfn: number, holder: number): this {
    const i = this.find(pfn);
    if (i < 0) this.list.push(pfn, holder);
    else this.list.set(i + 1, holder);
    return this;
  }

  delete(pfn: number): boolean {
    const i = this.find(pfn);
    if (i >= 0) this.list.splice(i, 2);
    return i >= 0;
  }

  *values(): IterableIterator<number> {
    const l = this.list;
    for (let i = 1; i < l.length; i += 2) yield l.at(i)!;
  }

  *entries(): IterableIterator<[number, number]> {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) yield [l.at(i)!, l.at(i + 1)!];
  }

  [Symbol.iterator](): IterableIterator<[number, number]> {
    return this.entries();
  }
}

/** The page-lock holders: in the state vector's slots, or a Map in a plain world. */
export function makePageLockHolders(sv: StateVector): PageLockHolders {
  return sv.plain ? new Map<number, number>() : new PageLockHoldersInVector(sv);
}
