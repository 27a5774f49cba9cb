/**
 * Records what the engine gives for every scenario and replay file shipped in the
 * repository — a run on each engine, random, PCT and dfs explorations, each replay — as
 * plain JSON, for test/recorded_results.test.ts to compare against results recorded from
 * an earlier commit (issue 21, acceptance criterion 4: nothing observable changes).
 *
 * The engine is imported from `root` at run time, so the same recorder runs against any
 * checkout: an older one (to record) or the current one (to compare).
 *
 *   npx tsx test/helpers/record_results.ts <root> <out.json>
 *
 * Only deterministic results are kept: no durations, no clocks, no absolute paths.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type LoadModule = typeof import('../../src/scenario/load.ts');
type RunModule = typeof import('../../src/sched/run.ts');
type ExploreModule = typeof import('../../src/explore/explore.ts');
type ReportModule = typeof import('../../src/cli/report.ts');
type ReplayModule = typeof import('../../src/cli/replay.ts');
type RegistryModule = typeof import('../../src/registry.ts');
type Scenario = import('../../src/scenario/schema.ts').Scenario;
type ExploreOptions = import('../../src/explore/explore.ts').ExploreOptions;
type ExploreResult = import('../../src/explore/explore.ts').ExploreResult;
type Replay = import('../../src/cli/replay.ts').Replay;

/** JSON data (what the recorded file holds). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What is recorded of one file: a scenario (run, xstate, random, pct, dfs, dfsSleepSets), a replay (replay, xstate), or why it was skipped (skipped). */
export type FileResults = { [key: string]: Json };

/** The settings of every recording: change one and the results must be recorded again. */
export const SETTINGS = {
  /** random and pct: schedules from seed 1, no minimising. */
  schedules: 20,
  seed: 1,
  shrinkBudget: 0,
  /** dfs: stop after this many distinct states. */
  maxStates: 2000,
  /**
   * The xstate engine's run (slower) is recorded only for scenarios whose fast run takes at
   * most this many steps: every one now (the longest, 710 steps; all 102 runs take ~2 s).
   */
  xstateMaxSteps: 100_000,
} as const;

/** The directories whose scenario (*.yaml) and replay (*.replay.json) files are recorded, relative to the root. */
const DIRS = ['examples', 'test/fixtures', 'test/selftests'];

interface Engine {
  load: LoadModule;
  run: RunModule;
  explore: ExploreModule;
  report: ReportModule;
  replay: ReplayModule;
  registry: RegistryModule;
}

const engines = new Map<string, Promise<Engine>>();

/** The engine modules of the checkout at `root` (imported once per root). */
function engineAt(root: string): Promise<Engine> {
  const at = resolve(root);
  let e = engines.get(at);
  if (!e) {
    const from = <T>(f: string): Promise<T> => import(pathToFileURL(join(at, f)).href) as Promise<T>;
    e = (async () => {
      // (the built-in actor kinds register themselves here, as for the library and the CLI)
      await from('src/builtins.ts');
      return {
        load: await from<LoadModule>('src/scenario/load.ts'),
        run: await from<RunModule>('src/sched/run.ts'),
        explore: await from<ExploreModule>('src/explore/explore.ts'),
        report: await from<ReportModule>('src/cli/report.ts'),
        replay: await from<ReplayModule>('src/cli/replay.ts'),
        registry: await from<RegistryModule>('src/registry.ts'),
      };
    })();
    engines.set(at, e);
  }
  return e;
}

/** The files recorded under `root`, relative to it, sorted: scenarios and replays. */
export function recordedFiles(root: string): string[] {
  const out: string[] = [];
  const add = (dir: string, suffix: string) => {
    if (!existsSync(join(root, dir))) return;
    for (const f of readdirSync(join(root, dir))) if (f.endsWith(suffix)) out.push(`${dir}/${f}`);
  };
  for (const dir of DIRS) {
    add(dir, '.yaml');
    add(dir, '.replay.json');
  }
  // the example extensions: each directory's scenarios and replays
  if (existsSync(join(root, 'examples/extensions'))) {
    for (const ext of readdirSync(join(root, 'examples/extensions'))) {
      add(`examples/extensions/${ext}`, '.yaml');
      add(`examples/extensions/${ext}`, '.replay.json');
    }
  }
  return out.sort();
}

/** A short digest of some data (decisions: long, and what matters is that they are the same). */
function digest(x: unknown): string {
  return createHash('sha256').update(JSON.stringify(x)).digest('hex').slice(0, 16);
}

/** The data with every object's keys sorted, and undefined fields dropped: the same data, one way to write it. */
function canonical(x: unknown): Json {
  if (Array.isArray(x)) return x.map(canonical);
  if (x !== null && typeof x === 'object') {
    const out: { [key: string]: Json } = {};
    for (const k of Object.keys(x).sort()) {
      const v = (x as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = canonical(v);
    }
    return out;
  }
  if (typeof x === 'number' && !Number.isFinite(x)) throw new Error(`not a finite number: ${x}`);
  return x as Json;
}

/**
 * An exploration's result as recorded: all of it, but a counterexample's decisions by
 * count and digest, and each kind's coverage by the steps taken (`stepped`, in chart
 * order) with a digest of the ones missed — the full list of steps missed is most of a
 * big chart, in every strategy of every file.
 */
function exploration(e: Engine, s: Scenario, r: ExploreResult): Json {
  const coverage: Record<string, unknown> = {};
  for (const [kind, c] of Object.entries(r.coverage)) {
    const chart = e.run.compiledChart(e.registry.getActorKind(kind)!, s.variants);
    const missed = new Set(c.missed);
    const stepped = chart.nodes.filter((n) => n.kind === 'atomic' && n.step.length && !missed.has(n.path)).map((n) => n.path);
    coverage[kind] = { reached: c.reached, steps: c.steps, stepped, missedDigest: digest(c.missed) };
  }
  // (stateBytes is how the visited table stores states, not a result of the search)
  const { stateBytes: _stored, ...results } = r;
  return canonical({
    ...results,
    coverage,
    counterexamples: r.counterexamples.map(({ decisions, ...c }) => ({ ...c, decisions: decisions.length, decisionsDigest: digest(decisions) })),
  });
}

/** The results of one scenario file. */
function scenarioResults(e: Engine, s: Scenario): FileResults {
  const out: FileResults = {};
  const r = e.run.run(s, { engine: 'fast' });
  // the `thpsim run --json` object: verdict, trace hash, steps, violations, actors, the final model state
  out.run = canonical({ ...e.report.toJson(r, false), scheduleDigest: digest(r.schedule) });
  if (r.steps <= SETTINGS.xstateMaxSteps) {
    const x = e.run.run(s, { engine: 'xstate' });
    out.xstate = canonical({ verdict: x.verdict, steps: x.steps, traceHash: x.traceHash, scheduleDigest: digest(x.schedule) });
  }
  const common: ExploreOptions = { shrinkBudget: SETTINGS.shrinkBudget };
  out.random = exploration(e, s, e.explore.explore(s, { ...common, strategy: 'random', schedules: SETTINGS.schedules, seed: SETTINGS.seed }));
  out.pct = exploration(e, s, e.explore.explore(s, { ...common, strategy: 'pct', schedules: SETTINGS.schedules, seed: SETTINGS.seed }));
  out.dfs = exploration(e, s, e.explore.explore(s, { ...common, strategy: 'dfs', maxStates: SETTINGS.maxStates }));
  // (sleep sets: the steps' footprints decide which transitions are not run — `slept`)
  out.dfsSleepSets = exploration(e, s, e.explore.explore(s, { ...common, strategy: 'dfs', maxStates: SETTINGS.maxStates, sleepSets: true }));
  return out;
}

/** The results of one replay file: its recorded schedule run again, as `thpsim run --replay` does (and on the xstate engine). */
function replayResults(e: Engine, root: string, rp: Replay): FileResults {
  const r = e.run.run(rp.scenario, { seed: rp.seed, schedule: rp.decisions });
  // (undefined: it replays to the verdict and invariant the file records)
  const mismatch = e.replay.replayMismatch(rp, r);
  const x = e.run.run(rp.scenario, { seed: rp.seed, schedule: rp.decisions, engine: 'xstate' });
  return {
    replay: canonical({
      verdict: r.verdict, steps: r.steps, traceHash: r.traceHash, divergence: r.divergence, violations: r.violations,
      actors: r.actors, decisions: rp.decisions.length, mismatch: mismatch && relativeTo(root, mismatch.message),
    }),
    xstate: canonical({ verdict: x.verdict, steps: x.steps, traceHash: x.traceHash, divergence: x.divergence }),
  };
}

/** A message with the root's absolute path taken out of it. */
function relativeTo(root: string, message: string): string {
  return message.replaceAll(resolve(root), '<root>');
}

/** What is recorded of one file (`file` relative to `root`); a file the engine cannot load is recorded as skipped, with why. */
export async function recordFile(root: string, file: string): Promise<FileResults> {
  const e = await engineAt(root);
  const path = join(resolve(root), file);
  if (file.endsWith('.replay.json')) {
    let rp;
    try {
      // (an extension's replay names its plugin: imported, as with --allow-plugins)
      rp = await e.replay.readReplay(path, { allowPlugins: true });
    } catch (err) {
      return { skipped: `does not load: ${relativeTo(root, String((err as Error).message))}` };
    }
    return replayResults(e, root, rp);
  }
  let s: Scenario;
  try {
    s = await e.load.loadScenario(path);
  } catch (err) {
    return { skipped: `does not load: ${relativeTo(root, String((err as Error).message))}` };
  }
  return scenarioResults(e, s);
}

/** Every file's results under `root`, keyed by its path relative to it. */
export async function recordResults(root: string): Promise<Record<string, FileResults>> {
  const out: Record<string, FileResults> = {};
  for (const file of recordedFiles(root)) out[file] = await recordFile(root, file);
  return out;
}

/** The JSON text of recorded results: keys sorted, 2-space indent, a trailing newline. */
export function resultsText(results: Record<string, FileResults>): string {
  return `${JSON.stringify(canonical(results), null, 2)}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [root, out] = process.argv.slice(2);
  if (!root || !out) {
    process.stderr.write('usage: npx tsx test/helpers/record_results.ts <root> <out.json>\n');
    process.exit(2);
  }
  const results: Record<string, FileResults> = {};
  for (const file of recordedFiles(root)) {
    const t0 = performance.now();
    results[file] = await recordFile(root, file);
    // (how long each file took: for choosing the settings; not recorded)
    process.stderr.write(`${((performance.now() - t0) / 1000).toFixed(2).padStart(7)} s  ${file}\n`);
  }
  writeFileSync(out, resultsText(results));
}
