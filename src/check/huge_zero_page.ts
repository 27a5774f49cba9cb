/**
 * Seed 004's promises about the huge zero page:
 *  - huge_zero_refcount equals the references that exist: one per pmd mapping it, one
 *    per caller between get_huge_zero_page() and handing it to a pmd or putting it, and
 *    the shrinker's from atomic_set(2) until its atomic_cmpxchg(1 → 0);
 *  - it is freed only by the shrinker, and never while a pmd maps it;
 *  - nobody finishes holding a reference.
 */
import type { MonitorKind } from '../registry.ts';
import type { BusEvent } from '../bus/events.ts';
import { addCount, pmdKey } from './ghost.ts';
import type { Kernel } from '../memory/kernel.ts';
import { type BoundedArray, SortedPairs, array, int, makeStruct, struct } from '../vector/struct.ts';
import { stringId, stringOf } from '../vector/strings.ts';

/** A ghost map: a count (or a pfn) per key. */
interface GhostMap<K> {
  get(key: K): number | undefined;
  set(key: K, value: number): void;
  delete(key: K): void;
  /** value += d; the entry gone when it comes to 0 (no entry and 0 are one state). */
  add(key: K, d: number): void;
  forEach(fn: (value: number, key: K) => void): void;
  /** The values summed. */
  total(): number;
}

/** A Map (hashed as a multiset: its field names are in shape.ts's UNORDERED). */
function inMap<K>(m: Map<K, number>): GhostMap<K> {
  return {
    get: (key) => m.get(key),
    set: (key, value) => void m.set(key, value),
    delete: (key) => void m.delete(key),
    add: (key, d) => addCount(m, key, d),
    forEach: (fn) => m.forEach(fn),
    total: () => {
      let t = 0;
      for (const v of m.values()) t += v;
      return t;
    },
  };
}

/** Sorted (key, value) pairs in the state vector (a string key by its fingerprint). */
function inPairs<K>(p: SortedPairs, id: (key: K) => number, key: (id: number) => K): GhostMap<K> {
  return {
    get: (k) => p.get(id(k)),
    set: (k, value) => p.set(id(k), value),
    delete: (k) => void p.delete(id(k)),
    add: (k, d) => p.add(id(k), d),
    forEach: (fn) => p.forEach((value, i) => fn(value, key(i))),
    total: () => p.total(),
  };
}

/** The monitor's ghost state laid out in the state vector, in a world a search copies and hashes. */
interface HugeZeroGhost {
  holders: BoundedArray;
  zero_pmds: BoundedArray;
  mapped_by: BoundedArray;
  published: number;
}
const hugeZeroGhost = struct<HugeZeroGhost>('huge_zero_refcount_ghost', {
  holders: array('2 × (the actors, pmd, shrinker): (holder, references) pairs', (b) => 2 * (b.actors + 2)),
  zero_pmds: array('2 × the pmds of every mm: (pmdKey, pfn) pairs', (b) => 2 * b.allPmds),
  mapped_by: array('2 × the pmds of every mm: (pfn, pmds) pairs', (b) => 2 * b.allPmds),
  published: int(),
});

/**
 * What the monitor remembers: who holds references (holder → how many), the huge zero
 * pmds (pmdKey → pfn), how many of them map each pfn, the pfn last published. In
 * the state vector's slots (nothing for the components to walk), or plain Maps.
 */
function makeGhost(k: Kernel) {
  const same = <T>(x: T): T => x;
  if (!k.sv.plain) {
    const v = makeStruct(k.sv, hugeZeroGhost, 'huge-zero-refcount', {});
    return {
      holders: inPairs<string>(new SortedPairs(v.holders), stringId, stringOf),
      zeroPmds: inPairs<number>(new SortedPairs(v.zero_pmds), same, same),
      mappedBy: inPairs<number>(new SortedPairs(v.mapped_by), same, same),
      published: () => v.published,
      publish: (pfn: number) => void (v.published = pfn),
      state: undefined,
    };
  }
  const st = {
    holders: new Map<string, number>(),
    zeroPmds: new Map<number, number>(), // pmdKey(mm, pmd) → pfn
    mappedBy: new Map<number, number>(), // pfn → huge zero pmds mapping it
    published: 0,
  };
  return {
    holders: inMap(st.holders),
    zeroPmds: inMap(st.zeroPmds),
    mappedBy: inMap(st.mappedBy),
    published: () => st.published,
    publish: (pfn: number) => void (st.published = pfn),
    state: st as object | undefined,
  };
}

export const hugeZeroPageMonitor: MonitorKind = {
  name: 'huge-zero-refcount',
  description: 'huge_zero_refcount equals the pmds mapping the huge zero page + callers holding it + the shrinker; freed only by the shrinker, never while mapped',
  create({ k, report, actors, changed }) {
    const g = makeGhost(k);
    const { holders, zeroPmds, mappedBy } = g;
    // whether the current step moved the count or its references (checked at its end)
    const scratch = { changed: false };
    const mappedCount = (pfn: number) => mappedBy.get(pfn) ?? 0;
    const onEvent = (e: BusEvent) => {
      switch (e.kind) {
        case 'ref':
          if (e.counter !== 'huge_zero_refcount') return;
          if (e.from) {
            holders.add(e.from, -1);
          }
          if (e.to) {
            holders.add(e.to, 1);
          }
          scratch.changed = true;
          changed();
          break;
        case 'atomic':
          if (e.variable === 'huge_zero_pfn' && g.published() !== e.value) {
            g.publish(e.value);
            changed();
          }
          scratch.changed = true;
          break;
        case 'pmd': {
          if (e.op === 'SET_HUGE_ZERO') {
            zeroPmds.set(pmdKey(e.mm, e.pmd), e.pfn);
            mappedBy.add(e.pfn, 1);
            changed();
          } else if (e.op === 'PMDP_CLEAR' || e.op === 'SPLIT_HUGE_ZERO' || e.op === 'COW_HUGE_ZERO') {
            const key = pmdKey(e.mm, e.pmd);
            const pfn = zeroPmds.get(key);
            if (pfn !== undefined) {
              zeroPmds.delete(key);
              mappedBy.add(pfn, -1);
              changed();
            }
          }
          break;
        }
        case 'page':
          if (e.op === 'FREE') {
            const mapped = mappedCount(e.pfn);
            if (mapped > 0) report(`the huge zero page 0x${e.pfn.toString(16)} was freed while ${mapped} pmd(s) map it`, e.actor);
            else if (e.pfn === g.published() && actors[e.actor]?.kind !== 'huge_zero_page_shrinker') {
              report(`the published huge zero page was freed by ${k.actorName(e.actor)}, not by the shrinker`, e.actor);
            }
          }
          break;
      }
    };
    for (const kind of ['ref', 'atomic', 'pmd', 'page'] as const) k.bus.on(kind).subscribe(onEvent);
    return {
      state: g.state,
      scratch,
      reset() {
        scratch.changed = false;
      },
      stepEnd() {
        if (!scratch.changed) return;
        scratch.changed = false;
        const expected = holders.total();
        if (k.huge_zero_refcount !== expected) {
          const who: string[] = [];
          holders.forEach((v, h) => v && who.push(`${h}×${v}`));
          // (by name: the same text whichever order the references came in)
          who.sort();
          report(`huge_zero_refcount is ${k.huge_zero_refcount} but ${expected} references exist (${who.join(', ') || 'nobody'})`);
        }
      },
      actorExit(a) {
        const n = holders.get(a.id) ?? 0;
        if (n !== 0) report(`${a.id} finished holding ${n} huge zero page reference(s): a leak`, a.ix);
      },
    };
  },
};
