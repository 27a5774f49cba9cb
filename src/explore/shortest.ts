/**
 * The shortest schedule to a violation: a depth-first branch and bound over the state graph
 * of the scenario the minimiser left (its actors only), from the start. A model state is
 * expanded again only when reached by a shorter prefix than before (the fewest steps each
 * was reached in is kept), so the search is complete for the bound: when it ends within its
 * node budget, no schedule shorter than the one it returns reaches the same violation at
 * the same site. Each violation found lowers the bound to its length; of the schedules that
 * short, the one with the fewest context switches found is kept.
 *
 * The minimiser's chunk removal and switch undoing keep the schedule it was given close to
 * its shape (the same preemptions, in the same order); this search is bound by neither, so
 * it finds the story a breadth-first search would — seed 004's zero-pmd overwrite in 16
 * steps where the minimised dfs counterexample had 18.
 */
import type { Scenario } from '../scenario/schema.ts';
import type { Decision, RunResult } from '../sched/run.ts';
import { dfsDriver } from '../sched/dfs_driver.ts';

interface Node {
  parent: Node | null;
  decision: Decision | undefined;
  depth: number;
  /** Context switches on the way (a decision for another actor than the one before). */
  switches: number;
}

function prefixOf(node: Node): Decision[] {
  const out: Decision[] = [];
  for (let n: Node | null = node; n?.decision; n = n.parent) out.push(n.decision);
  return out.reverse();
}

export interface ShortestOptions {
  seed: number;
  /** Only schedules of at most this many steps are searched. */
  bound: number;
  /** Search nodes at most (each a step from a snapshot); the search stops there, keeping what it found. */
  budget: number;
  monitors?: readonly string[];
}

export interface ShortestResult {
  /** The shortest schedule found to a run `matches` accepts; undefined: none within the bound. */
  decisions?: Decision[];
  nodes: number;
  /** The search ran to its end: nothing shorter exists. */
  complete: boolean;
}

export function shortestSchedule(s: Scenario, matches: (r: RunResult) => boolean, o: ShortestOptions): ShortestResult {
  let bound = o.bound;
  let best: Decision[] | undefined;
  let bestSwitches = Infinity;
  let nodes = 0;
  const fewest = new Map<string, number>();
  const stack: Node[] = [{ parent: null, decision: undefined, depth: 0, switches: 0 }];
  const search = dfsDriver(s, {
    next: () => {
      if (nodes >= o.budget) return undefined;
      // (nodes pushed before the bound came down: their depth may now be beyond it)
      let n = stack.pop();
      while (n && n.depth > bound) n = stack.pop();
      if (n) nodes++;
      return n;
    },
    depth: (n: Node) => n.depth,
    decision: (n: Node) => n.decision,
    footprint: () => false,
    visit: (n: Node, r: RunResult) => {
      if (r.frontier === undefined) {
        // the fewest steps, and of those the fewest context switches: the story easiest to follow
        if (r.verdict !== 'ok' && n.depth <= bound && (best === undefined || n.depth < best.length || n.switches < bestSwitches) && matches(r)) {
          best = prefixOf(n);
          bestSwitches = n.switches;
          bound = n.depth;
        }
        return 0;
      }
      if (n.depth >= bound) return 0;
      const [lo, hi] = r.stateWords!;
      const key = `${lo}:${hi}`;
      const before = fewest.get(key);
      if (before !== undefined && before <= n.depth) return 0;
      fewest.set(key, n.depth);
      for (let i = r.frontier.length - 1; i >= 0; i--) {
        const d = r.frontier[i]!;
        stack.push({ parent: n, decision: d, depth: n.depth + 1, switches: n.switches + (n.decision && n.decision.actor !== d.actor ? 1 : 0) });
      }
      return r.frontier.length;
    },
  }, { seed: o.seed, monitors: o.monitors, maxSteps: bound + 1 });
  while (!search.next().done);
  return { decisions: best, nodes, complete: nodes < o.budget };
}
