/**
 * Seed 004's promises about the huge zero page:
 *  - huge_zero_refcount equals the references that exist: one per pmd mapping it, one
 *    per caller between get_huge_zero_page() and handing it to a pmd or putting it, and
 *    the shrinker's from atomic_set(2) until its atomic_cmpxchg(1 → 0);
 *  - it is freed only by the shrinker, and never while a pmd maps it;
 *  - nobody finishes holding a reference.
 */
import type { MonitorKind } from '../registry.ts';

export const hugeZeroPageMonitor: MonitorKind = {
  name: 'huge-zero-refcount',
  description: 'huge_zero_refcount equals the pmds mapping the huge zero page + callers holding it + the shrinker; freed only by the shrinker, never while mapped',
  create({ k, report, actors }) {
    const holders = new Map<string, number>();
    const zeroPmds = new Map<string, number>(); // `${mm}:${pmd}` → pfn
    let changed = false;
    let published = 0;
    const mappedCount = (pfn: number) => [...zeroPmds.values()].filter((p) => p === pfn).length;
    k.bus.events$.subscribe((e) => {
      switch (e.kind) {
        case 'ref':
          if (e.counter !== 'huge_zero_refcount') return;
          if (e.from) holders.set(e.from, (holders.get(e.from) ?? 0) - 1);
          if (e.to) holders.set(e.to, (holders.get(e.to) ?? 0) + 1);
          changed = true;
          break;
        case 'atomic':
          if (e.variable === 'huge_zero_pfn') published = e.value;
          changed = true;
          break;
        case 'pmd': {
          const key = `${e.mm}:${e.pmd}`;
          if (e.op === 'SET_HUGE_ZERO') zeroPmds.set(key, e.pfn);
          else zeroPmds.delete(key);
          changed = true;
          break;
        }
        case 'page':
          if (e.op === 'FREE') {
            const mapped = mappedCount(e.pfn);
            if (mapped > 0) report(`the huge zero page 0x${e.pfn.toString(16)} was freed while ${mapped} pmd(s) map it`, e.actor);
            else if (e.pfn === published && actors[e.actor]?.kind !== 'huge_zero_page_shrinker') {
              report(`the published huge zero page was freed by ${k.actorName(e.actor)}, not by the shrinker`, e.actor);
            }
          }
          break;
      }
    });
    return {
      stepEnd() {
        if (!changed) return;
        changed = false;
        let expected = 0;
        for (const v of holders.values()) expected += v;
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
