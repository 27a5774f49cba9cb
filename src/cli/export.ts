/**
 * `thpsim export`: a statechart as Mermaid / SCXML / JSON, a run as a Perfetto trace or
 * as the ftrace-like lines `thpsim run --trace` prints (docs/exports.md).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { CHART_FORMATS, type ChartFormat, exportChart } from '../export/chart.ts';
import { chartByName, namedCharts } from '../export/machines.ts';
import { perfettoJson, perfettoTrace } from '../export/perfetto.ts';
import { ScenarioError, loadPluginFiles } from '../scenario/load.ts';
import { run } from '../sched/run.ts';
import { readRunInput, reportMismatch } from './replay.ts';
import { prepareFile, writeOutput } from './files.ts';
import { collect, intArg, stepBound } from './args.ts';
import { SEED_MAX } from '../scenario/schema.ts';

const TRACE_FORMATS = ['perfetto', 'ftrace'] as const;
type TraceFormat = (typeof TRACE_FORMATS)[number];

const oneOf = <T extends string>(values: readonly T[]) => (v: string): T => {
  if (!values.includes(v as T)) throw new InvalidArgumentError(`expected ${values.join(', ')}; got '${v}'`);
  return v as T;
};

async function emit(text: string, file: string | undefined): Promise<void> {
  if (file) await writeOutput(file, text, '--output');
  else process.stdout.write(text);
}

interface ChartFlags {
  format: ChartFormat;
  output?: string;
  plugin: string[];
}

async function chartCommand(machine: string, o: ChartFlags): Promise<number> {
  // an extension's charts, and what it adds to the built-in ones, are drawn like theirs
  await loadPluginFiles(o.plugin, 'thpsim export chart');
  const src = chartByName(machine);
  if (!src) {
    throw new ScenarioError('thpsim export chart', '<machine>', `expected one of ${namedCharts().map((c) => c.name).join(', ')}; got '${machine}'`);
  }
  if (o.output) await prepareFile(o.output, '--output');
  await emit(exportChart(src, o.format), o.output);
  return 0;
}

interface TraceFlags {
  format: TraceFormat;
  output?: string;
  seed?: number;
  maxSteps?: number;
  allowPlugins?: boolean;
}

/**
 * The most steps a trace is written for: it is built in memory, some 20–25 MB a 100,000
 * steps of a busy run, and a scenario's step bound may be 10^12.
 */
const TRACE_MAX_STEPS = 1_000_000;

/** The trace of the run; a replay that does not reproduce what its file recorded is written, said so, and exits 1. */
async function traceCommand(file: string, o: TraceFlags): Promise<number> {
  const bound = stepBound('thpsim export trace', o.maxSteps, TRACE_MAX_STEPS, 'a trace is built in memory', 'the trace is of');
  const input = await readRunInput(file, o.seed, { allowPlugins: o.allowPlugins });
  if (o.output) await prepareFile(o.output, '--output');
  const { maxSteps, note } = bound(input.scenario.max_steps);
  let result;
  if (o.format === 'perfetto') {
    const { trace, result: r } = perfettoTrace(input.scenario, { seed: input.seed, schedule: input.schedule, maxSteps });
    await emit(perfettoJson(trace), o.output);
    result = r;
  } else {
    const lines: string[] = [];
    result = run(input.scenario, { seed: input.seed, schedule: input.schedule, maxSteps, trace: (l) => lines.push(l) });
    await emit(lines.length ? `${lines.join('\n')}\n` : '', o.output);
  }
  note(result.verdict);
  return reportMismatch(input.replay, result) ? 1 : 0;
}

/** Registers `export chart` and `export trace`; `setCode` receives the exit status. */
export function registerExport(program: Command, setCode: (code: number) => void): void {
  const exp = program.command('export').description('write a statechart (Mermaid, SCXML, JSON) or a run\'s trace (Perfetto, ftrace)');
  exp
    .command('chart')
    .description('write a statechart: an object chart (page, pmd, mm_struct) or an actor kind\'s task chart')
    .argument('<machine>', 'page, pmd, mm_struct, or an actor kind (a wrong name lists them all)')
    .requiredOption('--format <format>', `${CHART_FORMATS.join(', ')}`, oneOf(CHART_FORMATS))
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .option('--plugin <file>', 'import an extension first (repeatable): its actor kinds\' charts, and what it adds to the object charts', collect, [])
    .action(async (machine: string, o: ChartFlags) => {
      setCode(await chartCommand(machine, o));
    });
  exp
    .command('trace')
    .description('run a scenario (or replay a replay file) and write its trace: Perfetto JSON (ui.perfetto.dev) or ftrace-like lines')
    .argument('<file>', 'scenario file (.yaml, .yml, .json) or replay file (.replay.json)')
    .requiredOption('--format <format>', `${TRACE_FORMATS.join(', ')}`, oneOf(TRACE_FORMATS))
    .option('-o, --output <file>', 'write to FILE instead of stdout')
    .option('--seed <n>', 'scheduler seed (default: the scenario\'s)', intArg('seed', { max: SEED_MAX }))
    .option('--max-steps <n>', 'step bound, at most 1,000,000 (default: the scenario\'s max_steps, or 1,000,000 if higher)', intArg('step bound', { min: 1 }))
    .option('--allow-plugins', 'a replay file: import the plugins its scenario names (code runs; a replay file runs none otherwise: docs/replay.md)')
    .action(async (file: string, o: TraceFlags) => {
      setCode(await traceCommand(file, o));
    });
}
