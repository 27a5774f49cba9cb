/** "A frozen page (refcount frozen to 0) is touched by nobody but the actor that froze it." */
import type { MonitorKind } from '../registry.ts';
import type { Kernel } from '../memory/kernel.ts';
import { fit } from './ghost.ts';

/** Each run's record of who froze each page (this monitor's state), for pageFreezer(). */
const records = new WeakMap<Kernel, { freezer: Int32Array }>();

/**
 * The actor that froze `pfn` and has not unfrozen it, or -1 (not frozen, or this monitor
 * is not on in the run): spin-on-sleeper asks it of a page a retry loop spins on.
 */
export function pageFreezer(k: Kernel, pfn: number): number {
  const st = records.get(k);
  return st && pfn < st.freezer.length ? st.freezer[pfn]! - 1 : -1;
}

export const frozenPageMonitor: MonitorKind = {
  name: 'frozen-page',
  description: 'a page frozen by page_ref_freeze() is touched only by its freezer until page_ref_unfreeze()',
  create({ k, report, changed }) {
    // freezer[pfn] = actor index + 1 while the page is frozen, 0 otherwise (grown to the
    // highest pfn ever frozen)
    const st = { freezer: new Int32Array(64) };
    records.set(k, st);
    k.bus.on('page').subscribe((e) => {
      if (e.op === 'FREEZE') {
        st.freezer = fit(st.freezer, e.pfn);
        st.freezer[e.pfn] = e.actor + 1;
        changed();
        return;
      }
      const f = (e.pfn < st.freezer.length ? st.freezer[e.pfn]! : 0) - 1;
      if (f < 0) return;
      if (e.actor !== f) report(`page 0x${e.pfn.toString(16)} frozen by ${k.actorName(f)} was touched (${e.op}) by ${k.actorName(e.actor)}`, e.actor);
      if (e.op === 'UNFREEZE') {
        st.freezer[e.pfn] = 0;
        changed();
      }
    });
    return { state: st };
  },
};
