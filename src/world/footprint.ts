/**
 * What one atomic step read and wrote of the shared model state: the footprint the dfs's
 * sleep sets decide independence by. Two steps of different actors are independent when
 * neither writes a location the other reads or writes — then they commute (both orders
 * reach the same state) and neither enables or disables the other, because the guards
 * that decide whether a step can run are read inside the step too.
 *
 * The footprint is observed, not declared: the step runs on a proxied view of its actor
 * (and through it of the Kernel, its pages, page tables, page caches and locks), so every
 * property read or written, every typed-array element, every Map/Set key is recorded —
 * nothing depends on a chart author remembering what a guard looks at.
 *
 * Locations are named (object, key). Objects that exist when the run starts are named by
 * the order a fixed walk of the model reaches them, the same in every run of the scenario,
 * so footprints from different runs (the explorer re-runs each prefix) compare. Objects
 * created later (a pte table, a forked mm) have no such name: all of them are one location,
 * DYN, which over-approximates — two steps touching any of them, one writing, are dependent.
 * The scheduler's own bookkeeping (the bus, who is stepping) is not state, as in the state
 * hash; a step that reads a clock (simulated time, the step number) depends on every step,
 * since every step advances them.
 */

import { type StateVector, inVector } from '../vector/state_vector.ts';
import type { Bus } from '../bus/bus.ts';

/** Keys that are not model state (as StateHasher skips them). */
const SKIP = new Set(['bus', 'sv', 'stepActor', 'stepState']);
/**
 * The kernel's clocks: simulated time and the step number. Every step advances both, so a
 * step that reads one (a sleep's wake-up time, the step a value was written at, kept for
 * the data-integrity check's windows) depends on every other step.
 */
const CLOCKS = new Set(['now', 'step']);
const DYN = -1;
/** The object a state-vector slot is a location of: `-2.<slot>` (src/vector/). */
export const VECTOR_OBJECT = -2;
/**
 * The order of an object's keys or a collection's entries (insertion order, which
 * iteration follows): adding or removing a key writes it, iterating reads it.
 */
const ORDER = '<order>';
/** Map/Set methods that read one key, and that write one. */
const BY_KEY = new Set(['get', 'has']);
const WRITE_KEY = new Set(['set', 'add', 'delete']);

export class Footprint {
  readonly reads = new Set<string>();
  readonly writes = new Set<string>();
  /** Whole objects read or written (iteration, size, typed-array methods): object ids. */
  readonly readsAll = new Set<number>();
  readonly writesAll = new Set<number>();
  /** Read the simulated clock. */
  clock = false;

  toString(): string {
    return `R{${[...this.reads, ...[...this.readsAll].map((i) => `${i}.*`)].join(' ')}} W{${[...this.writes, ...[...this.writesAll].map((i) => `${i}.*`)].join(' ')}}${this.clock ? ' clock' : ''}`;
  }
}

const objectOf = (loc: string) => Number(loc.slice(0, loc.indexOf('.')));

function touches(fp: Footprint, loc: string, write: boolean): boolean {
  const id = objectOf(loc);
  if (fp.writes.has(loc) || fp.writesAll.has(id)) return true;
  return !write ? false : fp.reads.has(loc) || fp.readsAll.has(id);
}

function touchesAll(fp: Footprint, id: number, write: boolean): boolean {
  if (fp.writesAll.has(id)) return true;
  for (const l of fp.writes) if (objectOf(l) === id) return true;
  if (!write) return false;
  if (fp.readsAll.has(id)) return true;
  for (const l of fp.reads) if (objectOf(l) === id) return true;
  return false;
}

/** Neither step writes what the other reads or writes (steps of different actors). */
export function independent(a: Footprint, b: Footprint): boolean {
  if (a.clock || b.clock) return false;
  for (const l of a.writes) if (touches(b, l, true)) return false;
  for (const l of a.reads) if (touches(b, l, false)) return false;
  for (const id of a.writesAll) if (touchesAll(b, id, true)) return false;
  for (const id of a.readsAll) if (touchesAll(b, id, false)) return false;
  return true;
}

/** Names every object reachable from the roots by the order a fixed walk reaches it. */
export class ObjectNames {
  private readonly ids = new Map<object, number>();

  constructor(roots: readonly unknown[]) {
    for (const r of roots) this.walk(r);
  }

  id(o: object): number {
    return this.ids.get(o) ?? DYN;
  }

  private walk(v: unknown): void {
    // (a struct in the state vector is named by its slots)
    if (v === null || typeof v !== 'object' || this.ids.has(v) || inVector(v)) return;
    this.ids.set(v, this.ids.size);
    if (ArrayBuffer.isView(v)) return;
    if (Array.isArray(v)) for (const x of v) this.walk(x);
    else if (v instanceof Map) {
      for (const [key, x] of v) {
        this.walk(key);
        this.walk(x);
      }
    } else if (v instanceof Set) for (const x of v) this.walk(x);
    else {
      for (const key of Object.keys(v)) if (!SKIP.has(key)) this.walk((v as Record<string, unknown>)[key]);
    }
  }
}

/** The setter a class (or a prototype further up) defines for `prop`, if any. */
function inheritedSetter(o: object, prop: string): ((v: unknown) => void) | undefined {
  for (let p = Object.getPrototypeOf(o) as object | null; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    const d = Object.getOwnPropertyDescriptor(p, prop);
    if (d !== undefined) return d.set;
  }
  return undefined;
}

/**
 * A proxied view of the model that records a step's footprint. Values read through it
 * are wrapped in turn; values written through it are unwrapped, so the model itself never
 * holds a proxy.
 */
export class FootprintTracker {
  private readonly proxies = new WeakMap<object, object>();
  private readonly raw = new WeakMap<object, object>();

  constructor(
    private readonly names: ObjectNames,
    /** The kernel object, whose `now` is the clock. */
    private readonly clockOwner: object,
    readonly fp: Footprint = new Footprint(),
  ) {}

  /**
   * Starts recording the state vector's slots a step reads and writes (as locations
   * `-2.<slot>`) — the step's own: not while the bus delivers its events to the monitors,
   * which hold the model itself, not this view of it.
   */
  trackVector(sv: StateVector, bus: Bus): void {
    sv.track();
    bus.observing = sv;
  }

  /** The step is over: the slots it read and wrote go into the footprint. */
  untrackVector(sv: StateVector, bus: Bus): void {
    bus.observing = null;
    sv.untrack();
    for (const i of sv.reads) this.fp.reads.add(`${VECTOR_OBJECT}.${i}`);
    for (const i of sv.writes) this.fp.writes.add(`${VECTOR_OBJECT}.${i}`);
  }

  unwrap<T>(v: T): T {
    if (v === null || typeof v !== 'object') return v;
    return (this.raw.get(v as object) as T | undefined) ?? v;
  }

  private key(k: unknown): string {
    if (k !== null && typeof k === 'object') return `o${this.names.id(this.unwrap(k) as object)}`;
    return `${typeof k}:${String(k)}`;
  }

  private read(target: object, key: string): void {
    this.fp.reads.add(`${this.names.id(target)}.${key}`);
  }

  private write(target: object, key: string): void {
    this.fp.writes.add(`${this.names.id(target)}.${key}`);
  }

  wrap<T>(v: T): T {
    if (v === null || typeof v !== 'object') return v;
    const o = v as unknown as object;
    // a struct in the state vector records the slots it reads and writes itself (vectorSlots)
    if (this.raw.has(o) || inVector(o)) return v;
    let p = this.proxies.get(o);
    if (!p) {
      p = new Proxy(o, ArrayBuffer.isView(o) ? this.typedArrayHandler : o instanceof Map || o instanceof Set ? this.collectionHandler : this.plainHandler);
      this.proxies.set(o, p);
      this.raw.set(p, o);
    }
    return p as T;
  }

  /** Plain objects and class instances (the handlers are made once per tracker). */
  private readonly plainHandler: ProxyHandler<object> = {
    get: (t, prop, receiver) => {
      if (typeof prop === 'symbol') return Reflect.get(t, prop, receiver);
      if (SKIP.has(prop)) return Reflect.get(t, prop);
      if (CLOCKS.has(prop) && t === this.clockOwner) this.fp.clock = true;
      const d = Object.getOwnPropertyDescriptor(t, prop);
      if (d && !d.configurable && !d.writable && 'value' in d) return d.value; // immutable: not a location
      if (d || !(prop in t)) this.read(t, prop); // own data, or a miss (its absence is read)
      const v = Reflect.get(t, prop, receiver);
      return typeof v === 'function' ? v : this.wrap(v);
    },
    set: (t, prop, value, receiver) => {
      if (typeof prop !== 'symbol' && !SKIP.has(prop)) {
        if (!Object.prototype.hasOwnProperty.call(t, prop)) {
          // an accessor of its class (k.huge_zero_refcount, a lock's holder, a plain
          // struct's list): no key is added; its setter runs on this view, so what it
          // writes is recorded where a read of it is (the getter runs on the view too)
          const setter = inheritedSetter(t, prop);
          if (setter !== undefined) {
            setter.call(receiver, this.unwrap(value));
            return true;
          }
        }
        if (CLOCKS.has(prop) && t === this.clockOwner) this.fp.clock = true;
        this.write(t, prop);
        if (!Object.prototype.hasOwnProperty.call(t, prop)) this.write(t, ORDER);
      }
      return Reflect.set(t, prop, this.unwrap(value));
    },
    has: (t, prop) => {
      if (typeof prop !== 'symbol') this.read(t, prop);
      return Reflect.has(t, prop);
    },
    deleteProperty: (t, prop) => {
      if (typeof prop !== 'symbol') {
        this.write(t, prop);
        this.write(t, ORDER);
      }
      return Reflect.deleteProperty(t, prop);
    },
    defineProperty: (t, prop, desc) => {
      if (typeof prop !== 'symbol') {
        this.write(t, prop);
        this.write(t, ORDER);
      }
      return Reflect.defineProperty(t, prop, desc);
    },
    ownKeys: (t) => {
      this.fp.readsAll.add(this.names.id(t));
      return Reflect.ownKeys(t);
    },
  };

  /** Typed arrays: elements by index; their methods (fill, set, subarray...) touch the whole array. */
  private readonly typedArrayHandler: ProxyHandler<object> = {
    get: (t, prop) => {
      if (typeof prop === 'string' && /^\d+$/.test(prop)) {
        this.read(t, prop);
        return (t as unknown as Record<string, number>)[prop];
      }
      const v = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v; // length, byteLength...: fixed for the array
      return (...args: unknown[]) => {
        this.fp.readsAll.add(this.names.id(t));
        this.fp.writesAll.add(this.names.id(t));
        return this.wrap((v as (...x: unknown[]) => unknown).apply(t, args.map((x) => this.unwrap(x))));
      };
    },
    set: (t, prop, value) => {
      if (typeof prop === 'string') this.write(t, prop);
      return Reflect.set(t, prop, value, t);
    },
  };

  /** Maps and Sets: get/has/set/add/delete by key; size and iteration read the whole collection. */
  private readonly collectionHandler: ProxyHandler<object> = {
    get: (t, prop) => {
      const id = this.names.id(t);
      if (prop === 'size') {
        this.fp.readsAll.add(id);
        return (t as Map<unknown, unknown>).size;
      }
      const v = Reflect.get(t, prop, t);
      if (typeof v !== 'function') return v;
      const f = v as (...x: unknown[]) => unknown;
      return (...args: unknown[]) => {
        const raw = args.map((x) => this.unwrap(x));
        if (typeof prop === 'string' && BY_KEY.has(prop)) this.read(t, this.key(raw[0]));
        else if (typeof prop === 'string' && WRITE_KEY.has(prop)) {
          this.write(t, this.key(raw[0]));
          // a key added or removed changes the iteration order: a location of its own
          if ((t as Set<unknown>).has(raw[0]) === (prop === 'delete')) this.write(t, ORDER);
        }
        else if (prop === 'clear') this.fp.writesAll.add(id);
        else {
          // forEach, keys, values, entries, iteration: the whole collection is read, and
          // what is handed out is wrapped
          this.fp.readsAll.add(id);
          if (prop === 'forEach') {
            const cb = raw[0] as (v: unknown, k: unknown, c: unknown) => void;
            (t as Map<unknown, unknown>).forEach((x, k) => cb(this.wrap(x), this.wrap(k), this.wrap(t)));
            return undefined;
          }
          const r = f.apply(t, raw);
          if (r && typeof (r as Iterator<unknown>).next === 'function') {
            return [...(r as Iterable<unknown>)].map((x) => (Array.isArray(x) ? x.map((y) => this.wrap(y)) : this.wrap(x)))[Symbol.iterator]();
          }
          return this.wrap(r);
        }
        const r = f.apply(t, raw);
        return r === t ? this.wrap(t) : this.wrap(r);
      };
    },
  };
}
