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
import { addCount } from './ghost.ts';

export const hugeZeroPageMonitor: MonitorKind = {
  name: 'huge-zero-refcount',
  description: 'huge_zero_refcount equals the pmds mapping the huge zero page + callers holding it + the shrinker; freed only by the shrinker, never while mapped',
  create({ k, report, actors, changed }) {
    const st = {
      holders: new Map<string, number>(),
      zeroPmds: new Map<string, number>(), // `${mm}:${pmd}` → pfn
      mappedBy: new Map<number, number>(), // pfn → huge zero pmds mapping it
      published: 0,
    };
    // whether the current step moved the count or its references (checked at its end)
    const scratch = { changed: false };
    const { holders, zeroPmds, mappedBy } = st;
    const mappedCount = (pfn: number) => mappedBy.get(pfn) ?? 0;
    const onEvent = (e: BusEvent) => {
      switch (e.kind) {
        case 'ref':
          if (e.counter !== 'huge_zero_refcount') return;
          if (e.from) {
            addCount(holders, e.from, -1);
          }
          if (e.to) {
            addCount(holders, e.to, 1);
          }
          scratch.changed = true;
          changed();
          break;
        case 'atomic':
          if (e.variable === 'huge_zero_pfn' && st.published !== e.value) {
            st.published = e.value;
            changed();
          }
          scratch.changed = true;
          break;
        case 'pmd': {
          if (e.op === 'SET_HUGE_ZERO') {
            zeroPmds.set(`${e.mm}:${e.pmd}`, e.pfn);
            addCount(mappedBy, e.pfn, 1);
            changed();
          } else if (e.op === 'PMDP_CLEAR' || e.op === 'SPLIT_HUGE_ZERO' || e.op === 'COW_HUGE_ZERO') {
            const key = `${e.mm}:${e.pmd}`;
            const pfn = zeroPmds.get(key);
            if (pfn !== undefined) {
              zeroPmds.delete(key);
              addCount(mappedBy, pfn, -1);
              changed();
            }
          }
          break;
        }
        case 'page':
          if (e.op === 'FREE') {
            const mapped = mappedCount(e.pfn);
            if (mapped > 0) report(`the huge zero page 0x${e.pfn.toString(16)} was freed while ${mapped} pmd(s) map it`, e.actor);
            else if (e.pfn === st.published && actors[e.actor]?.kind !== 'huge_zero_page_shrinker') {
              report(`the published huge zero page was freed by ${k.actorName(e.actor)}, not by the shrinker`, e.actor);
            }
          }
          break;
      }
    };
    for (const kind of ['ref', 'atomic', 'pmd', 'page'] as const) k.bus.on(kind).subscribe(onEvent);
    return {
      state: st,
      scratch,
      stepEnd() {
        if (!scratch.changed) return;
        scratch.changed = false;
        let expected = 0;
        holders.forEach((n) => (expected += n));
        if (k.huge_zero_refcount !== expected) {
          const who = [...holders].filter(([, v]) => v).map(([h, v]) => `${h}×${v}`).join(', ') || 'nobody';
          report(`huge_zero_refcount is ${k.huge_zero_refcount} but ${expected} references exist (${who})`);
        }
      },
      actorExit(a) {
        const n = holders.get(a.id) ?? 0;
        if (n !== 0) report(`${a.id} finished holding ${n} huge zero page reference(s): a leak`, a.ix);
      },
    };
  },
};
