/**
 * Counterexamples made small: what identifies one (verdict, invariant, site), the
 * minimiser (chunks of decisions removed, context switches undone, actors dropped), and the
 * search for the shortest schedule to the same violation that follows it.
 */
import type { Scenario } from '../scenario/schema.ts';
import { type Decision, type RunResult, run } from '../sched/run.ts';
import { shortestSchedule } from './shortest.ts';

export function contextSwitches(d: readonly Decision[]): number {
  let n = 0;
  for (let i = 1; i < d.length; i++) if (d[i]!.actor !== d[i - 1]!.actor) n++;
  return n;
}

/**
 * Where a run went wrong: the program point of the violating step, as its actor's kind and
 * the state it stepped from ('-' where no actor stepped: a quiescence check, a step bound).
 * One invariant broken at two sites is two defects (the shrinker's own __free_page of the
 * huge zero page and the cmpxchg loser's, both compound-free-order): each is kept.
 */
export function siteOf(r: Pick<RunResult, 'violations' | 'actors'>): string {
  const v = r.violations[0];
  if (!v || v.actor === '-') return '-';
  return `${r.actors.find((a) => a.id === v.actor)?.kind ?? v.actor}:${v.state}`;
}

/** A counterexample's identity: verdict, invariant and site. */
export function keyOf(r: RunResult): string {
  return `${r.verdict}:${r.violations[0]?.invariant ?? ''}@${siteOf(r)}`;
}

/**
 * Shrink a failing schedule: candidates are the decision list with chunks removed
 * (halves down to single decisions) and with a context switch undone (the decision after
 * it given to the actor before it), each run by the lenient 'guided' interpreter. A
 * candidate is kept when it ends in the same verdict on the same invariant with fewer
 * steps, or as many steps and fewer context switches. Deterministic.
 * The result never has more preemptions than the run found (RunResult.preemptions): one
 * a preemption-bounded dfs found stays within its bound. The shortest usually has fewer;
 * where it has more, the shrinking is done again, keeping every candidate to the found
 * run's preemptions (a constraint from the start would stop short: the way to the
 * shortest often passes through more preemptions).
 */
export function minimise(
  s: Scenario,
  found: RunResult,
  opts: { budget?: number; monitors?: readonly string[] } = {},
): { run: RunResult; scenario: Scenario; removedActors: string[] } {
  const budget = opts.budget ?? 2000;
  const shortest = shrink(s, found, budget, Infinity, opts.monitors);
  const most = found.preemptions;
  return shortest.run.preemptions > most ? shrink(s, found, budget, most, opts.monitors) : shortest;
}

/** minimise() with the candidates kept to at most `preemptions`. */
function shrink(
  s: Scenario, found: RunResult, startBudget: number, preemptions: number, monitors: readonly string[] | undefined,
): { run: RunResult; scenario: Scenario; removedActors: string[] } {
  const key = keyOf(found);
  let scen = s;
  const removedActors: string[] = [];
  let best = found;
  let budget = startBudget;
  const better = (r: RunResult) =>
    keyOf(r) === key && r.preemptions <= preemptions &&
    (r.steps < best.steps || (r.steps === best.steps && contextSwitches(r.schedule) < contextSwitches(best.schedule)));
  const attempt = (guide: Decision[]): boolean => {
    if (budget <= 0) return false;
    budget--;
    // a candidate is only kept if shorter: bound it by the best so far (a guided
    // candidate that spins in a retry loop stops there)
    const r = run(scen, { seed: found.seed, strategy: 'guided', guide, maxSteps: best.steps, monitors });
    if (!better(r)) return false;
    best = r;
    return true;
  };
  let improved = true;
  while (improved && budget > 0) {
    improved = false;
    // remove chunks, largest first
    for (let size = best.schedule.length >> 1; size >= 1 && budget > 0; size >>= 1) {
      for (let at = 0; at + size <= best.schedule.length && budget > 0; ) {
        const cur = best.schedule;
        if (attempt([...cur.slice(0, at), ...cur.slice(at + size)])) improved = true;
        else at += size;
      }
    }
    // undo context switches
    for (let i = 1; i < best.schedule.length && budget > 0; i++) {
      const cur = best.schedule;
      if (cur[i]!.actor === cur[i - 1]!.actor) continue;
      const cand = cur.slice();
      cand[i] = { actor: cur[i - 1]!.actor, state: '' };
      if (attempt(cand)) improved = true;
    }
    // fewer actors: drop one (and its decisions); kept if the same invariant still breaks
    // in no more steps
    for (const id of scen.actors.map((a) => a.id)) {
      if (budget <= 0 || scen.actors.length <= 1) break;
      budget--;
      const cand: Scenario = { ...scen, actors: scen.actors.filter((a) => a.id !== id) };
      let r: RunResult;
      try {
        r = run(cand, { seed: found.seed, strategy: 'guided', guide: best.schedule.filter((d) => d.actor !== id), maxSteps: best.steps, monitors });
      } catch {
        continue; // another actor needs this one (the scenario does not stand without it)
      }
      if (keyOf(r) !== key || r.steps > best.steps || r.preemptions > preemptions) continue;
      scen = cand;
      removedActors.push(id);
      best = r;
      improved = true;
    }
  }
  return { run: best, scenario: scen, removedActors };
}

/** The shortest-schedule search after minimising: nodes at most per counterexample (a few tenths of a second). */
const SHORTEST_NODES = 20_000;

/**
 * The minimised run, or a shorter one to the same violation at the same site if the state
 * graph of its scenario has one (shortestSchedule: within SHORTEST_NODES nodes); of the
 * shortest, the minimiser's pick for fewer context switches.
 */
export function shortestCounterexample(
  s: Scenario, m: RunResult, o: { monitors?: readonly string[]; preemptionBound?: number; shrinkBudget?: number },
): RunResult {
  const key = keyOf(m);
  const found = shortestSchedule(s, (r) => keyOf(r) === key, { seed: m.seed, bound: m.steps - 1, budget: SHORTEST_NODES, monitors: o.monitors });
  if (!found.decisions) return m;
  const r = run(s, { seed: m.seed, schedule: found.decisions, monitors: o.monitors });
  // (a preemption-bounded dfs's counterexample stays within its bound)
  if (keyOf(r) !== key || r.steps >= m.steps || (o.preemptionBound !== undefined && r.preemptions > o.preemptionBound)) return m;
  return minimise(s, r, { budget: o.shrinkBudget, monitors: o.monitors }).run;
}
