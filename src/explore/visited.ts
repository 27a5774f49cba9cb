/**
 * The dfs's visited states: 64-bit state hashes (two 32-bit words, as StateHasher's
 * digestWords gives them) to a small number each — an open-addressing table of typed
 * arrays, so a lookup is a few array reads, not a hex string built and hashed again.
 */
export class VisitedStates {
  private lo = new Int32Array(1 << 12);
  private hi = new Int32Array(1 << 12);
  /** The value + 1 (0: the slot is empty). */
  private val = new Int32Array(1 << 12);
  size = 0;

  /** The value stored for the state, or -1 if it was never seen. */
  get(lo: number, hi: number): number {
    const mask = this.val.length - 1;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const v = this.val[i]!;
      if (v === 0) return -1;
      if (this.lo[i] === lo && this.hi[i] === hi) return v - 1;
    }
  }

  /** Store (or replace) the state's value (≥ 0). */
  set(lo: number, hi: number, value: number): void {
    if ((this.size + 1) * 2 > this.val.length) this.grow();
    const mask = this.val.length - 1;
    for (let i = lo & mask; ; i = (i + 1) & mask) {
      const v = this.val[i]!;
      if (v === 0) {
        this.lo[i] = lo;
        this.hi[i] = hi;
        this.val[i] = value + 1;
        this.size++;
        return;
      }
      if (this.lo[i] === lo && this.hi[i] === hi) {
        this.val[i] = value + 1;
        return;
      }
    }
  }

  private grow(): void {
    const { lo, hi, val } = this;
    const n = val.length * 2;
    this.lo = new Int32Array(n);
    this.hi = new Int32Array(n);
    this.val = new Int32Array(n);
    this.size = 0;
    for (let i = 0; i < val.length; i++) if (val[i] !== 0) this.set(lo[i]!, hi[i]!, val[i]! - 1);
  }
}

/**
 * The visited states of a dfs run by several workers at once (`--workers` with dfs): the
 * same 64-bit state hashes in an open-addressing table on a SharedArrayBuffer, claimed by
 * compare-and-swap, so a state one worker reached is pruned in every other (TLC's shared
 * fingerprint set). Fixed capacity (a shared buffer cannot be rehashed under the workers'
 * feet): sized for the search's state bound at most half full.
 */
export class SharedVisitedStates {
  private readonly slots: BigInt64Array;
  private readonly count: Int32Array;
  private readonly mask: number;

  /** A table for up to `maxStates` states. */
  static create(maxStates: number): SharedArrayBuffer {
    let n = 1 << 12;
    while (n < maxStates * 2) n *= 2;
    return new SharedArrayBuffer(8 + n * 8);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    this.count = new Int32Array(buffer, 0, 1);
    this.slots = new BigInt64Array(buffer, 8);
    this.mask = this.slots.length - 1;
  }

  /** States in the table, from every worker. */
  get size(): number {
    return Atomics.load(this.count, 0);
  }

  /** Whether the table can take another state (it is never let past 3/4 full). */
  get full(): boolean {
    return this.size * 4 >= this.slots.length * 3;
  }

  /**
   * Add a state: if it is new, the number of states in the table with it (this worker is
   * the one that added it: its n-th), else 0.
   */
  add(lo: number, hi: number): number {
    let key = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
    if (key === 0n) key = 1n; // (0 marks an empty slot)
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      let v = Atomics.load(this.slots, i);
      if (v === 0n) {
        v = Atomics.compareExchange(this.slots, i, 0n, key);
        if (v === 0n) return Atomics.add(this.count, 0, 1) + 1;
      }
      if (v === key) return 0;
    }
  }
}

/**
 * The search states of a preemption-bounded dfs run by several workers at once (model
 * state and last actor: see ExploreOptions.preemptionBound), each with the fewest
 * preemptions any worker reached it with. Keys are claimed by compare-and-swap as in
 * SharedVisitedStates; the value beside each is lowered by compare-and-swap, so of the
 * workers that reach a search state, one expands it per new fewest count.
 */
export class SharedBoundedStates {
  private readonly slots: BigInt64Array;
  /** The fewest preemptions + 1 (0: the key is claimed and its value not yet written). */
  private readonly fewest: Int32Array;
  private readonly count: Int32Array;
  private readonly mask: number;

  /** A table for up to `entries` search states. */
  static create(entries: number): SharedArrayBuffer {
    let n = 1 << 12;
    while (n < entries * 2) n *= 2;
    return new SharedArrayBuffer(8 + n * 12);
  }

  constructor(readonly buffer: SharedArrayBuffer) {
    const n = (buffer.byteLength - 8) / 12;
    this.count = new Int32Array(buffer, 0, 1);
    this.slots = new BigInt64Array(buffer, 8, n);
    this.fewest = new Int32Array(buffer, 8 + n * 8, n);
    this.mask = n - 1;
  }

  /** Whether the table can take another search state (it is never let past 3/4 full). */
  get full(): boolean {
    return Atomics.load(this.count, 0) * 4 >= this.slots.length * 3;
  }

  /** Record the search state as reached with `used` preemptions: whether that is fewer than any worker's before (then the caller expands it). */
  lower(lo: number, hi: number, used: number): boolean {
    let key = (BigInt(hi) << 32n) | BigInt(lo >>> 0);
    if (key === 0n) key = 1n; // (0 marks an empty slot)
    for (let i = lo & this.mask; ; i = (i + 1) & this.mask) {
      let v = Atomics.load(this.slots, i);
      if (v === 0n) {
        v = Atomics.compareExchange(this.slots, i, 0n, key);
        if (v === 0n) {
          Atomics.add(this.count, 0, 1);
          v = key;
        }
      }
      if (v !== key) continue;
      for (;;) {
        const was = Atomics.load(this.fewest, i);
        if (was !== 0 && was - 1 <= used) return false;
        if (Atomics.compareExchange(this.fewest, i, was, used + 1) === was) return true;
      }
    }
  }
}
