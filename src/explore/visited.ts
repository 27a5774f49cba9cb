/**
 * The dfs's visited states: 64-bit state hashes (two 32-bit words, as StateHasher's
 * digestWords gives them) to a small number each — an open-addressing table of typed
 * arrays, so a lookup is a few array reads, not a hex string built and hashed again.
 */
export class VisitedStates {
  /**
   * Slot i is words 3i..3i+2: the value + 1 (0: the slot is empty), then the hash's two
   * words — together, so a lookup that finds its state reads one cache line, not three
   * arrays' (the table is far larger than the caches: most lookups miss them).
   */
  private t = new Int32Array(3 << 12);
  private slots = 1 << 12;
  size = 0;

  /** What the table takes: three 32-bit words a slot (a 64-bit hash and its value), half of the slots at most in use. */
  get bytes(): number {
    return this.t.byteLength;
  }

  /** The state's slot (its first word), or -1 - the empty slot where it would go. */
  private slot(lo: number, hi: number): number {
    const t = this.t;
    const mask = this.slots - 1;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const at = 3 * i;
      if (t[at] === 0) return -1 - at;
      if (t[at + 1] === lo && t[at + 2] === hi) return at;
    }
  }

  /** The state into the empty slot at `at`, with its value. */
  private fill(at: number, lo: number, hi: number, value: number): void {
    const t = this.t;
    t[at] = value + 1;
    t[at + 1] = lo;
    t[at + 2] = hi;
    this.size++;
    this.added = at;
  }

  /** The value stored for the state, or -1 if it was never seen. */
  get(lo: number, hi: number): number {
    const at = this.slot(lo, hi);
    return at < 0 ? -1 : this.t[at]! - 1;
  }

  /** Where add() put the last state it added (its slot's first word), for replaceAdded(). */
  private added = -1;

  /**
   * The value stored for the state, as get(); or, if it was never seen, -1 with the state
   * stored with `value` (≥ 0) — one probe where a get() and a set() would be two (most of a
   * search's lookups are cache misses on a table far larger than the caches).
   */
  add(lo: number, hi: number, value: number): number {
    if ((this.size + 1) * 2 > this.slots) this.grow();
    const at = this.slot(lo, hi);
    if (at >= 0) return this.t[at]! - 1;
    this.fill(-1 - at, lo, hi, value);
    return -1;
  }

  /** The value of the state add() added last (no other change to the table since). */
  replaceAdded(value: number): void {
    this.t[this.added] = value + 1;
  }

  /** Store (or replace) the state's value (≥ 0). */
  set(lo: number, hi: number, value: number): void {
    if ((this.size + 1) * 2 > this.slots) this.grow();
    const at = this.slot(lo, hi);
    if (at >= 0) this.t[at] = value + 1;
    else this.fill(-1 - at, lo, hi, value);
  }

  private grow(): void {
    const old = this.t;
    const n = this.slots * 2;
    this.t = new Int32Array(3 * n);
    this.slots = n;
    this.size = 0;
    for (let at = 0; at < old.length; at += 3) if (old[at] !== 0) this.set(old[at + 1]!, old[at + 2]!, old[at]! - 1);
  }
}

/** A shared table's slot: claimed by compare-and-swap of its tag, then written, then marked ready. */
const EMPTY = 0;
const WRITING = 1;
const READY = 2;

/**
 * An open-addressing table of 64-bit state hashes on a SharedArrayBuffer, which several
 * workers add to at once. A slot is `stride` Int32 words: its tag, the hash's two words,
 * and what the table keeps beside them. A worker claims an empty slot by compare-and-swap
 * of its tag, writes the hash and marks it ready; a worker probing past a slot being
 * written waits the few instructions until it is ready. Int32 atomics only: V8 compiles
 * them inline, where 64-bit keys would be a BigInt made per lookup. Fixed capacity (a
 * shared buffer cannot be rehashed under the workers' feet): never let past 3/4 full.
 */
abstract class SharedTable {
  protected readonly words: Int32Array;
  /** Slots in use (word 0). */
  private readonly count: Int32Array;
  private readonly mask: number;
  /** After slot() claimed a new slot: the slots in use with it (this worker's n-th). */
  protected added = 0;

  protected static bytes(entries: number, stride: number): number {
    let n = 1 << 12;
    while (n < entries * 2) n *= 2;
    return 4 + n * stride * 4;
  }

  constructor(readonly buffer: SharedArrayBuffer, private readonly stride: number) {
    this.count = new Int32Array(buffer, 0, 1);
    this.words = new Int32Array(buffer, 4);
    this.mask = this.words.length / stride - 1;
  }

  /** Slots in use, by every worker. */
  get size(): number {
    return Atomics.load(this.count, 0);
  }

  /** Whether the table can take another entry. */
  get full(): boolean {
    return this.size * 4 >= (this.mask + 1) * 3;
  }

  /**
   * The first word of the hash's slot, claiming an empty one if it is new: then as ~word
   * (negative), with `added` set.
   */
  protected slot(lo: number, hi: number): number {
    const { words, stride } = this;
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      const at = i * stride;
      let tag = Atomics.load(words, at);
      if (tag === EMPTY) {
        tag = Atomics.compareExchange(words, at, EMPTY, WRITING);
        if (tag === EMPTY) {
          Atomics.store(words, at + 1, lo);
          Atomics.store(words, at + 2, hi);
          Atomics.store(words, at, READY);
          this.added = Atomics.add(this.count, 0, 1) + 1;
          return ~at;
        }
      }
      while (tag === WRITING) tag = Atomics.load(words, at);
      if (Atomics.load(words, at + 1) === lo && Atomics.load(words, at + 2) === hi) return at;
    }
  }
}

/**
 * The visited states of a dfs run by several workers at once (`--workers` with dfs), so a
 * state one worker reached is pruned in every other (TLC's shared fingerprint set).
 */
export class SharedVisitedStates extends SharedTable {
  /** A table for up to `maxStates` states. */
  static create(maxStates: number): SharedArrayBuffer {
    return new SharedArrayBuffer(SharedTable.bytes(maxStates, 3));
  }

  /** The bytes a parallel dfs of at most `maxStates` states lays out at its start: this table, and with a preemption bound the search states' (SharedBoundedStates, twice the entries). */
  static bytesFor(maxStates: number, bounded: boolean): number {
    return SharedTable.bytes(maxStates, 3) + (bounded ? SharedTable.bytes(2 * maxStates, 4) : 0);
  }

  constructor(buffer: SharedArrayBuffer) {
    super(buffer, 3);
  }

  /**
   * Add a state: if it is new, the number of states in the table with it (this worker is
   * the one that added it: its n-th), else 0.
   */
  add(lo: number, hi: number): number {
    return this.slot(lo, hi) < 0 ? this.added : 0;
  }
}

/**
 * The search states of a preemption-bounded dfs run by several workers at once (model
 * state and last actor: see ExploreOptions.preemptionBound), each with the fewest
 * preemptions any worker reached it with, lowered by compare-and-swap: of the workers
 * that reach a search state, one expands it per new fewest count.
 */
export class SharedBoundedStates extends SharedTable {
  /** A table for up to `entries` search states. */
  static create(entries: number): SharedArrayBuffer {
    return new SharedArrayBuffer(SharedTable.bytes(entries, 4));
  }

  constructor(buffer: SharedArrayBuffer) {
    super(buffer, 4);
  }

  /** Record the search state as reached with `used` preemptions: whether that is fewer than any worker's before (then the caller expands it). */
  lower(lo: number, hi: number, used: number): boolean {
    let at = this.slot(lo, hi);
    if (at < 0) at = ~at;
    // (the fewest + 1; 0: none written yet)
    for (;;) {
      const was = Atomics.load(this.words, at + 3);
      if (was !== 0 && was - 1 <= used) return false;
      if (Atomics.compareExchange(this.words, at + 3, was, used + 1) === was) return true;
    }
  }
}
