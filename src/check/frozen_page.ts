/** "A frozen page (refcount frozen to 0) is touched by nobody but the actor that froze it." */
import type { MonitorKind } from '../registry.ts';
import type { Kernel } from '../memory/kernel.ts';
import { int, makeStruct, struct } from '../vector/struct.ts';
import { PfnColumns, fit } from './ghost.ts';

/**
 * Who froze each page: freezer[pfn] = actor index + 1 while the page is frozen, 0 otherwise,
 * for the pfns below `pfns` (grown, doubling, past the highest pfn ever frozen: its length is
 * part of what the monitor knows, as a search hashes it). In a world a search copies and
 * hashes: `pfns` a slot and the array a column of the state vector; else a plain array.
 */
interface Freezers {
  get(pfn: number): number;
  set(pfn: number, freezer: number): void;
  /** For the components: the plain state (undefined: it is in the state vector). */
  state: object | undefined;
}

interface FrozenPageGhost {
  pfns: number;
}
const frozenPageGhost = struct<FrozenPageGhost>('frozen_page_ghost', { pfns: int(64) });

function makeFreezers(k: Kernel): Freezers {
  if (!k.sv.plain) {
    const sv = k.sv;
    const v = makeStruct(sv, frozenPageGhost, 'frozen-page', {});
    const freezer = new PfnColumns(sv, v, ['frozen-page.freezer']);
    return {
      get: (pfn) => freezer.get(0, pfn),
      set(pfn, actor) {
        freezer.fit(pfn);
        freezer.put(0, pfn, actor);
      },
      state: undefined,
    };
  }
  const st = { freezer: new Int32Array(64) };
  return {
    get: (pfn) => (pfn < st.freezer.length ? st.freezer[pfn]! : 0),
    set(pfn, freezer) {
      st.freezer = fit(st.freezer, pfn);
      st.freezer[pfn] = freezer;
    },
    state: st,
  };
}

/** Each run's record of who froze each page (this monitor's state), for pageFreezer(). */
const records = new WeakMap<Kernel, Freezers>();

/**
 * The actor that froze `pfn` and has not unfrozen it, or -1 (not frozen, or this monitor
 * is not on in the run): spin-on-sleeper asks it of a page a retry loop spins on.
 */
export function pageFreezer(k: Kernel, pfn: number): number {
  const f = records.get(k);
  return f ? f.get(pfn) - 1 : -1;
}

export const frozenPageMonitor: MonitorKind = {
  name: 'frozen-page',
  description: 'a page frozen by page_ref_freeze() is touched only by its freezer until page_ref_unfreeze()',
  create({ k, report, changed }) {
    const freezers = makeFreezers(k);
    records.set(k, freezers);
    k.bus.on('page').subscribe((e) => {
      if (e.op === 'FREEZE') {
        freezers.set(e.pfn, e.actor + 1);
        changed();
        return;
      }
      const f = freezers.get(e.pfn) - 1;
      if (f < 0) return;
      if (e.actor !== f) report(`page 0x${e.pfn.toString(16)} frozen by ${k.actorName(f)} was touched (${e.op}) by ${k.actorName(e.actor)}`, e.actor);
      if (e.op === 'UNFREEZE') {
        freezers.set(e.pfn, 0);
        changed();
      }
    });
    return { state: freezers.state };
  },
};
