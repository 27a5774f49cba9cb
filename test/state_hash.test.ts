// The dfs's state hash and snapshots (src/world/shape.ts, state_hash.ts, snapshot.ts):
// equal states hash equal, different ones apart; a snapshot restored in place gives back
// every object as it was, references and all; a struct's keys are fixed once walked.
import { describe, expect, it } from 'vitest';
import { StateHasher } from '../src/world/state_hash.ts';
import { Snapshot } from '../src/world/snapshot.ts';
import { markOpaque } from '../src/world/shape.ts';
import { PAGE_CHART, PageStore } from '../src/memory/pages.ts';
import { Bus } from '../src/bus/bus.ts';

const hashOf = (...values: unknown[]): string => {
  const h = new StateHasher();
  for (const v of values) h.value(v);
  return h.digest();
};

describe('state hash', () => {
  it('tells values of different types and shapes apart', () => {
    const values: unknown[] = [
      0, 1, -1, 2 ** 30, -(2 ** 30) - 1, 2 ** 31, 1.5, NaN, true, false, null, undefined, '', '1', 'true', 10n,
      [], [1], [[1]], [1, 2], [2, 1], new Uint8Array([1]), new Int32Array([1]), new Uint8Array([1, 0]),
      new Map([[1, 2]]), new Map([[2, 1]]), new Set([1]), { a: 1 }, { a: true }, { b: 1 }, { a: 1, b: 2 }, { a: { a: 1 } },
    ];
    const seen = new Map<string, unknown>();
    for (const v of values) {
      const d = hashOf(v);
      expect(seen.has(d), `${String(v)} hashes as ${String(seen.get(d))}`).toBe(false);
      seen.set(d, v);
    }
  });

  it('equal states hash equal, whatever their objects\' identity', () => {
    const make = () => ({ pages: new Int32Array([3, 4]), cache: new Map([[0, { pfn: 3 }]]), held: new Set(['mmap_lock']), n: 2 });
    expect(hashOf(make())).toBe(hashOf(make()));
    const a = make();
    a.n = 3;
    expect(hashOf(a)).not.toBe(hashOf(make()));
  });

  it('sharing is state: one object referred to twice is not two equal objects', () => {
    const x = { v: 1 };
    expect(hashOf({ a: x, b: x })).not.toBe(hashOf({ a: { v: 1 }, b: { v: 1 } }));
    // a cycle is walked once
    const c: { self?: unknown; v: number } = { v: 1 };
    c.self = c;
    expect(hashOf(c)).toBe(hashOf(c));
  });

  it("a monitor's count maps are multisets: insertion order is not state, contents are", () => {
    const m = (entries: [string, number][]) => ({ heldBy: new Map(entries), n: 0 });
    expect(hashOf(m([['T1', 1], ['khugepaged', 2]]))).toBe(hashOf(m([['khugepaged', 2], ['T1', 1]])));
    expect(hashOf(m([['T1', 1], ['khugepaged', 2]]))).not.toBe(hashOf(m([['T1', 2], ['khugepaged', 1]])));
    expect(hashOf(m([['T1', 1]]))).not.toBe(hashOf(m([['T1', 1], ['T2', 0]])));
    expect(hashOf({ hugePmd: new Map([['0:1', 5]]) })).not.toBe(hashOf({ hugePmd: new Map([['0:1', '5']]) }));
    // anything but primitives in it: hashed in order (finer, never unsound)
    const a = { x: 1 };
    const b = { x: 2 };
    expect(hashOf({ holders: new Map([['a', a], ['b', b]]) })).not.toBe(hashOf({ holders: new Map([['b', b], ['a', a]]) }));
  });

  it('an rwsem\'s readers are a set: their order is not state', () => {
    expect(hashOf({ readers: [1, 2], writer: -1 })).toBe(hashOf({ readers: [2, 1], writer: -1 }));
    expect(hashOf({ readers: [1, 2], writer: -1 })).not.toBe(hashOf({ readers: [1], writer: -1 }));
  });

  it('a deeply frozen object is hashed once: it can never change', () => {
    const ops = Object.freeze([Object.freeze({ op: 'read', vpn: 0 })]);
    expect(hashOf({ ops, pc: 0 })).toBe(hashOf({ ops, pc: 0 }));
    expect(hashOf({ ops, pc: 0 })).not.toBe(hashOf({ ops, pc: 1 }));
    // by contents: another frozen object with the same contents (another run's) hashes the same
    expect(hashOf({ ops: Object.freeze([Object.freeze({ op: 'read', vpn: 0 })]), pc: 0 })).toBe(hashOf({ ops, pc: 0 }));
    expect(hashOf({ ops: Object.freeze([Object.freeze({ op: 'read', vpn: 1 })]), pc: 0 })).not.toBe(hashOf({ ops, pc: 0 }));
    // frozen on the outside only: still hashed by contents
    const inner = { vpn: 0 };
    const shallow = Object.freeze([inner]);
    const before = hashOf({ shallow });
    inner.vpn = 1;
    expect(hashOf({ shallow })).not.toBe(before);
  });

  it('leaves out what is not state: the bus, the clocks, an actor\'s pointer back to the kernel', () => {
    expect(hashOf({ now: 5, step: 2, bus: { x: 1 }, k: { y: 1 }, v: 1 })).toBe(hashOf({ now: 9, step: 7, bus: { x: 2 }, k: { y: 2 }, v: 1 }));
  });

  it('seals a struct it walks: a key added later throws instead of going unhashed', () => {
    const o: Record<string, number> = { a: 1 };
    hashOf(o);
    expect(Object.isSealed(o)).toBe(true);
    expect(() => {
      o.b = 2;
    }).toThrow(TypeError);
    o.a = 2; // its fields still change
    expect(o.a).toBe(2);
    // collections are not sealed
    const list = [1];
    const m = new Map<number, number>();
    hashOf({ list, m });
    list.push(2);
    m.set(1, 1);
    expect(list).toEqual([1, 2]);
  });
});

describe('snapshots', () => {
  it('restore writes every object back in place: contents, keys, order, identity', () => {
    const inner = { pfn: 3, flags: 0 };
    const model = {
      pages: new Int32Array([1, 2, 3]),
      list: [inner, 5],
      cache: new Map<number, unknown>([[0, inner], [1, 'x']]),
      held: new Set(['a', 'b']),
      n: 1,
      s: 'none',
    };
    const before = hashOf(model);
    const snap = Snapshot.take([model]);
    model.pages[1] = 9;
    model.list.push({ pfn: 7, flags: 1 });
    inner.pfn = 4;
    model.cache.delete(0);
    model.cache.set(2, 'y');
    model.cache.set(0, inner); // same entries as before but in another order
    model.held.add('c');
    model.n = 2;
    model.s = 'locked';
    expect(hashOf(model)).not.toBe(before);
    snap.restore();
    expect(hashOf(model)).toBe(before);
    expect(model.list[0]).toBe(inner);
    expect(inner.pfn).toBe(3);
    expect([...model.cache.keys()]).toEqual([0, 1]);
    expect(model.cache.get(0)).toBe(inner);
    expect([...model.held]).toEqual(['a', 'b']);
    expect(Array.from(model.pages)).toEqual([1, 2, 3]);
    // and again: a snapshot can be restored any number of times
    model.n = 5;
    snap.restore();
    expect(model.n).toBe(1);
  });

  it('keeps frozen and opaque objects by reference and never writes into them', () => {
    const ops = Object.freeze([Object.freeze({ op: 'read', vpn: 0 })]);
    const chart = { nodes: [{ path: 'a' }] };
    markOpaque(chart);
    const model = { ops, chart, pc: 0 };
    const snap = Snapshot.take([model]);
    model.pc = 1;
    chart.nodes.push({ path: 'b' }); // (a chart never changes in a run; shown here to prove it is not copied)
    snap.restore();
    expect(model.pc).toBe(0);
    expect(model.ops).toBe(ops);
    expect(chart.nodes.length).toBe(2);
    expect(Object.isSealed(chart)).toBe(false);
  });

  it('the page store saves only the pages in use and restores the ones allocated since to their fill', () => {
    const bus = new Bus();
    const owner = {
      bus,
      illegal: (_o: string, c: string): never => {
        throw new Error(c);
      },
      violate: (_i: string, m: string): never => {
        throw new Error(m);
      },
      teamPteMapped: () => {},
      teamPmdMapped: () => {},
    };
    const p = new PageStore(owner, 16);
    const a = p.alloc(0, true, 0);
    p.refcount[a] = 2;
    const before = hashOf(p);
    const saved = p.saveState();
    expect(saved.nr).toBe(p.nr);
    expect(saved.arrays.every((x) => x.length === p.nr)).toBe(true);
    const b = p.alloc(2, false, 0); // beyond nr: pages allocated after the save
    p.refcount[a] = 5;
    expect(p.nr).toBeGreaterThan(saved.nr);
    p.restoreState(saved);
    expect(p.nr).toBe(saved.nr);
    expect(p.refcount[a]).toBe(2);
    for (let i = saved.nr; i < p.capacity; i++) {
      expect(p.state[i]).toBe(PAGE_CHART.initial);
      expect(p.lru[i]).toBe(-1);
      expect(p.refcount[i]).toBe(0);
    }
    expect(hashOf(p)).toBe(before);
    // the same allocation again gets the same pfn
    expect(p.alloc(2, false, 0)).toBe(b);
  });
});

describe('visited states', () => {
  it('a 64-bit key is found again, another is not, and the table grows without losing any', async () => {
    const { VisitedStates } = await import('../src/explore/visited.ts');
    const v = new VisitedStates();
    const keys: [number, number][] = [];
    for (let i = 0; i < 20_000; i++) keys.push([Math.imul(i, 0x9e3779b1) | 0, i & 0xff]);
    keys.forEach(([lo, hi], i) => v.set(lo, hi, i));
    expect(v.size).toBe(keys.length);
    keys.forEach(([lo, hi], i) => expect(v.get(lo, hi)).toBe(i));
    // same low word, other high word: another state
    expect(v.get(keys[5]![0], keys[5]![1] + 1)).toBe(-1);
    v.set(keys[5]![0], keys[5]![1], 77);
    expect(v.get(keys[5]![0], keys[5]![1])).toBe(77);
    expect(v.size).toBe(keys.length);
  });

  it('add() finds a state seen, or adds it in the same probe (replaceAdded() gives it its value)', async () => {
    const { VisitedStates } = await import('../src/explore/visited.ts');
    const v = new VisitedStates();
    for (let i = 0; i < 20_000; i++) expect(v.add(Math.imul(i, 0x9e3779b1) | 0, i & 0xff, i)).toBe(-1);
    expect(v.size).toBe(20_000);
    for (let i = 0; i < 20_000; i++) expect(v.add(Math.imul(i, 0x9e3779b1) | 0, i & 0xff, 5)).toBe(i);
    expect(v.size).toBe(20_000);
    expect(v.add(1, 2, 0)).toBe(-1);
    v.replaceAdded(9);
    expect(v.get(1, 2)).toBe(9);
    expect(v.add(1, 2, 0)).toBe(9);
  });
});
