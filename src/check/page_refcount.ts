/**
 * "refcount and mapcount never negative, and equal to the references that exist."
 * The references that exist are counted from what the bus says exists: each pte or
 * huge pmd mapping a page, each page-cache slot holding it, and each reference an actor
 * holds (ghost bookkeeping published with the get/put). After every step, every page a
 * step touched is compared; an actor that finishes must hold no page reference.
 */
import type { MonitorKind } from '../registry.ts';
import type { BusEvent } from '../bus/events.ts';
import type { Kernel } from '../memory/kernel.ts';
import { type BoundedArray, SortedPairs, array, int, makeStruct, struct } from '../vector/struct.ts';
import { stringId } from '../vector/strings.ts';
import { PfnColumns, addCount, fit, pmdKey } from './ghost.ts';

/** The monitor's ghost state laid out in the state vector, in a world a search copies and hashes (the per-pfn counts: two of its columns). */
interface PageRefcountGhost {
  /** The pfns the per-pfn counts have room for (doubled as higher pfns are touched, from 64). */
  pfns: number;
  held_by: BoundedArray;
  huge_pmd: BoundedArray;
}
const pageRefcountGhost = struct<PageRefcountGhost>('page_refcount_ghost', {
  pfns: int(64),
  held_by: array('2 × (the actors, a team, the huge zero page): (holder, references) pairs', (b) => 2 * (b.actors + 2)),
  huge_pmd: array('2 × the pmds of every mm: (pmdKey, head pfn) pairs', (b) => 2 * b.allPmds),
});

/**
 * What the monitor remembers: per head pfn, the references from ptes, pmds and cache slots
 * (`structural`) and those actors or the huge zero page hold (`held`), with room for the
 * highest pfn touched; the references each holder has; the huge pmds and the head each
 * maps. In the state vector (a struct and two columns), or plain arrays and Maps.
 */
interface Ghost {
  /** Room for pfn h in the per-pfn counts. */
  fit(h: number): void;
  structural(h: number): number;
  held(h: number): number;
  addStructural(h: number, d: number): void;
  addHeld(h: number, d: number): void;
  /** A holder's references += d (no entry at 0). */
  addHeldBy(holder: string, d: number): void;
  heldBy(holder: string): number;
  /** The head a huge pmd (pmdKey) maps, if it maps a page (not the huge zero page). */
  hugePmd(key: number): number | undefined;
  setHugePmd(key: number, head: number | undefined): void;
  /** For the components: the plain state (undefined: it is in the state vector). */
  state: object | undefined;
}

/** PfnColumns' columns of the monitor. */
const STRUCTURAL = 0;
const HELD = 1;

function makeGhost(k: Kernel): Ghost {
  if (!k.sv.plain) {
    const sv = k.sv;
    const v = makeStruct(sv, pageRefcountGhost, 'page-refcount', {});
    const heldBy = new SortedPairs(v.held_by);
    const hugePmd = new SortedPairs(v.huge_pmd);
    const counts = new PfnColumns(sv, v, ['page-refcount.structural', 'page-refcount.held']);
    return {
      fit: (h) => counts.fit(h),
      structural: (h) => counts.get(STRUCTURAL, h),
      held: (h) => counts.get(HELD, h),
      addStructural: (h, d) => counts.put(STRUCTURAL, h, counts.get(STRUCTURAL, h) + d),
      addHeld: (h, d) => counts.put(HELD, h, counts.get(HELD, h) + d),
      addHeldBy: (holder, d) => heldBy.add(stringId(holder), d),
      heldBy: (holder) => heldBy.get(stringId(holder)) ?? 0,
      hugePmd: (key) => hugePmd.get(key),
      setHugePmd: (key, head) => void (head === undefined ? hugePmd.delete(key) : hugePmd.set(key, head)),
      state: undefined,
    };
  }
  // (hashed whole by a search: the arrays with their length)
  const st = {
    structural: new Int32Array(64),
    held: new Int32Array(64),
    heldBy: new Map<string, number>(), // holder → references
    hugePmd: new Map<number, number>(), // pmdKey(mm, pmd) → head pfn of a non-zero huge mapping
  };
  return {
    fit(h) {
      if (h < st.structural.length) return;
      st.structural = fit(st.structural, h);
      st.held = fit(st.held, h);
    },
    structural: (h) => (h < st.structural.length ? st.structural[h]! : 0),
    held: (h) => (h < st.held.length ? st.held[h]! : 0),
    addStructural: (h, d) => void (st.structural[h]! += d),
    addHeld: (h, d) => void (st.held[h]! += d),
    addHeldBy: (holder, d) => addCount(st.heldBy, holder, d),
    heldBy: (holder) => st.heldBy.get(holder) ?? 0,
    hugePmd: (key) => st.hugePmd.get(key),
    setHugePmd: (key, head) => void (head === undefined ? st.hugePmd.delete(key) : st.hugePmd.set(key, head)),
    state: st,
  };
}

export const pageRefcountMonitor: MonitorKind = {
  name: 'page-refcount',
  description: 'page refcount/mapcount ≥ 0 and page_count() equals the mappings, cache slots and actor-held references',
  create({ k, report, changed }) {
    const g = makeGhost(k);
    // the pages touched by the current step: the first `n` of `touched` (deduplicated by
    // `seen`, which holds the round number; the list is not cut, only `n` set back)
    const scratch = { touched: [] as number[], n: 0, seen: new Uint32Array(64), round: 1 };
    const { touched } = scratch;
    const touch = (h: number) => {
      // (fit()'s test inline: it sees three kinds of array, so a call would not be)
      if (h >= scratch.seen.length) scratch.seen = fit(scratch.seen, h);
      if (scratch.seen[h] !== scratch.round) {
        scratch.seen[h] = scratch.round;
        touched[scratch.n++] = h;
      }
    };
    /** The step's pages dropped (what `seen` marked is of an older round from now on). */
    const forgetStep = () => {
      scratch.n = 0;
      scratch.round++;
    };
    const head = (pfn: number) => k.pages.compoundHead(pfn);
    const bump = (pfn: number, d: number) => {
      const h = head(pfn);
      g.fit(h);
      g.addStructural(h, d);
      changed();
      touch(h);
    };
    const hold = (holder: string, pfn: number, d: number) => {
      if (!holder || holder === 'pte' || holder === 'pmd' || holder === 'cache') return;
      const h = head(pfn);
      g.fit(h);
      g.addHeld(h, d);
      g.addHeldBy(holder, d);
      changed();
      touch(h);
    };
    const onEvent = (e: BusEvent) => {
      switch (e.kind) {
        case 'page':
          touch(e.pfn);
          if (e.holder) {
            if (e.op === 'GET' || e.op === 'ALLOC') hold(e.holder, e.pfn, +1);
            else if (e.op === 'PUT') hold(e.holder, e.pfn, -1);
          }
          if (e.refcount < 0 || e.mapcount < 0) report(`page ${e.pfn.toString(16)}: ${e.op} left refcount ${e.refcount}, mapcount ${e.mapcount}`);
          break;
        case 'pte':
          if (e.oldPfn >= 0 && e.oldPfn !== k.ZERO_PAGE) bump(e.oldPfn, -1);
          if (e.pfn >= 0 && e.pfn !== k.ZERO_PAGE) bump(e.pfn, +1);
          break;
        case 'pmd': {
          const key = pmdKey(e.mm, e.pmd);
          const old = g.hugePmd(key);
          if (old !== undefined) {
            bump(old, -1);
            g.setHugePmd(key, undefined);
          }
          const installsPage = e.op === 'SET_PMD_HUGE' || e.op === 'COW_HUGE' || e.op === 'COW_HUGE_ZERO' || e.op === 'PMD_WRPROTECT';
          if (installsPage && e.pfn >= 0) {
            g.setHugePmd(key, e.pfn);
            bump(e.pfn, +1);
          }
          break;
        }
        case 'cache':
          if (e.old >= 0) bump(e.old, -1);
          if (e.value >= 0) bump(e.value, +1);
          break;
        case 'ref':
          if (e.counter !== 'page') break;
          if (e.op === 'take') hold(e.to, e.pfn, +1);
          else if (e.op === 'drop') hold(e.from, e.pfn, -1);
          else {
            hold(e.from, e.pfn, -1);
            hold(e.to, e.pfn, +1);
          }
          break;
      }
    };
    for (const kind of ['page', 'pte', 'pmd', 'ref', 'cache'] as const) k.bus.on(kind).subscribe(onEvent);
    return {
      state: g.state,
      scratch,
      stepEnd() {
        for (let i = 0; i < scratch.n; i++) {
          const h = touched[i]!;
          if (!k.pages.isAllocated(h)) continue;
          if (k.pages.isFrozen(h)) continue; // a frozen count is 0 by design; its freezer holds the references
          const real = k.pages.refcount[h]!;
          const exp = g.structural(h) + g.held(h);
          if (real !== exp) {
            report(`page 0x${h.toString(16)}: page_count() is ${real} but ${exp} references exist (mappings and cache ${g.structural(h)}, held ${g.held(h)})`);
            break;
          }
        }
        forgetStep();
      },
      reset: forgetStep,
      actorExit(a) {
        const n = g.heldBy(a.id);
        if (n !== 0) report(`${a.id} finished holding ${n} page reference(s): a leak`, a.ix);
      },
    };
  },
};
