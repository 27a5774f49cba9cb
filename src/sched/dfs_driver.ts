/**
 * A depth-first search in one world: a driver of the World, as run() is of one run. The
 * nodes come from the search (`Search`: the explorer's dfs, the shortest-schedule branch
 * and bound) in depth-first order; each is reached from the nearest snapshot on its path
 * (World.save) restored in place and a replay of the few steps below it, and handed back
 * with its result — the same results, node by node, as run() along each node's prefix,
 * without re-running the scenario from its start.
 */
import type { Scenario } from '../scenario/schema.ts';
import type { Decision, Saved, World } from '../world/world.ts';
import { createWorld, cut } from '../world/engine_world.ts';
import type { RunResult } from './run.ts';
import { Stepper } from './stepper.ts';

/**
 * The nodes to run, from `next`, in depth-first order — a node's parent is the node run
 * last or one of its ancestors — each named by its depth and the decision that leads into
 * it from its parent.
 */
export interface Search<N> {
  /** The next node to run; undefined: the search is over; null: none yet (a parallel dfs's worker waiting for one) — yield, then ask again. */
  next(): N | null | undefined;
  /** The number of decisions from the start to the node. */
  depth(node: N): number;
  /** The decision from the node's parent into it (undefined at the root). */
  decision(node: N): Decision | undefined;
  /** After a node: whether the driver should yield here (it resumes where it was). */
  pause?(): boolean;
  /** Whether the last step into the node should record its footprint. */
  footprint(node: N): boolean;
  /**
   * For a node whose parent is not on the path the model is at (a parallel dfs's worker
   * taking a subtree the search order did not lead to): its decisions from the start. The
   * driver goes back to the start and follows them.
   */
  jumpTo?(node: N): readonly Decision[] | undefined;
  /**
   * The node's result (as run() with its prefix as `schedule` and `frontier` gives it); how
   * many children of it come next. Where the run goes on (a frontier), only verdict, steps,
   * preemptions, time_ns, frontier, stateWords and footprint are filled in, and the result,
   * its frontier array and its stateWords pair are written over at the next node (read them
   * here; the decisions in a frontier are the world's own, kept as long as wanted); where it
   * ended, everything, detached.
   */
  visit(node: N, r: RunResult): number;
}

export interface DfsDriverOptions {
  seed?: number;
  maxSteps?: number;
  monitors?: readonly string[];
  /** Collect the SCAN_* results, contended locks and blocking points (RunOptions.collect). */
  collect?: boolean;
  /** Check the incremental state hash against one from scratch at every node (RunOptions.checkStateHash). */
  checkStateHash?: boolean;
}

/**
 * Runs the search to its end (fast engine). A generator that yields between nodes when
 * `search.pause()` asks it to, or while `next` has none yet — so an asynchronous caller
 * can give the event loop a turn and carry on with the same model, snapshots and path (a
 * search resumed in a new world would have to re-run a prefix and take its snapshots anew).
 */
export function* dfsDriver<N>(s: Scenario, search: Search<N>, opts: DfsDriverOptions = {}): Generator<void, void, void> {
  const seed = opts.seed ?? s.seed;
  const maxSteps = opts.maxSteps ?? s.max_steps;
  const w: World = createWorld(s, {
    engine: 'fast', monitors: opts.monitors, collect: opts.collect, checkStateHash: opts.checkStateHash, snapshots: true, footprints: true,
  });
  const stepper = new Stepper(s, w, { seed, engine: 'fast', maxSteps, frontier: true, reuseInterim: true });

  // the path of decisions the model is at, and the world saved at nodes on that path
  // (always the start; then the nodes whose children are being run)
  const path: Decision[] = [];
  const snapshots: (Saved | undefined)[] = [];
  const spare: Saved[] = [];
  /** The depth of the deepest snapshot on the path (the start's, 0, is always there). */
  const deepestSnapshot = (): number => {
    let d = snapshots.length - 1;
    while (d > 0 && !snapshots[d]) d--;
    return d;
  };
  const snapshotHere = (depth: number) => {
    const base = snapshots[deepestSnapshot()];
    snapshots[depth] = w.save(base, snapshots[depth] ?? spare.pop());
  };
  /** The model is at the node `path` names (its frontier just computed): its first child needs no restore. */
  let atNode = false;
  /**
   * Go to a node: restore the deepest snapshot on the way to it; advance() follows the rest
   * of its prefix. Depth-first, its parent is on the path the model is on: the path's first
   * depth-1 decisions, then the node's own.
   */
  const goTo = (node: N): void => {
    const n = search.depth(node);
    const jump = search.jumpTo?.(node);
    if (n > path.length + 1 && !jump) throw new Error(`dfs: a node at depth ${n} while the path is ${path.length} long: not depth-first`);
    const firstChild = atNode && n === path.length + 1 && !jump;
    atNode = false;
    if (!firstChild) {
      // (a jump goes back as far as the path it is on shares its prefix)
      let d = jump ? Math.min(sharedPrefix(path, jump, n - 1), snapshots.length - 1) : Math.max(0, Math.min(n - 1, snapshots.length - 1));
      while (!snapshots[d]) d--;
      w.restore(snapshots[d]!);
      // the deeper snapshots are off the way now: their copies are reused by the next ones
      for (let i = d + 1; i < snapshots.length; i++) if (snapshots[i]) spare.push(snapshots[i]!);
      cut(snapshots, d + 1);
      cut(path, jump ? d : Math.max(0, n - 1));
      if (jump) {
        // on to the node's parent, a snapshot at every depth on the way: the node the search
        // jumps to next shares most of this prefix (a bfs expands the states of a depth in
        // the order their prefixes were found), and goes back only as far as they part
        for (let i = d; i < n - 1; i++) {
          path.push(jump[i]!);
          stepper.aim(path, false);
          stepper.advance();
          if (!stepper.atFrontier) break; // (the node's own run says how its prefix ended)
          snapshotHere(i + 1);
        }
        cut(path, 0);
        for (let i = 0; i < n - 1; i++) path.push(jump[i]!);
      }
    }
    // (the first child of the node the model is at goes on from here: nothing to restore)
    if (n > 0) path.push(search.decision(node)!);
    stepper.aim(path, search.footprint(node));
  };

  // One node after another, each handed over with its result (detached from the world's
  // own arrays, which the next restore rolls back). A node whose children come next keeps
  // a snapshot for its second child on (the first goes on from here) — unless a snapshot
  // lies fewer than SNAPSHOT_EVERY levels up: then going back is a restore of that one and
  // a replay of the few steps down from it, cheaper than a snapshot.
  snapshotHere(0);
  for (;;) {
    const node = search.next();
    if (node === undefined) break;
    if (node === null) {
      yield;
      continue;
    }
    goTo(node);
    stepper.advance();
    const children = search.visit(node, stepper.atFrontier ? stepper.interim() : stepper.result(true));
    atNode = stepper.atFrontier;
    if (children > 1 && atNode && path.length - deepestSnapshot() >= SNAPSHOT_EVERY) snapshotHere(path.length);
    if (search.pause?.()) yield;
  }
  w.close();
}

/** How many of the first `most` decisions two paths share (a decision: its actor, state and failure). */
function sharedPrefix(a: readonly Decision[], b: readonly Decision[], most: number): number {
  const m = Math.min(a.length, b.length, most);
  let i = 0;
  while (i < m && (a[i] === b[i] || (a[i]!.actor === b[i]!.actor && a[i]!.state === b[i]!.state && a[i]!.fail === b[i]!.fail))) i++;
  return i;
}

/**
 * A node takes a snapshot only this many levels below the nearest one; going back to a
 * node between is a restore and a replay of at most SNAPSHOT_EVERY - 1 steps. Measured
 * (explore() of bench/spin/zero-page-3task-fixed.yaml, 1,940,561 nodes): 5 → 8.7-9.3 s,
 * 3 → 7.0-7.2 s, 2 → 6.8-6.9 s, 1 → 6.6-6.9 s; 2 is as good or better on the team and
 * collapse_shmem fixtures. (It was 5 while a snapshot walked object graphs: a step cost a
 * tenth of one; with most of the model in the state vector a snapshot is a copy of slots.)
 * With the struct page arrays and the page caches in the vector too, side by side (the two
 * builds at once): 1 against 2, the SPIN fixture 8.2 / 9.2 / 9.2 / 9.6 / 11.6 / 8.9 s
 * against 9.1 / 9.9 / 10.2 / 9.8 / 11.8 / 9.9 s; collapse-shmem-vs-truncate (1,000,000 states)
 * 14.3 / 12.2 / 13.1 s against 14.0 / 14.3 / 13.4 s; team-racing 16.9 / 17.5 / 17.5 s
 * against 16.8 / 16.4 / 17.6 s.
 */
const SNAPSHOT_EVERY = 1;
