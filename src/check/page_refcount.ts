/**
 * "refcount and mapcount never negative, and equal to the references that exist."
 * The references that exist are counted from what the bus says exists: each pte or
 * huge pmd mapping a page, each page-cache slot holding it, and each reference an actor
 * holds (ghost bookkeeping published with the get/put). After every step, every page a
 * step touched is compared; an actor that finishes must hold no page reference.
 */
import type { MonitorKind } from '../registry.ts';
import type { BusEvent } from '../bus/events.ts';
import { addCount, fit } from './ghost.ts';

export const pageRefcountMonitor: MonitorKind = {
  name: 'page-refcount',
  description: 'page refcount/mapcount ≥ 0 and page_count() equals the mappings, cache slots and actor-held references',
  create({ k, report, changed }) {
    // per head pfn: references from ptes + pmds + cache slots, and references actors (or the
    // huge zero page global) hold; grown as higher pfns are touched (hashed whole by the dfs)
    const st = {
      structural: new Int32Array(64),
      held: new Int32Array(64),
      heldBy: new Map<string, number>(), // holder → references
      hugePmd: new Map<string, number>(), // `${mm}:${pmd}` → head pfn of a non-zero huge mapping
    };
    // the pages touched by the current step (deduplicated by `seen`, which holds the round number)
    const scratch = { touched: [] as number[], seen: new Uint32Array(64), round: 1 };
    const { heldBy, hugePmd } = st;
    const { touched } = scratch;
    // (the two arrays grow together: one length for both)
    const fitBoth = (h: number) => {
      st.structural = fit(st.structural, h);
      st.held = fit(st.held, h);
    };
    const touch = (h: number) => {
      scratch.seen = fit(scratch.seen, h);
      if (scratch.seen[h] !== scratch.round) {
        scratch.seen[h] = scratch.round;
        touched.push(h);
      }
    };
    /** The step's pages dropped (what `seen` marked is of an older round from now on). */
    const forgetStep = () => {
      if (touched.length !== 0) touched.length = 0; // (a length write is a runtime call)
      scratch.round++;
    };
    const head = (pfn: number) => k.pages.compoundHead(pfn);
    const bump = (pfn: number, d: number) => {
      const h = head(pfn);
      fitBoth(h);
      st.structural[h]! += d;
      changed();
      touch(h);
    };
    const hold = (holder: string, pfn: number, d: number) => {
      if (!holder || holder === 'pte' || holder === 'pmd' || holder === 'cache') return;
      const h = head(pfn);
      fitBoth(h);
      st.held[h]! += d;
      addCount(heldBy, holder, d);
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
          const key = `${e.mm}:${e.pmd}`;
          const old = hugePmd.get(key);
          if (old !== undefined) {
            bump(old, -1);
            hugePmd.delete(key);
          }
          const installsPage = e.op === 'SET_PMD_HUGE' || e.op === 'COW_HUGE' || e.op === 'COW_HUGE_ZERO' || e.op === 'PMD_WRPROTECT';
          if (installsPage && e.pfn >= 0) {
            hugePmd.set(key, e.pfn);
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
    const expected = (h: number) => (h < st.structural.length ? st.structural[h]! + st.held[h]! : 0);
    return {
      state: st,
      scratch,
      stepEnd() {
        for (const h of touched) {
          if (!k.pages.isAllocated(h)) continue;
          if (k.pages.isFrozen(h)) continue; // a frozen count is 0 by design; its freezer holds the references
          const real = k.pages.refcount[h]!;
          const exp = expected(h);
          if (real !== exp) {
            report(`page 0x${h.toString(16)}: page_count() is ${real} but ${exp} references exist (mappings and cache ${st.structural[h] ?? 0}, held ${st.held[h] ?? 0})`);
            break;
          }
        }
        forgetStep();
      },
      reset: forgetStep,
      actorExit(a) {
        const n = heldBy.get(a.id) ?? 0;
        if (n !== 0) report(`${a.id} finished holding ${n} page reference(s): a leak`, a.ix);
      },
    };
  },
};
