/**
 * Structs in the state vector (./state_vector.ts), declared by schemas: each field a
 * number, a boolean, a string, a bounded array of numbers, or a constant fixed when the
 * struct is made (an actor's program: not state). A schema is declared beside the C-like
 * interface it lays out, and the type checker holds the two together (FieldsOf<T> has one
 * field for every key of T, of T's type). From a schema, `makeStruct` lays the struct out
 * in a vector and returns an object of generated accessors: `l.index = 3` writes a slot
 * (and the hash), `l.cursor.push(p)` a bounded array's slots, and code reads like the
 * kernel's still.
 *
 * A bounded array's size comes from the scenario (VectorBounds: its pmds, its files'
 * pages...); one that would outgrow it is an error naming the struct and the field. Slots
 * past an array's length are always 0, so equal contents are equal slots.
 */
import { StateVector, VECTOR, VECTOR_BASE, type VectorBounds } from './state_vector.ts';
import { stringId, stringOf } from './strings.ts';

export interface IntField {
  readonly kind: 'int';
  readonly init: number;
}
export interface BoolField {
  readonly kind: 'bool';
  readonly init: boolean;
}
export interface StrField<S extends string = string> {
  readonly kind: 'str';
  readonly init: S;
}
export interface ArrayField {
  readonly kind: 'array';
  /** What bounds it, for an error ("the pmds of an mm"). */
  readonly what: string;
  /** Its size: from the scenario's bounds, or from the list it starts as (`init`: what makeStruct was given). */
  readonly max: (b: VectorBounds, init: readonly number[]) => number;
}
/** Given when the struct is made and never written: not state (an actor's operations). */
export interface ConstField {
  readonly kind: 'const';
}
export type Field = IntField | BoolField | StrField | ArrayField | ConstField;

/** A number field (any number: exact to 2^53), initially `init`. */
export const int = (init = 0): IntField => ({ kind: 'int', init });
export const bool = (init = false): BoolField => ({ kind: 'bool', init });
export const str = <S extends string>(init: S): StrField<S> => ({ kind: 'str', init });
/** A list of numbers of at most max(bounds) entries; `what` says what bounds it. */
export const array = (what: string, max: (b: VectorBounds, init: readonly number[]) => number): ArrayField => ({ kind: 'array', what, max });
export const constant: ConstField = { kind: 'const' };

/** The field a value of type V is laid out as (a constant may hold anything). */
export type FieldFor<V> =
  | ([V] extends [BoundedArray] ? ArrayField : [V] extends [boolean] ? BoolField : [V] extends [number] ? IntField : [V] extends [string] ? StrField<V & string> : never)
  | ConstField;
/** A field for every key of T. */
export type FieldsOf<T> = { readonly [K in keyof T]-?: FieldFor<T[K]> };

export interface StructSchema<T> {
  readonly name: string;
  readonly fields: FieldsOf<T>;
}

/** The fields of a C-like interface T, to compose (as T extends others): checked against T's keys and types. */
export function fields<T>(f: FieldsOf<T>): FieldsOf<T> {
  return f;
}

/** The schema of a struct T: the type checker holds it to T's keys and types. */
export function struct<T>(name: string, fields: FieldsOf<T>): StructSchema<T> {
  return { name, fields };
}

/**
 * A list of numbers of at most `max` entries: read and written through its methods (at/set
 * for an element); an iterator, toArray() and assign() to exchange it with a JavaScript
 * array. In a state vector (VectorArray) or, for a run that never copies or hashes its
 * state, in a JavaScript array (PlainArray).
 */
export interface BoundedArray extends Iterable<number> {
  readonly length: number;
  readonly max: number;
  at(i: number): number | undefined;
  set(i: number, x: number): void;
  push(...xs: number[]): number;
  pop(): number | undefined;
  shift(): number | undefined;
  splice(start: number, count?: number, ...items: number[]): number[];
  assign(xs: Iterable<number> | ArrayLike<number>): void;
  includes(x: number): boolean;
  indexOf(x: number): number;
  toArray(): number[];
  toJSON(): number[];
}

/** A bounded array in a state vector: a length slot, then `max` slots (past the length, 0). */
export class VectorArray implements BoundedArray {
  constructor(
    private readonly v: StateVector,
    /** The length slot; the elements follow it. */
    private readonly at0: number,
    readonly max: number,
    /** "T1: collapse_shmem cs_list (at most HPAGE_PMD_NR: the pages of one huge page)". */
    private readonly name: string,
  ) {}

  get length(): number {
    return this.v.get(this.at0);
  }

  /** Element i (counted from the end when negative), or undefined past the end. */
  at(i: number): number | undefined {
    const n = this.length;
    if (i < 0) i += n;
    return i >= 0 && i < n ? this.v.get(this.at0 + 1 + i) : undefined;
  }

  /** Element i = x (i within the length). */
  set(i: number, x: number): void {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`${this.name}: index ${i} is past its length ${this.length}`);
    this.v.put(this.at0 + 1 + i, num(this.name, x));
  }

  push(...xs: number[]): number {
    let n = this.length;
    if (n + xs.length > this.max) this.overflow(n + xs.length);
    for (const x of xs) this.v.put(this.at0 + 1 + n++, num(this.name, x));
    this.v.put(this.at0, n);
    return n;
  }

  pop(): number | undefined {
    const n = this.length;
    if (n === 0) return undefined;
    const x = this.v.get(this.at0 + n);
    this.v.put(this.at0 + n, 0);
    this.v.put(this.at0, n - 1);
    return x;
  }

  shift(): number | undefined {
    const n = this.length;
    if (n === 0) return undefined;
    const x = this.v.get(this.at0 + 1);
    this.remove(0, 1, n);
    return x;
  }

  /** Removes `count` elements from `start` and inserts `items` there; the removed ones. */
  splice(start: number, count = Infinity, ...items: number[]): number[] {
    const n = this.length;
    if (start < 0) start = Math.max(0, n + start);
    start = Math.min(start, n);
    count = Math.max(0, Math.min(count, n - start));
    const removed: number[] = [];
    for (let i = 0; i < count; i++) removed.push(this.v.get(this.at0 + 1 + start + i));
    if (items.length === 0) this.remove(start, count, n);
    else if (!this.v.tracking) this.replace(start, count, items, n);
    else {
      // (a step whose footprint is recorded reads and writes the whole list, as it always
      // has: a footprint is what sleep sets compare, and the searches' results stay the same)
      const all = this.toArray();
      all.splice(start, count, ...items);
      this.assign(all);
    }
    return removed;
  }

  /** Elements [start, start + count) replaced by `items` in place: the tail moved once, no array made. */
  private replace(start: number, count: number, items: readonly number[], n: number): void {
    const k = items.length;
    const d = k - count;
    const m = n + d;
    if (m > this.max) this.overflow(m);
    const v = this.v;
    const base = this.at0 + 1;
    if (d > 0) for (let i = n - 1; i >= start + count; i--) v.put(base + i + d, v.get(base + i));
    else if (d < 0) {
      for (let i = start + count; i < n; i++) v.put(base + i + d, v.get(base + i));
      for (let i = m; i < n; i++) v.put(base + i, 0);
    }
    for (let i = 0; i < k; i++) v.put(base + start + i, num(this.name, items[i]!));
    v.put(this.at0, m);
  }

  /** Elements [start, start + count) out, the rest moved down in place, the freed tail zeroed. */
  private remove(start: number, count: number, n: number): void {
    if (count === 0) return;
    const v = this.v;
    const base = this.at0 + 1;
    for (let i = start; i + count < n; i++) v.put(base + i, v.get(base + i + count));
    for (let i = n - count; i < n; i++) v.put(base + i, 0);
    v.put(this.at0, n - count);
  }

  /** The list = xs. */
  assign(xs: Iterable<number> | ArrayLike<number>): void {
    const a = Array.isArray(xs) ? (xs as number[]) : Array.from(xs as Iterable<number>);
    if (a.length > this.max) this.overflow(a.length);
    const was = this.length;
    for (let i = 0; i < a.length; i++) this.v.put(this.at0 + 1 + i, num(this.name, a[i]!));
    for (let i = a.length; i < was; i++) this.v.put(this.at0 + 1 + i, 0);
    this.v.put(this.at0, a.length);
  }

  includes(x: number): boolean {
    return this.indexOf(x) >= 0;
  }

  indexOf(x: number): number {
    const n = this.length;
    for (let i = 0; i < n; i++) if (this.v.get(this.at0 + 1 + i) === x) return i;
    return -1;
  }

  toArray(): number[] {
    const n = this.length;
    const out = new Array<number>(n);
    for (let i = 0; i < n; i++) out[i] = this.v.get(this.at0 + 1 + i);
    return out;
  }

  /** (live, as an array's: an entry pushed while iterating is reached) */
  *[Symbol.iterator](): Iterator<number> {
    for (let i = 0; i < this.length; i++) yield this.v.get(this.at0 + 1 + i);
  }

  toJSON(): number[] {
    return this.toArray();
  }

  private overflow(n: number): never {
    throw new RangeError(`${this.name}: ${n} entries, more than the ${this.max} the scenario sizes it for`);
  }
}

/** A bounded array in a JavaScript array (the plain layout: see makeStruct). */
export class PlainArray implements BoundedArray {
  /** The entries (changed in place: the same array all run, as a footprint names it). */
  readonly items: number[] = [];

  constructor(
    readonly max: number,
    private readonly name: string,
  ) {}

  get length(): number {
    return this.items.length;
  }

  at(i: number): number | undefined {
    return this.items.at(i);
  }

  set(i: number, x: number): void {
    if (!(i >= 0 && i < this.items.length)) throw new RangeError(`${this.name}: index ${i} is past its length ${this.items.length}`);
    this.items[i] = num(this.name, x);
  }

  push(...xs: number[]): number {
    if (this.items.length + xs.length > this.max) this.overflow(this.items.length + xs.length);
    for (const x of xs) this.items.push(num(this.name, x));
    return this.items.length;
  }

  pop(): number | undefined {
    return this.items.pop();
  }

  shift(): number | undefined {
    return this.items.shift();
  }

  splice(start: number, count = Infinity, ...items: number[]): number[] {
    if (this.items.length - Math.min(count, this.items.length) + items.length > this.max) this.overflow(this.items.length + items.length);
    return this.items.splice(start, count, ...items);
  }

  assign(xs: Iterable<number> | ArrayLike<number>): void {
    const a = Array.isArray(xs) ? (xs as number[]) : Array.from(xs as Iterable<number>);
    if (a.length > this.max) this.overflow(a.length);
    if (a === this.items) return;
    this.items.length = 0;
    for (const x of a) this.items.push(num(this.name, x));
  }

  includes(x: number): boolean {
    return this.items.includes(x);
  }

  indexOf(x: number): number {
    return this.items.indexOf(x);
  }

  toArray(): number[] {
    return this.items.slice();
  }

  [Symbol.iterator](): Iterator<number> {
    return this.items[Symbol.iterator]();
  }

  toJSON(): number[] {
    return this.toArray();
  }

  private overflow(n: number): never {
    throw new RangeError(`${this.name}: ${n} entries, more than the ${this.max} the scenario sizes it for`);
  }
}

function num(name: string, x: unknown): number {
  if (typeof x !== 'number') throw new TypeError(`${name}: ${typeof x} ${String(x)} is not a number`);
  return x;
}

/** What a generated setter calls with a value of the wrong type. */
function bad(o: { [VECTOR_BASE]: number; [NAME]: string }, field: string, expected: string, x: unknown): never {
  throw new TypeError(`${o[NAME]}.${field}: ${typeof x} ${String(x)} where a ${expected} was expected`);
}

const ARRAYS = Symbol('thpsim.vector.arrays');
const NAME = Symbol('thpsim.vector.name');

interface Layout {
  readonly size: number;
  /** Per field: its offset from the base (arrays: their length slot), and for an array its max. */
  readonly offsets: ReadonlyMap<string, number>;
  readonly maxes: readonly number[];
}

function layoutOf(fields: Record<string, Field>, b: VectorBounds, init: Record<string, unknown>, sizes: Record<string, number>): Layout {
  const offsets = new Map<string, number>();
  const maxes: number[] = [];
  let size = 0;
  for (const [key, f] of Object.entries(fields)) {
    if (f.kind === 'const') continue;
    offsets.set(key, size);
    if (f.kind === 'array') {
      const given = init[key];
      const max = sizes[key] ?? f.max(b, given === undefined ? [] : Array.from(given as Iterable<number>));
      if (!Number.isInteger(max) || max < 0) throw new Error(`${key}: the bound of ${f.what} is ${max}`);
      maxes.push(max);
      size += 1 + max;
    } else size += 1;
  }
  return { size, offsets, maxes };
}

type Accessors = new (v: StateVector, base: number, name: string, arrays: VectorArray[]) => object;
/** Per schema, its accessor class (the offsets differ with the bounds only after the arrays: keyed by the layout). */
const classes = new WeakMap<object, Map<string, Accessors>>();

/** Generates the accessor class of a layout: a getter and a setter per field, reading and writing slots. */
function accessorsOf(schema: StructSchema<unknown>, layout: Layout): Accessors {
  const key = layout.maxes.join(',');
  let byLayout = classes.get(schema);
  if (!byLayout) classes.set(schema, (byLayout = new Map()));
  const have = byLayout.get(key);
  if (have) return have;
  const fields = schema.fields as Record<string, Field>;
  const body: string[] = [];
  let ai = 0;
  for (const [f, off] of layout.offsets) {
    const kind = fields[f]!.kind;
    const q = JSON.stringify(f);
    const slot = `this[B] + ${off}`;
    const read = `const v = this[V], i = ${slot}; if (v.tracking) v.reads.add(i);`;
    if (kind === 'int') {
      body.push(`get [${q}]() { ${read} return v.w[i]; }`);
      body.push(`set [${q}](x) { if (typeof x !== 'number') bad(this, ${q}, 'number', x); this[V].put(${slot}, x); }`);
    } else if (kind === 'bool') {
      body.push(`get [${q}]() { ${read} return v.w[i] !== 0; }`);
      body.push(`set [${q}](x) { if (typeof x !== 'boolean') bad(this, ${q}, 'boolean', x); this[V].put(${slot}, x ? 1 : 0); }`);
    } else if (kind === 'str') {
      body.push(`get [${q}]() { ${read} return stringOf(v.w[i]); }`);
      body.push(`set [${q}](x) { this[V].put(${slot}, stringId(x)); }`);
    } else {
      body.push(`get [${q}]() { return this[A][${ai}]; }`);
      body.push(`set [${q}](x) { this[A][${ai}].assign(x); }`);
      ai++;
    }
  }
  const names = [...layout.offsets.keys()];
  const src = `return class ${schema.name.replace(/\W/g, '_')} {
    constructor(v, base, name, arrays) { this[V] = v; this[B] = base; this[N] = name; this[A] = arrays; }
    ${body.join('\n    ')}
    toJSON() { const o = {}; for (const k of Object.keys(this)) o[k] = this[k]; for (const k of NAMES) { const x = this[k]; o[k] = x instanceof BoundedArray ? x.toArray() : x; } return o; }
  }`;
  const make = new Function('V', 'B', 'N', 'A', 'NAMES', 'bad', 'stringId', 'stringOf', 'BoundedArray', src) as (...a: unknown[]) => Accessors;
  const cls = make(VECTOR, VECTOR_BASE, NAME, ARRAYS, names, bad, stringId, stringOf, VectorArray);
  byLayout.set(key, cls);
  return cls;
}

/**
 * Lays out a struct of `schema` in `v`, named `name` (for errors: "T1 locals"), with the
 * constants `consts` and the fields' initial values (the schema's, or `init`'s).
 */
/** Per schema and layout, what making one costs once: the fields' initial slot values (the non-zero ones) and the keys by kind. */
interface Plan {
  readonly layout: Layout;
  readonly C: Accessors;
  /** Slot offset, value: each field's initial value where it is not 0. */
  readonly initial: readonly (readonly [number, number])[];
  readonly arrays: readonly (readonly [string, number, ArrayField])[];
  readonly consts: readonly string[];
}
const plans = new WeakMap<object, Map<string, Plan>>();

function planOf(schema: StructSchema<unknown>, b: VectorBounds, init: Record<string, unknown>, sizes: Record<string, number>): Plan {
  const fields = schema.fields as Record<string, Field>;
  // the arrays' sizes decide the layout (the rest is the schema's)
  let key = `${b.hpagePmdNr},${b.pmds},${b.allPmds},${b.mmPages},${b.mms},${b.filePages},${b.fileVmas},${b.filePmds},${b.actors},${b.files}`;
  for (const f in fields) if (fields[f]!.kind === 'array' && init[f] !== undefined) key += `;${f}=${Array.from(init[f] as Iterable<number>).length}`;
  for (const f in sizes) key += `;${f}<=${sizes[f]}`;
  let byKey = plans.get(schema);
  if (!byKey) plans.set(schema, (byKey = new Map()));
  let plan = byKey.get(key);
  if (!plan) {
    const layout = layoutOf(fields, b, init, sizes);
    const initial: [number, number][] = [];
    const arrays: [string, number, ArrayField][] = [];
    const consts: string[] = [];
    for (const [f, field] of Object.entries(fields)) {
      if (field.kind === 'const') consts.push(f);
      else if (field.kind === 'array') arrays.push([f, layout.offsets.get(f)!, field]);
      else {
        const x = field.kind === 'int' ? field.init : field.kind === 'bool' ? (field.init ? 1 : 0) : stringId(field.init);
        if (x !== 0) initial.push([layout.offsets.get(f)!, x]);
      }
    }
    plan = { layout, C: accessorsOf(schema, layout), initial, arrays, consts };
    byKey.set(key, plan);
  }
  return plan;
}

/**
 * Lays out a struct of `schema` in `v`, named `name` (for errors: "T1 locals"), with the
 * constants `consts` and the fields' initial values (the schema's, or `init`'s); `sizes`:
 * a bounded array's size where this struct's maker knows a tighter one than the schema's
 * (a task's MADV_PAGEOUT list, from its operations).
 */
export function makeStruct<T>(v: StateVector, schema: StructSchema<T>, name: string, consts: Partial<T>, init: Partial<T> = {}, sizes: Partial<Record<keyof T, number>> = {}): T {
  const given = init as Record<string, unknown>;
  const plan = planOf(schema as StructSchema<unknown>, v.bounds, given, sizes as Record<string, number>);
  if (v.plain) return makePlain(plan, schema as StructSchema<unknown>, name, consts as Record<string, unknown>, given) as T;
  const base = v.alloc(plan.layout.size, name);
  const arrays: VectorArray[] = [];
  let ai = 0;
  for (const [f, off, field] of plan.arrays) arrays.push(new VectorArray(v, base + off, plan.layout.maxes[ai++]!, `${name}.${f} (at most ${field.what})`));
  const o = new plan.C(v, base, name, arrays) as Record<string, unknown>;
  for (const [off, x] of plan.initial) v.put(base + off, x);
  for (const f of plan.consts) {
    if (!(f in consts)) throw new Error(`${name}: constant ${f} not given`);
    o[f] = (consts as Record<string, unknown>)[f];
  }
  for (const f in given) if (given[f] !== undefined) o[f] = given[f];
  return o as T;
}

/** Per accessor class, the plain class of the same schema and layout. */
const plainClasses = new WeakMap<object, new (name: string, arrays: PlainArray[]) => object>();

/**
 * The plain layout of a struct: its fields own properties of one object (one shape, set in
 * its constructor: fast in-object properties), its bounded arrays PlainArrays behind the
 * same accessors (`l.cursor = [...]` assigns, `l.cursor.at(0)` reads). For a world that is
 * never copied nor hashed (StateVector.plain: a single run), where a slot write would buy
 * nothing; walked field by field, as any object, should its state be hashed.
 */
function makePlain(plan: Plan, schema: StructSchema<unknown>, name: string, consts: Record<string, unknown>, given: Record<string, unknown>): object {
  let C = plainClasses.get(plan.C);
  if (!C) {
    const fields = schema.fields as Record<string, Field>;
    const init: string[] = [];
    const access: string[] = [];
    let ai = 0;
    for (const [f, field] of Object.entries(fields)) {
      const q = JSON.stringify(f);
      if (field.kind === 'const') init.push(`this[${q}] = undefined;`);
      else if (field.kind === 'array') {
        // (the array an own property too, so a walk of the object sees its entries)
        init.push(`this[${JSON.stringify(`${f}$`)}] = arrays[${ai++}];`);
        access.push(`get [${q}]() { return this[${JSON.stringify(`${f}$`)}]; }`, `set [${q}](x) { this[${JSON.stringify(`${f}$`)}].assign(x); }`);
      } else init.push(`this[${q}] = ${JSON.stringify(field.kind === 'bool' ? field.init : field.init)};`);
    }
    const src = `return class ${schema.name.replace(/\W/g, '_')}_plain {
    constructor(name, arrays) { ${init.join(' ')} }
    ${access.join('\n    ')}
    toJSON() { const o = {}; for (const k of Object.keys(this)) { const x = this[k]; o[k.endsWith('$') ? k.slice(0, -1) : k] = x !== null && typeof x === 'object' && typeof x.toArray === 'function' ? x.toArray() : x; } return o; }
  }`;
    C = (new Function(src) as () => new (name: string, arrays: PlainArray[]) => object)();
    plainClasses.set(plan.C, C);
  }
  const arrays: PlainArray[] = [];
  let ai = 0;
  for (const [f, , field] of plan.arrays) arrays.push(new PlainArray(plan.layout.maxes[ai++]!, `${name}.${f} (at most ${field.what})`));
  const o = new C(name, arrays) as Record<string, unknown>;
  for (const f of plan.consts) {
    if (!(f in consts)) throw new Error(`${name}: constant ${f} not given`);
    o[f] = consts[f];
  }
  for (const f in given) if (given[f] !== undefined) o[f] = given[f];
  return o;
}

/**
 * A map from numbers to numbers over a bounded array: (key, value) pairs kept sorted by
 * key — one content, one layout, whatever order the keys came in (a ghost map hashed as a
 * multiset). A key whose value is set to 0 by `add` is removed, as a count that comes
 * back to 0 is no entry.
 */
/**
 * (key, value) pairs in a bounded array, in the order the keys were first set — a Map's
 * order: setting a key again keeps its place, deleting one closes the gap (a key set after
 * its deletion goes last).
 */
export class OrderedPairs {
  constructor(private readonly list: BoundedArray) {}

  get size(): number {
    return this.list.length / 2;
  }

  /** The pair's index, or -1. */
  private find(key: number): number {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) if (l.at(i) === key) return i;
    return -1;
  }

  get(key: number): number | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.list.at(i + 1);
  }

  has(key: number): boolean {
    return this.find(key) >= 0;
  }

  set(key: number, value: number): void {
    const i = this.find(key);
    if (i < 0) this.list.push(key, value);
    else this.list.set(i + 1, value);
  }

  delete(key: number): boolean {
    const i = this.find(key);
    if (i >= 0) this.list.splice(i, 2);
    return i >= 0;
  }

  /** The i-th pair's key and value (0 ≤ i < size). */
  keyAt(i: number): number {
    return this.list.at(2 * i)!;
  }

  valueAt(i: number): number {
    return this.list.at(2 * i + 1)!;
  }
}

export class SortedPairs {
  constructor(private readonly list: BoundedArray) {}

  get size(): number {
    return this.list.length / 2;
  }

  /** The pair's index, or -(where it would go) - 1. */
  private find(key: number): number {
    const l = this.list;
    let i = 0;
    for (; i < l.length; i += 2) {
      const k = l.at(i)!;
      if (k === key) return i;
      if (k > key) break;
    }
    return -i - 1;
  }

  get(key: number): number | undefined {
    const i = this.find(key);
    return i >= 0 ? this.list.at(i + 1) : undefined;
  }

  set(key: number, value: number): void {
    const i = this.find(key);
    if (i >= 0) this.list.set(i + 1, value);
    else this.list.splice(-i - 1, 0, key, value);
  }

  delete(key: number): boolean {
    const i = this.find(key);
    if (i >= 0) this.list.splice(i, 2);
    return i >= 0;
  }

  /** value += d, the pair removed when it comes to 0. */
  add(key: number, d: number): void {
    const n = (this.get(key) ?? 0) + d;
    if (n === 0) this.delete(key);
    else this.set(key, n);
  }

  forEach(fn: (value: number, key: number) => void): void {
    const l = this.list;
    for (let i = 0; i < l.length; i += 2) fn(l.at(i + 1)!, l.at(i)!);
  }

  /** The values summed. */
  total(): number {
    const l = this.list;
    let t = 0;
    for (let i = 1; i < l.length; i += 2) t += l.at(i)!;
    return t;
  }
}
