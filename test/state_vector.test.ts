// The state vector (src/vector/, issue 21): structs laid out from schemas, read and
// written through generated accessors; the hash kept by every write equals the hash of the
// slots; a copy restores every field; bounded arrays stay canonical (slots past the length
// are 0, so equal contents are equal slots); mistakes are errors naming struct and field.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ScratchCells, StateVector, inVector } from '../src/vector/state_vector.ts';
import { type BoundedArray, array, bool, constant, int, makeStruct, str, struct } from '../src/vector/struct.ts';
import { stringId, stringOf } from '../src/vector/strings.ts';
import { Bus } from '../src/bus/bus.ts';
import { VmStat } from '../src/memory/vmstat.ts';
import { makePageLockHolders } from '../src/memory/held_locks.ts';
import { Kernel } from '../src/memory/kernel.ts';
import { VectorMap } from '../src/vector/vector_map.ts';
import { join } from 'node:path';
import { loadScenario } from '../src/scenario/load.ts';
import { createWorld } from '../src/world/engine_world.ts';

interface Demo {
  pc: number;
  locked: boolean;
  result: 'SCAN_SUCCEED' | 'SCAN_FAIL';
  todo: BoundedArray;
  ops: readonly string[];
}
const demo = struct<Demo>('demo', {
  pc: int(),
  locked: bool(),
  result: str('SCAN_SUCCEED'),
  todo: array('the pmds of an mm', (b) => b.pmds),
  ops: constant,
});
const bounds = { hpagePmdNr: 4, pmds: 6, allPmds: 12, mmPages: 24, mms: 2, filePages: 8, fileVmas: 2, filePmds: 6, actors: 3, files: 1 };

function fresh(): { v: StateVector; a: Demo; b: Demo } {
  const v = new StateVector(bounds);
  v.startHashing(); // (a search does, to hash states: a plain run keeps no hash)
  return { v, a: makeStruct(v, demo, 'T1', { ops: ['read'] }), b: makeStruct(v, demo, 'T2', { ops: [] }, { pc: 7 }) };
}

describe('state vector', () => {
  it('lays a struct out from its schema: initial values, constants, one slot a field and 1 + max an array', () => {
    const { v, a, b } = fresh();
    expect(v.n).toBe(2 * (3 + 1 + 6));
    expect(v.regions.map((r) => `${r.name}@${r.base}+${r.size}`)).toEqual(['T1@0+10', 'T2@10+10']);
    expect([a.pc, a.locked, a.result, a.todo.length, a.ops]).toEqual([0, false, 'SCAN_SUCCEED', 0, ['read']]);
    expect(b.pc).toBe(7);
    expect(inVector(a)).toBe(true);
    expect(Object.keys(a)).toEqual(['ops']); // (the fields are accessors, the slots the state)
    expect(JSON.parse(JSON.stringify(a))).toEqual({ ops: ['read'], pc: 0, locked: false, result: 'SCAN_SUCCEED', todo: [] });
  });

  it('a field write is a slot write, and the kept hash is the hash of the slots', () => {
    const { v, a, b } = fresh();
    a.pc = 3;
    a.locked = true;
    a.result = 'SCAN_FAIL';
    b.todo.push(1, 2, 3);
    expect(v.w[0]).toBe(3);
    expect(v.w[1]).toBe(1);
    expect(stringOf(v.w[2]!)).toBe('SCAN_FAIL');
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    const h = [v.lo, v.hi];
    a.pc = 4;
    expect([v.lo, v.hi]).not.toEqual(h);
    a.pc = 3;
    expect([v.lo, v.hi]).toEqual(h); // (a function of the slots alone)
  });

  it('a vector nobody hashes keeps no hash; asked for one, it hashes its slots and keeps it from then on', () => {
    const v = new StateVector(bounds);
    const a = makeStruct(v, demo, 'T1', { ops: [] });
    a.pc = 5;
    expect([v.lo, v.hi]).toEqual([0, 0]);
    v.startHashing();
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    a.todo.push(3);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
  });

  it('a struct laid out after a save is gone with a restore to it: its slots zeroed, the vector as long as it was', () => {
    const v = new StateVector(bounds);
    makeStruct(v, demo, 'T1', { ops: [] });
    const s = v.save();
    const late = makeStruct(v, demo, 'late', { ops: [] }, { pc: 9 });
    expect(late.pc).toBe(9);
    v.startHashing(); // (a copy made before the hash was kept: the restore computes it)
    v.restore(s);
    expect(v.n).toBe(10);
    expect(v.regions.map((r) => r.name)).toEqual(['T1']);
    expect(v.w[13]).toBe(0);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
  });

  it('the plain layout (a world nobody copies or hashes) behaves alike: fields own properties, the lists behind the same accessors', () => {
    const v = new StateVector(bounds);
    v.plain = true;
    const a = makeStruct(v, demo, 'T1', { ops: ['read'] }, { pc: 2 });
    expect(v.n).toBe(0);
    expect(inVector(a)).toBe(false);
    expect([a.pc, a.locked, a.result, a.todo.length, a.ops]).toEqual([2, false, 'SCAN_SUCCEED', 0, ['read']]);
    a.todo = [4, 5, 6] as unknown as BoundedArray;
    expect([a.todo.shift(), a.todo.at(0), [...a.todo], a.todo.splice(0, 1)]).toEqual([4, 5, [5, 6], [5]]);
    expect(() => a.todo.push(1, 2, 3, 4, 5, 6)).toThrow('T1.todo (at most the pmds of an mm): 7 entries, more than the 6 the scenario sizes it for');
    expect(JSON.parse(JSON.stringify(a))).toEqual({ ops: ['read'], pc: 2, locked: false, result: 'SCAN_SUCCEED', todo: [6] });
  });

  it('a task\'s lists sized tighter by its maker (sizes)', () => {
    const v = new StateVector(bounds);
    const a = makeStruct(v, demo, 'T1', { ops: [] }, {}, { todo: 2 });
    expect(a.todo.max).toBe(2);
    expect(() => a.todo.push(1, 2, 3)).toThrow('more than the 2');
  });

  it('equal contents, whatever the path, are equal slots and equal hashes (bounded arrays stay canonical)', () => {
    const x = fresh();
    x.a.todo.push(5, 6, 7, 8);
    x.a.todo.shift();
    x.a.todo.pop();
    x.a.todo.splice(0, 1);
    const y = fresh();
    y.a.todo.assign([7]);
    expect(x.a.todo.toArray()).toEqual([7]);
    expect(Array.from(x.v.w.subarray(0, x.v.n))).toEqual(Array.from(y.v.w.subarray(0, y.v.n)));
    expect([x.v.lo, x.v.hi]).toEqual([y.v.lo, y.v.hi]);
  });

  it('bounded arrays: at, set, push, pop, shift, splice, assign, iteration', () => {
    const { a } = fresh();
    a.todo = [1, 2, 3] as unknown as BoundedArray; // (a setter assigns: a chart writes `l.cursor = [...]`)
    expect([...a.todo]).toEqual([1, 2, 3]);
    expect([a.todo.at(0), a.todo.at(-1), a.todo.at(3)]).toEqual([1, 3, undefined]);
    a.todo.set(1, 9);
    expect(a.todo.splice(0, 2)).toEqual([1, 9]);
    expect(a.todo.toArray()).toEqual([3]);
    expect(a.todo.includes(3)).toBe(true);
    expect(a.todo.indexOf(4)).toBe(-1);
    expect(a.todo.shift()).toBe(3);
    expect(a.todo.pop()).toBeUndefined();
  });

  it('a splice that inserts moves the list in place, and leaves the slots and hash a footprint-recording splice leaves', () => {
    // (todo holds at most 6: the schema's bound)
    const op = fc.tuple(fc.integer({ min: -3, max: 7 }), fc.integer({ min: 0, max: 7 }), fc.array(fc.integer({ min: 1, max: 99 }), { maxLength: 4 }));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 99 }), { maxLength: 6 }), fc.array(op, { maxLength: 8 }), (init, ops) => {
        const x = fresh();
        const y = fresh();
        const model = [...init];
        x.a.todo.assign(init);
        y.a.todo.assign(init);
        for (const [start, count, items] of ops) {
          const copy = [...model];
          const removed = copy.splice(start, count, ...items);
          if (copy.length > 6) {
            expect(() => x.a.todo.splice(start, count, ...items)).toThrow(/at most/);
            continue;
          }
          model.splice(start, count, ...items);
          expect(x.a.todo.splice(start, count, ...items)).toEqual(removed);
          y.v.track();
          y.a.todo.splice(start, count, ...items);
          y.v.untrack();
          expect(x.a.todo.toArray()).toEqual(model);
        }
        expect(y.a.todo.toArray()).toEqual(model);
        expect(Array.from(x.v.w.subarray(0, x.v.n))).toEqual(Array.from(y.v.w.subarray(0, y.v.n)));
        expect([x.v.lo, x.v.hi]).toEqual([y.v.lo, y.v.hi]);
      }),
    );
  });

  it('a save is a copy: restore brings every field back', () => {
    const { v, a, b } = fresh();
    a.pc = 1;
    b.todo.push(4);
    const s = v.save();
    a.pc = 2;
    a.result = 'SCAN_FAIL';
    b.todo.assign([1, 2, 3, 4, 5, 6]);
    v.restore(s);
    expect([a.pc, a.result, b.todo.toArray()]).toEqual([1, 'SCAN_SUCCEED', [4]]);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
  });

  it('the kept hash equals the slots\' hash after any sequence of writes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(
          fc.record({ f: fc.constant('pc' as const), x: fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.constant(2 ** 40)) }),
          fc.record({ f: fc.constant('locked' as const), x: fc.boolean() }),
          fc.record({ f: fc.constant('push' as const), x: fc.integer({ min: -5, max: 5 }) }),
          fc.record({ f: fc.constant('shift' as const), x: fc.constant(0) }),
        ), { maxLength: 40 }),
        (writes) => {
          const { v, a } = fresh();
          for (const w of writes) {
            if (w.f === 'pc') a.pc = w.x;
            else if (w.f === 'locked') a.locked = w.x;
            else if (w.f === 'push') { if (a.todo.length < a.todo.max) a.todo.push(w.x); }
            else a.todo.shift();
          }
          expect([v.lo, v.hi]).toEqual(v.freshHash());
          for (let i = a.todo.length; i < a.todo.max; i++) expect(v.w[4 + i]).toBe(0);
        },
      ),
    );
  });

  it('numbers past 32 bits stay exact (a vpn near TASK_SIZE)', () => {
    const { a } = fresh();
    a.pc = 2 ** 35 - 1;
    expect(a.pc).toBe(2 ** 35 - 1);
  });

  it('mistakes are errors naming the struct and the field', () => {
    const { a } = fresh();
    expect(() => a.todo.push(1, 2, 3, 4, 5, 6, 7)).toThrow('T1.todo (at most the pmds of an mm): 7 entries, more than the 6 the scenario sizes it for');
    expect(() => { (a as { pc: unknown }).pc = 'x'; }).toThrow('T1.pc: string x where a number was expected');
    expect(() => { (a as { locked: unknown }).locked = 1; }).toThrow('T1.locked: number 1 where a boolean was expected');
    expect(() => a.todo.set(0, 1)).toThrow('past its length 0');
    expect(() => makeStruct(new StateVector(bounds), demo, 'T3', {})).toThrow('T3: constant ops not given');
  });

  it('a string is the fingerprint of its contents, the same in every run', () => {
    expect(stringId('SCAN_FAIL')).toBe(stringId('SCAN_' + 'FAIL'));
    expect(stringOf(stringId('VM_FAULT_OOM'))).toBe('VM_FAULT_OOM');
  });

  it('what a bus subscriber (a monitor) reads or writes during a tracked step is not the step\'s footprint', () => {
    const { v, a, b } = fresh();
    const bus = new Bus();
    bus.on('trace').subscribe(() => {
      void b.pc;
      bus.publish({ kind: 'step_end', step: 0, actor: 0 }); // (delivered within this one)
      void b.locked;
    });
    v.track();
    bus.observing = v;
    void a.pc;
    bus.publish({ kind: 'trace', event: 'x', fields: '', actor: 0 });
    a.locked = true;
    bus.observing = null;
    v.untrack();
    expect([...v.reads]).toEqual([0]);
    expect([...v.writes]).toEqual([1]);
  });

  it('tracking records the slots a step reads and writes', () => {
    const { v, a, b } = fresh();
    v.track();
    void a.pc;
    b.todo.push(1);
    v.untrack();
    expect([...v.reads].sort((x, y) => x - y)).toEqual([0, 13]);
    expect([...v.writes].sort((x, y) => x - y)).toEqual([13, 14]);
    expect(v.describe(14)).toBe('T2+4');
  });

  it('vmstat in a world a search copies is slots of the vector (the hash kept, a restore brings the counters back); plain, an array of its own', () => {
    const count = (vm: VmStat, bus: Bus) => {
      bus.publish({ kind: 'vmstat', item: 'thp_fault_alloc', delta: 1, actor: 0 });
      bus.publish({ kind: 'vmstat', item: 'nr_anon_transparent_hugepages', delta: 4, actor: 0 });
      bus.publish({ kind: 'vmstat', item: 'recov_completed', delta: 2, actor: 0 });
      return [vm.get('thp_fault_alloc'), vm.get('nr_anon_transparent_hugepages'), vm.get('recov_completed'), vm.toJSON().thp_fault_alloc];
    };
    const v = new StateVector(bounds);
    v.startHashing();
    const bus = new Bus();
    const vm = new VmStat(bus, v);
    expect(inVector(vm)).toBe(true);
    expect(v.regions.map((r) => r.name)).toEqual(['vmstat']);
    const s = v.save();
    expect(count(vm, bus)).toEqual([1, 4, 2, 1]);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    v.restore(s);
    expect([vm.get('thp_fault_alloc'), vm.get('recov_completed')]).toEqual([0, 0]);
    const plainBus = new Bus();
    const plain = new VmStat(plainBus);
    expect(inVector(plain)).toBe(false);
    expect(count(plain, plainBus)).toEqual([1, 4, 2, 1]);
  });

  it('the page-lock holders in a world a search copies are (pfn, holder) pairs in the vector, in the order taken, as the Map they replace', () => {
    const v = new StateVector(bounds);
    const inV = makePageLockHolders(v);
    const plain = new Map<number, number>();
    expect(inVector(inV)).toBe(true);
    const ops: [number, number | null][] = [[7, 0], [3, 1], [9, 0], [7, null], [5, 2], [7, 1], [3, null]];
    for (const [pfn, holder] of ops) {
      for (const m of [inV, plain]) {
        if (holder === null) m.delete(pfn);
        else m.set(pfn, holder);
      }
      expect([...inV]).toEqual([...plain]);
      expect([...inV.values()]).toEqual([...plain.values()]);
      expect(inV.size).toBe(plain.size);
    }
    expect([...inV]).toEqual([[9, 0], [5, 2], [7, 1]]); // (a lock taken again goes last)
    expect([inV.get(5), inV.get(3)]).toEqual([2, undefined]);
    // sized for every actor and the kernel holding a huge page's pages and a new one
    const max = (bounds.actors + 1) * (bounds.hpagePmdNr + 1);
    for (let pfn = 100; inV.size < max; pfn++) inV.set(pfn, 0);
    expect(() => inV.set(1000, 0)).toThrow(/page lock holders\.locks .*more than/);
    const p = makePageLockHolders(Object.assign(new StateVector(bounds), { plain: true }));
    expect(p instanceof Map).toBe(true);
  });

  it('stacked saves (the dfs, RunPool): a save is where the undo trail stands, a restore undoes the writes since and drops the saves after it', () => {
    const { v, a, b } = fresh();
    v.stacked = true;
    const at = (): number[] => [a.pc, b.pc, ...b.todo];
    const s0 = v.save();
    expect(s0.slots).not.toBeNull(); // (the first save copies the slots: going back to it after a long run copies them back)
    a.pc = 1;
    b.todo.push(5, 6);
    const s1 = v.save();
    expect(s1.slots).toBeNull();
    const h1 = [v.lo, v.hi];
    a.pc = 2;
    b.pc = 9;
    b.todo.shift();
    const s2 = v.save();
    a.pc = 3;
    v.restore(s2);
    expect(at()).toEqual([2, 9, 6]);
    v.restore(s1);
    expect(at()).toEqual([1, 7, 5, 6]);
    expect([v.lo, v.hi]).toEqual(h1);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    expect(() => v.restore(s2)).toThrow('state vector: a restore to a save that a restore before it went back past');
    // a save written over (a dropped one, reused) is good again
    b.todo.push(8);
    const s3 = v.save(s2);
    expect(s3).toBe(s2);
    a.pc = 4;
    v.restore(s3);
    expect(at()).toEqual([1, 7, 5, 6, 8]);
    // many writes since the first save: its copy is written back
    for (let i = 0; i < 100; i++) a.pc = i + 10;
    v.restore(s0);
    expect(at()).toEqual([0, 7]);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    v.restore(s0);
    expect(at()).toEqual([0, 7]);
  });

  it('columns (the struct page arrays): an element is hashed, trailed and restored as a slot is, by (column, index), and the column may grow', () => {
    const { v, a } = fresh();
    let refcount = new Int32Array(4);
    let lru = new Int8Array(4).fill(-1);
    const cr = v.addColumn('mem_map.refcount', refcount, 0);
    const cl = v.addColumn('mem_map.lru', lru, -1);
    // (an element at its column's fill adds nothing: registering them leaves the hash as it was)
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    const h0 = [v.lo, v.hi];
    v.stacked = true;
    const s0 = v.save();
    v.putCol(cr, 1, 3);
    v.putCol(cl, 1, 2);
    a.pc = 5;
    expect([refcount[1], lru[1]]).toEqual([3, 2]);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    const s1 = v.save();
    const h1 = [v.lo, v.hi];
    // grown by its owner (the room past the old elements at the fill), then written past the old end
    const grow = <T extends Int32Array | Int8Array>(x: T, fill: number): T => {
      const y = new (x.constructor as new (n: number) => T)(16);
      y.fill(fill);
      y.set(x);
      return y;
    };
    refcount = grow(refcount, 0);
    lru = grow(lru, -1);
    v.setColumn(cr, refcount);
    v.setColumn(cl, lru);
    expect([v.lo, v.hi]).toEqual(h1); // (growing changes no state)
    v.putCol(cr, 12, 1);
    v.putCol(cl, 12, 0);
    v.putCol(cr, 1, 0);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    v.restore(s1);
    expect([refcount[1], refcount[12], lru[1], lru[12]]).toEqual([3, 0, 2, -1]);
    expect([v.lo, v.hi]).toEqual(h1);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    // the same contents by another path: the same hash
    v.putCol(cr, 1, 7);
    v.putCol(cr, 1, 3);
    expect([v.lo, v.hi]).toEqual(h1);
    // many writes since the first save: its copies of the columns are written back (a grown one: then its fill)
    for (let i = 0; i < 200; i++) v.putCol(cr, i % 16, i);
    for (let i = 0; i < 16; i++) v.putCol(cl, i, i % 3);
    v.restore(s0);
    expect([...refcount]).toEqual(new Array(16).fill(0));
    expect([...lru]).toEqual(new Array(16).fill(-1));
    expect(a.pc).toBe(0);
    expect([v.lo, v.hi]).toEqual(h0);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    // an element written behind the vector's back is what the check finds: the kept hash is not the elements'
    lru[3] = 1;
    expect([v.lo, v.hi]).not.toEqual(v.freshHash());
  });

  it("a monitor's scratch cells (what it derives from the model and keeps between steps): restored with the vector, never hashed; a plain run's, an array", () => {
    const { v } = fresh();
    v.stacked = true;
    const cells = new ScratchCells(v, 'lock-order: the lock classes each actor holds');
    const h0 = [v.lo, v.hi];
    const s0 = v.save();
    cells.set(3, 2);
    cells.set(40, 1); // (grown past its first 16)
    expect([cells.get(3), cells.get(40), cells.get(1000)]).toEqual([2, 1, 0]);
    expect([v.lo, v.hi]).toEqual(h0);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    v.restore(s0);
    expect([cells.get(3), cells.get(40)]).toEqual([0, 0]);
    const plain = new StateVector(bounds);
    plain.plain = true;
    const own = new ScratchCells(plain, 'x');
    own.set(20, 5);
    expect(own.get(20)).toBe(5);
    expect(plain.columnCount).toBe(0);
  });

  it('columns in a vector whose saves are copies: a save copies them, a restore writes them back', () => {
    const v = new StateVector(bounds);
    v.startHashing();
    const data = new Int32Array(8);
    const c = v.addColumn('mem_map.data', data, 0);
    v.putCol(c, 2, 9);
    const s = v.save();
    expect(s.cols).not.toBeNull();
    v.putCol(c, 2, 4);
    v.putCol(c, 5, 1);
    v.restore(s);
    expect([...data]).toEqual([0, 0, 9, 0, 0, 0, 0, 0]);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
  });

  it('the page store in a world a search copies: its arrays are columns of the vector, every write kept in its hash and undone by a restore', () => {
    const k = new Kernel({ hpagePmdNr: 4, slots: true });
    expect(k.pages.inVector).toBe(true);
    k.sv.startHashing();
    k.sv.stacked = true;
    const s = k.sv.save();
    const was = k.pages.nr;
    // a huge page: every array written over its pages (and mem_map grown past 1,024 pages)
    const pfns: number[] = [];
    for (let i = 0; i < 300; i++) pfns.push(k.pages.alloc(2, false, -1, 'test'));
    k.pages.setMapping(pfns[0]!, 0);
    k.pages.setIndex(pfns[0]!, 3);
    k.pages.setData(pfns[0]!, 42);
    expect(k.pages.capacity).toBeGreaterThan(1024);
    expect([k.sv.lo, k.sv.hi]).toEqual(k.sv.freshHash());
    k.sv.restore(s);
    expect(k.pages.nr).toBe(was);
    expect(k.pages.refcount[pfns[0]!]).toBe(0);
    expect(k.pages.data[pfns[0]!]).toBe(0);
    expect(k.pages.mapping[pfns[0]!]).toBe(0);
    expect([k.sv.lo, k.sv.hi]).toEqual(k.sv.freshHash());
    expect(was).toBe(1);
    // a plain run's page store is its arrays alone
    expect(new Kernel({ hpagePmdNr: 4 }).pages.inVector).toBe(false);
  });
});

describe("mem_map's extent and the free lists in a search world", () => {
  // The allocator's free lists are columns of the vector (the free area), mirrored by the
  // store's own Map: a restore gives nr and every list back, in the Map's order, and the hash.
  it('a restore gives back nr and every free list, in the order the orders were first freed, and the hash', () => {
    const k = new Kernel({ hpagePmdNr: 4, slots: true });
    k.sv.startHashing();
    k.sv.stacked = true;
    const lists = () => JSON.stringify([k.pages.nr, [...k.pages.freeLists]]);
    const huge = k.pages.alloc(2, false, -1, 'test'); // (pfns 1-3 an alignment gap: free order-0 pages)
    const small = [k.pages.alloc(0, false, -1, 'test'), k.pages.alloc(0, false, -1, 'test')];
    k.pages.put(small[0]!, -1, 'test');
    const s1 = k.sv.save();
    const at1 = [lists(), k.sv.lo, k.sv.hi];
    k.pages.put(huge, -1, 'test');
    k.pages.put(small[1]!, -1, 'test');
    const again = k.pages.alloc(0, false, -1, 'test');
    const s2 = k.sv.save();
    const at2 = [lists(), k.sv.lo, k.sv.hi];
    k.pages.alloc(2, false, -1, 'test');
    k.pages.alloc(2, false, -1, 'test');
    k.pages.put(again, -1, 'test');
    expect([k.sv.lo, k.sv.hi]).toEqual(k.sv.freshHash());
    k.sv.restore(s2);
    expect([lists(), k.sv.lo, k.sv.hi]).toEqual(at2);
    expect([k.sv.lo, k.sv.hi]).toEqual(k.sv.freshHash());
    k.sv.restore(s1);
    expect([lists(), k.sv.lo, k.sv.hi]).toEqual(at1);
    // the same pages allocated again: the same pfns as the first time
    k.pages.put(huge, -1, 'test');
    expect(k.pages.alloc(2, false, -1, 'test')).toBe(huge);
  });

  it('two free lists holding the same pages, their orders first freed in another order, are two states (as the Map hashed them)', () => {
    const hashAfter = (first: 0 | 2) => {
      const k = new Kernel({ hpagePmdNr: 4, slots: true });
      k.sv.startHashing();
      // (pfns 1-3 order 0, then 4-7 order 2: no alignment gap to free order-0 pages first)
      const small = [0, 1, 2].map(() => k.pages.alloc(0, false, -1, 'test'));
      const huge = k.pages.alloc(2, false, -1, 'test');
      expect([...small, huge]).toEqual([1, 2, 3, 4]);
      const frees = first === 0 ? [small[0]!, huge] : [huge, small[0]!];
      for (const p of frees) k.pages.put(p, -1, 'test');
      return [k.sv.lo, k.sv.hi];
    };
    expect(hashAfter(0)).not.toEqual(hashAfter(2));
  });
});

describe("an address space's flags in a search world", () => {
  it('are a column of the vector: a restore gives the Set back, in its order, and the hash; the inode is no state component', () => {
    const k = new Kernel({ hpagePmdNr: 4, slots: true });
    const ino = k.createInode('f', true, 16);
    expect(ino.inVector).toBe(true);
    k.sv.startHashing();
    k.sv.stacked = true;
    const s0 = k.sv.save();
    const h0 = [k.sv.lo, k.sv.hi];
    expect(k.mappingFlag(ino, 'AS_COLLAPSE_PMD', true, -1)).toBe(false);
    k.mappingFlag(ino, 'AS_EXIT', true, -1);
    const s1 = k.sv.save();
    const h1 = [k.sv.lo, k.sv.hi];
    expect(h1).not.toEqual(h0);
    expect(k.mappingFlag(ino, 'AS_COLLAPSE_PMD', false, -1)).toBe(true);
    k.mappingFlag(ino, 'AS_COLLAPSE_PMD', true, -1); // (now after AS_EXIT: another order, another state)
    expect([...ino.mapping.flags]).toEqual(['AS_EXIT', 'AS_COLLAPSE_PMD']);
    expect([k.sv.lo, k.sv.hi]).not.toEqual(h1);
    expect([k.sv.lo, k.sv.hi]).toEqual(k.sv.freshHash());
    k.sv.restore(s1);
    expect([...ino.mapping.flags]).toEqual(['AS_COLLAPSE_PMD', 'AS_EXIT']);
    expect([k.sv.lo, k.sv.hi]).toEqual(h1);
    k.sv.restore(s0);
    expect([...ino.mapping.flags]).toEqual([]);
    expect([k.sv.lo, k.sv.hi]).toEqual(h0);
    // a plain run's inode keeps its fields itself
    expect(new Kernel({ hpagePmdNr: 4 }).createInode('f', true, 16).inVector).toBe(false);
  });
});

describe('the swap slots in a search world', () => {
  it('are a column of the vector, the next offset a slot: a restore gives the slots back, and the hash', () => {
    const k = new Kernel({ hpagePmdNr: 4, slots: true });
    k.sv.startHashing();
    k.sv.stacked = true;
    const e1 = k.swapOut(7, -1);
    const e2 = k.swapOut(0, -1); // (zeroes swapped out: a slot in use all the same)
    const s1 = k.sv.save();
    const h1 = [k.sv.lo, k.sv.hi];
    k.swapFree(e1, -1);
    k.swapFree(e2, -1);
    const e3 = k.swapOut(9, -1);
    expect([...k.swapSlots]).toEqual([[2, 9]]);
    expect([k.sv.lo, k.sv.hi]).toEqual(k.sv.freshHash());
    k.sv.restore(s1);
    expect(new Map(k.swapSlots)).toEqual(new Map([[0, 7], [1, 0]]));
    expect([k.swapData(e1), k.swapData(e2)]).toEqual([7, 0]);
    expect([k.sv.lo, k.sv.hi]).toEqual(h1);
    // the next offset went back too: the slot handed out again is the one handed out then
    expect(k.swapOut(9, -1)).toBe(e3);
    // a slot holding zeroes and no slot are two states
    const free = new Kernel({ hpagePmdNr: 4, slots: true });
    free.sv.startHashing();
    free.swapFree(free.swapOut(0, -1), -1);
    const zero = new Kernel({ hpagePmdNr: 4, slots: true });
    zero.sv.startHashing();
    zero.swapOut(0, -1);
    expect([free.sv.lo, free.sv.hi]).not.toEqual([zero.sv.lo, zero.sv.hi]);
  });
});

describe('a VectorMap', () => {
  it('keeps the Map in a column in its order: a restore gives back the entries and their order, and the hash', () => {
    const v = new StateVector(bounds);
    v.startHashing();
    v.stacked = true;
    const m = new VectorMap();
    m.layIn(v, 'mm m1.expected');
    const s0 = v.save();
    m.set(5, 1).set(2 ** 40, 0).set(7, -1);
    const s1 = v.save();
    const h1 = [v.lo, v.hi];
    m.delete(5);
    m.set(5, 1); // (the same pairs, 5 now last: another state, as a walk of the Map hashed it)
    expect([...m]).toEqual([[2 ** 40, 0], [7, -1], [5, 1]]);
    expect([v.lo, v.hi]).not.toEqual(h1);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    const s2 = v.save();
    m.clear();
    m.set(9, 9);
    v.restore(s2);
    expect([...m]).toEqual([[2 ** 40, 0], [7, -1], [5, 1]]);
    v.restore(s1);
    expect([...m]).toEqual([[5, 1], [2 ** 40, 0], [7, -1]]);
    expect([v.lo, v.hi]).toEqual(h1);
    // (after a restore the map goes on from the entries given back)
    m.set(2 ** 40, 3);
    expect([...m]).toEqual([[5, 1], [2 ** 40, 3], [7, -1]]);
    expect([v.lo, v.hi]).toEqual(v.freshHash());
    v.restore(s0);
    expect(m.size).toBe(0);
    // a plain Map where it is not laid in
    const plain = new VectorMap();
    plain.set(1, 2).delete(1);
    expect(plain.size).toBe(0);
  });
});

describe("page-refcount's memory", () => {
  // A reference claimed twice on the bus that the page does not have: the monitor counts 2
  // where page_count() is 1 — at the end of the next step, in a plain run as in a world a
  // search copies and hashes (its memory then in the state vector: no component of its own).
  it.each([false, true])('finds a page whose count is not the references that exist (search world: %s), and goes back with a restore', async (snapshots) => {
    const s = await loadScenario(join(import.meta.dirname, '..', 'examples', 'zero-page-read-faults.yaml'));
    const w = createWorld(s, { snapshots, monitors: ['page-refcount'] });
    const k = w.kernel;
    expect(k.sv.regions.some((r) => r.name === 'page-refcount')).toBe(snapshots);
    const saved = snapshots ? w.save() : undefined;
    k.ref('take', 'page', k.ZERO_PAGE, '', 'A1', 0);
    k.ref('take', 'page', k.ZERO_PAGE, '', 'A1', 0);
    expect(w.step(0, false)).toBe(true);
    expect(w.violations[0]!.message).toBe('page 0x0: page_count() is 1 but 2 references exist (mappings and cache 0, held 2)');
    if (!saved) return;
    // back before the claims: the same step finds nothing, and the state hashes as at the start
    w.restore(saved);
    const h0 = w.hash();
    expect(w.step(0, false)).toBe(false);
    w.restore(saved);
    expect(w.hash()).toEqual(h0);
  });
});
