/**
 * Replay files: a scenario and the scheduler decisions of one run, enough for
 * `thpsim run --replay FILE` to reproduce it byte for byte (docs/replay.md: the format,
 * what is checked, and why a replay file runs no plugin code unless --allow-plugins).
 */
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ScenarioError, readScenarioData, schemaError, validateScenario } from '../scenario/load.ts';
import { SEED_MAX, type Scenario, arrayOf } from '../scenario/schema.ts';
import type { Decision, RunResult } from '../sched/run.ts';
import { writeOutput } from './files.ts';

const replaySchema = z.strictObject({
  thpsim_replay: z.literal(1),
  scenario_file: z.string(),
  scenario: z.unknown(),
  seed: z.number().int().nonnegative().max(SEED_MAX),
  engine: z.enum(['fast', 'xstate']).default('fast'),
  verdict: z.enum(['ok', 'violation', 'deadlock', 'liveness', 'step-bound', 'divergence']).optional(),
  violation: z.looseObject({ invariant: z.string() }).optional(),
  decisions: arrayOf(z.strictObject({ actor: z.string(), state: z.string(), fail: z.boolean().optional() })),
  removed_actors: arrayOf(z.string()).optional(),
});

export interface Replay {
  /** The replay file. */
  file: string;
  scenario: Scenario;
  seed: number;
  decisions: Decision[];
  /** What the file says the run gave: its verdict and first violation's invariant. */
  recorded: { verdict?: string; invariant?: string };
  /** The actors of the scenario as written that a minimised counterexample does without. */
  removedActors: string[];
}

export interface ReplayOptions {
  /** Import the plugins the replay's scenario names (--allow-plugins); refused otherwise. */
  allowPlugins?: boolean;
}

/** The text of a replay file at `path`: `raw` is the scenario data as given, `scenarioFile` where it came from. */
export function replayText(
  path: string,
  scenarioFile: string,
  raw: unknown,
  r: DecisionsRecord,
): string {
  const body = {
    thpsim_replay: 1,
    // relative to the replay file, so a replay kept beside its scenario works in any clone
    scenario_file: relative(dirname(resolve(path)), resolve(scenarioFile)),
    scenario: raw,
    seed: r.seed,
    engine: r.engine,
    verdict: r.verdict,
    violation: r.violation,
    decisions: r.decisions,
    ...(r.removedActors?.length ? { removed_actors: r.removedActors } : {}),
  };
  return `${JSON.stringify(body, null, 1)}\n`;
}

export async function writeReplay(path: string, flag: string, scenarioFile: string, raw: unknown, r: RunResult): Promise<void> {
  await writeDecisions(path, flag, scenarioFile, raw, {
    seed: r.seed, engine: r.engine, verdict: r.verdict, violation: r.violations[0], decisions: r.schedule,
  });
}

/** What a replay file records of a run; removedActors: the actors a minimised counterexample left out of the scenario. */
export interface DecisionsRecord {
  seed: number;
  engine: string;
  verdict?: string;
  violation: unknown;
  decisions: readonly Decision[];
  removedActors?: readonly string[];
}

/** A replay file from decisions alone (the explorer's minimised counterexamples); `flag` names the option that chose the path. */
export async function writeDecisions(
  path: string,
  flag: string,
  scenarioFile: string,
  raw: unknown,
  r: DecisionsRecord,
): Promise<void> {
  await writeOutput(path, replayText(path, scenarioFile, raw, r), flag);
}

/** The scenario data as given, less the actors a minimised counterexample does without. */
export function withoutActors(raw: unknown, removed: readonly string[]): unknown {
  if (!removed.length) return raw;
  const r = raw as { actors: { id?: string }[] };
  return { ...r, actors: r.actors.filter((a) => !removed.includes(String(a.id))) };
}

const PLUGINS_REFUSED = 'a replay file runs no code it names unless you pass --allow-plugins (docs/replay.md); read the plugins first';

export async function readReplay(path: string, opts: ReplayOptions = {}): Promise<Replay> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError(path, '', code === 'ENOENT' ? 'no such file' : code ? `cannot read: ${(e as Error).message}` : `not a replay file (JSON): ${(e as Error).message}`);
  }
  return replayFrom(data, path, opts);
}

/** The replay file `path` holds (parsed): checked, then its scenario validated (plugins only if allowed). */
async function replayFrom(data: unknown, path: string, opts: ReplayOptions): Promise<Replay> {
  const r = replaySchema.safeParse(data);
  if (!r.success) {
    throw schemaError(r.error.issues[0]!, path);
  }
  // errors name the replay file and the field `scenario`; plugins resolve from where the scenario file was
  const scenarioFile = resolve(dirname(path), r.data.scenario_file);
  const scenario = await validateScenario(r.data.scenario, path, {
    within: 'scenario',
    base: {
      dir: dirname(scenarioFile),
      why: `the directory of scenario_file, ${scenarioFile}: a copied replay file finds its plugins only where that relative path still leads`,
    },
    plugins: opts.allowPlugins ? { allowed: true } : { allowed: false, how: PLUGINS_REFUSED },
  });
  const ids = scenario.actors.map((a) => a.id);
  r.data.decisions.forEach((d, i) => {
    if (!ids.includes(d.actor)) throw new ScenarioError(path, `decisions[${i}].actor`, `no actor '${d.actor}' in the scenario (its actors: ${ids.join(', ')})`);
  });
  return {
    file: path, scenario, seed: r.data.seed, decisions: r.data.decisions,
    recorded: { verdict: r.data.verdict, invariant: r.data.violation?.invariant },
    removedActors: r.data.removed_actors ?? [],
  };
}

/**
 * How a run of `rp` differs from what the file recorded — it diverged from the recorded
 * decisions, or ended with another verdict or invariant — or undefined if it reproduced it.
 */
export function replayMismatch(rp: Replay, r: Pick<RunResult, 'verdict' | 'violations' | 'divergence'>): ScenarioError | undefined {
  if (r.divergence) {
    return new ScenarioError(rp.file, 'decisions', `the replay diverged: ${r.divergence} (the scenario or the model no longer matches the recorded schedule)`);
  }
  const got = { verdict: r.verdict, invariant: r.violations[0]?.invariant };
  const show = (x: { verdict?: string; invariant?: string }) => `${x.verdict}${x.invariant ? ` (${x.invariant})` : ''}`;
  if (rp.recorded.verdict !== undefined && (rp.recorded.verdict !== got.verdict || rp.recorded.invariant !== got.invariant)) {
    return new ScenarioError(rp.file, 'verdict', `recorded ${show(rp.recorded)}, replayed ${show(got)}: the file was edited, or the model changed since it was recorded`);
  }
  return undefined;
}

/** Says on stderr how a replay's run differs from its file; true if it does (the command then exits 1). */
export function reportMismatch(rp: Replay | undefined, r: Pick<RunResult, 'verdict' | 'violations' | 'divergence'>): boolean {
  const m = rp && replayMismatch(rp, r);
  if (m) process.stderr.write(`thpsim: ${m.message}\n`);
  return m !== undefined;
}

/** A scenario file (run with `seed`, default its own), or a replay file (its scenario and recorded schedule). */
export async function readRunInput(file: string, seed: number | undefined, opts: ReplayOptions = {}): Promise<{ scenario: Scenario; seed: number; schedule?: Decision[]; replay?: Replay }> {
  const raw = await readScenarioData(file);
  if (raw !== null && typeof raw === 'object' && 'thpsim_replay' in raw) {
    if (seed !== undefined) throw new ScenarioError(file, '--seed', 'a replay file fixes the schedule; expected no --seed');
    const rp = await replayFrom(raw, file, opts);
    return { scenario: rp.scenario, seed: rp.seed, schedule: rp.decisions, replay: rp };
  }
  const scenario = await validateScenario(raw, file);
  return { scenario, seed: seed ?? scenario.seed };
}
