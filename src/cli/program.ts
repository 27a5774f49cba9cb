/**
 * The thpsim command line. Errors in what the user gave (a scenario, a replay file, an
 * option) are one line naming the file, the field and what was expected, and exit 2;
 * a run whose verdict is not ok exits 1.
 */
import { Command, CommanderError } from 'commander';
import { ScenarioError, printable } from '../scenario/load.ts';
import { allActorKinds, allMonitors, allVariants } from '../registry.ts';
import { registerRun } from './run.ts';
import { registerExplore } from './explore.ts';
import { registerMerge } from './merge.ts';
import { registerInspect } from './inspect.ts';
import { registerExport } from './export.ts';

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
    // (commander's errors quote the argument given: escaped, as every message is)
    .configureOutput({ writeErr: (s) => process.stderr.write(s.split('\n').map((l) => printable(l)).join('\n')) });
  registerRun(program, (c) => (code = c));
  registerExplore(program, (c) => (code = c));
  registerMerge(program, (c) => (code = c));
  program
    .command('list')
    .description('list the registered actor kinds, variants and invariant monitors')
    .action(() => listCommand());
  registerInspect(program, (c) => (code = c));
  registerExport(program, (c) => (code = c));
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
