/**
 * A hash of the whole model state — the memory model (struct pages, page tables, page
 * caches, locks, vmstat...) and every actor's chart state and locals — for the explorer's
 * visited set. Two schedules that reach equal states hash equal, so the search explores
 * what follows only once.
 *
 * The state is written out as a vector of 32-bit words, then hashed in one loop. Structs
 * are written by functions generated per shape (src/world/shape.ts): their fields in
 * order, behind one word for the set of keys. Typed arrays go in by content, Maps and Sets
 * in insertion order, shared objects by the number of their first visit. Left out is what
 * is not state (shape.ts's HASH_SKIP): the bus, and the clocks and counters that only say
 * how long the run has been going (the simulated time is kept relative: a sleeper's time
 * left). Insertion order makes a few equal states hash apart; that costs reduction, never
 * soundness.
 */
import { ARRAY, MAP, type Meta, OWN, SET, SMALL_MAX, SMALL_MIN, type ShapeEncoder, STRUCT, TAG, TYPED, VECTOR, Walk, metaOf } from './shape.ts';
import { VECTOR_BASE, VECTOR_COLUMNS } from '../vector/state_vector.ts';

/** String fingerprints (see StateHasher.str); bounded so a run of fresh strings cannot grow it without end. */
const fingerprints = new Map<string, readonly [number, number]>();
const MAX_FINGERPRINTS = 1 << 16;

/** Two independent 32-bit lanes over the characters. */
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

/** A string's fingerprint, computed once per distinct string (kept while the cache has room). */
function fingerprintOf(s: string): readonly [number, number] {
  let f = fingerprints.get(s);
  if (f === undefined) {
    f = fingerprint(s);
    if (fingerprints.size < MAX_FINGERPRINTS) fingerprints.set(s, f);
  }
  return f;
}

/** murmur3's 32-bit finaliser. */
function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

/** An object that writes its own state (the page store: only the pages in use). */
export interface HashesOwnState {
  hashState(e: ShapeEncoder): void;
}

const TYPED_KINDS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array];
/** Typed-array kinds, by constructor. */
const TYPED_KIND = new Map<unknown, number>(TYPED_KINDS.map((c, i) => [c, i]));
/** Per kind, its own copy loop (generated: each has its own type feedback, so the element load is monomorphic). */
const COPY = TYPED_KINDS.map(
  (c) => new Function('b', 'at', 'o', 'n', `/* ${c.name} */ for (let i = 0; i < n; i++) b[at++] = o[i]; return at;`) as
    (b: Int32Array, at: number, o: unknown, n: number) => number,
);


/** A 64-bit hash given as two words (lo, hi), as 16 hex digits. */
export function hexOf([lo, hi]: readonly [number, number]): string {
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}

export class StateHasher implements ShapeEncoder {
  /** The vector, and its length (the generated struct hashers write to them directly). */
  b = new Int32Array(1 << 12);
  n = 0;
  /**
   * The state component being hashed (src/world/components.ts): the roots of the others
   * go in as references. Null: components are not in use (every object is walked).
   */
  root: Meta | null = null;
  private readonly walk = new Walk();
  private readonly mapEntry = (x: unknown, key: unknown): void => {
    this.value(key);
    this.value(x);
  };
  private readonly setEntry = (x: unknown): void => this.value(x);

  constructor() {
    this.walk.begin();
  }

  /** Start a new state (the same hasher serves every state of a run). */
  reset(): void {
    this.n = 0;
    this.walk.begin();
  }

  w(x: number): void {
    if (this.n === this.b.length) this.grow(this.n + 1);
    this.b[this.n++] = x;
  }

  /** Room for at least `min` words in all. */
  grow(min: number): void {
    let c = this.b.length;
    while (c < min) c *= 2;
    if (c === this.b.length) return;
    const b = new Int32Array(c);
    b.set(this.b);
    this.b = b;
  }

  /**
   * A string goes in as a 64-bit fingerprint of its characters, computed once per distinct
   * string: state names and string-valued fields repeat in every state.
   */
  str(s: string): void {
    const f = fingerprintOf(s);
    this.w(f[0]);
    this.w(f[1]);
  }

  num(x: number): void {
    if ((x | 0) === x && x >= SMALL_MIN && x <= SMALL_MAX) this.w((x << 1) | 1);
    else {
      this.w(TAG.NUMBER);
      this.str(String(x));
    }
  }

  value(v: unknown): void {
    switch (typeof v) {
      case 'number':
        this.num(v);
        return;
      case 'string':
        this.w(TAG.STRING);
        this.str(v);
        return;
      case 'boolean':
        this.w(v ? TAG.TRUE : TAG.FALSE);
        return;
      case 'undefined':
        this.w(TAG.UNDEFINED);
        return;
      case 'function':
      case 'symbol':
        return;
      case 'bigint':
        this.w(TAG.BIGINT);
        this.str(v.toString());
        return;
    }
    if (v === null) {
      this.w(TAG.NULL);
      return;
    }
    this.object(v as object, undefined);
  }

  object(o: object, meta: Meta | undefined): void {
    const m = meta ?? metaOf(o);
    if (m.immutable) {
      // contents that can never change: hashed once, on their own
      if (m.frozenHash === null) {
        const h = new StateHasher();
        h.contents(o, m);
        m.frozenHash = h.digestWords();
      }
      this.w(TAG.FROZEN);
      this.w(m.frozenHash[0]);
      this.w(m.frozenHash[1]);
      return;
    }
    if (m.component >= 0 && m !== this.root && this.root !== null) {
      this.w(TAG.COMPONENT);
      this.w(m.component);
      return;
    }
    const back = this.walk.visit(m);
    if (back >= 0) {
      this.w(TAG.BACK);
      this.w(back);
      return;
    }
    this.contents(o, m);
  }

  /** An object's contents, by its kind. */
  private contents(o: object, m: Meta): void {
    switch (m.kind) {
      case STRUCT:
        m.shape!.hash(o, this);
        return;
      case ARRAY: {
        const a = o as unknown[];
        this.w(TAG.ARRAY);
        this.w(a.length);
        for (let i = 0; i < a.length; i++) this.value(a[i]);
        return;
      }
      case TYPED:
        this.typed(o as ArrayBufferView);
        return;
      case MAP:
        this.w(TAG.MAP);
        this.w((o as Map<unknown, unknown>).size);
        (o as Map<unknown, unknown>).forEach(this.mapEntry);
        return;
      case SET:
        this.w(TAG.SET);
        this.w((o as Set<unknown>).size);
        (o as Set<unknown>).forEach(this.setEntry);
        return;
      case OWN:
        this.w(TAG.OWN);
        (o as HashesOwnState).hashState(this);
        return;
      case VECTOR:
        // (its slots are in the vector's own hash: see StateComponents.hashInto)
        this.w(TAG.VECTOR);
        this.w((o as { [VECTOR_BASE]?: number })[VECTOR_BASE] ?? (o as { [VECTOR_COLUMNS]: number })[VECTOR_COLUMNS]);
        return;
      default:
        throw new Error('the state hash reached a compiled chart: charts are not state');
    }
  }

  /**
   * A typed array (its first `n` elements; all by default) by kind, length and content, an
   * element a word — copied by a loop of the array's own kind (one loop for every kind
   * would make each element load megamorphic).
   */
  typed(o: ArrayBufferView, n = (o as unknown as ArrayLike<number>).length): void {
    const kind = TYPED_KIND.get(o.constructor);
    if (this.n + 3 + n > this.b.length) this.grow(this.n + 3 + n);
    const b = this.b;
    b[this.n++] = TAG.TYPED;
    b[this.n++] = kind ?? -1;
    b[this.n++] = n;
    if (kind === undefined) {
      // a DataView or a BigInt array: its bytes
      const u = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      for (let i = 0; i < u.length; i++) this.w(u[i]!);
      return;
    }
    this.n = COPY[kind]!(b, this.n, o, n);
  }

  /**
   * A collection whose order is not state (an rwsem's readers: actor numbers; a monitor's
   * count map: holder → references): a multiset hash of its elements — each element's (a
   * Map's: each key and value's) two words mixed on their own and summed, so no order
   * matters and nothing is sorted or copied. A collection holding anything but numbers,
   * strings, booleans, undefined and null is hashed in order instead: finer, never unsound.
   */
  unordered(o: unknown): void {
    this.ulo = this.uhi = 0;
    this.uok = true;
    let n: number;
    if (o instanceof Map) {
      n = o.size;
      o.forEach(this.unorderedEntry);
    } else if (o instanceof Set) {
      n = o.size;
      o.forEach(this.unorderedElement);
    } else if (Array.isArray(o)) {
      n = o.length;
      for (let i = 0; i < n; i++) this.unorderedElement(o[i]);
    } else this.uok = false;
    if (!this.uok) {
      this.value(o);
      return;
    }
    this.w(TAG.UNORDERED);
    this.w(n!);
    this.w(this.ulo);
    this.w(this.uhi);
  }

  /** unordered()'s sums so far, and whether every element was a primitive. */
  private ulo = 0;
  private uhi = 0;
  private uok = true;
  private readonly unorderedElement = (x: unknown): void => {
    if (!this.uok || !this.primitive(x)) return void (this.uok = false);
    this.unorderedAdd(this.pa, this.pb);
  };
  private readonly unorderedEntry = (x: unknown, key: unknown): void => {
    if (!this.uok || !this.primitive(x)) return void (this.uok = false);
    const a = this.pa;
    const b = this.pb;
    if (!this.primitive(key)) return void (this.uok = false);
    this.unorderedAdd(mix32(a ^ Math.imul(this.pa, 0x85ebca6b)) ^ this.pb, mix32(b + Math.imul(this.pb, 0xc2b2ae35)) ^ this.pa);
  };
  private unorderedAdd(a: number, b: number): void {
    this.ulo = (this.ulo + mix32(a ^ 0x27d4eb2f)) | 0;
    this.uhi = (this.uhi + mix32(b ^ 0x165667b1)) | 0;
  }

  /** primitive()'s result: a value's two words. */
  private pa = 0;
  private pb = 0;

  /** A primitive's two words into pa, pb (false: not a primitive). */
  private primitive(x: unknown): boolean {
    switch (typeof x) {
      case 'number':
        if ((x | 0) === x) {
          this.pa = x;
          this.pb = TAG.NUMBER;
          return true;
        }
        return this.stringWords(`#${x}`);
      case 'string':
        return this.stringWords(x);
      case 'boolean':
        this.pa = x ? TAG.TRUE : TAG.FALSE;
        this.pb = TAG.TRUE;
        return true;
      case 'undefined':
        this.pa = this.pb = TAG.UNDEFINED;
        return true;
      default:
        if (x !== null) return false;
        this.pa = this.pb = TAG.NULL;
        return true;
    }
  }

  private stringWords(s: string): true {
    const f = fingerprintOf(s);
    this.pa = f[0];
    this.pb = f[1] ^ TAG.STRING;
    return true;
  }

  /**
   * The words hashed in four independent lanes (words i, i+1, i+2, i+3 of each group of
   * four: the multiplies of one lane do not wait for another's), then folded into 64 bits.
   */
  /** The vector's 64-bit hash as two words. */
  digestWords(): [number, number] {
    this.digestInto();
    return [this.lo, this.hi];
  }

  /** digestInto()'s result: the low and high words of the vector's hash. */
  lo = 0;
  hi = 0;

  /** The vector's 64-bit hash, into lo and hi (no array made: the dfs digests a few components at every node). */
  digestInto(): void {
    const b = this.b;
    const n = this.n;
    let h0 = 0x84222325;
    let h1 = 0xcbf29ce4;
    let h2 = 0x9e3779b9;
    let h3 = 0x7f4a7c15 ^ n;
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      h0 = Math.imul(h0 ^ b[i]!, 0x01000193);
      h1 = Math.imul(h1 ^ b[i + 1]!, 0x5bd1e995);
      h2 = Math.imul(h2 ^ b[i + 2]!, 0x85ebca6b);
      h3 = Math.imul(h3 ^ b[i + 3]!, 0xc2b2ae35);
      h0 ^= h0 >>> 15;
      h1 ^= h1 >>> 13;
      h2 ^= h2 >>> 16;
      h3 ^= h3 >>> 13;
    }
    for (; i < n; i++) {
      h0 = Math.imul(h0 ^ b[i]!, 0x01000193);
      h0 ^= h0 >>> 15;
    }
    // fold: each output word mixes all four lanes
    let lo = Math.imul(h0 ^ (h2 >>> 7), 0x85ebca6b) ^ Math.imul(h1 ^ (h3 >>> 11), 0xc2b2ae35);
    let hi = Math.imul(h1 ^ (h0 >>> 9), 0x5bd1e995) ^ Math.imul(h3 ^ (h2 >>> 5), 0x27d4eb2f);
    lo ^= lo >>> 16;
    hi ^= hi >>> 15;
    lo = Math.imul(lo, 0x9e3779b1) ^ hi;
    hi = Math.imul(hi, 0x85ebca77) ^ (lo >>> 13);
    this.lo = lo | 0;
    this.hi = hi | 0;
  }

  /** The vector's 64-bit hash, as 16 hex digits. */
  digest(): string {
    return hexOf(this.digestWords());
  }
}
