/**
 * A Map from numbers to numbers that a world a search copies and hashes also keeps in the
 * state vector: a column [how many, then (key, value) pairs in the Map's order] (past the
 * pairs, 0), written as the Map changes, and read back into the Map by a restore. Its order
 * is its insertion order, as a Map's (a key set again keeps its place; one deleted and set
 * again goes last), and it is part of what is hashed, as a walk of the Map hashed it — so
 * the states a search tells apart are the same. For a map that changes far more often than
 * the object holding it (an mm's expected data: every anonymous store) — the holder need not
 * be hashed and copied again for it.
 *
 * The column is kept behind a symbol key: a recording view (a footprint's) sees the Map's
 * keys as it always has, not this copy of them. A walk of the holder writes the column's
 * number and does not enter the Map (VECTOR_COLUMNS).
 *
 * A restore reads the column back only if the Map changed since the state it goes back to
 * (a ChangeStamp).
 */
import { type StateVector, VECTOR_COLUMNS } from './state_vector.ts';
import { ChangeStamp } from './change_stamp.ts';

const MIRROR: unique symbol = Symbol('thpsim.vector_map');

/** What a column reads back into after a restore that moved it: its n pairs (from index 1). */
interface Refillable {
  refill(a: Float64Array, n: number): void;
}

class MapColumn {
  private a = new Float64Array(16);
  readonly c: number;
  private readonly stamp: ChangeStamp;

  constructor(private readonly sv: StateVector, name: string, private readonly map: Refillable) {
    this.c = sv.addColumn(name, this.a, 0);
    this.stamp = new ChangeStamp(sv, name);
  }

  /** Whether a restore reads the column back: from its first change on (never changed, it holds what the object does). */
  private watched = false;

  /** Where each key's pair is (0: the first pair, at column index 1). */
  private readonly pos = new Map<number, number>();

  /** key = value: its pair's value written in place, or a pair appended. */
  set(key: number, value: number): void {
    const p = this.pos.get(key);
    if (p !== undefined) this.put(2 + 2 * p, value);
    else {
      const n = this.a[0]!;
      this.room(n + 1);
      this.pos.set(key, n);
      this.put(1 + 2 * n, key);
      this.put(2 + 2 * n, value);
      this.put(0, n + 1);
    }
    this.changed();
  }

  /** key's pair out, the pairs after it moved down one (the Map's order). */
  delete(key: number): void {
    const p = this.pos.get(key)!;
    this.pos.delete(key);
    const n = this.a[0]!;
    for (let i = p + 1; i < n; i++) {
      const k = this.a[1 + 2 * i]!;
      this.put(1 + 2 * (i - 1), k);
      this.put(2 + 2 * (i - 1), this.a[2 + 2 * i]!);
      this.pos.set(k, i - 1);
    }
    this.put(1 + 2 * (n - 1), 0);
    this.put(2 + 2 * (n - 1), 0);
    this.put(0, n - 1);
    this.changed();
  }

  clear(): void {
    const n = this.a[0]!;
    for (let i = 1; i < 1 + 2 * n; i++) this.put(i, 0);
    this.put(0, 0);
    this.pos.clear();
    this.changed();
  }

  private room(pairs: number): void {
    if (1 + 2 * pairs <= this.a.length) return;
    let len = this.a.length;
    while (len < 1 + 2 * pairs) len *= 2;
    const b = new Float64Array(len);
    b.set(this.a);
    this.a = b;
    this.sv.setColumn(this.c, b);
  }

  private changed(): void {
    this.stamp.changed();
    if (!this.watched) {
      this.watched = true;
      this.sv.onRestore(() => this.restored());
    }
  }

  private put(i: number, x: number): void {
    const o = this.a[i]!;
    this.a[i] = x;
    if (o !== x) this.sv.wrote(this.c, i, o, x);
  }

  private restored(): void {
    if (!this.stamp.moved()) return;
    const a = this.a;
    const n = a[0]!;
    this.map.refill(a, n);
    this.pos.clear();
    for (let i = 0; i < n; i++) this.pos.set(a[1 + 2 * i]!, i);
  }
}

/**
 * The column mirroring an empty Map or Set from now on; the object is marked with its number
 * (a walk of its holder writes that and does not enter it).
 */
function mirror(o: (Map<number, number> | Set<number>) & Refillable, sv: StateVector, name: string): MapColumn {
  if (o.size !== 0) throw new Error(`${name}: laid in a state vector after its first entry`);
  const m = new MapColumn(sv, name, o);
  (o as unknown as Record<symbol, number>)[VECTOR_COLUMNS] = m.c;
  return m;
}

export class VectorMap extends Map<number, number> implements Refillable {
  private [MIRROR]: MapColumn | null = null;

  /** From now on also a column of the vector (named `name`). */
  layIn(sv: StateVector, name: string): void {
    this[MIRROR] = mirror(this, sv, name);
  }

  override set(key: number, value: number): this {
    super.set(key, value);
    this[MIRROR]?.set(key, value);
    return this;
  }

  override delete(key: number): boolean {
    const had = super.delete(key);
    if (had) this[MIRROR]?.delete(key);
    return had;
  }

  override clear(): void {
    const had = this.size !== 0;
    super.clear();
    if (had) this[MIRROR]?.clear();
  }

  /** A restore's: the Map = the n pairs of the column `a` (from index 1), in their order. */
  refill(a: Float64Array, n: number): void {
    super.clear();
    for (let i = 0; i < n; i++) super.set(a[1 + 2 * i]!, a[2 + 2 * i]!);
  }
}

/**
 * A Set of numbers kept as VectorMap keeps a Map: also a column of the vector, [how many,
 * then (member, 1) pairs in the Set's order] — for a set that an object holds beside fields
 * laid out in the vector (an mm's replaced vpns and pmds to retry), so that a change of it
 * does not make the holder hashed and copied again. A recording view (a footprint's) sees
 * the Set's keys as it always has.
 */
export class VectorSet extends Set<number> implements Refillable {
  private [MIRROR]: MapColumn | null = null;

  /** From now on also a column of the vector (named `name`). */
  layIn(sv: StateVector, name: string): void {
    this[MIRROR] = mirror(this, sv, name);
  }

  override add(key: number): this {
    if (!super.has(key)) {
      super.add(key);
      this[MIRROR]?.set(key, 1);
    }
    return this;
  }

  override delete(key: number): boolean {
    const had = super.delete(key);
    if (had) this[MIRROR]?.delete(key);
    return had;
  }

  override clear(): void {
    const had = this.size !== 0;
    super.clear();
    if (had) this[MIRROR]?.clear();
  }

  /** A restore's: the Set = the members of the column's n pairs, in their order. */
  refill(a: Float64Array, n: number): void {
    super.clear();
    for (let i = 0; i < n; i++) super.add(a[1 + 2 * i]!);
  }
}
