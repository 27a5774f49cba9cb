/**
 * Replay files: a scenario and the scheduler decisions of one run, enough for
 * `thpsim run --replay FILE` to reproduce it byte for byte (docs/replay.md).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ScenarioError, readScenarioData, validateScenario } from '../scenario/load.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { Decision, RunResult } from '../sched/run.ts';

const replaySchema = z.strictObject({
  thpsim_replay: z.literal(1),
  scenario_file: z.string(),
  scenario: z.unknown(),
  seed: z.number().int().nonnegative(),
  engine: z.enum(['fast', 'xstate']).default('fast'),
  verdict: z.string().optional(),
  violation: z.unknown().optional(),
  decisions: z.array(z.strictObject({ actor: z.string(), state: z.string(), fail: z.boolean().optional() })),
});

export interface Replay {
  scenario: Scenario;
  seed: number;
  decisions: Decision[];
}

export async function writeReplay(path: string, scenarioFile: string, raw: unknown, r: RunResult): Promise<void> {
  await writeDecisions(path, scenarioFile, raw, {
    seed: r.seed, engine: r.engine, verdict: r.verdict, violation: r.violations[0], decisions: r.schedule,
  });
}

/** A replay file from decisions alone (the explorer's minimised counterexamples). */
export async function writeDecisions(
  path: string,
  scenarioFile: string,
  raw: unknown,
  r: { seed: number; engine: string; verdict: string; violation: unknown; decisions: readonly Decision[] },
): Promise<void> {
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
  };
  await writeFile(path, `${JSON.stringify(body, null, 1)}\n`);
}

export async function readReplay(path: string): Promise<Replay> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError(path, '', code === 'ENOENT' ? 'no such file' : `not a replay file (JSON): ${(e as Error).message}`);
  }
  const r = replaySchema.safeParse(data);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ScenarioError(path, i.path.join('.'), i.message);
  }
  const scenario = await validateScenario(r.data.scenario, resolve(dirname(path), r.data.scenario_file));
  return { scenario, seed: r.data.seed, decisions: r.data.decisions };
}

/** A scenario file (run with `seed`, default its own), or a replay file (its scenario and recorded schedule). */
export async function readRunInput(file: string, seed: number | undefined): Promise<{ scenario: Scenario; seed: number; schedule?: Decision[] }> {
  const raw = await readScenarioData(file);
  if (raw !== null && typeof raw === 'object' && 'thpsim_replay' in raw) {
    if (seed !== undefined) throw new ScenarioError(file, '--seed', 'a replay file fixes the schedule; expected no --seed');
    const rp = await readReplay(file);
    return { scenario: rp.scenario, seed: rp.seed, schedule: rp.decisions };
  }
  const scenario = await validateScenario(raw, file);
  return { scenario, seed: seed ?? scenario.seed };
}
