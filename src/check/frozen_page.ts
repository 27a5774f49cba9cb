/** "A frozen page (refcount frozen to 0) is touched by nobody but the actor that froze it." */
import type { MonitorKind } from '../registry.ts';

export const frozenPageMonitor: MonitorKind = {
  name: 'frozen-page',
  description: 'a page frozen by page_ref_freeze() is touched only by its freezer until page_ref_unfreeze()',
  create({ k, report }) {
    const freezer = new Map<number, number>();
    k.bus.on('page').subscribe((e) => {
      if (e.op === 'FREEZE') freezer.set(e.pfn, e.actor);
      else if (freezer.has(e.pfn)) {
        const f = freezer.get(e.pfn)!;
        if (e.actor !== f) report(`page 0x${e.pfn.toString(16)} frozen by ${k.actorName(f)} was touched (${e.op}) by ${k.actorName(e.actor)}`, e.actor);
        if (e.op === 'UNFREEZE') freezer.delete(e.pfn);
      }
    });
    return {};
  },
};
