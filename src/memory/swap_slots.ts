/**
 * The swap device's slots: offset → the data token swap_writepage() wrote there. A Map, as
 * the kernel code uses it (get_swap_page, swap_readpage, swap_free); in a world a search
 * copies and hashes, also a column of the state vector (indexed by offset; EMPTY where no
 * slot is in use), written as the Map changes and read back by a restore — so the kernel,
 * which holds it, is no longer re-hashed and copied at every swap-out. Offsets are never
 * reused (get_swap_page()'s counter, a kernel global, only grows), so the Map's order is
 * its offsets' and the column says all a hash of it said.
 *
 * The column is kept behind a symbol key: a recording view (a footprint's) sees the Map's
 * keys as it always has, not this copy of them.
 */
import { type StateVector, VECTOR_COLUMNS } from '../vector/state_vector.ts';

/** No slot in use at this offset (a token is ≥ -1). */
const EMPTY = -2147483648;
const MIRROR: unique symbol = Symbol('thpsim.swap_slots');

class SwapColumn {
  private a = new Int32Array(16).fill(EMPTY);
  readonly c: number;

  constructor(private readonly sv: StateVector, private readonly slots: SwapSlots, private readonly next: () => number) {
    this.c = sv.addColumn('swap_map', this.a, EMPTY);
    sv.onRestore(() => this.restored());
  }

  put(off: number, token: number): void {
    if (off >= this.a.length) {
      let n = this.a.length;
      while (n <= off) n *= 2;
      const b = new Int32Array(n).fill(EMPTY);
      b.set(this.a);
      this.a = b;
      this.sv.setColumn(this.c, b);
    }
    const o = this.a[off]!;
    this.a[off] = token;
    if (o !== token) this.sv.wrote(this.c, off, o, token);
  }

  /** The Map as the column says (the offsets handed out so far; none past them is in use). */
  private restored(): void {
    const n = Math.min(this.next(), this.a.length);
    for (const off of this.slots.keys()) if (off >= n) this.slots.drop(off);
    for (let off = 0; off < n; off++) {
      const t = this.a[off]!;
      if (t === EMPTY) {
        if (this.slots.has(off)) this.slots.drop(off);
      } else if (this.slots.get(off) !== t) this.slots.keep(off, t);
    }
  }
}

export class SwapSlots extends Map<number, number> {
  private [MIRROR]: SwapColumn | null = null;

  /** In a world a search copies and hashes: mirrored in a column; `next`: the offsets handed out so far. */
  layIn(sv: StateVector, next: () => number): void {
    const m = new SwapColumn(sv, this, next);
    this[MIRROR] = m;
    // (walks write where its column is and do not enter it)
    (this as unknown as Record<symbol, number>)[VECTOR_COLUMNS] = m.c;
  }

  override set(off: number, token: number): this {
    super.set(off, token);
    this[MIRROR]?.put(off, token);
    return this;
  }

  override delete(off: number): boolean {
    const had = super.delete(off);
    if (had) this[MIRROR]?.put(off, EMPTY);
    return had;
  }

  override clear(): void {
    for (const off of this.keys()) this.delete(off);
  }

  /** A restore's writes: the Map only, the column being where they come from. */
  drop(off: number): void {
    super.delete(off);
  }

  keep(off: number, token: number): void {
    super.set(off, token);
  }
}
