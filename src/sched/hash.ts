/**
 * A running 64-bit hash of 32-bit words (two independent multiply-xorshift lanes),
 * printed as 16 hex digits. Cheap enough to fold in every scheduler step.
 */
export class TraceHash {
  private lo = 0x84222325;
  private hi = 0xcbf29ce4;

  word(w: number): void {
    let lo = Math.imul(this.lo ^ w, 0x01000193);
    lo ^= lo >>> 15;
    let hi = Math.imul(this.hi ^ w, 0x5bd1e995);
    hi ^= hi >>> 13;
    this.lo = lo >>> 0;
    this.hi = (hi + lo) >>> 0;
  }

  /** Where it is now, to go back to (restore). */
  save(): readonly [number, number] {
    return [this.lo, this.hi];
  }

  restore(s: readonly [number, number]): void {
    this.lo = s[0];
    this.hi = s[1];
  }

  digest(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}
