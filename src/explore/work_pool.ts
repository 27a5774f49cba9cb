/**
 * The work of a parallel dfs (`thpsim explore --strategy dfs --workers N`), handed out as
 * the search goes: a worker that runs out of nodes asks for work, and a worker that has
 * nodes still to expand gives away its shallowest (the root of the largest subtree it has
 * left) as the node's decisions from the start. The receiver replays them and searches on
 * from there, pruning by the states every worker has seen (SharedVisitedStates). No split
 * is fixed in advance: a preemption-bounded search, whose subtrees differ in size by orders
 * of magnitude (those whose prefix used no preemption hold most states), stays balanced,
 * and no worker runs a part of the tree another has run.
 *
 * Everything is on one SharedArrayBuffer: a few counters, and a stack of nodes given away
 * (each: its decisions, two words each, then their count), guarded by a spinlock — it is
 * taken a handful of times per donation, never per node.
 *
 * The search is over when no worker holds work and none is waiting in the pool: `active`
 * counts the workers that hold nodes, and it changes together with the pool, under the
 * lock, so "pool empty and no worker active" is seen only once no node is left anywhere.
 */

/** Header words (Int32). */
const LOCK = 0;
/** Workers that hold nodes (worker 0 starts with the root). */
const ACTIVE = 1;
/** Workers out of nodes, asking for work. */
const HUNGRY = 2;
/** 1 once a worker stops on a counterexample (stopOnFirst): every worker stops. */
const STOP = 3;
/** Nodes in the pool. */
const NODES = 4;
/** Words of the pool's stack in use. */
const USED = 5;
/** Bumped at every donation (waiting workers wait on it). */
const GEN = 6;
const HEADER = 8;

/** A decision as the pool carries it: the actor's index in the scenario, and its chart state's index (×2, +1 if the failure is injected). */
export type PoolDecision = readonly [actor: number, stateAndFail: number];

/** What a worker out of nodes gets from the pool. */
export type Take =
  | { kind: 'node'; decisions: PoolDecision[] }
  /** None yet: ask again (a worker with nodes may give one). */
  | { kind: 'wait' }
  /** None anywhere: the search is over. */
  | { kind: 'done' };

export class DfsWorkPool {
  private readonly i32: Int32Array;
  /** Whether this worker holds nodes (counted in ACTIVE). */
  private holding: boolean;
  /** Whether this worker is counted in HUNGRY. */
  private asking = false;

  /** A pool for `words` words of decisions; worker 0 holds the root. */
  static create(words = 1 << 20): SharedArrayBuffer {
    const buffer = new SharedArrayBuffer((HEADER + words) * 4);
    new Int32Array(buffer)[ACTIVE] = 1;
    return buffer;
  }

  constructor(readonly buffer: SharedArrayBuffer, worker: number) {
    this.i32 = new Int32Array(buffer);
    this.holding = worker === 0;
  }

  get stopped(): boolean {
    return Atomics.load(this.i32, STOP) === 1;
  }

  stop(): void {
    Atomics.store(this.i32, STOP, 1);
    Atomics.notify(this.i32, GEN);
  }

  /** Whether a worker is asking for more than the pool holds (checked before every node: two loads). */
  get wanted(): boolean {
    return Atomics.load(this.i32, HUNGRY) > Atomics.load(this.i32, NODES);
  }

  private lock(): void {
    while (Atomics.compareExchange(this.i32, LOCK, 0, 1) !== 0);
  }

  private unlock(): void {
    Atomics.store(this.i32, LOCK, 0);
  }

  /** Give a node away (its decisions from the start); false if the pool has no room (the giver keeps it). */
  give(decisions: readonly PoolDecision[]): boolean {
    const { i32 } = this;
    const need = decisions.length * 2 + 1;
    this.lock();
    const used = i32[USED]!;
    if (HEADER + used + need > i32.length) {
      this.unlock();
      return false;
    }
    let at = HEADER + used;
    for (const [actor, stateAndFail] of decisions) {
      i32[at++] = actor;
      i32[at++] = stateAndFail;
    }
    i32[at] = decisions.length;
    i32[USED] = used + need;
    i32[NODES]!++;
    this.unlock();
    Atomics.add(i32, GEN, 1);
    Atomics.notify(i32, GEN);
    return true;
  }

  /**
   * This worker is out of nodes: take one from the pool. With none there, `done` if no
   * worker holds any either, else `wait` — after waiting up to `waitMs` for a donation.
   */
  take(waitMs: number): Take {
    const { i32 } = this;
    const gen = Atomics.load(i32, GEN);
    this.lock();
    if (this.holding) {
      this.holding = false;
      i32[ACTIVE]!--;
    }
    if (i32[NODES]! > 0) {
      const used = i32[USED]!;
      const n = i32[HEADER + used - 1]!;
      const from = HEADER + used - 1 - 2 * n;
      const decisions: PoolDecision[] = [];
      for (let j = 0; j < n; j++) decisions.push([i32[from + 2 * j]!, i32[from + 2 * j + 1]!]);
      i32[USED] = used - 2 * n - 1;
      i32[NODES]!--;
      i32[ACTIVE]!++;
      this.holding = true;
      if (this.asking) i32[HUNGRY]!--;
      this.asking = false;
      this.unlock();
      return { kind: 'node', decisions };
    }
    const done = i32[ACTIVE] === 0;
    if (!done && !this.asking) {
      this.asking = true;
      i32[HUNGRY]!++;
    }
    this.unlock();
    if (done) return { kind: 'done' };
    Atomics.wait(i32, GEN, gen, waitMs);
    return { kind: 'wait' };
  }
}
