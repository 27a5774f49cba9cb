/** A running 64-bit FNV-1a over 32-bit words (two lanes), printed as 16 hex digits. */
export class TraceHash {
  private lo = 0x84222325;
  private hi = 0xcbf29ce4;

  word(w: number): void {
    for (let i = 0; i < 4; i++) {
      this.lo ^= (w >>> (i * 8)) & 0xff;
      // multiply (hi,lo) by the 64-bit FNV prime 0x100000001b3
      const lo = this.lo;
      const loMul = lo * 0x1b3;
      const newLo = loMul >>> 0;
      const carry = Math.floor(loMul / 4294967296);
      this.hi = (Math.imul(this.hi, 0x1b3) + (lo << 8) + carry) >>> 0;
      this.lo = newLo;
    }
  }

  digest(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}
