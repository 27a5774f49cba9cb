/** "A frozen page (refcount frozen to 0) is touched by nobody but the actor that froze it." */
import type { MonitorKind } from '../registry.ts';
import { fit } from './ghost.ts';

export const frozenPageMonitor: MonitorKind = {
  name: 'frozen-page',
  description: 'a page frozen by page_ref_freeze() is touched only by its freezer until page_ref_unfreeze()',
  create({ k, report, changed }) {
    // freezer[pfn] = actor index + 1 while the page is frozen, 0 otherwise (grown to the
    // highest pfn ever frozen)
    const st = { freezer: new Int32Array(64) };
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
