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

/** String fingerprints (see StateHasher.str); bounded so a run of fresh strings cannot grow it without end. */
const fingerprints = new Map<string, readonly [number, number]>();
const MAX_FINGERPRINTS = 1 << 16;

/** Two independent 32-bit lanes over the characters (as TraceHash mixes words). */
function fingerprint(s: string): readonly [number, number] {
  let lo = 0x84222325 ^ s.length;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < s.length; i++) {
    const w = s.charCodeAt(i);
    lo = Math.imul(lo ^ w, 0x01000193);
    lo ^= lo >>> 15;
    hi = Math.imul(hi ^ w, 0x5bd1e995);
    hi ^= hi >>> 13;
    hi = (hi + lo) | 0;
  }
  return [lo | 0, hi | 0];
}

export class StateHasher {
  private h = new TraceHash();
  private seen = new Map<object, number>();

  /**
   * A string goes in as a 64-bit fingerprint of its characters, computed once per distinct
   * string: keys and state names repeat in every state, and hashing them a character at a
   * time was most of the cost of a state.
   */
  str(s: string): void {
    let f = fingerprints.get(s);
    if (f === undefined) {
      f = fingerprint(s);
      if (fingerprints.size < MAX_FINGERPRINTS) fingerprints.set(s, f);
    }
    this.h.word(0x40000000);
    this.h.word(f[0]);
    this.h.word(f[1]);
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
      this.typedArray(o);
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
    } else if (typeof (o as { stateHashView?: unknown }).stateHashView === 'function') {
      // an object that says what of it is state (the page store: the pages in use)
      this.h.word(14);
      this.value((o as { stateHashView(): unknown }).stateHashView());
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

  /**
   * Page arrays are allocated with room to grow, the room filled with one value (0, -1 for
   * "on no LRU list", the page chart's initial state): the run at the end is hashed as its
   * value and length. The bytes are read as 32-bit words through one Int32Array view, so
   * the loop sees one element type whatever the array's.
   */
  private typedArray(o: ArrayBufferView): void {
    this.h.word(8);
    this.str(o.constructor.name);
    this.h.word(o.byteLength);
    if (o.byteOffset % 4 !== 0 || o.byteLength % 4 !== 0) {
      const b = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      for (let i = 0; i < b.length; i++) this.h.word(b[i]!);
      return;
    }
    const w = new Int32Array(o.buffer, o.byteOffset, o.byteLength >> 2);
    const fill = w.length ? w[w.length - 1]! : 0;
    let end = w.length;
    while (end > 0 && w[end - 1] === fill) end--;
    this.h.word(end);
    this.h.word(fill);
    for (let i = 0; i < end; i++) this.h.word(w[i]!);
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
