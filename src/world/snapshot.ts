/**
 * Snapshots of a run, restored in place: the dfs goes back to a search node by writing
 * every object of the model back as it was there, instead of re-running the scenario from
 * the start along the node's prefix.
 *
 * In place, so every reference into the model stays good: the bus subscriptions, the
 * monitors' closures, the actors' charts, the footprint tracker's object names. A snapshot
 * is, for each object reachable from the roots, a shallow copy of its contents (the
 * objects it points to are snapshotted in their own right); restoring writes each copy
 * back. Structs are copied and written back by their shape's generated functions
 * (src/world/shape.ts), which also seal them: their keys cannot change under a snapshot.
 * Objects made after the snapshot drop out of reach again when their referrers are
 * restored. The bus is kept by reference and not entered; so are the objects marked
 * opaque (the compiled charts).
 */
import { ARRAY, MAP, type Meta, OPAQUE, OWN, SET, type Shape, TYPED, VECTOR, Walk, metaOf } from './shape.ts';

/** An object that saves and restores its own state (the page store: only the pages in use); it hashes itself too. */
export interface SavesOwnState {
  saveState(): unknown;
  restoreState(saved: unknown): void;
}


const STRUCT = -1;

type Typed = ArrayBufferView & ArrayLike<number> & { set(a: ArrayLike<number>): void; slice(): Typed };

const walk = new Walk();

/** The Map holds just these entries ([key, value, key, value...]), in this order. */
function sameMap(o: Map<unknown, unknown>, c: readonly unknown[]): boolean {
  if (o.size * 2 !== c.length) return false;
  let j = 0;
  for (const [key, x] of o) {
    if (key !== c[j] || x !== c[j + 1]) return false;
    j += 2;
  }
  return true;
}

function sameSet(o: Set<unknown>, c: readonly unknown[]): boolean {
  if (o.size !== c.length) return false;
  let j = 0;
  for (const x of o) if (x !== c[j++]) return false;
  return true;
}

export class Snapshot {
  private constructor(
    private readonly kinds: number[],
    private readonly objects: object[],
    /** Per object: its copy (typed arrays, arrays, structs' values), entries (Map: [k, v, k, v...]; Set: values). */
    private readonly copies: unknown[],
    /** Per struct: its shape. */
    private readonly shapes: (Shape | undefined)[],
  ) {}

  /**
   * Everything reachable from the roots. `recycle`: a snapshot no longer needed, whose
   * typed-array copies are reused. The roots of state components (src/world/components.ts)
   * are not entered — each is snapshotted on its own — but for `component`, the one this
   * snapshot is of.
   */
  static take(roots: readonly unknown[], recycle?: Snapshot, component?: object): Snapshot {
    let buffers: Map<object, Typed> | undefined;
    if (recycle) {
      buffers = new Map();
      for (let i = 0; i < recycle.kinds.length; i++) if (recycle.kinds[i] === TYPED) buffers.set(recycle.objects[i]!, recycle.copies[i] as Typed);
    }
    const kinds: number[] = [];
    const objects: object[] = [];
    const copies: unknown[] = [];
    const shapes: (Shape | undefined)[] = [];
    walk.begin();
    // objects to copy, each pushed with its Meta (undefined: not known at the push)
    const stack: unknown[] = [];
    for (const r of roots) if (r !== null && typeof r === 'object') stack.push(r, undefined);
    while (stack.length) {
      const meta = stack.pop() as Meta | undefined;
      const v = stack.pop() as object;
      const m = meta ?? metaOf(v);
      if (m.kind === OPAQUE || m.kind === VECTOR || m.immutable || (m.component >= 0 && v !== component) || walk.visit(m) >= 0) continue;
      switch (m.kind) {
        case ARRAY: {
          const a = v as unknown[];
          kinds.push(ARRAY);
          objects.push(a);
          copies.push(a.slice());
          shapes.push(undefined);
          for (let i = 0; i < a.length; i++) {
            const x = a[i];
            if (x !== null && typeof x === 'object') stack.push(x, undefined);
          }
          break;
        }
        case TYPED: {
          const o = v as Typed;
          const old = buffers?.get(o);
          let copy: Typed;
          if (old && old.length === o.length) {
            old.set(o);
            copy = old;
          } else copy = o.slice();
          kinds.push(TYPED);
          objects.push(o);
          copies.push(copy);
          shapes.push(undefined);
          break;
        }
        case MAP: {
          const entries: unknown[] = [];
          (v as Map<unknown, unknown>).forEach((x, key) => {
            entries.push(key, x);
            if (key !== null && typeof key === 'object') stack.push(key, undefined);
            if (x !== null && typeof x === 'object') stack.push(x, undefined);
          });
          kinds.push(MAP);
          objects.push(v);
          copies.push(entries);
          shapes.push(undefined);
          break;
        }
        case SET: {
          const entries = [...(v as Set<unknown>)];
          for (const x of entries) if (x !== null && typeof x === 'object') stack.push(x, undefined);
          kinds.push(SET);
          objects.push(v);
          copies.push(entries);
          shapes.push(undefined);
          break;
        }
        case OWN: {
          // the page store: saves its own state (the pages in use)
          kinds.push(OWN);
          objects.push(v);
          copies.push((v as SavesOwnState).saveState());
          shapes.push(undefined);
          break;
        }
        default: {
          // a struct
          const shape = m.shape!;
          kinds.push(STRUCT);
          objects.push(v);
          copies.push(shape.copy(v));
          shapes.push(shape);
          shape.children(v, stack);
        }
      }
    }
    return new Snapshot(kinds, objects, copies, shapes);
  }

  /** The objects the snapshot holds copies of. */
  reached(): readonly object[] {
    return this.objects;
  }

  /** Every object as it was when the snapshot was taken. */
  restore(): void {
    const { kinds, objects, copies, shapes } = this;
    for (let i = 0; i < kinds.length; i++) {
      switch (kinds[i]) {
        case TYPED:
          (objects[i] as Typed).set(copies[i] as Typed);
          break;
        case ARRAY: {
          const o = objects[i] as unknown[];
          const c = copies[i] as unknown[];
          if (o.length !== c.length) o.length = c.length; // (a length write is a runtime call, even to the same length)
          for (let j = 0; j < c.length; j++) o[j] = c[j];
          break;
        }
        case MAP: {
          const o = objects[i] as Map<unknown, unknown>;
          const c = copies[i] as unknown[];
          if (sameMap(o, c)) break; // (clearing and refilling a Map rebuilds its table)
          o.clear();
          for (let j = 0; j < c.length; j += 2) o.set(c[j], c[j + 1]);
          break;
        }
        case SET: {
          const o = objects[i] as Set<unknown>;
          if (sameSet(o, copies[i] as unknown[])) break;
          o.clear();
          for (const x of copies[i] as unknown[]) o.add(x);
          break;
        }
        case OWN:
          (objects[i] as SavesOwnState).restoreState(copies[i]);
          break;
        default:
          shapes[i]!.write(objects[i]!, copies[i] as unknown[]);
      }
    }
  }
}
