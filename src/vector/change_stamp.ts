/**
 * Whether an owner's mirrored fields need reading back after a restore: an unhashed cell of
 * the state vector holds the number of the owner's last change (unique in the process), so
 * a restore that gives the cell back the number the owner last saw changed nothing of it.
 * For the owners of objects mirrored in columns (./vector_map.ts, src/memory/free_area.ts,
 * src/world/actor_records.ts), whose read-back would otherwise run at every restore.
 */
import type { StateVector } from './state_vector.ts';

/** Numbers every change of every stamped owner: equal numbers, the same change. */
let changes = 0;

export class ChangeStamp {
  private readonly cell = new Float64Array(1);
  private readonly col: number;
  /** The change the owner's fields are as of. */
  private seen = 0;

  constructor(private readonly sv: StateVector, name: string) {
    this.col = sv.addColumn(`${name} (last change)`, this.cell, 0, false);
  }

  /** The owner changed (its mirror written). */
  changed(): void {
    this.seen = ++changes;
    this.sv.putCol(this.col, 0, this.seen);
  }

  /** After a restore: whether the owner's fields differ from its mirror's (true once per restore that moved the stamp). */
  moved(): boolean {
    const at = this.cell[0]!;
    if (at === this.seen) return false;
    this.seen = at;
    return true;
  }
}
