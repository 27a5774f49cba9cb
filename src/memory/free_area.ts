/**
 * In a world a search copies and hashes: mem_map's extent and the buddy allocator's free
 * lists (struct zone's free_area[order].free_list) as columns of the state vector — mirrors
 * of the page store's `nr` and free lists, written as they change, so the store is no state
 * component of its own. The header column holds [nr, orders seen, (order, length) per
 * order, in the order first freed: the free lists' Map order]; each order's list is a
 * column of its own (-1 past its length). A restore of the vector gives the store its
 * fields back from them, where they changed since (a ChangeStamp).
 *
 * The page store keeps this behind a symbol-keyed property: a step whose footprint is
 * recorded sees the store through a recording view, which records the store's own fields
 * (nr, the lists) as it always has and not these copies of them (a symbol key is no
 * location: src/world/footprint.ts).
 */
import type { StateVector } from '../vector/state_vector.ts';
import { ChangeStamp } from '../vector/change_stamp.ts';

/** The buddy allocator's orders: 0 to MAX_ORDER - 1 (include/linux/mmzone.h, MAX_ORDER 11). */
export const MAX_ORDER = 11;

export const FREE_AREA: unique symbol = Symbol('thpsim.free_area');

/** What a restore writes back: the page store's fields the columns mirror. */
export interface FreeAreaOwner {
  nr: number;
  readonly freeLists: Map<number, number[]>;
}

export class FreeAreaColumns {
  private readonly head = new Int32Array(2 + 2 * MAX_ORDER);
  private readonly headCol: number;
  private readonly lists: Int32Array[] = [];
  private readonly cols: number[] = [];
  private readonly stamp: ChangeStamp;

  constructor(private readonly sv: StateVector, owner: FreeAreaOwner) {
    this.headCol = sv.addColumn('mem_map.free_area', this.head, 0);
    this.stamp = new ChangeStamp(sv, 'mem_map.free_area');
    // (every order's list a column from the start: the same columns in every run and worker)
    for (let o = 0; o < MAX_ORDER; o++) {
      this.lists.push(new Int32Array(16).fill(-1));
      this.cols.push(sv.addColumn(`mem_map.free_area[${o}].free_list`, this.lists[o]!, -1));
    }
    sv.onRestore(() => this.restored(owner));
  }

  /** mem_map's extent is now n pages. */
  nr(n: number): void {
    this.put(0, n);
    this.stamp.changed();
  }

  /** Element i of an order's free list is now pfn (-1: past its end), and the list `length` long. */
  list(order: number, i: number, pfn: number, length: number): void {
    if (order >= MAX_ORDER) throw new Error(`mem_map: a free list of order ${order}, past MAX_ORDER ${MAX_ORDER}`);
    let a = this.lists[order]!;
    if (i >= a.length) {
      let n = a.length;
      while (n <= i) n *= 2;
      const b = new Int32Array(n).fill(-1);
      b.set(a);
      this.lists[order] = a = b;
      this.sv.setColumn(this.cols[order]!, b);
    }
    const o = a[i]!;
    a[i] = pfn;
    if (o !== pfn) this.sv.wrote(this.cols[order]!, i, o, pfn);
    this.put(this.entry(order) + 1, length);
    this.stamp.changed();
  }

  /** The header's entry of an order (made, after the others, when first seen). */
  private entry(order: number): number {
    const h = this.head;
    const seen = h[1]!;
    for (let k = 0; k < seen; k++) if (h[2 + 2 * k] === order) return 2 + 2 * k;
    const at = 2 + 2 * seen;
    this.put(1, seen + 1);
    this.put(at, order);
    return at;
  }

  private put(i: number, x: number): void {
    const o = this.head[i]!;
    this.head[i] = x;
    if (o !== x) this.sv.wrote(this.headCol, i, o, x);
  }

  /** The vector went back to a save: nr and the free lists as the columns say (the lists' Map only ever grew along the way). */
  private restored(owner: FreeAreaOwner): void {
    if (!this.stamp.moved()) return;
    const h = this.head;
    owner.nr = h[0]!;
    const seen = h[1]!;
    const lists = owner.freeLists;
    if (lists.size > seen) {
      let k = 0;
      for (const order of [...lists.keys()]) if (k++ >= seen) lists.delete(order);
    }
    for (let k = 0; k < seen; k++) {
      const order = h[2 + 2 * k]!;
      const n = h[3 + 2 * k]!;
      let l = lists.get(order);
      if (l === undefined) lists.set(order, (l = []));
      if (l.length !== n) l.length = n;
      const a = this.lists[order]!;
      for (let i = 0; i < n; i++) if (l[i] !== a[i]) l[i] = a[i]!;
    }
  }
}
