/**
 * "Once truncation or hole-punch returns, no page of that range remains in the page cache
 * or mapped." A truncation must leave nothing at or beyond the new i_size (but the part of
 * a huge page straddling it, which v4.8 zeroes and keeps); a hole punch must leave no
 * page that was there before it began (a racing fault or write may legitimately fill the
 * hole again). At quiescence, no page lies wholly beyond i_size.
 */
import type { MonitorKind } from '../registry.ts';
import type { Kernel } from '../memory/kernel.ts';

/** The first cached page at or beyond i_size that is not part of a huge page straddling it, or -1. */
function pageBeyondEof(k: Kernel, inoId: number, from: number): number {
  const ino = k.inodes[inoId]!;
  const slots = ino.mapping.slots;
  for (let i = from; i < ino.mapping.nrSlots; i++) {
    const v = slots[i]!;
    if (v === -1) continue;
    if (v >= 0) {
      const h = k.pages.compoundHead(v);
      if (k.pages.order[h]! > 0 && k.pages.index[h]! < ino.i_size) continue; // straddles i_size
    }
    return i;
  }
  return -1;
}

/** A hole punch in progress, as the monitor remembers it. */
interface Punch {
  ino: number;
  start: number;
  /** Per index from start to the range's end: 1 while it holds what it held when the punch began. */
  before: Uint8Array;
}

export const truncationMonitor: MonitorKind = {
  name: 'truncation',
  description: 'after truncate/punch returns nothing remains in the range (cached or mapped); no page wholly beyond i_size',
  create({ k, report, actors, changed }) {
    // Per actor with a hole punch in progress: which indices of its range still hold what
    // they held when it began (1), not filled since — the pages it must remove. (Not the step
    // each slot was last filled at: a step number would make every depth a state of its own.)
    const st = { punches: actors.map((): Punch | null => null) };
    k.bus.on('punch_begin').subscribe((e) => {
      st.punches[e.actor] = { ino: e.ino, start: e.start, before: e.present.slice() };
      changed();
    });
    k.bus.on('cache').subscribe((e) => {
      if (e.value === -1) return;
      // filled (again) while a punch is in progress: a racing fault or write, not a leftover
      for (const p of st.punches) {
        if (p !== null && p.ino === e.ino && e.index >= p.start && e.index < p.start + p.before.length && p.before[e.index - p.start] === 1) {
          p.before[e.index - p.start] = 0;
          changed();
        }
      }
    });
    k.bus.on('truncate').subscribe((e) => {
      const ino = k.inodes[e.ino]!;
      if (e.op === 'truncate') {
        const i = pageBeyondEof(k, e.ino, ino.i_size);
        if (i >= 0) report(`${ino.name}: truncation to ${ino.i_size} pages returned with index ${i} still in the page cache`, e.actor);
      } else {
        const p = st.punches[e.actor];
        st.punches[e.actor] = null;
        changed();
        for (let i = e.start; i < Math.min(e.end, ino.mapping.nrSlots); i++) {
          const v = ino.mapping.slots[i]!;
          if (v === -1) continue;
          if (v >= 0 && k.pages.order[k.pages.compoundHead(v)]! > 0) continue; // a zeroed part of a huge page
          if (!p || p.before[i - p.start] === 1) {
            report(`${ino.name}: hole punch of [${e.start}, ${e.end}) returned with index ${i} still in the page cache`, e.actor);
            return;
          }
        }
      }
      // nothing in the range may be mapped by a page it removed
      for (const mm of k.mms) {
        for (const v of mm.vmas) {
          if (v.file !== e.ino) continue;
          for (let vpn = v.start; vpn < v.end; vpn++) {
            const index = v.pgoff + (vpn - v.start);
            if (index < e.start || index >= e.end) continue;
            const t = k.translate(mm, vpn);
            if (!t) continue;
            if (k.pages.mapping[k.pages.compoundHead(t.pfn)] !== e.ino) {
              report(`${mm.name}:0x${(vpn * 4096).toString(16)} still maps a page removed from ${ino.name} at index ${index}`, e.actor);
              return;
            }
          }
        }
      }
    });
    return {
      state: st,
      quiescent() {
        for (const ino of k.inodes) {
          const i = pageBeyondEof(k, ino.id, ino.i_size);
          if (i >= 0) report(`${ino.name}: index ${i} is in the page cache beyond i_size (${ino.i_size} pages)`);
        }
      },
    };
  },
};
