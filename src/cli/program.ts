/**
 * The thpsim command line. Errors in what the user gave (a scenario, a replay file, an
 * option) are one line naming the file, the field and what was expected, and exit 2;
 * a run whose verdict is not ok exits 1.
 */
import { Command, CommanderError } from 'commander';
import { ScenarioError, loadPluginFiles, printable } from '../scenario/load.ts';
import { collect } from './args.ts';
import { allActorKinds, allMonitors, allVariants } from '../registry.ts';
import { MODEL_INVARIANTS, VERDICTS } from '../check/model_invariants.ts';
import { registerRun } from './run.ts';
import { registerExplore } from './explore.ts';
import { registerMerge } from './merge.ts';
import { registerInspect } from './inspect.ts';
import { registerExport } from './export.ts';
import { thpsimVersion } from '../version.ts';

function listCommand(): void {
  const out: string[] = ['actor kinds:'];
  for (const k of allActorKinds()) out.push(`  ${k.kind.padEnd(26)} ${k.description}`);
  out.push('', 'variants:');
  for (const v of allVariants()) out.push(`  ${v.name.padEnd(40)} [${v.kind}] ${v.description}`);
  out.push('', 'invariant monitors (checked after every step, or at quiescence):');
  for (const m of allMonitors()) out.push(`  ${m.name.padEnd(22)} ${m.description}`);
  out.push('', 'invariants the model checks as it steps (object charts, page tables, kernel BUG_ONs), and deadlock:');
  for (const [name, what] of Object.entries(MODEL_INVARIANTS)) out.push(`  ${name.padEnd(22)} ${what}`);
  out.push('', 'verdicts (a run exits 0 on ok, 1 on any other):');
  for (const [name, what] of Object.entries(VERDICTS)) out.push(`  ${name.padEnd(22)} ${what}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** The command `argv` names as far as it goes: `thpsim export` for `export`, the program for none. */
function commandNamed(program: Command, argv: readonly string[]): Command {
  let cmd = program;
  for (const a of argv) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) break;
    cmd = sub;
  }
  return cmd;
}

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const program = new Command('thpsim')
    .description('An executable model of the Linux transparent-huge-page lifecycle')
    .version(`thpsim ${thpsimVersion()}`, '-V, --version', 'print thpsim\'s version')
    .exitOverride()
    .configureOutput({
      // commander's errors, one line each (a suggestion joined on) and escaped: they quote the argument given
      outputError: (s) => process.stderr.write(`${printable(s.trim().replace(/\s*\n\s*/g, ' '))}\n`),
      // the usage commander prints when no command is named: replaced by one line, below
      writeErr: () => {},
    });
  registerRun(program, (c) => (code = c));
  registerExplore(program, (c) => (code = c));
  registerMerge(program, (c) => (code = c));
  program
    .command('list')
    .description('list the actor kinds, variants, every invariant a run can report, and the verdicts')
    .option('--plugin <file>', 'import an extension first (repeatable): its actor kinds, variants and monitors are listed too', collect, [])
    .action(async (o: { plugin: string[] }) => {
      await loadPluginFiles(o.plugin, 'thpsim list');
      listCommand();
    });
  registerInspect(program, (c) => (code = c));
  registerExport(program, (c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError && e.code === 'commander.help' && e.exitCode !== 0) {
      const cmd = commandNamed(program, argv);
      const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
      process.stderr.write(`thpsim: ${cmd === program ? 'thpsim' : `thpsim ${cmd.name()}`}: <command>: expected one of ${names.join(', ')} (--help describes them)\n`);
      return 2;
    }
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof ScenarioError) {
      process.stderr.write(`thpsim: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  return code;
}
