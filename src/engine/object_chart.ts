/**
 * Object charts: the statecharts of kernel objects that accept commands from actors —
 * struct page, a pmd entry, mm_struct. Each is a set of parallel regions of flat
 * states; each command event belongs to exactly one region; guards only test which
 * state another region is in. A command no region can take is illegal: an invariant
 * violation (unlocking an unlocked page, a get on a frozen page, freeing a mapped one).
 *
 * compileObjectChart() tabulates the chart: the whole object state is one small
 * integer (mixed radix over the regions) and a command is a table lookup. This is the
 * form the memory model runs for 262,144 pages; the XState machine built from the same
 * definition is what the inspector draws, and the agreement test checks the table
 * against XState's own transition() on random command sequences.
 */
import { type GuardRef, type Transitions, transitionList } from './chart.ts';

export interface ObjectRegionDef {
  initial: string;
  description?: string;
  states: Record<string, { description?: string; on?: Record<string, Transitions> }>;
}

export interface ObjectChartDef<E extends string = string> {
  id: string;
  description?: string;
  /** The commands, in the order the table is laid out; each owned by one region. */
  events: readonly E[];
  regions: Record<string, ObjectRegionDef>;
}

export interface CompiledObjectChart<E extends string = string> {
  def: ObjectChartDef<E>;
  regionNames: string[];
  /** State names per region, index = the region's digit. */
  regionStates: string[][];
  radix: number[];
  nStates: number;
  initial: number;
  eventIndex: Record<E, number>;
  /** next[event * nStates + state]: the state after the command, or -1 if illegal. */
  next: Int16Array;
  /** The region each event belongs to. */
  eventRegion: string[];
  digit(state: number, region: number): number;
  stateName(state: number, region: string): string;
  /** The state as XState writes a parallel state value. */
  value(state: number): Record<string, string>;
  encode(value: Record<string, string>): number;
}

export class ObjectChartError extends Error {}

export function compileObjectChart<E extends string>(def: ObjectChartDef<E>): CompiledObjectChart<E> {
  const regionNames = Object.keys(def.regions);
  const regionStates = regionNames.map((r) => Object.keys(def.regions[r]!.states));
  const radix: number[] = [];
  let n = 1;
  for (const states of regionStates) {
    radix.push(n);
    n *= states.length;
  }
  if (n > 32767) throw new ObjectChartError(`${def.id}: ${n} combined states do not fit the table`);
  const nStates = n;
  const digit = (s: number, r: number) => Math.floor(s / radix[r]!) % regionStates[r]!.length;
  const encode = (v: Record<string, string>) =>
    regionNames.reduce((acc, r, i) => {
      const d = regionStates[i]!.indexOf(v[r] ?? def.regions[r]!.initial);
      if (d < 0) throw new ObjectChartError(`${def.id}: region ${r} has no state '${v[r]}'`);
      return acc + d * radix[i]!;
    }, 0);
  const value = (s: number) => Object.fromEntries(regionNames.map((r, i) => [r, regionStates[i]![digit(s, i)]!]));

  const evalGuard = (g: GuardRef | undefined, s: number): boolean => {
    if (g === undefined) return true;
    if (typeof g === 'string') throw new ObjectChartError(`${def.id}: object charts take only state-in guards, not '${g}'`);
    if ('in' in g) {
      const [r, st] = g.in.split('.');
      const ri = regionNames.indexOf(r!);
      const si = ri < 0 ? -1 : regionStates[ri]!.indexOf(st!);
      if (si < 0) throw new ObjectChartError(`${def.id}: guard tests unknown state '${g.in}'`);
      return digit(s, ri) === si;
    }
    if ('not' in g) return !evalGuard(g.not, s);
    if ('or' in g) return g.or.some((x) => evalGuard(x, s));
    return g.and.every((x) => evalGuard(x, s));
  };

  const eventIndex = {} as Record<E, number>;
  def.events.forEach((e, i) => (eventIndex[e] = i));
  const eventRegion: string[] = new Array(def.events.length);
  regionNames.forEach((r) => {
    for (const st of Object.values(def.regions[r]!.states)) {
      for (const ev of Object.keys(st.on ?? {})) {
        const i = eventIndex[ev as E];
        if (i === undefined) throw new ObjectChartError(`${def.id}: region ${r} handles undeclared event '${ev}'`);
        if (eventRegion[i] !== undefined && eventRegion[i] !== r) {
          throw new ObjectChartError(`${def.id}: event '${ev}' is handled by both ${eventRegion[i]} and ${r}`);
        }
        eventRegion[i] = r;
      }
    }
  });
  def.events.forEach((e, i) => {
    if (eventRegion[i] === undefined) throw new ObjectChartError(`${def.id}: no region handles '${e}'`);
  });

  const next = new Int16Array(def.events.length * nStates).fill(-1);
  def.events.forEach((ev, ei) => {
    const ri = regionNames.indexOf(eventRegion[ei]!);
    const region = def.regions[eventRegion[ei]!]!;
    for (let s = 0; s < nStates; s++) {
      const here = regionStates[ri]![digit(s, ri)]!;
      const ts = transitionList(region.states[here]!.on?.[ev]);
      const t = ts.find((x) => evalGuard(x.guard, s));
      if (!t) continue;
      const to = t.target === undefined ? digit(s, ri) : regionStates[ri]!.indexOf(t.target);
      if (to < 0) throw new ObjectChartError(`${def.id}: ${eventRegion[ei]}.${here} ${ev} → unknown '${t.target}'`);
      next[ei * nStates + s] = s + (to - digit(s, ri)) * radix[ri]!;
    }
  });

  return {
    def, regionNames, regionStates, radix, nStates,
    initial: encode({}), eventIndex, next, eventRegion,
    digit, encode, value,
    stateName: (s, r) => regionStates[regionNames.indexOf(r)]![digit(s, regionNames.indexOf(r))]!,
  };
}
