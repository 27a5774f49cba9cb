/**
 * Shapes of the model's objects, for the dfs's state hash and snapshots.
 *
 * Every struct of the model — a class instance (Kernel, Inode, MmStruct, RwSem...) or an
 * actor's locals literal — has a fixed set of fields. For each such set of keys (a shape),
 * three functions are generated once: hash the fields in order, copy them, write a copy
 * back. The walk then reads each field through a property load that sees one kind of
 * object, instead of a generic loop over Object.keys whose every load is megamorphic —
 * the difference between a few hundred nanoseconds an object and a few.
 *
 * An object gets its shape the first time a walk reaches it, and is sealed then: a key
 * added or deleted later would be state the generated functions do not see, so it throws
 * (a TypeError naming the key, in the model's strict-mode code) instead of going unseen.
 * Arrays, Maps, Sets and typed arrays are walked as collections and not sealed.
 *
 * Which keys are not state is decided here, once for the hash and the snapshot alike:
 * the bus (its subscriptions are wiring, not state), and, for the hash only, the clocks
 * and counters that say how long the run has been going and the back pointer to the
 * kernel every actor holds.
 */
import { VECTOR_COLUMNS, inVector } from '../vector/state_vector.ts';

/**
 * Not hashed: the bus, the state vector (hashed on its own), the clocks, who is stepping, the kernel an actor points back to, an
 * actor's absolute wake-up time (the state hash takes the time left instead).
 */
export const HASH_SKIP: ReadonlySet<string> = new Set(['bus', 'sv', 'actorDone', 'now', 'step', 'stepActor', 'stepState', 'k', 'wakeAt']);
/**
 * Not descended into by a snapshot (the reference itself is kept): the bus, and the state
 * vector (the kernel's `sv`: hashed, copied and restored on its own, src/world/components.ts).
 */
export const SNAPSHOT_SKIP: ReadonlySet<string> = new Set(['bus', 'sv']);
/**
 * Collections whose order is not state: an rwsem's readers, and the monitors' ghost maps
 * (who holds how many references, which pmds map what). Hashed as a multiset
 * (StateHasher.unordered: the elements', or a Map's entries', words summed), so two orders
 * of the same contents are one state.
 */
export const UNORDERED: ReadonlySet<string> = new Set(['readers', 'holders', 'heldBy', 'hugePmd', 'zeroPmds', 'mappedBy']);

/** The small integers written as one word, 2x+1 (odd); any other number is tagged. */
export const SMALL_MIN = -0x40000000;
export const SMALL_MAX = 0x3fffffff;

/**
 * The words of the vector. A small integer (within ±2^30: pfns, counts, indices, flags —
 * nearly every field) is one odd word, 2x+1; everything else starts with an even tag,
 * followed by a fixed or length-prefixed payload, so the encoding reads back one way only.
 */
export const TAG = {
  TRUE: 2, FALSE: 4, UNDEFINED: 6, NULL: 8,
  /** a number that is not a small integer: its decimal string's fingerprint */
  NUMBER: 10,
  /** a string's fingerprint (two words) */
  STRING: 12,
  BIGINT: 14,
  /** an object seen before in this walk: its visit number */
  BACK: 16,
  ARRAY: 18, TYPED: 20, MAP: 22, SET: 24,
  /** a struct: its shape's id, then its fields */
  STRUCT: 26,
  /** an immutable object: the hash of its contents (two words) */
  FROZEN: 32,
  /** the root of another state component: its number */
  COMPONENT: 34,
  OWN: 28,
  UNORDERED: 30,
  /** a struct in the state vector: its first slot (its contents are the vector's) */
  VECTOR: 36,
} as const;

/** The walker the generated hash functions write into (src/world/state_hash.ts). */
export interface ShapeEncoder {
  /** The vector and its length (written directly by the generated hashers). */
  b: Int32Array;
  n: number;
  /** Room for at least `min` words in all. */
  grow(min: number): void;
  /** Append one 32-bit word. */
  w(x: number): void;
  /** Any value (tagged). */
  value(v: unknown): void;
  /** An object, with its Meta if it has one yet. */
  object(o: object, m: Meta | undefined): void;
  /** A typed array's first n elements (default: all). */
  typed(o: ArrayBufferView, n?: number): void;
  /** A collection hashed as a multiset of its elements. */
  unordered(v: unknown): void;
}

export interface Shape {
  /** Every own enumerable key, in order. */
  readonly keys: readonly string[];
  /** A fingerprint of the hashed keys: stands for them in the hash. */
  readonly id: number;
  hash(o: object, e: ShapeEncoder): void;
  copy(o: object): unknown[];
  write(o: object, c: readonly unknown[]): void;
  /** Push the objects a snapshot descends into (not under SNAPSHOT_SKIP), each followed by its Meta (or undefined). */
  children(o: object, stack: unknown[]): void;
}

const shapes = new Map<string, Shape>();

/** What a walk does with an object. */
export const STRUCT = 0;
export const ARRAY = 1;
export const MAP = 2;
export const SET = 3;
export const TYPED = 4;
/** Hashes, saves and restores its own state (hashState(), saveState(), restoreState(): the page store). */
export const OWN = 5;
/** Kept by reference, never entered (the compiled charts: shared, never changed by a run). */
export const OPAQUE = 6;
/**
 * Laid out in the state vector (src/vector/): its fields are slots (or its arrays columns:
 * VECTOR_COLUMNS), hashed, copied and restored with the vector; a walk writes where it
 * starts and never enters it.
 */
export const VECTOR = 7;

/**
 * Per object, what the walks need: its kind, its shape (structs), and where a walk last
 * saw it. Kept on the object under a non-enumerable symbol (a spread copy does not carry
 * it), so a walk pays one property load per object; the rest is monomorphic.
 */
export class Meta {
  /** Walk base + visit number of the last walk that reached the object (see Walk). */
  mark = -1;
  /**
   * An immutable object's contents hashed once (64 bits as two words): the state hash
   * writes these instead of walking contents that can never change.
   */
  frozenHash: readonly [number, number] | null = null;
  /**
   * The state component this object is the root of (src/world/components.ts), or -1.
   * A walk of another component writes a reference to it and does not go in.
   */
  component = -1;
  constructor(
    readonly kind: number,
    readonly shape: Shape | null,
    /**
     * Frozen, and so is everything it points to (an actor's operations): it can never
     * change, so a snapshot keeps it by reference. (It is still hashed: it is state.)
     */
    readonly immutable: boolean,
  ) {}
}

const META = Symbol('thpsim.meta');
/** Objects that were not extensible when first reached keep their Meta here. */
const frozenMeta = new WeakMap<object, Meta>();

export function metaOf(o: object): Meta {
  const m = (o as { [META]?: Meta })[META];
  return m !== undefined ? m : (frozenMeta.get(o) ?? assignMeta(o, undefined));
}

function assignMeta(o: object, kind: number | undefined): Meta {
  let shape: Shape | null = null;
  if (kind === undefined) {
    // (a collection laid out in the vector — a VectorMap — is the vector's too)
    if (inVector(o) || (o as { [VECTOR_COLUMNS]?: number })[VECTOR_COLUMNS] !== undefined) kind = VECTOR;
    else if (Array.isArray(o)) kind = ARRAY;
    else if (ArrayBuffer.isView(o)) kind = TYPED;
    else if (o instanceof Map) kind = MAP;
    else if (o instanceof Set) kind = SET;
    else {
      const own = o as { hashState?: unknown; saveState?: unknown; restoreState?: unknown };
      kind = typeof own.hashState === 'function' ? OWN : STRUCT;
      if (kind === OWN && (typeof own.saveState !== 'function' || typeof own.restoreState !== 'function')) {
        throw new Error(`${o.constructor.name} hashes its own state (hashState) but cannot save and restore it (saveState, restoreState)`);
      }
      const keys = Object.keys(o);
      const sig = `${(o as { constructor?: { name?: string } }).constructor?.name ?? ''}\0${keys.join('\0')}`;
      shape = shapes.get(sig) ?? null;
      if (!shape) shapes.set(sig, (shape = makeShape(keys)));
    }
  }
  const m = new Meta(kind, shape, (kind === STRUCT || kind === ARRAY) && deeplyFrozen(o));
  if (!Object.isExtensible(o)) frozenMeta.set(o, m);
  else {
    Object.defineProperty(o, META, { value: m, enumerable: false, writable: false, configurable: false });
    if (kind === STRUCT || kind === OWN) Object.seal(o);
  }
  return m;
}

/** Frozen, and every object it points to immutable (a frozen object's references cannot change). */
function deeplyFrozen(o: object): boolean {
  if (!Object.isFrozen(o)) return false;
  for (const x of Object.values(o)) if (x !== null && typeof x === 'object' && !metaOf(x).immutable) return false;
  return true;
}

/** Mark an object opaque: walks keep it by reference and never enter it. */
export function markOpaque(o: object): void {
  const m = (o as { [META]?: Meta })[META] ?? frozenMeta.get(o);
  if (m === undefined) assignMeta(o, OPAQUE);
  else if (m.kind !== OPAQUE) throw new Error('markOpaque: a walk has entered this object already');
}

/** 32-bit FNV-style fingerprint of a string. */
export function fingerprint32(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    h ^= h >>> 15;
  }
  return h | 0;
}

function makeShape(keys: readonly string[]): Shape {
  const hashed = keys.filter((k) => !HASH_SKIP.has(k));
  const id = fingerprint32(`${hashed.length}\0${hashed.join('\0')}`);
  const q = (k: string) => JSON.stringify(k);
  // The generated hasher writes to the encoder's vector directly (e.b, e.n: see
  // StateHasher's encoding): a small integer or a boolean inline, one word; anything else
  // through the encoder, after which the vector may have grown. Objects go with their
  // Meta, loaded here, where a field's objects are of one kind (a monomorphic load).
  const room = 2 + hashed.length;
  const slow = (call: string) =>
    `{ e.n = n; ${call}; b = e.b; n = e.n; if (n + ${room} > b.length) { e.grow(n + ${room}); b = e.b; } }`;
  const hashBody = [
    `if (e.n + ${room} > e.b.length) e.grow(e.n + ${room});`,
    'let b = e.b, n = e.n, x;',
    `b[n++] = ${TAG.STRUCT}; b[n++] = ${id};`,
    ...hashed.map((k) =>
      UNORDERED.has(k)
        ? `x = o[${q(k)}]; if (x !== null && typeof x === 'object') ${slow('e.unordered(x)')} else ${slow('e.value(x)')}`
        : `x = o[${q(k)}];
if (typeof x === 'number' && (x | 0) === x && x >= ${SMALL_MIN} && x <= ${SMALL_MAX}) b[n++] = (x << 1) | 1;
else if (x === true) b[n++] = ${TAG.TRUE};
else if (x === false) b[n++] = ${TAG.FALSE};
else if (x === null) b[n++] = ${TAG.NULL};
else if (typeof x === 'object') ${slow('e.object(x, x[META])')}
else if (typeof x !== 'function') ${slow('e.value(x)')}`,
    ),
    'e.n = n;',
  ].join('\n');
  const copyBody = `return [${keys.map((k) => `o[${q(k)}]`).join(', ')}];`;
  const writeBody = keys.map((k, i) => `o[${q(k)}] = c[${i}];`).join('\n');
  const childBody = [
    'let x;',
    // (the object and its Meta, loaded here where the field's objects are of one kind)
    ...keys.filter((k) => !SNAPSHOT_SKIP.has(k)).map((k) => `x = o[${q(k)}]; if (x !== null && typeof x === 'object') s.push(x, x[META]);`),
  ].join('\n');
  return {
    keys, id,
    hash: new Function('META', `return function hash(o, e) {\n${hashBody}\n}`)(META) as Shape['hash'],
    copy: new Function('o', copyBody) as Shape['copy'],
    write: new Function('o', 'c', writeBody) as Shape['write'],
    children: new Function('META', `return function children(o, s) {\n${childBody}\n}`)(META) as Shape['children'],
  };
}

/**
 * One walk over the object graph: each object is seen once, and numbered in the order it
 * was first seen (a shared object is hashed once and referred back to by number after).
 * The number lives in the object's Meta as walk base + number; every walk has a base past
 * all numbers of the walks before, so no clearing is needed.
 */
export class Walk {
  private static next = 0;
  private base = 0;
  private count = 0;

  begin(): void {
    Walk.next += 1 << 22;
    if (Walk.next >= 2 ** 52) Walk.next = 1 << 22; // (after 2^30 walks)
    this.base = Walk.next;
    this.count = 0;
  }

  /** The object's number if this walk has seen it, else -1 (and it is numbered now). */
  visit(m: Meta): number {
    if (m.mark >= this.base) return m.mark - this.base;
    m.mark = this.base + this.count++;
    return -1;
  }
}
