/**
 * The step loop the drivers share: a world stepped along a schedule (the decisions given,
 * checked against the model as it goes) or by a strategy's choices, until the run ends —
 * or, with `frontier`, until the schedule does and some actor can still step: one node of
 * a search, whose open decisions and state hash it hands back. run() drives it once; the
 * dfs driver (dfs_driver.ts) once per search node, in one world.
 */
import type { Scenario } from '../scenario/schema.ts';
import type { Footprint } from '../world/footprint.ts';
import { hexOf } from '../world/state_hash.ts';
import type { Decision, Engine, Verdict, World } from '../world/world.ts';
import type { RunResult } from './run.ts';
import type { Strategy } from './strategy.ts';

export interface StepperOptions {
  seed: number;
  engine: Engine;
  maxSteps: number;
  /** When the schedule runs out, go on with the strategy instead of stopping. */
  continueAfterSchedule?: boolean;
  /** Where the schedule runs out and some actor can still step, stop there (a search node). */
  frontier?: boolean;
  /** With `frontier`: the state hash in hex too (a search keeps only the two words). */
  hexHash?: boolean;
  /** Where no schedule is followed; none: a schedule always is. */
  strategy?: Strategy;
  /**
   * A search node's interim result, its frontier and its state words are one object, array
   * and pair written over at every node (the dfs driver: its search reads them in visit()
   * and keeps none) — not three new ones a node.
   */
  reuseInterim?: boolean;
}

export class Stepper {
  /** The decisions to follow (a search: the prefix of the node being run). */
  sched: readonly Decision[] | undefined;
  /** The step whose footprint is recorded (-1: none). */
  trackAt = -1;
  verdict: Verdict = 'ok';
  divergence: string | undefined;
  /** The run stopped at a search node, some actor still able to step (its open decisions: `frontier`). */
  atFrontier = false;
  /** advance() stopped at the step it was given, the run not ended: call it again to go on. */
  paused = false;
  /**
   * The decisions open at the node. With `reuseInterim`, found only when the search first
   * reads them (interim()'s `frontier`): most nodes of a search reach a state seen before,
   * whose open decisions it never reads.
   */
  frontier: Decision[] | undefined;
  private frontierPending = false;
  stateHash: string | undefined;
  stateWords: readonly [number, number] | undefined;
  footprint: Footprint | undefined;

  constructor(
    private readonly s: Scenario,
    readonly w: World,
    private readonly o: StepperOptions,
  ) {}

  /** Toward a new search node: its prefix, and whether its last step's footprint is wanted. */
  aim(sched: readonly Decision[], track: boolean): void {
    this.sched = sched;
    this.trackAt = track ? sched.length - 1 : -1;
    this.verdict = 'ok';
    this.divergence = undefined;
    this.atFrontier = false;
    this.frontier = undefined;
    this.frontierPending = false;
    this.stateHash = undefined;
    this.stateWords = undefined;
    this.footprint = undefined;
  }

  /**
   * Steps until the run ends, or (with a frontier) until the schedule does — or, with
   * `until`, until that many steps are taken (`paused`: the run goes on at the next call).
   */
  advance(until = Infinity): void {
    const { w, o, sched } = this;
    this.paused = false;
    for (;;) {
      let r = -1;
      let fail = false;
      const step = w.steps;
      if (step >= o.maxSteps && w.anyRunnable()) {
        this.verdict = 'step-bound';
        break;
      }
      if (step >= until) {
        this.paused = true;
        break;
      }
      if (sched && (step < sched.length || !o.continueAfterSchedule)) {
        const d = sched[step];
        if (d) {
          const found = w.actorIndex(d.actor);
          if (found >= 0 && !w.runnable(found) && w.asleep(found) && !w.anyRunnable()) {
            // as when the schedule was recorded: nobody can run, so the earliest timer fires
            w.fireTimers();
            continue;
          }
          if (found < 0 || !w.runnable(found) || w.stateOf(found) !== d.state) {
            this.divergence = `decision ${step}: ${d.actor} at ${d.state} — ${
              found < 0 ? 'no such actor' : !w.runnable(found) ? `not runnable (in ${w.stateOf(found)})` : `it is at ${w.stateOf(found)}`
            }`;
            this.verdict = 'divergence';
            break;
          }
          r = found;
          fail = d.fail === true;
        } else if (o.frontier && w.anyRunnable()) {
          this.atFrontier = true;
          if (o.reuseInterim) {
            this.frontierPending = true;
            this.stateWords = w.hash(this.wordsBuf);
          } else {
            this.frontier = w.enabled();
            this.stateWords = w.hash();
          }
          if (o.hexHash) this.stateHash = hexOf(this.stateWords);
          break;
        } else if (w.anyRunnable()) {
          this.divergence = `the schedule ended after ${step} decisions with actors still runnable`;
          this.verdict = 'divergence';
          break;
        }
      } else {
        r = o.strategy!.choose(w);
        if (r >= 0) fail = o.strategy!.fails(w, r);
      }
      if (r < 0) {
        if (w.fireTimers()) continue;
        this.verdict = w.quiesce();
        break;
      }
      const track = step === this.trackAt;
      const violated = w.step(r, fail, track);
      if (track) this.footprint = w.footprint();
      if (violated) {
        this.verdict = 'violation';
        break;
      }
    }
  }

  private readonly frontierBuf: Decision[] = [];
  private readonly wordsBuf: [number, number] = [0, 0];
  private interimResult: RunResult | undefined;

  /** The node's open decisions (found now if not yet: the model is still at the node). */
  private openDecisions(): Decision[] | undefined {
    if (this.frontierPending) {
      this.frontier = this.w.enabled(this.frontierBuf);
      this.frontierPending = false;
    }
    return this.frontier;
  }

  /** A search node's result where the run goes on: what the search needs of it. */
  interim(): RunResult {
    const { s, o, w } = this;
    const r = this.interimResult;
    if (r !== undefined) {
      r.verdict = this.verdict;
      r.steps = w.steps;
      r.preemptions = w.preemptions;
      r.time_ns = w.kernel.now;
      r.stateHash = this.stateHash;
      r.stateWords = this.stateWords;
      r.footprint = this.footprint;
      return r;
    }
    const made: RunResult = {
      scenario: s.name, seed: o.seed, engine: o.engine, verdict: this.verdict, violations: [], steps: w.steps, preemptions: w.preemptions,
      time_ns: w.kernel.now, traceHash: '', schedule: [], kernel: w.kernel,
      frontier: this.frontier, stateHash: this.stateHash, stateWords: this.stateWords, footprint: this.footprint, actors: [],
    };
    if (o.reuseInterim) {
      // (its frontier read from the stepper: found when first read at each node)
      Object.defineProperty(made, 'frontier', { get: () => this.openDecisions(), enumerable: true, configurable: true });
      this.interimResult = made;
    }
    return made;
  }

  /** The run's result; `copy`: detached from the run's own arrays (a search rolls them back). */
  result(copy: boolean): RunResult {
    const { s, o, w } = this;
    const { violations, schedule, scans, contended, blocked } = w;
    return {
      scenario: s.name, seed: o.seed, engine: o.engine, verdict: this.verdict, violations: copy ? violations.slice() : violations, steps: w.steps,
      preemptions: w.preemptions, time_ns: w.kernel.now, traceHash: w.traceHash(), schedule: copy ? schedule.slice() : schedule, kernel: w.kernel,
      divergence: this.divergence, frontier: this.frontier, stateHash: this.stateHash, stateWords: this.stateWords,
      scans: copy ? scans?.slice() : scans, contended: contended && [...contended].sort(), blocked: blocked && [...blocked].sort(),
      footprint: this.footprint, actors: w.actorResults(copy),
    };
  }
}
