/**
 * The thpsim command line. Errors in what the user gave (a scenario, a replay file, an
 * option) are one line naming the file, the field and what was expected, and exit 2;
 * a run whose verdict is not ok exits 1.
 */
import { Command, InvalidArgumentError, CommanderError } from 'commander';
import { ScenarioError, readScenarioData, validateScenario } from '../scenario/load.ts';
import { type Engine, run } from '../sched/run.ts';
import { summary, toJson } from './report.ts';
import { readReplay, writeDecisions, writeReplay } from './replay.ts';
import { type Counterexample, type ExploreResult, type Strategy, exploreAsync } from '../explore/explore.ts';
import { mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { allActorKinds, allMonitors, allVariants } from '../registry.ts';

const intArg = (what: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError(`expected a non-negative integer ${what}, got '${v}'`);
  return Number(v);
};

interface RunFlags {
  seed?: number;
  json?: boolean;
  trace?: boolean;
  engine: Engine;
  replay?: string;
  saveReplay?: string;
  maxSteps?: number;
  schedule?: boolean;
}

async function runCommand(file: string | undefined, o: RunFlags): Promise<number> {
  let scenario, seed, decisions, raw: unknown, scenarioFile: string;
  if (o.replay) {
    const rp = await readReplay(o.replay);
    ({ scenario, seed, decisions } = rp);
    scenarioFile = o.replay;
  } else {
    if (!file) throw new ScenarioError('thpsim run', '<scenario>', 'expected a scenario file (or --replay FILE)');
    raw = await readScenarioData(file);
    scenario = await validateScenario(raw, file);
    scenarioFile = file;
    seed = o.seed ?? scenario.seed;
  }
  const lines: string[] = [];
  const r = run(scenario, {
    seed, engine: o.engine, schedule: decisions, maxSteps: o.maxSteps,
    trace: o.trace ? (l) => (o.json ? lines.push(l) : process.stdout.write(`${l}\n`)) : undefined,
  });
  if (o.saveReplay && !o.replay) await writeReplay(o.saveReplay, scenarioFile, raw, r);
  if (o.json) {
    const body = toJson(r, o.schedule === true) as Record<string, unknown>;
    if (o.trace) body.trace = lines;
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(`${summary(r)}\n`);
    if (r.verdict !== 'ok' && r.verdict !== 'divergence' && !o.replay) {
      process.stdout.write(
        `\nreproduce: thpsim run ${file} --seed ${r.seed}${o.saveReplay ? `   (replay file: ${o.saveReplay}; thpsim run --replay ${o.saveReplay})` : '   (add --save-replay FILE to keep the schedule)'}\n`,
      );
    }
  }
  return r.verdict === 'ok' ? 0 : 1;
}

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
}

function exploreSummary(r: ExploreResult, files: string[], secs: number, full: boolean): string {
  const out: string[] = [];
  out.push(r.strategy === 'dfs'
    ? `${r.scenario}: dfs, ${r.schedules} schedules run to their end (the rest pruned at a visited state)${r.stopped ? ' (stopped early)' : ''}, ${r.distinctTraces} distinct traces`
    : `${r.scenario}: ${r.strategy}, ${r.schedules} schedules from seed ${r.seed}${r.stopped ? ' (stopped early)' : ''}, ${r.distinctTraces} distinct traces, ${(r.schedules / Math.max(secs, 1e-3)).toFixed(0)} schedules/s`);
  if (r.strategy === 'dfs') {
    out.push(`dfs: ${r.states} distinct states, ${r.nodes} search nodes, ${((r.states ?? 0) / Math.max(secs, 1e-3)).toFixed(0)} states/s — ${r.complete ? 'complete: every interleaving up to the step bound was covered' : 'NOT complete (stopped at --max-states or interrupted)'}`);
  }
  out.push(`verdicts: ${Object.entries(r.verdicts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (Object.keys(r.violations).length) out.push(`violations by invariant: ${Object.entries(r.violations).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  out.push('outcomes:');
  for (const [k, v] of Object.entries(r.outcomes).sort()) out.push(`  ${k.padEnd(50)} ${v}`);
  out.push('coverage (atomic steps taken by some schedule):');
  for (const [kind, c] of Object.entries(r.coverage)) {
    out.push(`  ${kind.padEnd(24)} ${c.reached}/${c.steps}${c.missed.length ? (full ? '' : '   (--coverage lists the rest)') : ''}`);
    if (full) for (const m of c.missed) out.push(`    never: ${m}`);
  }
  r.counterexamples.forEach((c, i) => {
    out.push(`counterexample: ${c.verdict} ${c.violation.invariant} — ${c.violation.message}`);
    out.push(`  seed ${c.seed}: found in ${c.found.steps} steps / ${c.found.switches} context switches, minimised to ${c.minimised.steps} / ${c.minimised.switches}`);
    if (files[i]) out.push(`  replay: thpsim run --replay ${files[i]}`);
  });
  return out.join('\n');
}

async function exploreCommand(file: string, o: ExploreFlags): Promise<number> {
  const raw = await readScenarioData(file);
  const scenario = await validateScenario(raw, file);
  const files: string[] = [];
  const pending: Promise<void>[] = [];
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  const t0 = performance.now();
  let lastReport = t0;
  const tty = process.stderr.isTTY === true;
  const write = (c: Counterexample) => {
    const name = join(o.out, `${basename(file).replace(/\.(ya?ml|json)$/, '')}.${o.strategy}.seed${c.seed}.${c.violation.invariant}.replay.json`);
    files.push(name);
    pending.push(
      mkdir(o.out, { recursive: true }).then(() =>
        writeDecisions(name, file, raw, { seed: c.seed, engine: 'fast', verdict: c.verdict, violation: c.violation, decisions: c.decisions }),
      ),
    );
  };
  const r = await exploreAsync(scenario, {
    strategy: o.strategy, schedules: o.schedules, seed: o.seed, maxSteps: o.maxSteps, depth: o.depth,
    stopOnFirst: o.stopOnFirst, shrinkBudget: o.shrink, signal: ac.signal, maxStates: o.maxStates,
    onCounterexample: write,
    onProgress: (done, res) => {
      const now = performance.now();
      if (now - lastReport < (tty ? 200 : 5000) && (o.strategy === 'dfs' || done !== o.schedules)) return;
      lastReport = now;
      const rate = done / ((now - t0) / 1000);
      const eta = (o.schedules - done) / Math.max(rate, 1e-9);
      const line = o.strategy === 'dfs'
        ? `explore: dfs ${res.states} states, ${done} nodes (${rate.toFixed(0)}/s), ${res.schedules} complete schedules, ${res.counterexamples.length} counterexamples`
        : `explore: ${done}/${o.schedules} schedules, ${rate.toFixed(0)}/s, eta ${eta.toFixed(0)}s, ${res.counterexamples.length} counterexamples`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
    },
  });
  if (tty) process.stderr.write('\n');
  process.removeListener('SIGINT', onInt);
  await Promise.all(pending);
  const secs = (performance.now() - t0) / 1000;
  if (o.json) {
    const body = {
      ...r,
      counterexamples: r.counterexamples.map((c, i) => ({ ...c, decisions: c.decisions.length, replay_file: files[i] })),
    };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else process.stdout.write(`${exploreSummary(r, files, secs, o.coverage === true)}\n`);
  return r.counterexamples.length ? 1 : ac.signal.aborted ? 130 : 0;
}

function listCommand(): void {
  const out: string[] = ['actor kinds:'];
  for (const k of allActorKinds()) out.push(`  ${k.kind.padEnd(26)} ${k.description}`);
  out.push('', 'variants:');
  for (const v of allVariants()) out.push(`  ${v.name.padEnd(40)} [${v.kind}] ${v.description}`);
  out.push('', 'invariant monitors:');
  for (const m of allMonitors()) out.push(`  ${m.name.padEnd(22)} ${m.description}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('thpsim')
    .description('An executable model of the Linux transparent-huge-page lifecycle')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  program
    .command('run')
    .description('run a scenario once (or replay a recorded schedule) with every invariant checked')
    .argument('[scenario]', 'scenario file (.yaml, .yml or .json)')
    .option('--seed <n>', 'scheduler seed (default: the scenario\'s)', intArg('seed'))
    .option('--json', 'print the machine-readable result (docs/json.md)')
    .option('--trace', 'print kernel-trace-like lines for every event')
    .option('--schedule', 'with --json: include the scheduler decisions')
    .option('--engine <engine>', 'fast (compiled charts) or xstate (XState interpreter)', (v) => {
      if (v !== 'fast' && v !== 'xstate') throw new InvalidArgumentError(`expected fast or xstate, got '${v}'`);
      return v;
    }, 'fast')
    .option('--replay <file>', 'replay a recorded schedule instead of drawing from the seed')
    .option('--save-replay <file>', 'write this run\'s scenario and schedule as a replay file')
    .option('--max-steps <n>', 'step bound (default: the scenario\'s max_steps)', intArg('step bound'))
    .action(async (file: string | undefined, o: RunFlags) => {
      code = await runCommand(file, o);
    });
  program
    .command('explore')
    .description('run many schedules of a scenario under a search strategy; write each violation as a minimised replay file')
    .argument('<scenario>', 'scenario file (.yaml, .yml or .json)')
    .option('--strategy <s>', 'random (uniform among runnable actors), pct (probabilistic concurrency testing) or dfs (every interleaving, visited states pruned)', (v) => {
      if (v !== 'random' && v !== 'pct' && v !== 'dfs') throw new InvalidArgumentError(`expected random, pct or dfs, got '${v}'`);
      return v;
    }, 'random')
    .option('--schedules <n>', 'number of schedules', intArg('number of schedules'), 1000)
    .option('--seed <n>', 'base seed: schedule i runs with seed+i (default: the scenario\'s)', intArg('seed'))
    .option('--max-steps <n>', 'step bound per schedule (default: the scenario\'s max_steps)', intArg('step bound'))
    .option('--max-states <n>', 'dfs: stop after this many distinct states', intArg('number of states'), 1_000_000)
    .option('--depth <d>', 'PCT bug depth (d-1 priority change points)', intArg('depth'), 3)
    .option('--out <dir>', 'directory for the counterexamples\' replay files', 'counterexamples')
    .option('--stop-on-first', 'stop at the first counterexample')
    .option('--shrink <n>', 'candidate runs spent minimising each counterexample (0: keep as found)', intArg('shrink budget'), 2000)
    .option('--coverage', 'list every atomic step no schedule took')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, o: ExploreFlags) => {
      code = await exploreCommand(file, o);
    });
  program
    .command('list')
    .description('list the registered actor kinds, variants and invariant monitors')
    .action(() => listCommand());
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ScenarioError) {
      process.stderr.write(`thpsim: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return code;
}

// `thpsim run --trace | head`: a closed pipe ends the output, not with a stack trace
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2)).catch((e: Error) => {
  process.stderr.write(`thpsim: internal error: ${e.message}\n`);
  return 3;
});
