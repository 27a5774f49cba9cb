/**
 * What the model keeps of an actor besides its chart position and its locals: what its
 * system calls returned (strace lines, `Actor.results`, only ever appended along a run)
 * and how it ended (`Actor.outcome`). Both stay the actor's own fields, which machines
 * write; after each step the world copies what changed into the state vector, five slots
 * an actor, so a search copies, restores and hashes them with the rest of the vector, not
 * as an object graph of its own:
 *
 *   [ended (0/1), the outcome's string id, how many results, a 64-bit hash of the
 *    results in order (two words)]
 *
 * A restore of the vector gives the fields back from the slots: the outcome by its string
 * id, the results cut to their count then (they were only appended since).
 */
import type { Actor } from '../sched/actor.ts';
import type { StateVector } from '../vector/state_vector.ts';
import { stringId, stringOf } from '../vector/strings.ts';
import { ChangeStamp } from '../vector/change_stamp.ts';

const ENDED = 0;
const OUTCOME = 1;
const RESULTS = 2;
const LO = 3;
const HI = 4;
const SLOTS = 5;

export class ActorRecords {
  private readonly base: number;
  private readonly stamp: ChangeStamp;

  constructor(
    private readonly sv: StateVector,
    private readonly actors: readonly Actor[],
  ) {
    this.base = sv.alloc(SLOTS * actors.length, "the actors' outcomes and system-call results");
    this.stamp = new ChangeStamp(sv, "the actors' outcomes and system-call results");
    sv.onRestore(() => this.restored());
  }

  /** Actor a's outcome and its results appended since into its slots. */
  note(a: Actor): void {
    const { sv } = this;
    const b = this.base + SLOTS * a.ix;
    const w = sv.w;
    this.stamp.changed();
    sv.put(b + ENDED, a.outcome === null ? 0 : 1);
    sv.put(b + OUTCOME, a.outcome === null ? 0 : stringId(a.outcome));
    let n = w[b + RESULTS]!;
    if (n === a.results.length) return;
    let lo = w[b + LO]!;
    let hi = w[b + HI]!;
    for (; n < a.results.length; n++) {
      const s = a.results[n]!;
      // two FNV-1a lanes over the line, chained to the lines before it
      lo = Math.imul(lo ^ 0x2545f491, 0x01000193) ^ s.length;
      hi = Math.imul(hi ^ 0x6b43a9b5, 0x01000193) ^ s.length;
      for (let i = 0; i < s.length; i++) {
        const c = s.charCodeAt(i);
        lo = Math.imul(lo ^ c, 0x01000193);
        hi = Math.imul(hi ^ c, 0x0100019d);
      }
    }
    sv.put(b + RESULTS, n);
    sv.put(b + LO, lo | 0);
    sv.put(b + HI, hi | 0);
  }

  /** After a restore of the vector: every actor's outcome and results as its slots say (where they changed since). */
  private restored(): void {
    if (!this.stamp.moved()) return;
    const w = this.sv.w;
    for (const a of this.actors) {
      const b = this.base + SLOTS * a.ix;
      a.outcome = w[b + ENDED] === 0 ? null : stringOf(w[b + OUTCOME]!);
      const n = w[b + RESULTS]!;
      if (a.results.length > n) a.results.length = n;
    }
  }
}
