/**
 * The explorer's options and result: what explore() and exploreAsync() take and give, and
 * what the worker threads and mergeResults() pass around (./explore.ts re-exports them).
 */
import type { Violation } from '../bus/events.ts';
import type { Decision, RunResult, Verdict } from '../sched/run.ts';

export type Strategy = 'random' | 'pct' | 'dfs' | 'bfs' | 'coverage';

export interface ExploreOptions {
  strategy?: Strategy;
  /** Number of schedules (default 1000). */
  schedules?: number;
  /** Base seed (default the scenario's). */
  seed?: number;
  /** Step bound per schedule (default the scenario's max_steps). */
  maxSteps?: number;
  /** Only these invariant monitors (by name; default every registered one), in every schedule and in minimising. */
  monitors?: readonly string[];
  /** PCT bug depth d (default 3). */
  depth?: number;
  /**
   * Run only the schedules i with i mod count = index (random and pct): n processes with
   * shards 0/n..n-1/n cover the schedule set without overlap; mergeResults() combines them.
   */
  shard?: { index: number; count: number };
  /** dfs, bfs: stop after this many distinct states (default 1,000,000). */
  maxStates?: number;
  /**
   * dfs: sleep sets (default off): after a step t has been explored from a state, a sibling
   * step independent of t (observed footprints: neither writes what the other reads or
   * writes) does not explore t again, since both orders reach the same state. Every
   * reachable state is still visited — with states cached, sleep sets only save
   * transitions into states already seen — and recording a step's footprint (the step run
   * on a proxied view of the model) costs more than the transitions it saves: 15-29% fewer
   * nodes, 10-35% fewer states a second (bench/run.ts). On for a search where transitions
   * are dear, or to see the independence the footprints find.
   */
  sleepSets?: boolean;
  /**
   * dfs: explore only the schedules with at most this many preemptions — a decision for
   * another actor while the one that took the last step could still step (CHESS's
   * preemption bounding, Musuvathi and Qadeer). Switching away from an actor that blocked,
   * sleeps or finished is free. `complete` then means every schedule within the bound was
   * covered. A state is expanded again when it is reached with fewer preemptions used, and
   * a state reached after different actors' steps is a different search state (what the
   * next step costs differs). Not with sleep sets (their combination with a preemption
   * bound misses schedules within it). In parallel workers, a search state is expanded by
   * the worker that reaches it with a new fewest count (SharedBoundedStates): a complete
   * search visits the same states as one thread, in more or fewer nodes.
   */
  preemptionBound?: number;
  /**
   * dfs: go back to a node by restoring a snapshot of the model in place (default), rather
   * than re-running the scenario from the start along the node's prefix. Same results.
   */
  snapshots?: boolean;
  /**
   * dfs: at every node, check the incremental state hash against one from scratch, and that
   * no two state components share an object (src/world/components.ts). Slow; the tests
   * run it on every example scenario.
   */
  checkStateHash?: boolean;
  /** dfs in several workers (src/explore/parallel.ts sets it): which one this is, and what they share. */
  dfsWorker?: DfsWorker;
  /** Stop after the first counterexample. */
  stopOnFirst?: boolean;
  /**
   * Stop starting schedules (dfs: search nodes) once this many ms have passed. What was
   * run is still a prefix of the schedule set (dfs: of the search order): the budget
   * decides how many, never which.
   */
  timeBudgetMs?: number;
  /**
   * The clock the time budget is read from, in ms. The explorer reads no clock of its own:
   * the command line passes the wall clock, tests a clock of their own.
   */
  clock?: () => number;
  /** Minimise counterexamples (default on); at most this many candidate runs each. */
  shrinkBudget?: number;
  /** Called after every schedule with the number done (progress display; may return true to stop). */
  onProgress?: (done: number, result: ExploreResult) => boolean | void;
  /** Called with each counterexample as soon as it is minimised (so it is kept if the run is stopped). */
  onCounterexample?: (c: Counterexample) => void;
  /** Called with every schedule's run as it is counted (the library keeps the first to reach each outcome). */
  onSchedule?: (r: RunResult) => void;
}

/**
 * One worker of a parallel dfs. Worker 0 starts at the root; the others start out of
 * nodes and ask the work pool (DfsWorkPool) for one, which a worker with nodes to spare
 * gives away: its shallowest, as decisions from the start. Every worker prunes by the
 * states all have seen (`visited`), so each state is expanded once, by one worker: a
 * complete search visits the same states, runs the same nodes and ends the same schedules
 * as one worker does, however the work was handed out. With a preemption bound, the search
 * states and the fewest preemptions each was reached with are shared too (`bounded`).
 */
export interface DfsWorker {
  worker: number;
  visited: SharedArrayBuffer;
  /** The nodes given away, and who holds or wants work (DfsWorkPool.create()). */
  pool: SharedArrayBuffer;
  /** With a preemption bound: the search states every worker has expanded, with the fewest preemptions (SharedBoundedStates). */
  bounded?: SharedArrayBuffer;
}

export interface Counterexample {
  verdict: Verdict;
  violation: Violation;
  /** The violating step's program point, "kind:state" ('-' for none): siteOf(). */
  site: string;
  /** The seed of the schedule that found it. */
  seed: number;
  /**
   * Steps, context switches and preemptions (RunResult.preemptions) as found, and after
   * minimisation and the shortest-schedule search (which may take more preemptions than
   * found, except within a dfs preemption bound).
   */
  found: { steps: number; switches: number; preemptions: number };
  minimised: { steps: number; switches: number; preemptions: number };
  /** The minimised decisions: `thpsim run --replay` reproduces them (on the scenario without removedActors). */
  decisions: Decision[];
  /** Actors minimisation found the violation does not need: the replay's scenario leaves them out. */
  removedActors: string[];
}

export interface ExploreResult {
  scenario: string;
  strategy: Strategy;
  seed: number;
  schedules: number;
  /** Distinct traces (by trace hash) among the schedules run, and the hashes (sorted; for merging). */
  distinctTraces: number;
  traceHashes: string[];
  /** The schedule set split over processes: this result's part. */
  shard?: { index: number; count: number };
  verdicts: Record<string, number>;
  /** Violations by invariant, counted per schedule. */
  violations: Record<string, number>;
  /** Actor outcomes and system-call results across schedules: "actor: outcome" -> count. */
  outcomes: Record<string, number>;
  /** SCAN_* results (khugepaged_scan_shmem / collapse_shmem, MADV_COLLAPSE) across schedules: result -> count. */
  scanResults: Record<string, number>;
  /** Lock contention reached: lock kind -> schedules in which a trylock on it failed. */
  contention: Record<string, number>;
  /**
   * Blocking contention reached: "kind: state path" -> schedules in which an actor waited
   * there while another ran (lock_page, mmap_lock, the page table lock held...).
   */
  blocked: Record<string, number>;
  /** One minimised counterexample per (verdict, invariant, site), the first found. */
  counterexamples: Counterexample[];
  /** Stopped early (stopOnFirst, the time budget, or onProgress asked to). */
  stopped: boolean;
  /** Why it stopped early: 'counterexample' (stopOnFirst), 'time budget' or 'interrupted'. */
  stopReason?: string;
  /** dfs, bfs: distinct model states visited, search-tree nodes run, and whether the search was exhaustive. */
  states?: number;
  /** dfs in one thread, bfs: the visited-state table's bytes per stored state (a 64-bit hash compacted state, and the table's room). */
  stateBytes?: number;
  nodes?: number;
  /** dfs with sleep sets: transitions not run because an independent reordering of them had been. */
  slept?: number;
  /** dfs: complete means every schedule with at most this many preemptions was covered (ExploreOptions.preemptionBound). */
  preemptionBound?: number;
  complete?: boolean;
  /**
   * Per actor kind in the scenario: how many of its chart's atomic steps some schedule
   * took, and the ones none did (by state path, as in the trace and the machines/ charts).
   */
  coverage: Record<string, { reached: number; steps: number; missed: string[] }>;
}
