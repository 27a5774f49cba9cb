/**
 * The schedule explorer: many runs of one scenario under a search strategy, every
 * invariant on, each violation kept as a minimised, replayable counterexample.
 *
 *   explore(scenario, { strategy: 'pct', schedules: 10_000 })
 *
 * Schedule i of a run with base seed S is run(scenario, seed S + i): the schedule set
 * is a function of (scenario, strategy, seed, schedules), nothing else.
 */
import type { Scenario } from '../scenario/schema.ts';
import { type Decision, type PooledRun, type RunResult, RunPool, compiledChart, run } from '../sched/run.ts';
import { dfsDriver } from '../sched/dfs_driver.ts';
import { getActorKind } from '../registry.ts';
import { Rng } from '../sched/rng.ts';
import { type Footprint, independent } from '../world/footprint.ts';
import { SharedBoundedStates, SharedVisitedStates, VisitedStates } from './visited.ts';
import { DfsWorkPool, type PoolDecision } from './work_pool.ts';
import { BreadthFirst, prefixOf } from './bfs.ts';
import type { Counterexample, ExploreOptions, ExploreResult } from './types.ts';
import { contextSwitches, keyOf, minimise, shortestCounterexample, siteOf } from './minimise.ts';
import { counts, inKeyOrder } from './merge_results.ts';

export type { Counterexample, DfsWorker, ExploreOptions, ExploreResult, Strategy } from './types.ts';

/** The scenario a counterexample's decisions replay on. */
export { contextSwitches, siteOf } from './minimise.ts';

export function counterexampleScenario(s: Scenario, c: Counterexample): Scenario {
  return c.removedActors.length ? { ...s, actors: s.actors.filter((a) => !c.removedActors.includes(a.id)) } : s;
}


/** An actor's end as ExploreResult.outcomes counts it: "id: outcome results...". */
export function outcomeKey(a: RunResult['actors'][number]): string {
  return `${a.id}: ${[a.outcome, ...a.results].join(' ')}`;
}

/** A step asleep at a dfs node: explored already in an order that reaches the same state. */
interface Sleeper {
  key: string;
  decision: Decision;
  fp: Footprint;
}

/** The children of one dfs node: the node's sleep set, and the steps explored from it so far. */
interface DfsSiblings {
  sleep: Sleeper[];
  done: Sleeper[];
  /** Siblings not yet run. */
  left: number;
}

interface DfsNode {
  parent: DfsNode | null;
  /** The decision from the parent into the node (none at the root). */
  decision: Decision | undefined;
  depth: number;
  siblings: DfsSiblings | null;
  /** Record the footprint of the step into it (set when it is taken off the stack). */
  track?: boolean;
  /** Parallel dfs: a node given by another worker, whose parent is not where the search order left the model. */
  jump?: boolean;
}

/**
 * dfs: the children of one expanded node still to run — its decisions `todo[next..end)`,
 * run in that order — each made a DfsNode only when popped (a node of 100,000 runnable
 * actors stacked 100,000 objects: a search of 1,000 states of such a scenario took 6 GB).
 */
interface DfsFrame {
  parent: DfsNode | null;
  todo: readonly (Decision | undefined)[];
  next: number;
  end: number;
  siblings: DfsSiblings | null;
}

/** dfs nodes per run() with snapshots under exploreAsync: a chunk between two turns of the event loop. */
const DFS_CHUNK = 64;

/** Parallel dfs: how long a worker out of nodes waits for one before it asks again (and gives the event loop a turn). */
const IDLE_WAIT_MS = 1;

/** The sleep set of a state expanded with nothing asleep (most of them): one shared empty set. */
const NONE_ASLEEP: ReadonlySet<string> = new Set();

/** A decision as sleep sets name transitions: the actor, and whether its failure is injected. */
const decisionKey = (d: Decision) => (d.fail ? `${d.actor}!` : d.actor);

/** One schedule after another; explore() and exploreAsync() drive it. */
class Explorer {
  readonly res: ExploreResult;
  private readonly hashes = new Set<string>();
  private readonly seen = new Set<string>();
  /**
   * PCT draws its change points from [0, span): the longest of ten uniformly random runs
   * (seeds base..base+9), the same in every shard, so schedule i depends on i alone.
   */
  private pctSpan = 0;
  /** The next global schedule index this shard runs. */
  private index: number;
  private readonly shardCount: number;
  private readonly base: number;
  readonly total: number;
  /** With a time budget: its clock and when it runs out. */
  private readonly clock: (() => number) | undefined;
  private readonly deadline: number;

  constructor(
    private readonly s: Scenario,
    private readonly o: ExploreOptions,
    /** dfs nodes per run() with snapshots (explore(): all in one; exploreAsync: DFS_CHUNK per turn). */
    private readonly dfsChunk = Infinity,
  ) {
    this.base = o.seed ?? s.seed;
    this.total = o.schedules ?? 1000;
    if (o.dfsWorker) {
      if (o.sleepSets) throw new Error('a parallel dfs runs without sleep sets');
      if (o.snapshots === false) throw new Error('a parallel dfs runs with snapshots');
      this.shared = new SharedVisitedStates(o.dfsWorker.visited);
      this.pool = new DfsWorkPool(o.dfsWorker.pool, o.dfsWorker.worker);
      // (worker 0 holds the root; the others ask the pool for work)
      if (o.dfsWorker.worker !== 0) this.stack.length = 0;
    }
    if (o.preemptionBound !== undefined) {
      const b = o.preemptionBound;
      if (!Number.isInteger(b) || b < 0) throw new Error(`preemptionBound: expected a whole number ≥ 0, got ${b}`);
      if (o.strategy !== 'dfs') throw new Error('preemptionBound bounds the dfs (strategy: dfs)');
      if (o.sleepSets) throw new Error('a preemption-bounded dfs runs without sleep sets');
      if (o.dfsWorker) {
        if (!o.dfsWorker.bounded) throw new Error('a parallel preemption-bounded dfs needs its shared table of search states (DfsWorker.bounded)');
        this.sharedBounded = new SharedBoundedStates(o.dfsWorker.bounded);
      }
    }
    if (o.strategy === 'bfs') {
      const with_ = o.sleepSets ? 'sleep sets' : o.dfsWorker ? 'parallel workers' : o.shard ? 'shards' : o.snapshots === false ? 'snapshots off' : undefined;
      if (with_) throw new Error(`the bfs runs in one process, with snapshots and without sleep sets: not with ${with_}`);
    }
    const shard = o.shard ?? { index: 0, count: 1 };
    this.index = shard.index;
    this.shardCount = shard.count;
    if (o.timeBudgetMs !== undefined && !o.clock) throw new Error('a time budget needs a clock (ExploreOptions.clock)');
    this.clock = o.timeBudgetMs === undefined ? undefined : o.clock;
    this.deadline = this.clock ? this.clock() + o.timeBudgetMs! : Infinity;
    if ((o.strategy ?? 'random') === 'pct' || o.strategy === 'coverage') {
      // PCT's change points are drawn from the longest of ten runs' steps — measured up to
      // PCT_SPAN_MAX (these runs are not interruptible, and a scenario's bound may be 10^12)
      const maxSteps = Math.min(o.maxSteps ?? s.max_steps, PCT_SPAN_MAX);
      for (let i = 0; i < 10; i++) {
        this.pctSpan = Math.max(this.pctSpan, run(s, { seed: (this.base + i) >>> 0, maxSteps, monitors: o.monitors, record: false }).steps);
      }
    }
    this.res = {
      scenario: s.name, strategy: o.strategy ?? 'random', seed: this.base, schedules: 0, distinctTraces: 0, traceHashes: [], shard: o.shard,
      verdicts: counts(), violations: counts(), outcomes: counts(), scanResults: counts(), contention: counts(), blocked: counts(), counterexamples: [], stopped: false, coverage: {},
    };
    if (o.preemptionBound !== undefined) this.res.preemptionBound = o.preemptionBound;
    s.actors.forEach((a, i) => {
      this.kindOf.set(a.id, a.kind);
      this.actorIndex.set(a.id, i);
    });
  }

  private readonly kindOf = new Map<string, string>();
  private readonly stepped = new Set<string>();

  /** Fill in the coverage from the states stepped from. */
  finish(): ExploreResult {
    const cov: ExploreResult['coverage'] = {};
    for (const kind of [...new Set(this.kindOf.values())].sort()) {
      const c = compiledChart(getActorKind(kind)!, this.s.variants);
      const steps = c.nodes.filter((n) => n.kind === 'atomic' && n.step.length).map((n) => n.path);
      const missed = steps.filter((p) => !this.stepped.has(`${kind}:${p}`));
      cov[kind] = { reached: steps.length - missed.length, steps: steps.length, missed };
    }
    this.res.coverage = cov;
    this.res.traceHashes = [...this.hashes].sort();
    // counts in key order, as mergeResults() gives them
    this.res.verdicts = inKeyOrder(this.res.verdicts);
    this.res.violations = inKeyOrder(this.res.violations);
    this.res.outcomes = inKeyOrder(this.res.outcomes);
    this.res.scanResults = inKeyOrder(this.res.scanResults);
    this.res.contention = inKeyOrder(this.res.contention);
    this.res.blocked = inKeyOrder(this.res.blocked);
    return this.res;
  }

  /** dfs: sleep sets (off unless asked for: see ExploreOptions.sleepSets). */
  private get sleepSetsOn(): boolean {
    return this.o.sleepSets ?? false;
  }

  private get maxStates(): number {
    return this.o.maxStates ?? 1_000_000;
  }

  /** dfs: the run the search goes on in (between chunks under exploreAsync). */
  private dfsRun: Generator<void, void, void> | undefined;
  private dfsResumed = false;
  /** dfs: the nodes still to run, by the node whose children they are (the root's own first), and per state seen the sleep set it was expanded with. */
  private readonly stack: DfsFrame[] = [{ parent: null, todo: [undefined], next: 0, end: 1, siblings: null }];
  private readonly visited = new VisitedStates();
  /** Parallel dfs: the states every worker has seen, and the nodes handed between workers. */
  private shared: SharedVisitedStates | undefined;
  private pool: DfsWorkPool | undefined;
  /** Parallel dfs: no node is left in any worker or in the pool. */
  private poolDone = false;
  /** Actor id → its index in the scenario (how the pool names actors). */
  private readonly actorIndex = new Map<string, number>();
  /** Per actor kind, chart state path → its index in the compiled chart (how the pool names states). */
  private readonly stateIndex = new Map<string, Map<string, number>>();

  /** dfs: the states seen (by every worker). */
  private get statesSeen(): number {
    return this.shared ? this.shared.size : this.visited.size;
  }

  /** The sleep sets states were expanded with (0: the empty one, shared by most states). */
  private readonly sleepSets: ReadonlySet<string>[] = [NONE_ASLEEP];

  private sleepSetIndex(asleep: ReadonlySet<string>): number {
    if (asleep.size === 0) return 0;
    this.sleepSets.push(asleep);
    return this.sleepSets.length - 1;
  }

  /** Stop early, saying why (the first reason given is kept). */
  stop(reason: string): void {
    if (!this.res.stopped) this.res.stopReason = reason;
    this.res.stopped = true;
    // (stopOnFirst: every worker of a parallel dfs stops)
    if (reason === 'counterexample') this.pool?.stop();
  }

  /** Out of time: checked before each schedule, so the last one started always finishes. */
  private overBudget(): boolean {
    if (!this.clock || this.clock() < this.deadline) return false;
    this.stop('time budget');
    return true;
  }

  private runPool: RunPool | undefined;
  /** random, PCT, coverage: the schedule under way, where next() was given fewer steps than it has (exploreAsync). */
  private pending: ReturnType<RunPool['begin']> | undefined;
  /** The world the random, PCT and coverage runs share, going back to its start between runs (RunPool). */
  private runs(): RunPool {
    return (this.runPool ??= new RunPool(this.s, { monitors: this.o.monitors, collect: true }));
  }

  /** Run the next schedule (dfs: expand the next search node); false when the explorer is done. */
  next(steps = Infinity): boolean {
    const { o, res } = this;
    if (res.stopped || (this.pending === undefined && this.overBudget())) return false;
    if (res.strategy === 'dfs') return this.dfsNext();
    if (res.strategy === 'bfs') return this.bfsNext();
    if (this.pending === undefined && this.index >= this.total) return false;
    if (this.pending === undefined) {
      const seed = (this.base + this.index) >>> 0;
      this.index += this.shardCount;
      this.pending = this.runs().begin(res.strategy === 'coverage'
        ? this.coverageRun(seed)
        : { seed, strategy: res.strategy, maxSteps: o.maxSteps, pctDepth: o.depth, pctSteps: this.pctSpan || undefined });
    }
    // (a schedule longer than `steps` goes on at the next call)
    if (!this.pending.advance(steps)) return true;
    const r = this.pending.result();
    this.pending = undefined;
    this.record(r);
    if (o.onProgress?.(res.schedules, res)) this.stop('interrupted');
    return !res.stopped && this.index < this.total;
  }

  /**
   * Depth-first search over every decision (which runnable actor steps, and whether an
   * injectable failure fires), each node reached from the nearest snapshot of the model
   * restored in place and a replay of the few steps below it (or, with `snapshots: false`,
   * by re-running the scenario along its prefix). A prefix whose model state was already
   * reached is not expanded again, and with sleep sets (Godefroid) a step is not run where
   * an independent reordering of it already was.
   * State caching with sleep sets: a state reached again with a smaller sleep set explores
   * the steps that were asleep then and are awake now, and keeps the intersection.
   */
  private dfsNext(): boolean {
    const { s, o, res } = this;
    if (o.snapshots ?? true) {
      // the whole search in one run, each node reached from the nearest snapshot on the way
      // to it; under exploreAsync the run yields every dfsChunk nodes and resumes here
      if (!this.dfsRun) {
        let n = 0;
        this.dfsRun = dfsDriver(s, {
          // (next() read the clock just before resuming the run: the first node needs no second read)
          next: () => {
            const resumed = this.dfsResumed;
            this.dfsResumed = false;
            return resumed || !this.overBudget() ? this.dfsPop() : undefined;
          },
          depth: (node: DfsNode) => node.depth,
          decision: (node: DfsNode) => node.decision,
          footprint: (node: DfsNode) => node.track === true,
          jumpTo: (node: DfsNode) => (node.jump ? prefixOf(node) : undefined),
          visit: (node: DfsNode, r: RunResult) => this.dfsVisit(node, r),
          pause: () => ++n % this.dfsChunk === 0,
        }, { seed: this.base, maxSteps: o.maxSteps, monitors: o.monitors, collect: true, checkStateHash: o.checkStateHash });
      }
      this.dfsResumed = true;
      if (this.dfsRun.next().done) this.dfsRun = undefined;
    } else {
      const node = this.dfsPop();
      if (node) this.dfsVisit(node, run(s, { seed: this.base, schedule: prefixOf(node), frontier: true, maxSteps: o.maxSteps, monitors: o.monitors, collect: true, footprint: node.track, checkStateHash: o.checkStateHash }));
    }
    const more = this.stack.length > 0 || (this.pool !== undefined && !this.poolDone);
    res.complete = !more && !res.stopped;
    return !res.stopped && more && this.statesSeen < this.maxStates;
  }

  /**
   * dfs: the next node to run, with whether its last step's footprint is wanted; undefined:
   * none left, or stopped; null (parallel dfs): none yet — this worker is out of nodes and
   * waits for another to give one.
   */
  private dfsPop(): DfsNode | null | undefined {
    const { res, pool } = this;
    if (res.stopped || this.statesSeen >= this.maxStates) return undefined;
    if (pool?.stopped) {
      this.stop('counterexample');
      return undefined;
    }
    if (this.shared?.full || this.sharedBounded?.full) {
      this.stop('visited-state table full');
      return undefined;
    }
    let node = this.popNode();
    if (pool) {
      if (node === undefined) {
        // out of nodes: another worker gives one, or none is left anywhere
        const got = pool.take(IDLE_WAIT_MS);
        if (got.kind === 'wait') return null;
        if (got.kind === 'done') {
          this.poolDone = true;
          return undefined;
        }
        node = this.givenNode(got.decisions);
      } else if (this.stack.length > 0 && pool.wanted) {
        // (the shallowest: the largest subtree this worker has left — the last child of the oldest node with any left)
        const f = this.stack[0]!;
        const given = this.frameChild(f, f.end - 1);
        if (pool.give(prefixOf(given).map((d) => this.toPool(d)))) {
          f.end--;
          if (f.next === f.end) this.stack.shift();
        }
      }
    }
    if (node === undefined) return undefined;
    res.nodes = (res.nodes ?? 0) + 1;
    const { siblings } = node;
    // a footprint is needed to put steps to sleep here, or for the siblings still to come
    node.track = this.sleepSetsOn && siblings !== null && (siblings.sleep.length + siblings.done.length > 0 || siblings.left > 1);
    if (siblings) siblings.left--;
    return node;
  }

  /** bfs: the search, and the run it goes on in (between chunks under exploreAsync). */
  private bfs: BreadthFirst | undefined;
  private bfsRun: Generator<void, void, void> | undefined;

  /**
   * Breadth-first search over every decision (./bfs.ts): the states of each depth before
   * any of the next, so the first violation found is reached in the fewest steps (a shortest
   * counterexample, before minimising); the transitions a dfs without sleep sets runs.
   */
  private bfsNext(): boolean {
    const { s, o, res } = this;
    if (!this.bfs) {
      this.bfs = new BreadthFirst({
        stop: () => res.stopped || this.visited.size >= this.maxStates || this.overBudget(),
        ended: (r) => this.record(r),
        reached: (d, lo, hi) => {
          // the step that led here counts as covered even if the state it reached was seen
          if (d) this.markDecision(d);
          return this.visited.add(lo, hi, 0) < 0;
        },
        counted: () => {
          res.nodes = this.bfs!.nodes;
          res.states = this.visited.size;
          res.stateBytes = res.states > 0 ? Math.round((10 * this.visited.bytes) / res.states) / 10 : 0;
          if (o.onProgress?.(res.nodes, res)) this.stop('interrupted');
        },
      }, this.dfsChunk);
    }
    this.bfsRun ??= dfsDriver(s, this.bfs, { seed: this.base, maxSteps: o.maxSteps, monitors: o.monitors, collect: true, checkStateHash: o.checkStateHash });
    if (this.bfsRun.next().done) this.bfsRun = undefined;
    const more = this.bfs.more;
    res.complete = !more && !res.stopped;
    return !res.stopped && more && this.visited.size < this.maxStates;
  }

  /** Parallel dfs: a decision as the work pool carries it. */
  private toPool(d: Decision): PoolDecision {
    const kind = this.kindOf.get(d.actor)!;
    let states = this.stateIndex.get(kind);
    if (!states) {
      states = new Map(compiledChart(getActorKind(kind)!, this.s.variants).nodes.map((n) => [n.path, n.index]));
      this.stateIndex.set(kind, states);
    }
    return [this.actorIndex.get(d.actor)!, (states.get(d.state)! << 1) | (d.fail ? 1 : 0)];
  }

  /** Parallel dfs: a node another worker gave, with the path to it from the root (prefixOf() reads it back). */
  private givenNode(decisions: readonly PoolDecision[]): DfsNode {
    let node: DfsNode = { parent: null, decision: undefined, depth: 0, siblings: null };
    for (const [a, stateAndFail] of decisions) {
      const actor = this.s.actors[a]!;
      const state = compiledChart(getActorKind(actor.kind)!, this.s.variants).nodes[stateAndFail >> 1]!.path;
      const decision: Decision = stateAndFail & 1 ? { actor: actor.id, state, fail: true } : { actor: actor.id, state };
      node = { parent: node, decision, depth: node.depth + 1, siblings: null };
    }
    node.jump = true;
    return node;
  }

  /** dfs: child i of a frame's node, as a search node. */
  private frameChild(f: DfsFrame, i: number): DfsNode {
    return { parent: f.parent, decision: f.todo[i], depth: f.parent === null ? 0 : f.parent.depth + 1, siblings: f.siblings };
  }

  /** dfs: the next node to run in depth-first order (the newest frame's next child), or undefined. */
  private popNode(): DfsNode | undefined {
    const f = this.stack.at(-1);
    if (f === undefined) return undefined;
    const node = this.frameChild(f, f.next++);
    if (f.next === f.end) this.stack.pop();
    return node;
  }

  /** dfs: a node's result; how many children of it are to be run (they come next). */
  private dfsVisit(node: DfsNode, r: RunResult): number {
    const { o, res } = this;
    const { siblings } = node;
    let pushed = 0;
    // the step that led here: asleep in the siblings explored after it, if independent of theirs
    let sleep: Sleeper[] = [];
    if (siblings && r.footprint) {
      const t = node.decision!;
      sleep = [...siblings.sleep, ...siblings.done].filter((x) => x.decision.actor !== t.actor && independent(x.fp, r.footprint!));
      siblings.done.push({ key: decisionKey(t), decision: t, fp: r.footprint });
    }
    // (not r.frontier: a node's open decisions are found when first read, where needed)
    if (r.stateWords === undefined) {
      // the run ended on its own: a complete schedule (or a violation along this prefix)
      this.record(r);
    } else {
      // the step that led here counts as covered even if the state it reached is pruned
      if (node.decision) this.markDecision(node.decision);
      const [lo, hi] = r.stateWords!;
      let todo: Decision[];
      let group: DfsSiblings | null = null;
      if (this.o.preemptionBound !== undefined) todo = this.withinBound(node, lo, hi, r.preemptions, r.frontier!);
      else if (this.shared) todo = this.sharedFirst(lo, hi) ? r.frontier! : [];
      else {
        const asleep: ReadonlySet<string> = sleep.length ? new Set(sleep.map((x) => x.key)) : NONE_ASLEEP;
        // (a new state is added with the empty sleep set's index, 0, at once: one probe)
        const at = this.visited.add(lo, hi, 0);
        const before = at < 0 ? undefined : this.sleepSets[at]!;
        if (before === undefined) {
          if (asleep.size) this.visited.replaceAdded(this.sleepSetIndex(asleep));
          const open = r.frontier!;
          todo = asleep.size ? open.filter((d) => !asleep.has(decisionKey(d))) : open;
        } else if (before.size === 0) {
          todo = [];
        } else {
          // asleep then, awake now: not yet explored from this state (and kept: asleep both times)
          todo = r.frontier!.filter((d) => before.has(decisionKey(d)) && !asleep.has(decisionKey(d)));
          this.sleepSets[at] = new Set([...before].filter((key) => asleep.has(key)));
        }
        if (before === undefined) res.slept = (res.slept ?? 0) + r.frontier!.length - todo.length;
        else res.slept ??= 0;
        // with sleep sets, the children share what their sleep sets are made from
        if (this.sleepSetsOn && todo.length) group = { sleep, done: [], left: todo.length };
      }
      // (the frontier is the stepper's, written over at the next node: its decisions copied)
      if (todo.length) this.stack.push({ parent: node, todo: todo === r.frontier ? todo.slice() : todo, next: 0, end: todo.length, siblings: group });
      pushed = todo.length;
    }
    if (!this.shared) {
      res.states = this.visited.size;
      res.stateBytes = res.states > 0 ? Math.round((10 * this.visited.bytes) / res.states) / 10 : 0;
    }
    if (o.onProgress?.(res.nodes ?? 0, res)) this.stop('interrupted');
    return pushed;
  }

  /** Preemption-bounded dfs: the search states (model state, last actor) expanded, each with the fewest preemptions it was reached with. */
  private readonly bounded = new VisitedStates();
  /** Parallel preemption-bounded dfs: the same, shared by every worker. */
  private sharedBounded: SharedBoundedStates | undefined;

  /**
   * Preemption-bounded dfs: the decisions to explore from a node the run reached with
   * `used` preemptions (RunResult.preemptions) — none if its search state was expanded
   * already with no more used; at the bound, only the last actor's own if it can step (a
   * switch away from it would be one preemption too many).
   */
  private withinBound(node: DfsNode, lo: number, hi: number, used: number, frontier: Decision[]): Decision[] {
    const last = node.decision?.actor;
    // (the state's own words for the root; after a step, mixed with who took it: its index
    // in the scenario + 1, the same in every worker)
    const a = last === undefined ? 0 : this.actorIndex.get(last)! + 1;
    const klo = lo ^ Math.imul(a, 0x9e3779b1);
    const khi = hi ^ Math.imul(a, 0x85ebca6b);
    if (this.shared) {
      // the model state counted by the worker that adds it first (and none past the bound);
      // the search state expanded by whichever worker reaches it with a new fewest count
      const n = this.shared.add(lo, hi);
      if (n > 0 && n <= this.maxStates) this.res.states = (this.res.states ?? 0) + 1;
      if (n > this.maxStates || !this.sharedBounded!.lower(klo, khi, used)) return [];
    } else {
      const before = this.bounded.get(klo, khi);
      if (before >= 0 && before <= used) return [];
      this.bounded.set(klo, khi, used);
      this.visited.add(lo, hi, 0);
    }
    if (used < this.o.preemptionBound! || !frontier.some((d) => d.actor === last)) return frontier;
    return frontier.filter((d) => d.actor === last);
  }

  /**
   * Parallel dfs: whether this worker expands the state — if no worker has seen it (the
   * one that adds it to the shared table counts it). Past the bound it is neither counted
   * nor expanded: two workers may both have passed dfsPop's check of the bound.
   */
  private sharedFirst(lo: number, hi: number): boolean {
    const n = this.shared!.add(lo, hi);
    const mine = n > 0 && n <= this.maxStates;
    if (mine) this.res.states = (this.res.states ?? 0) + 1;
    return mine;
  }

  /** coverage: per step (kind:state), the first schedule that took it and at which decision. */
  private readonly reachedBy = new Map<string, { schedule: Decision[]; at: number; tries: number }>();
  /** coverage: per actor kind, each step's possible next steps (chart successors), by state path. */
  private successors?: Map<string, Map<string, string[]>>;

  /**
   * The coverage strategy steers toward the steps no schedule has taken yet. A step X
   * never taken is behind a gateway: a step Y that was taken and whose transitions can
   * lead to X (a guard went the other way: a lock was free, a page not yet frozen, a pmd
   * still none). Every other schedule replays the first schedule that reached a gateway up
   * to a random point before it and goes on uniformly at random from there, so the
   * interleaving before Y changes, and with it what Y's guards see; gateways are taken in
   * turn, the least tried first. The rest start afresh as PCT at depth 1 to 4 (alone, PCT
   * reaches more than uniform random). Schedule i depends on the schedules before it, so
   * this strategy runs in one process.
   */
  private coverageRun(seed: number): PooledRun {
    const { o } = this;
    const rng = new Rng(seed ^ 0x2545f491);
    const gateways: { schedule: Decision[]; at: number; tries: number }[] = [];
    if (rng.below(2) !== 0) {
      for (const [kind, succ] of this.chartSuccessors()) {
        for (const [from, next] of succ) {
          const by = this.reachedBy.get(`${kind}:${from}`);
          if (by && next.some((x) => !this.stepped.has(`${kind}:${x}`))) gateways.push(by);
        }
      }
    }
    if (!gateways.length) {
      return { seed, strategy: 'pct', pctDepth: 1 + (seed % 4), pctSteps: this.pctSpan || undefined, maxSteps: o.maxSteps };
    }
    const least = Math.min(...gateways.map((g) => g.tries));
    const fewest = gateways.filter((g) => g.tries === least);
    const g = fewest[rng.below(fewest.length)]!;
    g.tries++;
    const prefix = g.schedule.slice(0, rng.below(g.at + 1));
    return { seed, schedule: prefix, continueAfterSchedule: true, maxSteps: o.maxSteps };
  }

  /** Each atomic step's possible next atomic steps: its STEP targets entered (initial states, eventless routing). */
  private chartSuccessors(): Map<string, Map<string, string[]>> {
    if (this.successors) return this.successors;
    this.successors = new Map();
    for (const kind of new Set(this.kindOf.values())) {
      const c = compiledChart(getActorKind(kind)!, this.s.variants);
      type N = (typeof c.nodes)[number];
      const leaves = (n: N, seen: Set<N>, out: Set<string>): void => {
        if (seen.has(n)) return;
        seen.add(n);
        while (n.initial) n = n.initial;
        if (n.step.length) out.add(n.path);
        for (const t of n.always) leaves(t.target, seen, out);
        if (n.kind === 'final') for (let p = n.parent; p; p = p.parent) for (const t of p.onDone) leaves(t.target, seen, out);
      };
      const succ = new Map<string, string[]>();
      for (const n of c.nodes) {
        if (n.kind !== 'atomic' || !n.step.length) continue;
        const out = new Set<string>();
        for (const t of n.step) leaves(t.target, new Set(), out);
        succ.set(n.path, [...out]);
      }
      this.successors.set(kind, succ);
    }
    return this.successors;
  }

  /** Decisions (the dfs's frontier entries, made once per actor and state) already marked. */
  private readonly marked = new Set<Decision>();

  /** dfs: a frontier decision stepped (marked once per decision object). */
  private markDecision(d: Decision): void {
    if (this.marked.has(d)) return;
    this.marked.add(d);
    this.markStepped(d);
  }

  /** Per actor and state, its step's coverage key (kind:state): made once, asked for at every step of every schedule. */
  private readonly stepKeys = new Map<string, Map<string, string>>();

  private markStepped(d: Decision, schedule?: Decision[], at = 0): void {
    let byState = this.stepKeys.get(d.actor);
    if (byState === undefined) this.stepKeys.set(d.actor, (byState = new Map()));
    let key = byState.get(d.state);
    if (key === undefined) byState.set(d.state, (key = `${this.kindOf.get(d.actor)}:${d.state}`));
    this.stepped.add(key);
    if (schedule && !this.reachedBy.has(key)) this.reachedBy.set(key, { schedule, at, tries: 0 });
  }

  private record(r: RunResult): void {
    const { s, o, res } = this;
    const seed = r.seed;
    res.schedules++;
    r.schedule.forEach((d, i) => this.markStepped(d, res.strategy === 'coverage' ? r.schedule : undefined, i));
    this.hashes.add(r.traceHash);
    res.distinctTraces = this.hashes.size;
    res.verdicts[r.verdict] = (res.verdicts[r.verdict] ?? 0) + 1;
    for (const inv of new Set(r.violations.map((v) => v.invariant))) res.violations[inv] = (res.violations[inv] ?? 0) + 1;
    for (const a of r.actors) {
      const k = outcomeKey(a);
      res.outcomes[k] = (res.outcomes[k] ?? 0) + 1;
    }
    for (const x of r.scans ?? []) res.scanResults[x] = (res.scanResults[x] ?? 0) + 1;
    for (const x of r.contended ?? []) res.contention[x] = (res.contention[x] ?? 0) + 1;
    for (const x of r.blocked ?? []) res.blocked[x] = (res.blocked[x] ?? 0) + 1;
    o.onSchedule?.(r);
    if (r.verdict !== 'ok' && !this.seen.has(keyOf(r))) {
      this.seen.add(keyOf(r));
      // a step-bound run is not shortened: its length is the finding
      const mm = o.shrinkBudget === 0 || r.verdict === 'step-bound' ? null : minimise(s, r, { budget: o.shrinkBudget, monitors: o.monitors });
      const m = mm ? shortestCounterexample(mm.scenario, mm.run, o) : r;
      const c: Counterexample = {
        verdict: r.verdict,
        violation: m.violations[0] ?? r.violations[0] ?? { invariant: r.verdict, message: `no quiescence within ${r.steps} steps`, actor: '-', step: r.steps, state: '' },
        site: siteOf(r),
        seed,
        found: { steps: r.steps, switches: contextSwitches(r.schedule), preemptions: r.preemptions },
        minimised: { steps: m.steps, switches: contextSwitches(m.schedule), preemptions: m.preemptions },
        decisions: m.schedule,
        removedActors: mm ? mm.removedActors : [],
      };
      res.counterexamples.push(c);
      o.onCounterexample?.(c);
      if (o.stopOnFirst) this.stop('counterexample');
    }
  }
}

export function explore(s: Scenario, o: ExploreOptions = {}): ExploreResult {
  const e = new Explorer(s, o);
  while (e.next());
  return e.finish();
}

/** Schedules (dfs: search nodes) between two turns of the event loop: a few ms of work. */
const SCHEDULES_PER_TURN = 16;
/** PCT: the most steps its change points are drawn from (the scenarios' runs here are hundreds of steps long). */
const PCT_SPAN_MAX = 100_000;
/** exploreAsync: the steps of one random or PCT schedule between two turns of the event loop (a schedule may be 10^9 steps long). */
const STEPS_PER_TURN = 1 << 16;

/**
 * As explore(), giving the event loop a turn every few schedules so a SIGINT handler
 * (or anything else) can set `o.signal` and stop the search between schedules.
 */
export async function exploreAsync(s: Scenario, o: ExploreOptions & { signal?: AbortSignal } = {}): Promise<ExploreResult> {
  const e = new Explorer(s, o, DFS_CHUNK);
  for (;;) {
    let more = true;
    // (a turn is at most SCHEDULES_PER_TURN schedules, and at most STEPS_PER_TURN steps of one)
    for (let i = 0; more && i < SCHEDULES_PER_TURN; i++) more = e.next(STEPS_PER_TURN);
    if (!more) break;
    await new Promise((r) => setImmediate(r));
    if (o.signal?.aborted) {
      e.stop('interrupted');
      break;
    }
  }
  return e.finish();
}

export { mergeResults } from './merge_results.ts';
