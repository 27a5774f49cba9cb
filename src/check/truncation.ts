/**
 * "Once truncation or hole-punch returns, no page of that range remains in the page cache
 * or mapped." A truncation must leave nothing at or beyond the new i_size (but the part of
 * a huge page straddling it, which v4.8 zeroes and keeps); a hole punch must leave no
 * page that was there before it began (a racing fault or write may legitimately fill the
 * hole again). At quiescence, no page lies wholly beyond i_size.
 */
import type { MonitorKind } from '../registry.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { StateVector } from '../vector/state_vector.ts';
import { fit } from './ghost.ts';

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

/**
 * Per actor, its hole punch in progress (none: null), with which indices of its range still
 * hold what they held when it began (1), not filled since — the pages it must remove. (Not
 * the step each slot was last filled at: a step number would make every depth a state of its
 * own.) In a world a search copies and hashes, slots of the state vector (per actor: in
 * progress, ino, start, the range's length) and a column per actor of its range's marks — no
 * state component; else plain objects, the monitor's state, announced by `changed`.
 */
interface Punches {
  begin(actor: number, ino: number, start: number, present: Uint8Array): void;
  /** A slot of `ino` filled: no actor's punch in progress must remove what it holds now. */
  filled(ino: number, index: number): void;
  /** The actor's punch ends: what it was (a copy), or null. */
  end(actor: number): Punch | null;
  state: object | undefined;
}

function punchesOf(sv: StateVector, actors: number, changed: () => void): Punches {
  if (sv.plain) {
    const st = { punches: Array.from({ length: actors }, (): Punch | null => null) };
    return {
      begin(actor, ino, start, present) {
        st.punches[actor] = { ino, start, before: present.slice() };
        changed();
      },
      filled(ino, index) {
        for (const p of st.punches) {
          if (p !== null && p.ino === ino && index >= p.start && index < p.start + p.before.length && p.before[index - p.start] === 1) {
            p.before[index - p.start] = 0;
            changed();
          }
        }
      },
      end(actor) {
        const p = st.punches[actor] ?? null;
        st.punches[actor] = null;
        changed();
        return p;
      },
      state: st,
    };
  }
  const ON = 0;
  const INO = 1;
  const START = 2;
  const LEN = 3;
  const base = sv.alloc(4 * actors, 'truncation: the hole punches in progress (per actor: on, ino, start, length)');
  const marks = Array.from({ length: actors }, () => new Uint8Array(16));
  const cols = marks.map((a, i) => sv.addColumn(`truncation: actor ${i}'s punch marks`, a, 0));
  const at = (actor: number, f: number) => sv.w[base + 4 * actor + f]!;
  return {
    begin(actor, ino, start, present) {
      this.end(actor);
      if (present.length > marks[actor]!.length) sv.setColumn(cols[actor]!, (marks[actor] = fit(marks[actor]!, present.length - 1)));
      for (let i = 0; i < present.length; i++) if (present[i] !== 0) sv.putCol(cols[actor]!, i, 1);
      const b = base + 4 * actor;
      sv.put(b + ON, 1);
      sv.put(b + INO, ino);
      sv.put(b + START, start);
      sv.put(b + LEN, present.length);
    },
    filled(ino, index) {
      for (let actor = 0; actor < actors; actor++) {
        if (at(actor, ON) === 0 || at(actor, INO) !== ino) continue;
        const i = index - at(actor, START);
        if (i >= 0 && i < at(actor, LEN) && marks[actor]![i] === 1) sv.putCol(cols[actor]!, i, 0);
      }
    },
    end(actor) {
      if (at(actor, ON) === 0) return null;
      const len = at(actor, LEN);
      const p: Punch = { ino: at(actor, INO), start: at(actor, START), before: marks[actor]!.slice(0, len) };
      for (let i = 0; i < len; i++) if (p.before[i] !== 0) sv.putCol(cols[actor]!, i, 0);
      const b = base + 4 * actor;
      for (let f = ON; f <= LEN; f++) sv.put(b + f, 0);
      return p;
    },
    state: undefined,
  };
}

export const truncationMonitor: MonitorKind = {
  name: 'truncation',
  description: 'after truncate/punch returns nothing remains in the range (cached or mapped); no page wholly beyond i_size',
  create({ k, report, actors, changed }) {
    const punches = punchesOf(k.sv, actors.length, changed);
    k.bus.on('punch_begin').subscribe((e) => punches.begin(e.actor, e.ino, e.start, e.present));
    k.bus.on('cache').subscribe((e) => {
      // filled (again) while a punch is in progress: a racing fault or write, not a leftover
      if (e.value !== -1) punches.filled(e.ino, e.index);
    });
    k.bus.on('truncate').subscribe((e) => {
      const ino = k.inodes[e.ino]!;
      if (e.op === 'truncate') {
        const i = pageBeyondEof(k, e.ino, ino.i_size);
        if (i >= 0) report(`${ino.name}: truncation to ${ino.i_size} pages returned with index ${i} still in the page cache`, e.actor);
      } else {
        const p = punches.end(e.actor);
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
      state: punches.state,
      quiescent() {
        for (const ino of k.inodes) {
          const i = pageBeyondEof(k, ino.id, ino.i_size);
          if (i >= 0) report(`${ino.name}: index ${i} is in the page cache beyond i_size (${ino.i_size} pages)`);
        }
      },
    };
  },
};
