/**
 * The breadth-first search: a Search (src/sched/dfs_driver.ts) whose nodes the dfs's driver
 * runs in the same world — the states of each depth expanded before any of the next, so a
 * violation is first reached in the fewest steps. Without sleep sets or a preemption bound
 * it runs the transitions a dfs runs: a complete search of either finds the same states,
 * nodes, ended schedules and coverage (test/bfs.test.ts).
 *
 * Every transition is run once, as its source state is expanded. A state seen for the first
 * time is queued; when its depth comes, it is reached again along its prefix (a jump: the
 * driver restores the nearest snapshot on the prefix it shares with the state expanded
 * before, and replays the rest, a snapshot at every depth on the way) and its open
 * decisions come next, each a restore and one step.
 */
import type { Decision, RunResult } from '../sched/run.ts';
import type { Search } from '../sched/dfs_driver.ts';

export interface BfsNode {
  parent: BfsNode | null;
  /** The decision from the parent into the node (none at the root). */
  decision: Decision | undefined;
  depth: number;
  /** The node run again to expand it, its children next (not a transition of its own). */
  expand?: boolean;
}

/** What the explorer does with the search's transitions. */
export interface BfsHooks {
  /** Whether to stop before the next node (stopped, the state bound, the time budget). */
  stop(): boolean;
  /** A transition into a run that ended: its whole result. */
  ended(r: RunResult): void;
  /** A transition into a state that goes on: whether the state is new (it is then expanded at its depth). */
  reached(decision: Decision | undefined, lo: number, hi: number): boolean;
  /** After each transition. */
  counted(): void;
}

/** A dfs or bfs node's prefix: the decisions from the start that lead to it. */
export function prefixOf(node: { parent: unknown; decision: Decision | undefined }): Decision[] {
  const out: Decision[] = [];
  for (let n = node as { parent: unknown; decision: Decision | undefined } | null; n?.decision; n = n.parent as typeof n) out.push(n.decision);
  return out.reverse();
}

export class BreadthFirst implements Search<BfsNode> {
  /** Transitions run (the root's start counts as one, as in the dfs). */
  nodes = 0;
  /** The states to expand, level after level (a queue: `expandAt` is its head). */
  private readonly toExpand: BfsNode[] = [];
  private expandAt = 0;
  /** The children of the state being expanded, run next. */
  private readonly children: BfsNode[] = [];
  private childAt = 0;
  private sincePause = 0;

  constructor(private readonly hooks: BfsHooks, private readonly chunk: number) {}

  /** Whether nodes are left (the root not yet run, children or states to expand). */
  get more(): boolean {
    return this.nodes === 0 || this.childAt < this.children.length || this.expandAt < this.toExpand.length;
  }

  /** The next node: a child of the state being expanded, else the next state to expand, else none. */
  next(): BfsNode | undefined {
    if (this.hooks.stop()) return undefined;
    if (this.nodes === 0) {
      this.nodes = 1;
      return { parent: null, decision: undefined, depth: 0 };
    }
    if (this.childAt < this.children.length) {
      this.nodes++;
      return this.children[this.childAt++]!;
    }
    if (this.expandAt === this.toExpand.length) return undefined;
    const state = this.toExpand[this.expandAt]!;
    // (the queue's head is dropped as it is taken: the states expanded are kept only as their children's parents)
    this.toExpand[this.expandAt++] = undefined as unknown as BfsNode;
    return { ...state, expand: true };
  }

  depth = (node: BfsNode): number => node.depth;
  decision = (node: BfsNode): Decision | undefined => node.decision;
  footprint = (): boolean => false;
  jumpTo = (node: BfsNode): readonly Decision[] | undefined => (node.expand ? prefixOf(node) : undefined);
  pause = (): boolean => ++this.sincePause % this.chunk === 0;

  /** A node's result. A state expanded: its children come next. A transition: counted, and its state queued if new. */
  visit(node: BfsNode, r: RunResult): number {
    if (node.expand) {
      // the same prefix reaches the same state: a node that goes on, whose open decisions are its children
      if (r.stateWords === undefined) throw new Error(`bfs: the run along a state's prefix ended (${r.verdict}${r.divergence ? `: ${r.divergence}` : ''}) where it had reached a state that goes on`);
      const open = r.frontier!;
      const parent: BfsNode = { parent: node.parent, decision: node.decision, depth: node.depth };
      this.children.length = 0;
      this.childAt = 0;
      for (const d of open) this.children.push({ parent, decision: d, depth: node.depth + 1 });
      return open.length;
    }
    if (r.stateWords === undefined) this.hooks.ended(r);
    else if (this.hooks.reached(node.decision, r.stateWords[0], r.stateWords[1])) this.toExpand.push(node);
    this.hooks.counted();
    return 0;
  }
}
