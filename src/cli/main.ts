/**
 * The thpsim command line. Errors in what the user gave (a scenario, a replay file, an
 * option) are one line naming the file, the field and what was expected, and exit 2;
 * a run whose verdict is not ok exits 1.
 */
import { Command, InvalidArgumentError, CommanderError } from 'commander';
import { ScenarioError, readScenarioData, validateScenario } from '../scenario/load.ts';
import { type Engine, run } from '../sched/run.ts';
import { summary, toJson } from './report.ts';
import { readReplay, writeReplay } from './replay.ts';
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
