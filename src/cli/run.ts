/** `thpsim run`: one run of a scenario, or the replay of a recorded schedule. */
import { type Command, InvalidArgumentError } from 'commander';
import { ScenarioError, readScenarioData, validateScenario } from '../scenario/load.ts';
import { type Engine, runInChunks } from '../sched/run.ts';
import { type RunReport, summary, toJson } from './report.ts';
import { type Replay, readReplay, reportMismatch, writeReplay } from './replay.ts';
import { prepareFile } from './files.ts';
import { intArg } from './args.ts';
import { SEED_MAX } from '../scenario/schema.ts';

/** The longest run whose decisions `--save-replay` or `--json --schedule` keeps (each a reference: 8 bytes a step, and an array V8 can still grow). */
const MAX_RECORDED_STEPS = 50_000_000;

interface RunFlags {
  seed?: number;
  json?: boolean;
  trace?: boolean;
  engine: Engine;
  replay?: string;
  saveReplay?: string;
  allowPlugins?: boolean;
  maxSteps?: number;
  schedule?: boolean;
  stately?: string | true;
}

/** What a replay fixes cannot also be given: refused, never silently ignored. */
function checkReplayFlags(file: string | undefined, o: RunFlags): void {
  if (!o.replay) {
    if (o.allowPlugins) throw new ScenarioError('thpsim run', '--allow-plugins', 'is for --replay (a scenario file\'s own plugins are always loaded)');
    return;
  }
  const refuse = (flag: string, why: string) => new ScenarioError('thpsim run', flag, `${why}; expected no ${flag} with --replay`);
  if (file !== undefined) throw refuse('<scenario>', `--replay ${o.replay} runs the scenario the replay file holds, not ${file}`);
  if (o.seed !== undefined) throw refuse('--seed', 'a replay file fixes the schedule, and its seed');
  if (o.saveReplay !== undefined) throw refuse('--save-replay', `${o.replay} already holds this run (copy it)`);
}

async function runCommand(file: string | undefined, o: RunFlags): Promise<number> {
  checkReplayFlags(file, o);
  let scenario, seed, decisions, raw: unknown, replay: Replay | undefined;
  if (o.replay) {
    replay = await readReplay(o.replay, { allowPlugins: o.allowPlugins });
    ({ scenario, seed, decisions } = replay);
  } else {
    if (!file) throw new ScenarioError('thpsim run', '<scenario>', 'expected a scenario file (or --replay FILE)');
    raw = await readScenarioData(file);
    scenario = await validateScenario(raw, file);
    seed = o.seed ?? scenario.seed;
  }
  // the decisions are kept only for what prints or saves them: a run may be 10^9 steps long
  const record = o.saveReplay !== undefined || (o.json === true && o.schedule === true);
  const maxSteps = o.maxSteps ?? scenario.max_steps;
  if (record && maxSteps > MAX_RECORDED_STEPS) {
    throw new ScenarioError('thpsim run', o.saveReplay !== undefined ? '--save-replay' : '--schedule',
      `a run of up to ${maxSteps.toLocaleString('en-US')} steps (max_steps) cannot be kept decision by decision: expected max_steps or --max-steps of at most ${MAX_RECORDED_STEPS.toLocaleString('en-US')} with it`);
  }
  if (o.saveReplay) await prepareFile(o.saveReplay, '--save-replay');
  const lines: string[] = [];
  // the Stately inspector shows XState actors: --stately runs the xstate engine
  // (@statelyai/inspect is loaded only when asked for: it is a tenth of a second of the CLI's start)
  const stately = o.stately === undefined ? undefined : (await import('../inspect/stately.ts')).statelyInspector(o.stately === true ? undefined : o.stately);
  if (stately) process.stderr.write(`thpsim: inspecting in ${stately.where}\n`);
  // in chunks, so Ctrl-C stops a long run and prints where it got to, and a run of more
  // than a second says how far it is (on stderr)
  const ac = new AbortController();
  const onInt = () => ac.abort();
  process.once('SIGINT', onInt);
  const t0 = performance.now();
  const tty = process.stderr.isTTY === true;
  // (the first line after a second, then every 0.2 s on a terminal, every 5 s otherwise)
  let shown = -Infinity;
  let drawn = false;
  const r = await runInChunks(scenario, {
    seed, engine: stately ? 'xstate' : o.engine, schedule: decisions, maxSteps: o.maxSteps, inspect: stately?.inspect, record,
    trace: o.trace ? (l) => (o.json ? lines.push(l) : process.stdout.write(`${l}\n`)) : undefined,
  }, {
    signal: ac.signal,
    onProgress: (steps) => {
      const now = performance.now();
      if (now - t0 < 1000 || now - shown < (tty ? 200 : 5000)) return;
      shown = now;
      const line = `run: ${steps.toLocaleString('en-US')} steps, ${Math.round(steps / ((now - t0) / 1000)).toLocaleString('en-US')}/s (Ctrl-C stops it and prints the run so far)`;
      process.stderr.write(tty ? `\r${line}` : `${line}\n`);
      drawn = true;
    },
  });
  process.removeListener('SIGINT', onInt);
  if (drawn && tty) process.stderr.write('\n');
  const { interrupted } = r;
  if (o.json) {
    const body: RunReport & { trace?: string[] } = toJson(r, o.schedule === true, interrupted);
    if (o.trace) body.trace = lines;
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  } else {
    process.stdout.write(`${summary(r, interrupted)}\n`);
    if (interrupted) {
      process.stdout.write(`\nthe same run to this point: thpsim run ${o.replay ? `--replay ${o.replay}` : `${file} --seed ${r.seed}`} --max-steps ${r.steps}\n`);
    } else if (r.verdict !== 'ok' && r.verdict !== 'divergence' && !o.replay) {
      process.stdout.write(
        `\nreproduce: thpsim run ${file} --seed ${r.seed}${o.saveReplay ? `   (replay file: ${o.saveReplay}; thpsim run --replay ${o.saveReplay})` : '   (add --save-replay FILE to keep the schedule)'}\n`,
      );
    }
  }
  if (o.saveReplay && !interrupted) await writeReplay(o.saveReplay, '--save-replay', file!, raw, r);
  if (interrupted) {
    if (o.saveReplay) process.stderr.write(`thpsim: --save-replay: no replay written: the run was interrupted (--max-steps ${r.steps} runs it to this point)\n`);
    await stately?.stop().catch(() => undefined);
    return 130;
  }
  const mismatch = reportMismatch(replay, r);
  await stately?.stop().catch((e: Error) => {
    throw new ScenarioError('thpsim run', '--stately', e.message);
  });
  return r.verdict === 'ok' && !mismatch ? 0 : 1;
}

/** Registers `run`; `setCode` receives the exit status. */
export function registerRun(program: Command, setCode: (code: number) => void): void {
  program
    .command('run')
    .description('run a scenario once (or replay a recorded schedule) with every invariant checked')
    .argument('[scenario]', 'scenario file (.yaml, .yml or .json)')
    .option('--seed <n>', 'scheduler seed (default: the scenario\'s)', intArg('seed', { max: SEED_MAX }))
    .option('--json', 'print the machine-readable result (docs/json.md)')
    .option('--trace', 'print kernel-trace-like lines for every event')
    .option('--schedule', 'with --json: include the scheduler decisions')
    .option('--engine <engine>', 'fast (compiled charts) or xstate (XState interpreter)', (v) => {
      if (v !== 'fast' && v !== 'xstate') throw new InvalidArgumentError(`expected fast or xstate, got '${v}'`);
      return v;
    }, 'fast')
    .option('--replay <file>', 'replay a recorded schedule instead of drawing from the seed')
    .option('--save-replay <file>', 'write this run\'s scenario and schedule as a replay file')
    .option('--allow-plugins', 'with --replay: import the plugins the replay\'s scenario names (code runs; a replay file runs none otherwise: docs/replay.md)')
    .option('--max-steps <n>', 'step bound (default: the scenario\'s max_steps)', intArg('step bound', { min: 1 }))
    .option('--stately [url]', 'show the run in the Stately inspector (@statelyai/inspect): a ws:// inspector server, or Stately Sky without a URL; runs the xstate engine')
    .action(async (file: string | undefined, o: RunFlags) => {
      setCode(await runCommand(file, o));
    });
}
