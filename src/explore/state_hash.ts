/**
 * A hash of the whole model state — the memory model (struct pages, page tables, page
 * caches, locks, vmstat...) and every actor's chart state and locals — for the explorer's
 * visited set. Two schedules that reach equal states hash equal, so the search explores
 * what follows only once.
 *
 * It walks the object graph generically (typed arrays by content, Maps and Sets in
 * insertion order, shared objects by first-visit number), leaving out what is not state:
 * the bus, and the clocks and counters that only say how long the run has been going
 * (the simulated time is kept relative: a sleeper's time left). Insertion order makes a
 * few equal states hash apart; that costs reduction, never soundness.
 */
import { TraceHash } from '../sched/hash.ts';

const SKIP = new Set(['bus', 'now', 'step', 'stepActor', 'stepState', 'k']);
/**
 * Collections whose order is not state: an rwsem's readers.
 * Their elements are hashed one by one and the digests sorted.
 */
const UNORDERED = new Set(['readers']);

export class StateHasher {
  private h = new TraceHash();
  private seen = new Map<object, number>();

  str(s: string): void {
    this.h.word(s.length | 0x40000000);
    for (let i = 0; i < s.length; i++) this.h.word(s.charCodeAt(i));
  }

  num(n: number): void {
    if (Number.isInteger(n) && n >= -0x80000000 && n <= 0x7fffffff) this.h.word(n);
    else this.str(String(n));
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        this.h.word(1);
        this.num(v);
        return;
      case 'string':
        this.h.word(2);
        this.str(v);
        return;
      case 'boolean':
        this.h.word(v ? 3 : 4);
        return;
      case 'undefined':
        this.h.word(5);
        return;
      case 'function':
      case 'symbol':
        return;
      case 'bigint':
        this.str(v.toString());
        return;
    }
    if (v === null) {
      this.h.word(6);
      return;
    }
    const o = v as object;
    const back = this.seen.get(o);
    if (back !== undefined) {
      this.h.word(7);
      this.h.word(back);
      return;
    }
    this.seen.set(o, this.seen.size);
    if (ArrayBuffer.isView(o)) {
      const a = o as unknown as ArrayLike<number>;
      // page arrays are allocated with room to grow: the zeros at the end are skipped
      // (the length is hashed, so this loses nothing)
      let end = a.length;
      while (end > 0 && a[end - 1] === 0) end--;
      this.h.word(8);
      this.h.word(a.length);
      this.h.word(end);
      for (let i = 0; i < end; i++) this.h.word(a[i]! | 0);
    } else if (Array.isArray(o)) {
      this.h.word(9);
      this.h.word(o.length);
      for (const x of o) this.value(x);
    } else if (o instanceof Map) {
      this.h.word(10);
      this.h.word(o.size);
      for (const [key, x] of o) {
        this.value(key);
        this.value(x);
      }
    } else if (o instanceof Set) {
      this.h.word(11);
      this.h.word(o.size);
      for (const x of o) this.value(x);
    } else {
      this.h.word(12);
      for (const key of Object.keys(o)) {
        if (SKIP.has(key)) continue;
        const x = (o as Record<string, unknown>)[key];
        if (typeof x === 'function') continue;
        this.str(key);
        if (UNORDERED.has(key) && x !== null && typeof x === 'object') this.unordered(x);
        else this.value(x);
      }
    }
  }

  private unordered(o: object): void {
    const parts: string[] = [];
    const each = (v: unknown) => {
      const h = new StateHasher();
      h.value(v);
      parts.push(h.digest());
    };
    if (o instanceof Map) for (const e of o) each(e);
    else if (o instanceof Set || Array.isArray(o)) for (const v of o) each(v);
    else {
      this.value(o);
      return;
    }
    parts.sort();
    this.h.word(13);
    this.h.word(parts.length);
    for (const p of parts) this.str(p);
  }

  digest(): string {
    return this.h.digest();
  }
}
