/**
 * Test helper: one object chart in both forms — the compiled table and the XState
 * machine built from the same definition — with a way to drive both side by side.
 */
import { expect } from 'vitest';
import { type AnyStateMachine, type SnapshotFrom, getInitialSnapshot, getNextSnapshot } from 'xstate';
import { type CompiledObjectChart, type ObjectChartDef, compileObjectChart } from '../../src/engine/object_chart.ts';
import { buildObjectMachine } from '../../src/engine/xstate_chart.ts';

export type XSnap = SnapshotFrom<AnyStateMachine>;

export interface Harness<E extends string> {
  chart: CompiledObjectChart<E>;
  machine: AnyStateMachine;
  /** next-table lookup: the state after `ev`, or -1. */
  next(state: number, ev: E): number;
  /** Applies legal events from the initial state; throws on an illegal one. */
  reach(events: readonly E[]): number;
  /** The XState snapshot for a packed table state. */
  snap(state: number): XSnap;
  /** XState selects some transition for ev (a legal command, with or without effect). */
  xLegal(snap: XSnap, ev: E): boolean;
  /** XState's transition(s) for ev all have no target and no actions (a pure self-transition). */
  xNoop(snap: XSnap, ev: E): boolean;
  xNext(snap: XSnap, ev: E): XSnap;
  /** Asserts ev is legal after `path` in both forms, and both land in the same state. Returns it. */
  legal(path: readonly E[], ev: E, expected?: Partial<Record<string, string>>): number;
  /** Asserts ev is illegal after `path` in both forms. */
  illegal(path: readonly E[], ev: E): void;
}

export function harness<E extends string>(def: ObjectChartDef<E>): Harness<E> {
  const chart = compileObjectChart(def);
  const machine = buildObjectMachine(def);
  const next = (s: number, ev: E) => chart.next[chart.eventIndex[ev] * chart.nStates + s]!;
  const reach = (events: readonly E[]) => {
    let s = chart.initial;
    for (const ev of events) {
      const n = next(s, ev);
      if (n < 0) throw new Error(`${def.id}: ${ev} illegal in ${JSON.stringify(chart.value(s))} while reaching ${events.join(',')}`);
      s = n;
    }
    return s;
  };
  const snap = (s: number): XSnap =>
    s === chart.initial ? getInitialSnapshot(machine) : (machine.resolveState({ value: chart.value(s), context: undefined }) as XSnap);
  const tdata = (sn: XSnap, ev: E) => machine.getTransitionData(sn as never, { type: ev } as never);
  const xLegal = (sn: XSnap, ev: E) => tdata(sn, ev).length > 0;
  const xNoop = (sn: XSnap, ev: E) => {
    const ts = tdata(sn, ev);
    return ts.length > 0 && ts.every((t) => t.target === undefined && t.actions.length === 0);
  };
  const xNext = (sn: XSnap, ev: E) => getNextSnapshot(machine, sn, { type: ev });

  const h: Harness<E> = {
    chart, machine, next, reach, snap, xLegal, xNoop, xNext,
    legal(path, ev, expected) {
      const s = reach(path);
      const n = next(s, ev);
      expect(n, `${def.id}: ${ev} after [${path.join(',')}] should be legal in the table`).toBeGreaterThanOrEqual(0);
      if (expected) expect(chart.value(n)).toMatchObject(expected);
      const x = snap(s);
      expect(x.value).toEqual(chart.value(s));
      expect(xLegal(x, ev), `${def.id}: XState should select a transition for ${ev}`).toBe(true);
      // XState's can() counts only transitions with a target or actions as "possible".
      expect(x.can({ type: ev })).toBe(!xNoop(x, ev));
      expect(xNext(x, ev).value).toEqual(chart.value(n));
      return n;
    },
    illegal(path, ev) {
      const s = reach(path);
      expect(next(s, ev), `${def.id}: ${ev} after [${path.join(',')}] should be illegal (-1)`).toBe(-1);
      const x = snap(s);
      expect(x.value).toEqual(chart.value(s));
      expect(xLegal(x, ev)).toBe(false);
      expect(x.can({ type: ev })).toBe(false);
      expect(xNext(x, ev).value).toEqual(chart.value(s));
    },
  };
  return h;
}
