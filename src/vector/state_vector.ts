/**
 * The state vector (issue 21): model state as one flat array of slots, as a model checker
 * keeps it (SPIN's state vector). Structs declared by schemas (./struct.ts) are laid out in
 * it, and read and written through accessors generated from those schemas, so a chart's
 * action still reads like the kernel (`l.index`, `l.cursor.at(0)`) while the state it
 * writes is slots of one Float64Array:
 *
 * - a copy of the state is a copy of the slots in use (`save`, `restore`);
 * - the hash is kept incrementally: the sum over slots of a mix of (slot, value), two
 *   independent 32-bit lanes, updated by each write from the old and the new value (a
 *   slot holding 0 adds nothing, so an unused slot costs nothing and the vector may grow);
 * - a step's footprint is the slots it read and wrote (`track`).
 *
 * Values are numbers (exact to 2^53: a vpn or a nanosecond count fits), booleans as 0/1 and
 * strings by a 32-bit fingerprint of their contents (./strings.ts): the same string is the
 * same number in every run and every worker thread, so equal states hash equal everywhere.
 * Every write goes through `put`; a slot written any other way would be missed by the
 * hash — `freshHash` recomputes it from the slots, and the state-hash check compares the two.
 */

/** On an object laid out in a state vector: its first slot (the state hash names it by that). */
export const VECTOR_BASE: unique symbol = Symbol('thpsim.vector.base');
/** On an object laid out in a state vector: the vector. */
export const VECTOR: unique symbol = Symbol('thpsim.vector');

/** The bit pattern of a slot's value folded to 32 bits (an int32 is itself). */
const F64 = new Float64Array(1);
const I32 = new Int32Array(F64.buffer);
function bits(x: number): number {
  if ((x | 0) === x) return x;
  F64[0] = x;
  return I32[0]! ^ Math.imul(I32[1]!, 0x27d4eb2d);
}

/** A slot's share of the hash, lane 1 (0 for a 0). */
export function mixLo(i: number, x: number): number {
  if (x === 0) return 0;
  let h = Math.imul(bits(x) ^ Math.imul(i + 1, 0x9e3779b1), 0x85ebca77);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae3d);
  return h ^ (h >>> 16);
}

/** A slot's share of the hash, lane 2 (0 for a 0). */
export function mixHi(i: number, x: number): number {
  if (x === 0) return 0;
  let h = Math.imul((bits(x) + Math.imul(i + 1, 0x7feb352d)) | 0, 0x846ca68b);
  h ^= h >>> 15;
  h = Math.imul(h, 0x27d4eb2f);
  return h ^ (h >>> 15);
}

/**
 * Upper bounds of the scenario, that size the layouts of what varies in size (a list of
 * pmds to visit, the pages of one huge page...).
 */
export interface VectorBounds {
  /** HPAGE_PMD_NR. */
  readonly hpagePmdNr: number;
  /** Pmds one mm can have (the pmds its VMAs span: a fork's are its parent's). */
  readonly pmds: number;
  /** Pmds all the mms of the run can have, the forks' too. */
  readonly allPmds: number;
  /** Pages one mm's VMAs span. */
  readonly mmPages: number;
  /** mm_structs the run can have (the scenario's and every fork's). */
  readonly mms: number;
  /** Pages of any one file's page cache (its largest size or offset named, in pages). */
  readonly filePages: number;
  /** VMAs mapping a file, in all the mms of the run (a page of a file is mapped at most once in each). */
  readonly fileVmas: number;
  /** Pmds the VMAs mapping a file span, in all the mms of the run. */
  readonly filePmds: number;
  /** The scenario's actors (an rwsem's readers: a count each). */
  readonly actors: number;
  /** The scenario's files (their locks: an actor's held set). */
  readonly files: number;
}

/** One struct laid out in the vector: what errors and reports call it, where it starts, how long it is. */
export interface VectorRegion {
  readonly name: string;
  readonly base: number;
  readonly size: number;
}

/** A copy of the vector's slots and hash (StateVector.save). */
export interface VectorSaved {
  slots: Float64Array;
  /** The slots' hash, where it was kept when they were copied (hashed). */
  lo: number;
  hi: number;
  hashed: boolean;
}

export class StateVector {
  /** The slots (grown by doubling while structs are laid out). */
  w = new Float64Array(256);
  /** Slots laid out. */
  n = 0;
  /** The hash lanes over the slots, kept by every write once `hashing` (a run nobody hashes pays nothing for it). */
  lo = 0;
  hi = 0;
  hashing = false;
  /**
   * Structs made from now on take the plain layout (src/vector/struct.ts makePlain): own
   * properties of an object, not slots — for a world that is never copied nor hashed.
   */
  plain = false;
  /** While a step's footprint is recorded (track()): the slots it read and wrote. */
  tracking = false;
  readonly reads = new Set<number>();
  readonly writes = new Set<number>();
  readonly regions: VectorRegion[] = [];

  constructor(readonly bounds: VectorBounds) {}

  /** Lays out `size` slots (zeroed) for `name`; their first slot. */
  alloc(size: number, name: string): number {
    const base = this.n;
    if (base + size > this.w.length) {
      let len = this.w.length;
      while (base + size > len) len *= 2;
      const w = new Float64Array(len);
      w.set(this.w);
      this.w = w;
    }
    this.n += size;
    this.regions.push({ name, base, size });
    return base;
  }

  /** Slot i. */
  get(i: number): number {
    if (this.tracking) this.reads.add(i);
    return this.w[i]!;
  }

  /** Slot i = x, the hash kept (when hashing). */
  put(i: number, x: number): void {
    if (this.tracking) this.writes.add(i);
    const w = this.w;
    const o = w[i]!;
    if (o === x) return;
    w[i] = x;
    if (this.hashing) {
      this.lo = (this.lo + mixLo(i, x) - mixLo(i, o)) | 0;
      this.hi = (this.hi + mixHi(i, x) - mixHi(i, o)) | 0;
    }
  }

  /**
   * From now on keep the hash (computed once from the slots here): a search that hashes
   * states asks for it when it first hashes one (random and PCT schedules never do).
   */
  startHashing(): void {
    if (this.hashing) return;
    [this.lo, this.hi] = this.freshHash();
    this.hashing = true;
  }

  /** Starts recording the slots read and written (a step's footprint). */
  track(): void {
    this.reads.clear();
    this.writes.clear();
    this.tracking = true;
  }

  untrack(): void {
    this.tracking = false;
  }

  /** A copy of the slots in use and the hash (where kept); `into`: a copy to write over. */
  save(into?: VectorSaved): VectorSaved {
    const n = this.n;
    if (into && into.slots.length === n) {
      into.slots.set(this.w.subarray(0, n));
      into.lo = this.lo;
      into.hi = this.hi;
      into.hashed = this.hashing;
      return into;
    }
    return { slots: this.w.slice(0, n), lo: this.lo, hi: this.hi, hashed: this.hashing };
  }

  /**
   * Back to a copy, in place (slots laid out since are zeroed: a struct made after the copy
   * is gone with it). A copy made before the hash was kept gets it now, computed once.
   */
  restore(s: VectorSaved): void {
    this.w.set(s.slots);
    if (this.n > s.slots.length) {
      this.w.fill(0, s.slots.length, this.n);
      this.n = s.slots.length;
      while (this.regions.length && this.regions[this.regions.length - 1]!.base >= this.n) this.regions.pop();
    }
    if (!this.hashing) return;
    if (!s.hashed) {
      [s.lo, s.hi] = this.freshHash();
      s.hashed = true;
    }
    this.lo = s.lo;
    this.hi = s.hi;
  }

  /** The hash computed from the slots alone (what the incremental one must equal). */
  freshHash(): readonly [number, number] {
    let lo = 0;
    let hi = 0;
    const w = this.w;
    for (let i = 0; i < this.n; i++) {
      const x = w[i]!;
      if (x === 0) continue;
      lo = (lo + mixLo(i, x)) | 0;
      hi = (hi + mixHi(i, x)) | 0;
    }
    return [lo, hi];
  }

  /** What slot i is: the struct laid out there and the slot's offset in it. */
  describe(i: number): string {
    for (const r of this.regions) if (i >= r.base && i < r.base + r.size) return `${r.name}+${i - r.base}`;
    return `slot ${i}`;
  }
}

/** Whether an object is laid out in a state vector (its accessors read and write slots). */
export function inVector(o: object): boolean {
  return (o as { [VECTOR_BASE]?: number })[VECTOR_BASE] !== undefined;
}
