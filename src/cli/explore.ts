/** `thpsim explore`: many schedules of a scenario under a search strategy. */
import { type Command, InvalidArgumentError } from 'commander';
import { mkdtemp } from 'node:fs/promises';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { ScenarioError, printable, readScenarioData, validateScenario } from '../scenario/load.ts';
import { type Counterexample, type ExploreOptions, type ExploreResult, type Strategy, exploreAsync } from '../explore/explore.ts';
import { exploreInWorkers } from '../explore/parallel.ts';
import { SharedVisitedStates } from '../explore/visited.ts';
import { withoutActors, writeDecisions } from './replay.ts';
import { prepareDirectory } from './files.ts';
import { explorationOf } from './merge.ts';
import { intArg } from './args.ts';
import { SEED_MAX } from '../scenario/schema.ts';
import { wallClock } from './wall_clock.ts';
import { PCT_MAX_DEPTH } from '../sched/strategy.ts';

interface ExploreFlags {
  strategy: Strategy;
  schedules: number;
  seed?: number;
  maxSteps?: number;
  depth: number;
  out: string;
  json?: boolean;
  stopOnFirst?: boolean;
  shrink: number;
  coverage?: boolean;
  maxStates: number;
  workers: number;
  forceWorkers?: boolean;
  shard?: { index: number; count: number };
  timeBudget?: number;
  sleepSets: boolean;
  preemptionBound?: number;
}

/** --time-budget: 90, 90s, 5m or 1h → ms; a budget of nothing is refused, not run as no schedule. */
function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected a duration such as 90s, 5m or 1h, got '${v}'`);
  const ms = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  if (!(ms >= 1) || !Number.isFinite(ms)) throw new InvalidArgumentError(`expected a duration of at least 1ms (such as 90s, 5m or 1h), got '${v}'`);
  return ms;
}

const stopped = (r: ExploreResult) => (r.stopped ? ` (stopped early: ${r.stopReason ?? 'interrupted'})` : '');

export function exploreSummary(r: ExploreResult, files: string[], secs: number, full: boolean): string {
  const out: string[] = [];
  const search = r.strategy === 'dfs' || r.strategy === 'bfs';
  out.push(search
    ? `${r.scenario}: ${r.strategy}, ${r.schedules} schedules run to their end (the rest pruned at a visited state)${stopped(r)}, ${r.distinctTraces} distinct traces`
    : `${r.scenario}: ${r.strategy}, ${r.schedules} schedules from seed ${r.seed}${stopped(r)}, ${r.distinctTraces} distinct traces${secs ? `, ${(r.schedules / secs).toFixed(0)} schedules/s` : ''}`);
  if (search) {
    const bound = r.preemptionBound === undefined ? '' : ` with at most ${r.preemptionBound} preemption${r.preemptionBound === 1 ? '' : 's'}`;
    // (not complete: stopped early — the first line says why — or at the state bound, where
    // an unbounded search is pointed at the preemption bound)
    const incomplete = r.stopped
      ? `stopped early (${r.stopReason ?? 'interrupted'})`
      : `--max-states reached${bound || r.strategy === 'bfs' ? '' : '; --preemption-bound k searches every schedule with at most k preemptions completely, far sooner'}`;
    out.push(`${r.strategy}: ${r.states} distinct states, ${r.nodes} search nodes${r.slept ? ` (${r.slept} steps not run: sleep sets)` : ''}, ${((r.states ?? 0) / Math.max(secs, 1e-3)).toFixed(0)} states/s — ${r.complete ? `complete: every interleaving${bound} up to the step bound was covered` : `NOT complete${bound ? ` within the bound (${bound.trim()})` : ''}: ${incomplete}`}`);
  }
  out.push(`verdicts: ${Object.entries(r.verdicts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (Object.keys(r.violations).length) {
    // (a site: the program point of the violating step; one counterexample is kept per site)
    const sites = (inv: string) => new Set(r.counterexamples.filter((c) => c.violation.invariant === inv).map((c) => c.site)).size;
    out.push(`violations by invariant: ${Object.entries(r.violations).map(([k, v]) => `${k} ${v} (${sites(k)} site${sites(k) === 1 ? '' : 's'})`).join(', ')}`);
  }
  out.push('outcomes:');
  for (const [k, v] of Object.entries(r.outcomes).sort()) out.push(`  ${k.padEnd(50)} ${v}`);
  if (Object.keys(r.scanResults).length) out.push(`SCAN_* results: ${Object.entries(r.scanResults).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push(`trylock contention (schedules): ${Object.entries(r.contention).map(([k, v]) => `${k} ${v}`).join(', ') || 'never'}`);
  const blocked = Object.entries(r.blocked ?? {});
  out.push(`blocked (an actor waited there while another ran; schedules):${blocked.length ? '' : ' never'}`);
  for (const [k, v] of blocked) out.push(`  ${k.padEnd(70)} ${v}`);
  out.push('coverage (atomic steps taken by some schedule):');
  for (const [kind, c] of Object.entries(r.coverage)) {
    out.push(`  ${kind.padEnd(24)} ${c.reached}/${c.steps}${c.missed.length ? (full ? '' : '   (--coverage lists the rest)') : ''}`);
    if (full) for (const m of c.missed) out.push(`    never: ${m}`);
  }
  r.counterexamples.forEach((c, i) => {
    out.push(`counterexample: ${c.verdict} ${c.violation.invariant} at ${c.site} — ${c.violation.message}`);
    const preempt = (n: number) => `${n} preemption${n === 1 ? '' : 's'}`;
    out.push(`  seed ${c.seed}: found in ${c.found.steps} steps / ${c.found.switches} context switches (${preempt(c.found.preemptions)}), minimised to ${c.minimised.steps} / ${c.minimised.switches} (${preempt(c.minimised.preemptions)})${c.removedActors.length ? `, without ${c.removedActors.join(', ')}` : ''}`);
    if (files[i]) out.push(`  replay: thpsim run --replay ${files[i]}`, `  watch:  thpsim inspect ${files[i]}`);
  });
  return out.join('\n');
}

/**
 * A counterexample's replay file: scenario, strategy, seed and invariant; a second site of
 * one invariant found by the same seed (every dfs counterexample has the one seed) is .2, .3...
 */
function replayName(out: string, file: string, strategy: string, c: Counterexample, taken: readonly string[]): string {
  const base = join(out, `${basename(file).replace(/\.(ya?ml|json)$/, '')}.${strategy}.seed${c.seed}.${c.violation.invariant}`);
  let name = `${base}.replay.json`;
  for (let n = 2; taken.includes(name); n++) name = `${base}.${n}.replay.json`;
  return name;
}

/**
 * The counterexamples' replay files, written into --out as they are found (the directory
 * was checked before the run). Any that cannot be written there go to a directory of
 * their own under the system's temporary directory, and stderr says where: what a long
 * exploration found is not lost to a full disk or a directory removed under it.
 */
export class ReplayWriter {
  private readonly files: string[] = [];
  private readonly pending: Promise<void>[] = [];
  private readonly failed: { i: number; c: Counterexample; error: string }[] = [];

  constructor(private readonly out: string, private readonly file: string, private readonly strategy: string, private readonly raw: unknown) {}

  write(c: Counterexample): void {
    const i = this.files.length;
    const name = replayName(this.out, this.file, this.strategy, c, this.files);
    this.files.push(name);
    this.pending.push(this.writeAs(name, c).catch((e: Error) => void this.failed.push({ i, c, error: e.message })));
  }

  private writeAs(name: string, c: Counterexample): Promise<void> {
    return writeDecisions(name, '--out', this.file, withoutActors(this.raw, c.removedActors), {
      seed: c.seed, engine: 'fast', verdict: c.verdict, violation: c.violation, decisions: c.decisions, removedActors: c.removedActors,
    });
  }

  /** Every write done: the replay files' names ('' for one that could be written nowhere); `say` tells the user of any moved. */
  async finish(say = (line: string) => void process.stderr.write(line)): Promise<string[]> {
    await Promise.all(this.pending);
    if (!this.failed.length) return this.files;
    const n = `${this.failed.length} replay file${this.failed.length === 1 ? '' : 's'}`;
    try {
      const dir = await mkdtemp(join(tmpdir(), 'thpsim-counterexamples-'));
      const written: string[] = [];
      for (const f of this.failed) {
        const name = replayName(dir, this.file, this.strategy, f.c, written);
        written.push(name);
        await this.writeAs(name, f.c);
        this.files[f.i] = name;
      }
      say(`thpsim: ${printable(`--out: ${n} could not be written (${this.failed[0]!.error}); written in ${dir} instead`)}\n`);
    } catch (e) {
      for (const f of this.failed) this.files[f.i] = '';
      say(`thpsim: ${printable(`--out: ${n} could not be written (${this.failed[0]!.error}), nor in the temporary directory (${(e as Error).message}): their decisions are in the --json result`)}\n`);
    }
    return this.files;
  }
}

/** --shard i/n (i may be the word env: Kubernetes' JOB_COMPLETION_INDEX). */
function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+|env)\/(\d+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected i/n (0 <= i < n), e.g. 0/4 or env/4, got '${v}'`);
  const count = Number(m[2]);
  let index: number;
  if (m[1] === 'env') {
    const e = process.env.JOB_COMPLETION_INDEX;
    if (e === undefined || !/^\d+$/.test(e)) throw new InvalidArgumentError(`--shard env/${count}: JOB_COMPLETION_INDEX is not set to an index`);
    index = Number(e);
  } else index = Number(m[1]);
  if (count < 1 || index >= count) throw new InvalidArgumentError(`expected i/n with 0 <= i < n, got '${v}'`);
  return { index, count };
}

/** Options that contradict each other or the machine: refused before anything runs. */
function checkExploreFlags(o: ExploreFlags): void {
  if (o.strategy === 'bfs' && (o.shard || o.workers > 1 || o.sleepSets)) {
    const flag = o.shard ? '--shard' : o.workers > 1 ? '--workers' : '--sleep-sets';
    throw new ScenarioError('thpsim explore', flag, 'the bfs runs in one thread, without sleep sets: level after level, each state expanded by the one search that reached it first (dfs takes --workers and --sleep-sets)');
  }
  if ((o.strategy === 'dfs' || o.strategy === 'coverage') && o.shard) {
    throw new ScenarioError('thpsim explore', `--strategy ${o.strategy}`, `${o.strategy} runs on one machine: each schedule depends on the ones before it (--shard is for random and pct; dfs takes --workers)`);
  }
  if (o.strategy === 'coverage' && o.workers > 1) {
    throw new ScenarioError('thpsim explore', '--strategy coverage', 'coverage runs in one thread: each schedule is steered by the ones before it (--workers is for random, pct and dfs)');
  }
  if (o.strategy === 'dfs' && o.workers > 1 && o.sleepSets) {
    throw new ScenarioError('thpsim explore', '--sleep-sets', 'a parallel dfs (--workers) runs without sleep sets');
  }
  if (o.preemptionBound !== undefined) {
    if (o.strategy !== 'dfs') throw new ScenarioError('thpsim explore', '--preemption-bound', `bounds the dfs: use it with --strategy dfs (not ${o.strategy})`);
    if (o.sleepSets) throw new ScenarioError('thpsim explore', '--preemption-bound', 'a preemption-bounded dfs runs without sleep sets (together they can miss schedules within the bound)');
  }
  const cores = availableParallelism();
  if (o.workers > cores && !o.forceWorkers) {
    throw new ScenarioError('thpsim explore', '--workers', `${o.workers} is more than this machine's ${cores} cores: expected at most ${cores} (--force-workers runs more anyway)`);
  }
  // (one thread's table grows as states are found; the workers' shared one is laid out whole at the start)
  if (o.strategy === 'dfs' && o.workers > 1) {
    const bytes = SharedVisitedStates.bytesFor(o.maxStates, o.preemptionBound !== undefined);
    if (bytes > totalmem() / 2) {
      const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;
      throw new ScenarioError('thpsim explore', '--max-states', `a dfs over worker threads lays out its visited-state table for every state at the start: ${o.maxStates.toLocaleString('en-US')} states need ${gib(bytes)}, more than half this machine's ${gib(totalmem())}; expected fewer states with --workers`);
    }
  }
}

async function exploreCommand(file: string, o: ExploreFlags): Promise<number> {
  const raw = await readScenarioData(file);
  const scenario = await validateScenario(raw, file);
  checkExploreFlags(o);
  await prepareDirectory(o.out, '--out');
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  const t0 = performance.now();
  let lastReport = t0;
  const tty = process.stderr.isTTY === true;
  const replays = new ReplayWriter(o.out, file, o.strategy, raw);
  const shard = o.shard ?? { index: 0, count: 1 };
  const mine = Math.ceil(Math.max(0, o.schedules - shard.index) / shard.count);
  // on a terminal a progress bar (random, pct) or a line redrawn in place (dfs, bfs);
  // otherwise a plain line every 5 s
  const search = o.strategy === 'dfs' || o.strategy === 'bfs';
  const bar = tty && !search
    ? new SingleBar({
      stream: process.stderr,
      format: 'explore [{bar}] {value}/{total} schedules | {rate}/s | eta {eta_formatted} | {found} counterexamples',
      hideCursor: true, etaBuffer: 200,
    }, Presets.shades_classic)
    : null;
  bar?.start(mine, 0, { rate: 0, found: 0 });
  const progress = (done: number, states?: number, found = 0) => {
    if (bar) {
      bar.update(done, { rate: (done / ((performance.now() - t0) / 1000)).toFixed(0), found });
      return;
    }
    const now = performance.now();
    if (now - lastReport < (tty ? 200 : 5000) && (search || done !== mine)) return;
    lastReport = now;
    const rate = done / ((now - t0) / 1000);
    const eta = (mine - done) / Math.max(rate, 1e-9);
    const line = search
      ? `explore: ${o.strategy} ${states === undefined ? '' : `${states} states, `}${done} nodes (${rate.toFixed(0)}/s), ${found} counterexamples`
      : `explore: ${done}/${mine} schedules, ${rate.toFixed(0)}/s, eta ${eta.toFixed(0)}s, ${found} counterexamples`;
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  };
  const options: ExploreOptions = {
    strategy: o.strategy, schedules: o.schedules, seed: o.seed, maxSteps: o.maxSteps, depth: o.depth,
    stopOnFirst: o.stopOnFirst, shrinkBudget: o.shrink, maxStates: o.maxStates, shard: o.shard, timeBudgetMs: o.timeBudget,
    sleepSets: o.sleepSets, preemptionBound: o.preemptionBound,
  };
  let r: ExploreResult;
  if (o.workers > 1) {
    let done = 0;
    r = await exploreInWorkers(scenario, { raw, file }, options, o.workers, {
      signal: ac.signal, clock: wallClock, onProgress: (n, states, found) => progress((done += n), states, found),
    });
    for (const c of r.counterexamples) replays.write(c);
  } else {
    r = await exploreAsync(scenario, {
      ...options, signal: ac.signal, onCounterexample: (c) => replays.write(c), clock: wallClock,
      onProgress: (done, res) => progress(done, res.states, res.counterexamples.length),
    });
  }
  if (bar) bar.stop();
  else if (tty) process.stderr.write('\n');
  process.removeListener('SIGINT', onInt);
  const files = await replays.finish();
  const secs = (performance.now() - t0) / 1000;
  if (o.json) {
    const body = {
      exploration: explorationOf(scenario, r, o), ...r,
      counterexamples: r.counterexamples.map((c, i) => ({ ...c, ...(files[i] ? { replay_file: files[i] } : {}) })),
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else process.stdout.write(`${exploreSummary(r, files, secs, o.coverage === true)}\n`);
  return r.counterexamples.length ? 1 : ac.signal.aborted ? 130 : 0;
}

/** Registers `explore`; `setCode` receives the exit status. */
export function registerExplore(program: Command, setCode: (code: number) => void): void {
  program
    .command('explore')
    .description('run many schedules of a scenario under a search strategy; write each violation as a minimised replay file')
    .argument('<scenario>', 'scenario file (.yaml, .yml or .json)')
    .option('--strategy <s>', 'random (uniform among runnable actors), pct (probabilistic concurrency testing), coverage (steered toward the steps not yet taken), dfs (every interleaving, visited states pruned) or bfs (the same, depth by depth: the shortest counterexamples first)', (v) => {
      if (v !== 'random' && v !== 'pct' && v !== 'coverage' && v !== 'dfs' && v !== 'bfs') throw new InvalidArgumentError(`expected random, pct, coverage, dfs or bfs, got '${v}'`);
      return v;
    }, 'random')
    .option('--schedules <n>', 'number of schedules', intArg('number of schedules', { min: 1 }), 1000)
    .option('--seed <n>', 'base seed: schedule i runs with seed+i (default: the scenario\'s)', intArg('seed', { max: SEED_MAX }))
    .option('--max-steps <n>', 'step bound per schedule (default: the scenario\'s max_steps)', intArg('step bound', { min: 1 }))
    .option('--time-budget <duration>', 'stop starting schedules after this long (90s, 5m, 1h); the summary says so', parseDuration)
    .option('--sleep-sets', 'dfs: skip a step where an independent reordering of it already ran (fewer transitions, slower: each step\'s footprint is recorded)')
    .option('--no-sleep-sets', 'dfs: run every step at every state (the default)')
    .option('--max-states <n>', 'dfs, bfs: stop after this many distinct states', intArg('number of states', { min: 1 }), 1_000_000)
    .option('--preemption-bound <k>', 'dfs: only the schedules with at most k preemptions (a switch away from an actor that could still step; CHESS): complete within the bound far sooner', intArg('preemption bound'))
    .option('--depth <d>', 'PCT bug depth (d-1 priority change points)', intArg('depth', { min: 1, max: PCT_MAX_DEPTH }), 3)
    .option('--out <dir>', 'directory for the counterexamples\' replay files', 'counterexamples')
    .option('--stop-on-first', 'stop at the first counterexample')
    .option('--shrink <n>', 'candidate runs spent minimising each counterexample (0: keep as found)', intArg('shrink budget'), 2000)
    .option('--coverage', 'list every atomic step no schedule took')
    .option('--workers <n>', 'worker threads: random and pct split the schedules, dfs shares its visited states (a complete search gives the same result as one)', intArg('number of workers', { min: 1 }), 1)
    .option('--force-workers', 'allow --workers above this machine\'s cores')
    .option('--shard <i/n>', 'run only schedules j with j mod n = i (i may be env: JOB_COMPLETION_INDEX); combine the --json results with thpsim merge', parseShard)
    .option('--json', 'print the result as JSON (thpsim merge combines shards\' results)')
    .action(async (file: string, o: ExploreFlags) => {
      setCode(await exploreCommand(file, o));
    });
}
