/**
 * How a run chooses the next step when no schedule is replayed: strategies over the World
 * (src/world/world.ts), which makes no choice itself. Each says which runnable actor steps
 * (-1: none can) and whether its injection point fails; the randomness is the strategy's
 * generator, seeded by the run.
 */
import type { World, Decision } from '../world/world.ts';
import type { Rng } from './rng.ts';

export interface Strategy {
  /** The actor to step next, or -1: none can run. */
  choose(w: World): number;
  /** Whether the step of the actor `choose` just returned fails at its injection point. */
  fails(w: World, ix: number): boolean;
}

/**
 * Uniform among the runnable actors, drawn by rejection from a shrinking pool — the
 * world's live actors, a lazily shuffled permutation — so a step costs about (actors /
 * enabled actors) guard checks, not one per actor. (The draw reorders the pool in place:
 * deterministic, and no per-step copy.) A failure is drawn at the scenario's rate.
 */
export class UniformStrategy implements Strategy {
  constructor(protected readonly rng: Rng) {}

  choose(w: World): number {
    const live = w.live;
    let n = live.length;
    while (n > 0) {
      const i = n === 1 ? 0 : this.rng.below(n);
      const x = live[i]!;
      if (w.runnable(x)) return x;
      live[i] = live[n - 1]!;
      live[n - 1] = x;
      n--;
    }
    return -1;
  }

  fails(w: World, ix: number): boolean {
    const p = w.injectRate(ix);
    return p > 0 && this.rng.float() < p;
  }
}

/**
 * The deepest PCT bug depth taken: d - 1 change points are drawn for every schedule (a
 * depth of 10^9 spent minutes drawing before the first step; PCT's depths are a handful).
 */
export const PCT_MAX_DEPTH = 10_000;

/**
 * PCT (Burckhardt et al., ASPLOS 2010): priorities d..d+n-1 in random order; change point
 * i (1 <= i < d) at a random step lowers the actor running then to priority d-i. The
 * highest-priority runnable actor steps.
 */
export class PctStrategy extends UniformStrategy {
  private readonly priority: number[] = [];
  private readonly changeAt = new Map<number, number>();
  /** From this step on, uniform. */
  private readonly fairAt: number;

  /** `depth`: the bug depth d; `span`: the number of steps change points are drawn from. */
  constructor(rng: Rng, actors: number, depth: number, span: number) {
    super(rng);
    const order = Array.from({ length: actors }, (_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.below(i + 1);
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    order.forEach((ix, rank) => (this.priority[ix] = depth + rank));
    for (let i = 1; i < depth; i++) this.changeAt.set(rng.below(span), depth - i);
    // Strict priorities are unfair: a retry loop (get_huge_zero_page's cmpxchg failing
    // while the shrinker sits between its cmpxchg and xchg) spins forever if the loop has
    // the higher priority. As in Coyote, the run turns fair (uniform random) after a while.
    this.fairAt = 4 * span;
  }

  override choose(w: World): number {
    if (w.steps >= this.fairAt) return super.choose(w);
    // at a change point the highest-priority runnable actor drops below every other first
    const r = this.highest(w);
    const lowered = this.changeAt.get(w.steps);
    if (r < 0 || lowered === undefined) return r;
    this.priority[r] = lowered;
    return this.highest(w);
  }

  private highest(w: World): number {
    let best = -1;
    let r = -1;
    for (const x of w.live) {
      if (this.priority[x]! > best && w.runnable(x)) {
        best = this.priority[x]!;
        r = x;
      }
    }
    return r;
  }
}

/**
 * Follow a guide leniently, with no randomness (the minimiser's interpreter for candidate
 * schedules): at step i take guide[i] if that actor is runnable, injecting its failure if
 * it asks for one and the step has an injection point; otherwise, and once the guide runs
 * out, keep running the actor that stepped last, else the lowest-numbered runnable one.
 */
export class GuidedStrategy implements Strategy {
  constructor(private readonly guide: readonly Decision[] | undefined) {}

  choose(w: World): number {
    const d = this.guide?.[w.steps];
    const want = d ? w.actorIndex(d.actor) : -1;
    if (want >= 0 && w.runnable(want)) return want;
    const last = w.last;
    if (last >= 0 && w.runnable(last)) return last;
    return w.actors.findIndex((_, ix) => w.runnable(ix));
  }

  fails(w: World, ix: number): boolean {
    const d = this.guide?.[w.steps];
    return d !== undefined && d.fail === true && w.actorIndex(d.actor) === ix && w.canInject(ix);
  }
}
