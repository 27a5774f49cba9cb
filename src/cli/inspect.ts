/**
 * `thpsim inspect <scenario | replay file>`: records the run, lays out the charts and
 * serves the inspector page on loopback until Ctrl-C (docs/inspect.md).
 */
import type { Command } from 'commander';
import { ScenarioError, loadPluginFiles } from '../scenario/load.ts';
import { readRunInput, reportMismatch } from './replay.ts';
import { collect, intArg, stepBound } from './args.ts';
import { SEED_MAX } from '../scenario/schema.ts';
import { isLoopback, startServer } from '../inspect/server.ts';
import { run } from '../sched/run.ts';

/**
 * The most steps the page holds: it is sent every step of the run (its events, each actor's
 * state, the memory it touched) — 200,000 steps are some 35 MB of it; a million took 1.2 GB
 * to record and 180 MB to send, and a scenario's default step bound is a million.
 */
const INSPECT_MAX_STEPS = 200_000;

interface InspectFlags {
  port: number;
  host: string;
  seed?: number;
  maxSteps?: number;
  stately?: string | true;
  allowPlugins?: boolean;
  plugin: string[];
}

async function inspectCommand(file: string, o: InspectFlags): Promise<number> {
  if (!isLoopback(o.host)) {
    throw new ScenarioError('thpsim inspect', '--host', `${o.host} is not a loopback address (127.0.0.0/8, ::1, localhost): the inspector is served to this machine only`);
  }
  // before the scenario, which may name what they register (actor kinds, variants)
  await loadPluginFiles(o.plugin, 'thpsim inspect');
  const bound = stepBound('thpsim inspect', o.maxSteps, INSPECT_MAX_STEPS, 'the page holds every step of the run', 'the page shows');
  const { scenario, seed, schedule, replay } = await readRunInput(file, o.seed, { allowPlugins: o.allowPlugins });
  const { maxSteps, note } = bound(scenario.max_steps);
  // (loaded here, not when the CLI starts: the chart layout's elkjs alone takes 0.4 s to load)
  const [{ record }, { buildPayload }] = await Promise.all([import('../inspect/record.ts'), import('../inspect/payload.ts')]);
  const rec = record(scenario, { seed, schedule, maxSteps });
  note(rec.verdict);
  const payload = JSON.stringify(await buildPayload(scenario, rec, { removedActors: replay?.removedActors }));
  let server;
  try {
    server = await startServer(payload, o.host, o.port);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new ScenarioError('thpsim inspect', '--port', `cannot listen on ${o.host}:${o.port}: ${err.code ?? err.message}`);
  }
  if (o.stately !== undefined) {
    // the same run again (same seed or schedule) on the XState interpreter, its actors sent to the Stately inspector
    const { statelyInspector } = await import('../inspect/stately.ts');
    const stately = statelyInspector(o.stately === true ? undefined : o.stately);
    process.stderr.write(`thpsim: inspecting in ${stately.where}\n`);
    run(scenario, { seed, schedule, maxSteps, engine: 'xstate', inspect: stately.inspect });
    stately.stop().catch((e: Error) => process.stderr.write(`thpsim: --stately: ${e.message}\n`));
  }
  const mismatch = reportMismatch(replay, { verdict: rec.verdict, violations: rec.violations, divergence: rec.divergence });
  const v = rec.violations[0];
  process.stdout.write(
    `thpsim inspect: ${rec.scenario} (seed ${rec.seed}${schedule ? ', replayed' : ''}): ${rec.verdict} after ${rec.steps} steps${v ? ` — ${v.invariant} at step ${v.step}` : ''}\n` +
    `${server.url}\n(Ctrl-C stops the server)\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      void server.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return mismatch ? 1 : 0;
}

export function registerInspect(program: Command, setCode: (code: number) => void): void {
  program
    .command('inspect')
    .description('serve a web page that steps through a run (scenario or replay file): charts, memory map, events')
    .argument('<file>', 'scenario file (.yaml, .yml, .json) or replay file (.replay.json)')
    .option('--port <n>', 'TCP port (0: one the OS picks)', intArg('port', { max: 65535 }), 0)
    .option('--host <h>', 'loopback address to bind: 127.0.0.0/8, ::1 or localhost', '127.0.0.1')
    .option('--seed <n>', 'scheduler seed (default: the scenario\'s)', intArg('seed', { max: SEED_MAX }))
    .option('--max-steps <n>', 'step bound, at most 200,000 (default: the scenario\'s max_steps, or 200,000 if higher)', intArg('step bound', { min: 1 }))
    .option('--allow-plugins', 'a replay file: import the plugins its scenario names (code runs; a replay file runs none otherwise: docs/replay.md)')
    .option('--plugin <file>', 'import an extension first (repeatable), as a scenario\'s plugins are: its charts are drawn, its commands named', collect, [])
    .option('--stately [url]', 'also show the run in the Stately inspector (@statelyai/inspect): a ws:// inspector server, or Stately Sky without a URL')
    .action(async (file: string, o: InspectFlags) => {
      setCode(await inspectCommand(file, o));
    });
}
