import type { StateVector } from '../vector/state_vector.ts';

/**
 * Helpers for a monitor's ghost state (Monitor.state), which the dfs hashes: kept canonical,
 * so that two paths that leave a monitor knowing the same thing hash alike.
 */

/**
 * A per-pfn array with room for index `i`: `a` itself if it has, else a copy doubled until
 * it has (so its length, and what the dfs hashes of it, grows with the highest pfn seen).
 */
export function fit<T extends Int32Array | Uint32Array | Uint8Array>(a: T, i: number): T {
  if (i < a.length) return a;
  let n = a.length;
  while (n <= i) n *= 2;
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

/**
 * Add d to a count kept in a Map, deleting the entry when it comes back to 0 — a count of 0
 * and no entry are one state. (Such Maps are hashed as multisets, whatever their insertion
 * order: their field names are in shape.ts's UNORDERED.)
 */
export function addCount<K>(counts: Map<K, number>, key: K, d: number): void {
  const n = (counts.get(key) ?? 0) + d;
  if (n === 0) counts.delete(key);
  else counts.set(key, n);
}

/** Pmds an address space has room for: 2^57 bytes (five-level paging) / 2 MiB. */
const PMDS_PER_MM = 2 ** 36;

/**
 * One pmd of one mm as a ghost map's key: a number, not `${mm}:${pmd}` — no string made and
 * looked up for every pmd event (exact up to 2^17 mms: 2^53).
 */
export function pmdKey(mm: number, pmd: number): number {
  return mm * PMDS_PER_MM + pmd;
}

/**
 * Per-pfn counts of a monitor in the state vector: Int32 columns, with room for the pfns
 * below `len.pfns` — a slot of the monitor's struct, doubled past the highest pfn touched,
 * as the length of a plain monitor's `fit()` array is (and is hashed with it). The columns
 * only grow: a restore to fewer pfns leaves zeros past them, where get() reads 0 anyway.
 */
export class PfnColumns {
  private readonly arrays: Int32Array[] = [];
  private readonly cols: number[] = [];

  constructor(private readonly sv: StateVector, private readonly len: { pfns: number }, names: readonly string[]) {
    for (const name of names) {
      const a = new Int32Array(len.pfns);
      this.arrays.push(a);
      this.cols.push(sv.addColumn(name, a, 0));
    }
  }

  /** Room for pfn h in every column. */
  fit(h: number): void {
    let n = this.len.pfns;
    if (h < n) return;
    while (n <= h) n *= 2;
    this.len.pfns = n;
    for (let c = 0; c < this.arrays.length; c++) {
      if (n <= this.arrays[c]!.length) continue;
      this.arrays[c] = fit(this.arrays[c]!, n - 1);
      this.sv.setColumn(this.cols[c]!, this.arrays[c]!);
    }
  }

  /** Column c's count for pfn h (0 past the room). */
  get(c: number, h: number): number {
    return h < this.len.pfns ? this.arrays[c]![h]! : 0;
  }

  /** Column c's count for pfn h = x (fit(h) first). */
  put(c: number, h: number, x: number): void {
    this.sv.putCol(this.cols[c]!, h, x);
  }
}
