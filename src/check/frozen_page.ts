/** "A frozen page (refcount frozen to 0) is touched by nobody but the actor that froze it." */
import type { MonitorKind } from '../registry.ts';

export const frozenPageMonitor: MonitorKind = {
  name: 'frozen-page',
  description: 'a page frozen by page_ref_freeze() is touched only by its freezer until page_ref_unfreeze()',
  create({ k, report }) {
    // freezer[pfn] = actor index + 1 while the page is frozen, 0 otherwise
    const st = { freezer: new Int32Array(64) };
    k.bus.on('page').subscribe((e) => {
      if (e.pfn >= st.freezer.length) {
        let n = st.freezer.length;
        while (n <= e.pfn) n *= 2;
        const b = new Int32Array(n);
        b.set(st.freezer);
        st.freezer = b;
      }
      const freezer = st.freezer;
      if (e.op === 'FREEZE') {
        freezer[e.pfn] = e.actor + 1;
        return;
      }
      const f = freezer[e.pfn]! - 1;
      if (f < 0) return;
      if (e.actor !== f) report(`page 0x${e.pfn.toString(16)} frozen by ${k.actorName(f)} was touched (${e.op}) by ${k.actorName(e.actor)}`, e.actor);
      if (e.op === 'UNFREEZE') freezer[e.pfn] = 0;
    });
    return { state: st };
  },
};
