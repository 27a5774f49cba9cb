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
