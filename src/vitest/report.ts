/**
 * What a failing thpsim/vitest matcher prints beside its expectation: the violation (the
 * invariant, the actor, the state it stepped from, the step), the interleaving in brief,
 * and a replay file of the run written where the user can find it, with the
 * `thpsim inspect` command that opens it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Counterexample, ExploreResult, RunResult } from '../index.ts';
import type { Decision } from '../sched/run.ts';
import type { Violation } from '../bus/events.ts';
import { scenarioSource } from '../scenario/load.ts';
import { replayText, withoutActors } from '../cli/replay.ts';
import { type Witness, resultOrigin } from '../origin.ts';

/** Where replay files go: $THPSIM_COUNTEREXAMPLES, else counterexamples/ under the cwd (as `thpsim explore --out`). */
export function replayDirectory(): string {
  return process.env.THPSIM_COUNTEREXAMPLES || 'counterexamples';
}

/** `T1×5 K×12 T1×3`: who stepped, run by run; a long one keeps its first and last runs. */
export function interleaving(d: readonly Decision[]): string {
  const runs: [string, number][] = [];
  for (const x of d) {
    const last = runs.at(-1);
    if (last && last[0] === x.actor) last[1]++;
    else runs.push([x.actor, 1]);
  }
  const parts = runs.map(([a, n]) => (n === 1 ? a : `${a}×${n}`));
  if (parts.length <= 16) return parts.join(' ');
  return `${parts.slice(0, 6).join(' ')} … ${parts.length - 12} more … ${parts.slice(-6).join(' ')}`;
}

/** The last `n` decisions up to step `upTo` (the violation's, as Violation.step numbers them: from 0), one a line. */
export function lastSteps(d: readonly Decision[], upTo = d.length - 1, n = 5): string[] {
  const from = Math.max(0, upTo - n + 1);
  const shown = d.slice(from, upTo + 1);
  const w = String(upTo).length;
  const aw = Math.max(0, ...shown.map((x) => x.actor.length));
  return shown.map((x, i) => `    ${String(from + i).padStart(w)}  ${x.actor.padEnd(aw)}  ${x.state}${x.fail ? '  (failure injected)' : ''}`);
}

function violationLines(v: Violation): string[] {
  return [
    `  invariant    ${v.invariant}: ${v.message}`,
    `  actor        ${v.actor}${v.state ? `, stepping from ${v.state}` : ''}`,
    `  step         ${v.step}`,
  ];
}

/** A file name part from free text (an invariant, an errno, an outcome). */
const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';

interface ReplayBody {
  seed: number;
  engine: string;
  verdict?: string;
  violation?: Violation;
  decisions: readonly Decision[];
  removedActors?: readonly string[];
}

/**
 * Writes the replay file of `body` for the scenario that produced `result`; the lines that
 * say where (or why none was written). Synchronous: a matcher returns its message at once.
 */
function replayLines(result: object, how: string, what: string, body: ReplayBody): string[] {
  const origin = resultOrigin.get(result);
  const src = origin && scenarioSource.get(origin.scenario);
  if (!src) return ['  replay       none: the scenario\'s data is not known (load it with loadScenario() or validateScenario())'];
  const name = `${basename(src.file).replace(/\.(ya?ml|json)$/, '')}.${how}.seed${body.seed}.${slug(what)}.replay.json`;
  const path = join(replayDirectory(), name);
  try {
    mkdirSync(replayDirectory(), { recursive: true });
    writeFileSync(path, replayText(path, src.file, withoutActors(src.raw, body.removedActors ?? []), {
      seed: body.seed, engine: body.engine, verdict: body.verdict, violation: body.violation, decisions: body.decisions, removedActors: body.removedActors,
    }));
  } catch (e) {
    return [`  replay       not written: ${(e as Error).message}`];
  }
  return [`  replay       ${path}`, `  inspect      thpsim inspect ${path}`];
}

/** A run's context for any failing run matcher: its verdict, violation, interleaving and replay file. */
export function runContext(r: RunResult): string {
  const v = r.violations[0];
  const lines = [`  run          ${r.scenario}, seed ${r.seed}: ${r.verdict} after ${r.steps} steps`];
  if (v) lines.push(...violationLines(v));
  if (r.divergence) lines.push(`  diverged     ${r.divergence}`);
  lines.push(`  interleaving ${interleaving(r.schedule)}`, ...lastSteps(r.schedule, v ? v.step : undefined));
  lines.push(...replayLines(r, 'run', v?.invariant ?? r.verdict, {
    seed: r.seed, engine: r.engine, verdict: r.verdict, violation: v, decisions: r.schedule,
  }));
  return lines.join('\n');
}

/** A counterexample of an exploration: what broke, where, the minimised interleaving and its replay file. */
export function counterexampleReport(x: ExploreResult, c: Counterexample): string {
  const v = c.violation;
  const lines = [
    `  seed         ${c.seed}: ${c.verdict}, found in ${c.found.steps} steps, minimised to ${c.minimised.steps}${c.removedActors.length ? `, without ${c.removedActors.join(', ')}` : ''}`,
    ...violationLines(v),
    `  interleaving ${interleaving(c.decisions)}`,
    ...lastSteps(c.decisions, Math.min(v.step, c.decisions.length - 1)),
    ...replayLines(x, x.strategy, v.invariant, {
      seed: c.seed, engine: 'fast', verdict: c.verdict, violation: v, decisions: c.decisions, removedActors: c.removedActors,
    }),
  ];
  return lines.join('\n');
}

/** The first schedule of an exploration that reached `key` (ResultOrigin.witnesses), shown and written as a replay file. */
export function witnessReport(x: ExploreResult, key: string, what: string): string {
  const w: Witness | undefined = resultOrigin.get(x)?.witnesses?.get(key);
  if (!w) return '';
  return [
    `  first seen   seed ${w.seed}: ${w.verdict} after ${w.decisions.length} steps`,
    `  interleaving ${interleaving(w.decisions)}`,
    ...lastSteps(w.decisions),
    ...replayLines(x, x.strategy, what, { seed: w.seed, engine: 'fast', verdict: w.verdict, violation: w.violation, decisions: w.decisions }),
  ].join('\n');
}

/** What ran, for an exploration's messages: `pct, 200 schedules from seed 1 (stopped: time budget)`. */
export function explorationLine(x: ExploreResult): string {
  const what = x.strategy === 'dfs'
    ? `dfs, ${x.states} states, ${x.schedules} schedules run to their end${x.complete ? ', complete' : ', NOT complete'}`
    : `${x.strategy}, ${x.schedules} schedules from seed ${x.seed}`;
  return `  explored     ${x.scenario}: ${what}${x.stopped ? ` (stopped: ${x.stopReason ?? 'interrupted'})` : ''}`;
}
