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

/**
 * The vector as it was (StateVector.save): where its undo trail stood — a restore undoes the
 * writes made since — and, for the first save of a run, a copy of its slots too.
 */
export interface VectorSaved {
  /** The trail's length then (`stacked`); DROPPED: no longer good (a restore went back past it); COPY: a copy, no trail. */
  mark: number;
  /** Slots laid out then. */
  n: number;
  /** A copy of the slots: every save's, or with `stacked` the first's (a restore there after many writes copies it back instead of undoing them). */
  slots: Float64Array | null;
  /** The slots' hash, where it was kept then (hashed). */
  lo: number;
  hi: number;
  hashed: boolean;
}

/** VectorSaved.mark of a save a restore went back past. */
const DROPPED = -1;
/** VectorSaved.mark of a save that is a copy of the slots (a vector whose saves are not `stacked`). */
const COPY = -2;

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

  /**
   * Once saved: every write since the first save, as (slot, old value) pairs — a restore
   * undoes them back to where the save found the trail (a search goes back only to saves on
   * its path, each above the last: SPIN's stack of states as writes).
   */
  private trail = new Float64Array(0);
  /**
   * Saves are restored in stack order — a restore drops the saves taken after it, as a
   * search going back along its path does (the dfs driver, RunPool) — so a save is where the
   * trail stands, and a restore undoes the writes since. Otherwise every save is a copy.
   */
  stacked = false;
  private trailN = 0;
  private trailing = false;
  /** The saves a restore may still go back to, oldest first (their marks rise). */
  private readonly live: VectorSaved[] = [];

  /** Slot i = x, the hash kept (when hashing). */
  put(i: number, x: number): void {
    if (this.tracking) this.writes.add(i);
    const w = this.w;
    const o = w[i]!;
    if (o === x) return;
    if (this.trailing) {
      if (this.trailN + 2 > this.trail.length) this.growTrail();
      this.trail[this.trailN++] = i;
      this.trail[this.trailN++] = o;
    }
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

  private growTrail(): void {
    const t = new Float64Array(Math.max(1024, this.trail.length * 2));
    t.set(this.trail.subarray(0, this.trailN));
    this.trail = t;
  }

  /**
   * The vector now, to come back to (`into`: a save no longer needed, to write over): where
   * the trail stands, and the hash. The first save copies the slots too, and starts the trail.
   */
  save(into?: VectorSaved): VectorSaved {
    const s: VectorSaved = into ?? { mark: COPY, n: 0, slots: null, lo: 0, hi: 0, hashed: false };
    const n = this.n;
    s.n = n;
    s.lo = this.lo;
    s.hi = this.hi;
    s.hashed = this.hashing;
    if (!this.stacked) {
      if (s.slots !== null && s.slots.length === n) s.slots.set(this.w.subarray(0, n));
      else s.slots = this.w.slice(0, n);
      s.mark = COPY;
      return s;
    }
    if (into !== undefined) {
      const at = this.live.indexOf(into);
      if (at >= 0) this.live.splice(at, 1);
    }
    s.mark = this.trailN;
    s.slots = this.trailing ? null : this.w.slice(0, n);
    this.trailing = true;
    this.live.push(s);
    return s;
  }

  /**
   * Back to a save, in place: the writes since undone (or, where they are many, its copy of
   * the slots written back); slots laid out since are zeroed (a struct made after the save is
   * gone with it). Saves taken after it are no longer good. A save made before the hash was
   * kept gets it now, computed once.
   */
  restore(s: VectorSaved): void {
    const w = this.w;
    if (s.mark === COPY) w.set(s.slots!);
    else {
      const at = this.live.lastIndexOf(s);
      if (at < 0 || s.mark > this.trailN) throw new Error('state vector: a restore to a save that a restore before it went back past');
      // (the saves after it go: what they would undo is being undone)
      while (this.live.length > at + 1) this.live.pop()!.mark = DROPPED;
      this.undoTo(s);
    }
    if (this.n > s.n) {
      w.fill(0, s.n, this.n);
      this.n = s.n;
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

  /** The slots as at a stacked save: the writes since undone, or its copy written back where they are many. */
  private undoTo(s: VectorSaved): void {
    const w = this.w;
    const t = this.trail;
    if (s.slots !== null && this.trailN - s.mark > 2 * s.slots.length) {
      w.set(s.slots);
      this.trailN = s.mark;
    } else {
      let k = this.trailN;
      while (k > s.mark) {
        k -= 2;
        w[t[k]!] = t[k + 1]!;
      }
      this.trailN = k;
    }
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
