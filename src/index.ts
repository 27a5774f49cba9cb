/**
 * thpsim as a library: `import { loadScenario, run, explore } from 'thpsim'`.
 *
 * The public surface is what a user sets and reads: a scenario (a file, data, or the typed
 * builder), the options of a run or an exploration (seed, strategy and its parameters,
 * bounds, variants, monitors, trace), and their results — a run's is the documented
 * `thpsim run --json` object (docs/json.md), an exploration's the `thpsim explore --json`
 * one. The explorer's hooks into a run (frontier, search, footprint, guide...) are not
 * here: they stay internal, so the engine can change under them.
 */
import './builtins.ts';
import { z } from 'zod';
import { ScenarioError, fieldPath, loadScenario, scenarioSource, validateScenario } from './scenario/load.ts';
import { type Scenario, arrayOf } from './scenario/schema.ts';
import { type Decision, run as runInternal } from './sched/run.ts';
import { type Counterexample, type ExploreResult, counterexampleScenario, exploreAsync, outcomeKey } from './explore/explore.ts';
import { type RunReport, toJson } from './cli/report.ts';
import { allMonitors, getVariant } from './registry.ts';
import { PCT_MAX_DEPTH } from './sched/strategy.ts';
import { type Witness, resultOrigin } from './origin.ts';
import { wallClock } from './cli/wall_clock.ts';

export { loadScenario, validateScenario, ScenarioError, counterexampleScenario };
export type { Scenario, Decision, Counterexample, ExploreResult, RunReport };
export type { Violation } from './bus/events.ts';
export type { PmdSummary, PageCacheSummary } from './cli/report.ts';
export { scenario, ScenarioBuilder, MmBuilder } from './scenario/builder.ts';
export type {
  Address, ScenarioData, FileData, MmData, VmaData, SysfsData, ConfigData, InjectData, ExpectData, Verdict, TaskOpData, TaskOpsData,
  BuiltinKind, BuiltinActorData, ActorData, PluginActorData, BuildOptions,
} from './scenario/builder.ts';

/** A run's result: the `thpsim run --json` object (docs/json.md), with its decisions, its SCAN_* results and, if asked for, its trace lines. */
export interface RunResult extends RunReport {
  schedule: Decision[];
  /** Every SCAN_* result khugepaged or a MADV_COLLAPSE caller reported (mm_khugepaged_scan_file), in order. */
  scan_results: string[];
  /** With `trace: true`: the ftrace-like lines, as `thpsim run --trace` prints them. */
  trace?: string[];
}

const variantsOption = arrayOf(z.string()).optional();

const runOptionsSchema = z.strictObject({
  seed: z.number().int().nonnegative().max(0xffffffff).optional(),
  strategy: z.enum(['random', 'pct']).optional(),
  depth: z.number().int().positive().max(PCT_MAX_DEPTH, `expected a PCT depth of at most ${PCT_MAX_DEPTH}`).optional(),
  maxSteps: z.number().int().positive().optional(),
  variants: variantsOption,
  monitors: arrayOf(z.string()).optional(),
  trace: z.union([z.boolean(), z.function()]).optional(),
  schedule: arrayOf(z.strictObject({ actor: z.string(), state: z.string(), fail: z.boolean().optional() })).optional(),
  engine: z.enum(['fast', 'xstate']).optional(),
});

export interface RunOptions {
  /** The scheduler's seed (default the scenario's). */
  seed?: number;
  /** 'random' (default): uniform among the runnable actors; 'pct': probabilistic concurrency testing of depth `depth`. */
  strategy?: 'random' | 'pct';
  /** PCT's bug depth d (d - 1 priority change points; default 3). */
  depth?: number;
  /** Step bound (default the scenario's max_steps). */
  maxSteps?: number;
  /** Variants selected on top of the scenario's own (`thpsim list` names them). */
  variants?: readonly string[];
  /** Only these invariant monitors (default: every registered one). */
  monitors?: readonly string[];
  /** true: collect the ftrace-like lines into the result; a function: receive each as it is made. */
  trace?: boolean | ((line: string) => void);
  /** Replay these decisions (a replay file's, a counterexample's) instead of drawing from the seed. */
  schedule?: readonly Decision[];
  /** 'fast' (default) or 'xstate': the same charts run by XState's own interpreter. */
  engine?: 'fast' | 'xstate';
}

/** Options checked as the CLI checks its flags: a mistake names the option, never a stack trace. */
function checked<T>(schema: z.ZodType<T>, o: unknown, what: string): T {
  const r = schema.safeParse(o ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.code === 'unrecognized_keys' ? fieldPath([...issue.path, issue.keys[0]!]) : fieldPath(issue.path);
  throw new ScenarioError(what, field, issue.code === 'unrecognized_keys' ? 'unknown option' : issue.message);
}

/** The scenario with `variants` added to its own, each checked to be registered. */
function withVariants(s: Scenario, variants: readonly string[] | undefined, what: string): Scenario {
  if (!variants?.length) return s;
  variants.forEach((v, i) => {
    if (!getVariant(v)) throw new ScenarioError(what, `variants[${i}]`, `unknown variant '${v}' (thpsim list names them)`);
  });
  const out = { ...s, variants: [...s.variants, ...variants.filter((v) => !s.variants.includes(v))] };
  const src = scenarioSource.get(s);
  if (src) scenarioSource.set(out, { ...src, raw: { ...(src.raw as object), variants: out.variants } });
  return out;
}

function checkMonitors(monitors: readonly string[] | undefined, what: string): void {
  const known = new Set(allMonitors().map((m) => m.name));
  monitors?.forEach((m, i) => {
    if (!known.has(m)) throw new ScenarioError(what, `monitors[${i}]`, `unknown monitor '${m}' (thpsim list names them)`);
  });
}

function checkScenario(s: unknown, what: string): asserts s is Scenario {
  if (!s || typeof s !== 'object' || !Array.isArray((s as Scenario).actors) || !Array.isArray((s as Scenario).variants)) {
    throw new ScenarioError(what, 'scenario', 'expected a scenario from loadScenario(), validateScenario() or the builder\'s build()');
  }
}

/** One run of a scenario: its result as `thpsim run --json` gives it. */
export function run(scenario: Scenario, options: RunOptions = {}): RunResult {
  checkScenario(scenario, 'run');
  const o = checked(runOptionsSchema, options, 'run options');
  checkMonitors(o.monitors, 'run options');
  const s = withVariants(scenario, o.variants, 'run options');
  const lines: string[] = [];
  const trace = typeof o.trace === 'function' ? (o.trace as (l: string) => void) : o.trace ? (l: string) => void lines.push(l) : undefined;
  const r = runInternal(s, {
    seed: o.seed ?? s.seed, strategy: o.strategy, pctDepth: o.depth, maxSteps: o.maxSteps, monitors: o.monitors,
    schedule: o.schedule, engine: o.engine, trace, collect: true,
  });
  const out: RunResult = { ...toJson(r, true), schedule: r.schedule, scan_results: r.scans ?? [] };
  if (o.trace === true) out.trace = lines;
  resultOrigin.set(out, { scenario: s });
  return out;
}

const exploreOptionsSchema = z.strictObject({
  strategy: z.enum(['random', 'pct', 'dfs', 'bfs', 'coverage']).optional(),
  schedules: z.number().int().positive().optional(),
  seed: z.number().int().nonnegative().max(0xffffffff).optional(),
  maxSteps: z.number().int().positive().optional(),
  depth: z.number().int().positive().max(PCT_MAX_DEPTH, `expected a PCT depth of at most ${PCT_MAX_DEPTH}`).optional(),
  maxStates: z.number().int().positive().optional(),
  preemptionBound: z.number().int().nonnegative().optional(),
  sleepSets: z.boolean().optional(),
  stopOnFirst: z.boolean().optional(),
  timeBudgetMs: z.number().positive().optional(),
  shrinkBudget: z.number().int().nonnegative().optional(),
  variants: variantsOption,
  monitors: arrayOf(z.string()).optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

export interface ExploreOptions {
  /** 'random' (default), 'pct', 'dfs' (exhaustive, with state caching), 'bfs' (the same, by depth: shortest counterexamples first) or 'coverage' (steered to unreached steps). */
  strategy?: 'random' | 'pct' | 'dfs' | 'bfs' | 'coverage';
  /** Schedules to run (random, pct, coverage; default 1000). */
  schedules?: number;
  /** Base seed: schedule i runs with seed + i (default the scenario's). */
  seed?: number;
  /** Step bound per schedule (default the scenario's max_steps). */
  maxSteps?: number;
  /** PCT's bug depth (default 3). */
  depth?: number;
  /** dfs: stop after this many distinct states (default 1,000,000). */
  maxStates?: number;
  /** dfs: only schedules with at most this many preemptions (CHESS's preemption bounding). */
  preemptionBound?: number;
  /** dfs: sleep sets (default off). */
  sleepSets?: boolean;
  /** Stop at the first counterexample. */
  stopOnFirst?: boolean;
  /** Stop starting schedules after this many ms of wall-clock time. */
  timeBudgetMs?: number;
  /** Candidate runs the minimiser may try per counterexample (0: keep them as found). */
  shrinkBudget?: number;
  /** Variants selected on top of the scenario's own. */
  variants?: readonly string[];
  /** Only these invariant monitors (default: every registered one). */
  monitors?: readonly string[];
  /** Aborting it stops the exploration between schedules; what ran is returned. */
  signal?: AbortSignal;
}

/** An exploration of a scenario's schedules: its result as `thpsim explore --json` gives it (docs/json.md). */
export async function explore(scenario: Scenario, options: ExploreOptions = {}): Promise<ExploreResult> {
  checkScenario(scenario, 'explore');
  const o = checked(exploreOptionsSchema, options, 'explore options');
  if (o.preemptionBound !== undefined && o.strategy !== 'dfs') throw new ScenarioError('explore options', 'preemptionBound', `bounds the dfs: use it with strategy 'dfs'`);
  if (o.preemptionBound !== undefined && o.sleepSets) throw new ScenarioError('explore options', 'preemptionBound', 'a preemption-bounded dfs runs without sleep sets');
  checkMonitors(o.monitors, 'explore options');
  const s = withVariants(scenario, o.variants, 'explore options');
  // the first schedule to reach each outcome and SCAN_* result: a failing matcher replays it
  const witnesses = new Map<string, Witness>();
  const r = await exploreAsync(s, {
    monitors: o.monitors,
    strategy: o.strategy, schedules: o.schedules, seed: o.seed, maxSteps: o.maxSteps, depth: o.depth, maxStates: o.maxStates,
    preemptionBound: o.preemptionBound, sleepSets: o.sleepSets, stopOnFirst: o.stopOnFirst, shrinkBudget: o.shrinkBudget,
    timeBudgetMs: o.timeBudgetMs, clock: o.timeBudgetMs === undefined ? undefined : wallClock, signal: o.signal,
    onSchedule: (run) => {
      const keys = [...run.actors.map((a) => `outcome:${outcomeKey(a)}`), ...(run.scans ?? []).map((x) => `scan:${x}`)];
      for (const k of keys) {
        if (!witnesses.has(k)) witnesses.set(k, { seed: run.seed, decisions: run.schedule.slice(), verdict: run.verdict, violation: run.violations[0] });
      }
    },
  });
  resultOrigin.set(r, { scenario: s, witnesses });
  return r;
}
