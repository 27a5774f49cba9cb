import type { StateVector } from './state_vector.ts';

/**
 * A list of numbers in the state vector that only grows: a length slot, then `max` slots.
 * An element is read by its slot alone, not the length's — as a JavaScript array's element
 * is, which a step's footprint relates to a push by the element written, not by the length
 * (VectorArray's at() reads the length too). khugepaged_scan.mm_head: the mm ids of the
 * mm_slots, in the order __khugepaged_enter added them (the model never removes one).
 */
export class SlotList {
  private readonly at0: number;

  constructor(
    private readonly sv: StateVector,
    readonly max: number,
    private readonly name: string,
  ) {
    this.at0 = sv.alloc(1 + max, name);
  }

  get length(): number {
    return this.sv.get(this.at0);
  }

  /** Element i (below the length). */
  at(i: number): number {
    return this.sv.get(this.at0 + 1 + i);
  }

  push(x: number): void {
    const n = this.length;
    if (n >= this.max) throw new RangeError(`${this.name}: more than ${this.max} entries`);
    this.sv.put(this.at0 + 1 + n, x);
    this.sv.put(this.at0, n + 1);
  }

  toArray(): number[] {
    return Array.from({ length: this.length }, (_, i) => this.at(i));
  }
}
