/**
 * Snapshots of a run, restored in place: the dfs goes back to a search node by writing
 * every object of the model back as it was there, instead of re-running the scenario from
 * the start along the node's prefix.
 *
 * In place, so every reference into the model stays good: the bus subscriptions, the
 * monitors' closures, the actors' charts, the footprint tracker's object names. A snapshot
 * is, for each object reachable from the roots, a shallow copy of its contents (the
 * objects it points to are snapshotted in their own right); restoring writes each copy
 * back. Objects made after the snapshot drop out of reach again when their referrers are
 * restored. Functions and the objects `opaque` says to leave alone (the compiled charts)
 * are kept as references.
 */

type Content =
  | { kind: 'typed'; o: ArrayBufferView & { set(a: ArrayLike<number>): void }; copy: ArrayLike<number> }
  | { kind: 'array'; o: unknown[]; copy: unknown[] }
  | { kind: 'map'; o: Map<unknown, unknown>; copy: [unknown, unknown][] }
  | { kind: 'set'; o: Set<unknown>; copy: unknown[] }
  | { kind: 'object'; o: Record<string, unknown>; keys: string[]; values: unknown[] };

export class Snapshot {
  private constructor(private readonly contents: Content[]) {}

  /**
   * Everything reachable from the roots, but under `skip` keys and the `opaque` objects.
   * `recycle`: a snapshot no longer needed, whose typed-array copies are reused.
   */
  static take(roots: readonly unknown[], skip: ReadonlySet<string>, opaque: (o: object) => boolean, recycle?: Snapshot): Snapshot {
    const buffers = new Map<object, ArrayLike<number> & { set(a: ArrayLike<number>): void }>();
    if (recycle) for (const c of recycle.contents) if (c.kind === 'typed') buffers.set(c.o, c.copy as ArrayLike<number> & { set(a: ArrayLike<number>): void });
    const seen = new Set<object>();
    const contents: Content[] = [];
    const stack: unknown[] = [...roots];
    while (stack.length) {
      const v = stack.pop();
      if (v === null || typeof v !== 'object' || seen.has(v)) continue;
      seen.add(v);
      if (opaque(v)) continue;
      if (ArrayBuffer.isView(v)) {
        const o = v as unknown as ArrayBufferView & ArrayLike<number> & { set(a: ArrayLike<number>): void; slice(): ArrayLike<number> };
        const old = buffers.get(o);
        if (old && old.length === o.length) old.set(o);
        contents.push({ kind: 'typed', o, copy: old && old.length === o.length ? old : o.slice() });
      } else if (Array.isArray(v)) {
        const copy = v.slice();
        contents.push({ kind: 'array', o: v, copy });
        for (const x of copy) if (x !== null && typeof x === 'object') stack.push(x);
      } else if (v instanceof Map) {
        const copy = [...v];
        contents.push({ kind: 'map', o: v, copy });
        for (const [key, x] of copy) stack.push(key, x);
      } else if (v instanceof Set) {
        const copy = [...v];
        contents.push({ kind: 'set', o: v, copy });
        for (const x of copy) stack.push(x);
      } else {
        const o = v as Record<string, unknown>;
        const keys = Object.keys(o);
        const values = keys.map((key) => o[key]);
        contents.push({ kind: 'object', o, keys, values });
        keys.forEach((key, i) => {
          const x = values[i];
          if (!skip.has(key) && x !== null && typeof x === 'object') stack.push(x);
        });
      }
    }
    return new Snapshot(contents);
  }

  /** Every object as it was when the snapshot was taken. */
  restore(): void {
    for (const c of this.contents) {
      switch (c.kind) {
        case 'typed':
          c.o.set(c.copy);
          break;
        case 'array':
          c.o.length = c.copy.length;
          for (let i = 0; i < c.copy.length; i++) c.o[i] = c.copy[i];
          break;
        case 'map':
          c.o.clear();
          for (const [key, x] of c.copy) c.o.set(key, x);
          break;
        case 'set':
          c.o.clear();
          for (const x of c.copy) c.o.add(x);
          break;
        case 'object': {
          const { o, keys, values } = c;
          if (Object.keys(o).length !== keys.length) {
            const had = new Set(keys);
            for (const key of Object.keys(o)) if (!had.has(key)) delete o[key];
          }
          for (let i = 0; i < keys.length; i++) o[keys[i]!] = values[i];
          break;
        }
      }
    }
  }
}
