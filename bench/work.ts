/**
 * What a dfs search node does, counted: bus events, state-vector slot and column writes,
 * saves and restores of the vector, state components hashed again and copied. Counted in
 * a run of its own (wrappers on the prototypes, taken off after it; not timed), so the
 * figures are the same in every run of the same build — a change that cuts work shows as
 * a smaller count whatever the machine's noise, where a time is a median of noisy rounds.
 */
import { Bus } from '../src/bus/bus.ts';
import { explore } from '../src/explore/explore.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { StateVector } from '../src/vector/state_vector.ts';
import { StateComponents } from '../src/world/components.ts';
import { Snapshot } from '../src/world/snapshot.ts';

export interface WorkPerNode {
  nodes: number;
  states: number;
  /** Per search node. */
  events: number;
  slotWrites: number;
  columnWrites: number;
  saves: number;
  restores: number;
  componentHashes: number;
  componentCopies: number;
}

type Counted = 'events' | 'slotWrites' | 'columnWrites' | 'saves' | 'restores' | 'componentHashes' | 'componentCopies';

/** A complete dfs of `s` (every monitor on, sleep sets as explore() defaults), counting. */
export function workPerNode(s: Scenario): WorkPerNode {
  const n: Record<Counted, number> = { events: 0, slotWrites: 0, columnWrites: 0, saves: 0, restores: 0, componentHashes: 0, componentCopies: 0 };
  const undo: (() => void)[] = [];
  const count = <T extends object>(o: T, method: string, what: Counted, when?: (args: unknown[]) => boolean) => {
    const rec = o as unknown as Record<string, (...a: unknown[]) => unknown>;
    const orig = rec[method]!;
    rec[method] = function (this: unknown, ...args: unknown[]) {
      if (when === undefined || when(args)) n[what]++;
      return orig.apply(this, args);
    };
    undo.push(() => void (rec[method] = orig));
  };
  count(Bus.prototype, 'publish', 'events');
  count(StateVector.prototype, 'put', 'slotWrites');
  count(StateVector.prototype, 'wrote', 'columnWrites');
  count(StateVector.prototype, 'save', 'saves');
  count(StateVector.prototype, 'restore', 'restores');
  count(StateComponents.prototype, 'rehash', 'componentHashes');
  // (a component's copy: Snapshot.take given the component; the run's own roots are not one)
  count(Snapshot, 'take', 'componentCopies', (args) => args[2] !== undefined);
  let r;
  try {
    r = explore(s, { strategy: 'dfs', shrinkBudget: 0 });
  } finally {
    for (const f of undo) f();
  }
  const nodes = r.nodes ?? 0;
  const per = (x: number) => (nodes > 0 ? x / nodes : 0);
  return {
    nodes, states: r.states ?? 0,
    events: per(n.events), slotWrites: per(n.slotWrites), columnWrites: per(n.columnWrites), saves: per(n.saves),
    restores: per(n.restores), componentHashes: per(n.componentHashes), componentCopies: per(n.componentCopies),
  };
}
