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
 *
 * Beside the slots, columns: typed arrays indexed by one number (the page store's struct
 * page fields, by pfn), registered by their owner, which grows them as it needs (pages are
 * allocated on demand: no bound from the scenario) and writes them through `putCol` — an
 * element is hashed, trailed and restored as a slot is, by (column, index), wherever the
 * array lives; an element at its column's fill adds nothing to the hash, so a column may grow.
 */

/** On an object laid out in a state vector: its first slot (the state hash names it by that). */
export const VECTOR_BASE: unique symbol = Symbol('thpsim.vector.base');
/**
 * On an object whose arrays are columns of a state vector (an inode's page cache): its first
 * column. A walk writes it, as a struct's first slot, and does not enter the object.
 */
export const VECTOR_COLUMNS: unique symbol = Symbol('thpsim.vector.columns');
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
  /** With `slots`: a copy of each column. */
  cols: Column[] | null;
  /** The slots' hash, where it was kept then (hashed). */
  lo: number;
  hi: number;
  hashed: boolean;
}

/** The arrays a column may be (each element a number; written through StateVector.putCol). */
export type Column = Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array;

/**
 * At most this many columns; in the undo trail (a Float64Array, exact below 2^53) an element
 * is -1 - (index × COLUMNS + column), so a column may have 2^31 elements. (A scenario of
 * 20,000 mm_structs lays out some 60,000 columns: their expected data, replaced vpns and
 * pmds to retry.)
 */
const COLUMNS = 1 << 22;
/** Elements a column may have. */
const COLUMN_MAX = 0x40000000;
/**
 * An element's number in the hash (a slot's is its index): its index within its column, the
 * column's own bits above the slots' (distinct within a column; across columns as a hash).
 */
function columnId(c: number, i: number): number {
  return (0x40000000 | Math.imul(c + 1, 0x2545f491)) ^ i;
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
  /** The columns, their fills and names (addColumn); whether each is hashed. */
  private readonly cols: Column[] = [];
  private readonly fills: number[] = [];
  private readonly colNames: string[] = [];
  private readonly colHashed: boolean[] = [];
  /** Per column, its kind of array (0 Float64, 1 Int32, 2 Uint8, 3 Uint16, 4 other): a restore stores by kind. */
  private readonly colKinds: number[] = [];

  constructor(readonly bounds: VectorBounds) {}

  /**
   * Registers a column (`fill`: what its elements hold until written, and what its owner fills
   * the room it grows by with); its number. Its owner writes it through putCol, and hands the
   * new array to setColumn whenever it grows it. `hashed` false: not model state but what a
   * monitor derives from it and keeps between steps (ScratchCells) — trailed and restored
   * with the vector, never hashed.
   */
  addColumn(name: string, a: Column, fill: number, hashed = true): number {
    if (this.cols.length === COLUMNS) throw new Error(`state vector: no room for column ${name} (at most ${COLUMNS})`);
    this.cols.push(a);
    this.fills.push(fill);
    this.colNames.push(name);
    this.colHashed.push(hashed);
    this.colKinds.push(a instanceof Float64Array ? 0 : a instanceof Int32Array ? 1 : a instanceof Uint8Array ? 2 : a instanceof Uint16Array ? 3 : 4);
    this.setColumn(this.cols.length - 1, a);
    if (this.hashing) [this.lo, this.hi] = this.freshHash();
    return this.cols.length - 1;
  }

  /** Column c is now `a` (grown: its elements copied, the room past them at its fill). */
  setColumn(c: number, a: Column): void {
    if (a.length > COLUMN_MAX) throw new Error(`state vector: column ${this.colNames[c]} of ${a.length} elements, more than ${COLUMN_MAX}`);
    this.cols[c] = a;
  }

  /** Element i of column c = x, the hash kept (when hashing) and the old value trailed (once saved). */
  putCol(c: number, i: number, x: number): void {
    const a = this.cols[c]!;
    const o = a[i]!;
    a[i] = x;
    const y = a[i]!; // (as the array holds it)
    if (o !== y) this.wrote(c, i, o, y);
  }

  /**
   * Element i of column c went from o to y, written by its owner into its own array (where
   * each write sees one kind of array): the hash kept and the old value trailed, as putCol.
   */
  wrote(c: number, i: number, o: number, y: number): void {
    if (this.trailing) {
      if (this.trailN + 2 > this.trail.length) this.growTrail();
      this.trail[this.trailN++] = -1 - (i * COLUMNS + c);
      this.trail[this.trailN++] = o;
    }
    if (this.hashing && this.colHashed[c]) {
      const id = columnId(c, i);
      const f = this.fills[c]!;
      this.lo = (this.lo + mixLo(id, y - f) - mixLo(id, o - f)) | 0;
      this.hi = (this.hi + mixHi(id, y - f) - mixHi(id, o - f)) | 0;
    }
  }

  /** Copies of the columns (a save's). */
  private copyColumns(into: Column[] | null): Column[] {
    const out = into !== null && into.length === this.cols.length ? into : [];
    for (let c = 0; c < this.cols.length; c++) {
      const a = this.cols[c]!;
      const have = out[c];
      if (have !== undefined && have.length === a.length) have.set(a);
      else out[c] = a.slice();
    }
    return out;
  }

  /** The columns as copied (a column grown since: the copy, then its fill). */
  private writeColumns(copies: readonly Column[]): void {
    for (let c = 0; c < copies.length; c++) {
      const a = this.cols[c]!;
      const copy = copies[c]!;
      a.set(copy);
      if (a.length > copy.length) a.fill(this.fills[c]!, copy.length);
    }
  }

  /** Columns registered. */
  get columnCount(): number {
    return this.cols.length;
  }

  /** Elements in all the columns. */
  columnElements(): number {
    let n = 0;
    for (const a of this.cols) n += a.length;
    return n;
  }

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
  /** Called after every restore, in the order given: owners of fields that mirror slots or columns read them back. */
  private readonly restored: (() => void)[] = [];

  /** After every restore, fn (an owner whose fields mirror its slots or columns: the page store's nr and free lists). */
  onRestore(fn: () => void): void {
    this.restored.push(fn);
  }

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
    const s: VectorSaved = into ?? { mark: COPY, n: 0, slots: null, cols: null, lo: 0, hi: 0, hashed: false };
    const n = this.n;
    s.n = n;
    s.lo = this.lo;
    s.hi = this.hi;
    s.hashed = this.hashing;
    if (!this.stacked) {
      if (s.slots !== null && s.slots.length === n) s.slots.set(this.w.subarray(0, n));
      else s.slots = this.w.slice(0, n);
      s.cols = this.cols.length ? this.copyColumns(s.cols) : null;
      s.mark = COPY;
      return s;
    }
    if (into !== undefined) {
      const at = this.live.indexOf(into);
      if (at >= 0) this.live.splice(at, 1);
    }
    s.mark = this.trailN;
    s.slots = this.trailing ? null : this.w.slice(0, n);
    s.cols = this.trailing || !this.cols.length ? null : this.copyColumns(null);
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
    if (s.mark === COPY) {
      w.set(s.slots!);
      if (s.cols !== null) this.writeColumns(s.cols);
    } else {
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
    for (let i = 0; i < this.restored.length; i++) this.restored[i]!();
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
    if (s.slots !== null && this.trailN - s.mark > 2 * (s.slots.length + this.columnElements())) {
      w.set(s.slots);
      if (s.cols !== null) this.writeColumns(s.cols);
      this.trailN = s.mark;
    } else {
      const cols = this.cols;
      let k = this.trailN;
      while (k > s.mark) {
        k -= 2;
        const i = t[k]!;
        if (i >= 0) w[i] = t[k + 1]!;
        else {
          // (a column's element: -1 - (index × COLUMNS + column)), stored by the column's
          // kind, so each store sees one kind of array
          const e = -1 - i;
          const c = e % COLUMNS;
          const at = Math.floor(e / COLUMNS);
          const a = cols[c]!;
          switch (this.colKinds[c]) {
            case 0: (a as Float64Array)[at] = t[k + 1]!; break;
            case 1: (a as Int32Array)[at] = t[k + 1]!; break;
            case 2: (a as Uint8Array)[at] = t[k + 1]!; break;
            case 3: (a as Uint16Array)[at] = t[k + 1]!; break;
            default: a[at] = t[k + 1]!;
          }
        }
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
    for (let c = 0; c < this.cols.length; c++) {
      if (!this.colHashed[c]) continue;
      const a = this.cols[c]!;
      const f = this.fills[c]!;
      for (let i = 0; i < a.length; i++) {
        const x = a[i]!;
        if (x === f) continue;
        const id = columnId(c, i);
        lo = (lo + mixLo(id, x - f)) | 0;
        hi = (hi + mixHi(id, x - f)) | 0;
      }
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

/**
 * Numbers a monitor keeps from one step to the next that are not model state but derived
 * from it (the lock classes each actor holds, the actors resting where they may spin or
 * sleep): in a world a search copies and hashes an unhashed column of the state vector —
 * trailed and restored with it, so a save copies nothing — elsewhere an array of its own.
 * Grown as written; an element never written reads 0.
 */
export class ScratchCells {
  private a = new Float64Array(16);
  private readonly sv: StateVector | null;
  private readonly c: number;

  constructor(sv: StateVector, name: string) {
    this.sv = sv.plain ? null : sv;
    this.c = this.sv === null ? -1 : this.sv.addColumn(name, this.a, 0, false);
  }

  get(i: number): number {
    return i < this.a.length ? this.a[i]! : 0;
  }

  set(i: number, x: number): void {
    if (i >= this.a.length) {
      let n = this.a.length;
      while (n <= i) n *= 2;
      const b = new Float64Array(n);
      b.set(this.a);
      this.a = b;
      this.sv?.setColumn(this.c, b);
    }
    const o = this.a[i]!;
    this.a[i] = x;
    if (this.sv !== null && o !== x) this.sv.wrote(this.c, i, o, x);
  }
}
