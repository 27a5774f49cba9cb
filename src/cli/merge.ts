/** `thpsim merge`: the --json results of the shards of one exploration, combined. */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { ScenarioError } from '../scenario/load.ts';
import { type Counterexample, type ExploreResult, mergeResults } from '../explore/explore.ts';
import { exploreSummary } from './explore.ts';

async function mergeCommand(inputs: string[], o: { json?: boolean; coverage?: boolean }): Promise<number> {
  const parts: ExploreResult[] = [];
  for (const f of inputs) {
    let data: ExploreResult;
    try {
      data = JSON.parse(await readFile(f, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ScenarioError(f, '', code === 'ENOENT' ? 'no such file' : `not a thpsim explore --json result: ${(e as Error).message}`);
    }
    for (const key of ['scenario', 'strategy', 'seed', 'schedules', 'traceHashes', 'verdicts', 'outcomes', 'scanResults', 'contention', 'counterexamples', 'coverage'] as const) {
      if (data === null || typeof data !== 'object' || !(key in data)) throw new ScenarioError(f, key, 'expected a thpsim explore --json result with this field');
    }
    parts.push(data);
  }
  let r: ExploreResult;
  try {
    r = mergeResults(parts);
  } catch (e) {
    throw new ScenarioError(inputs.join(', '), '', (e as Error).message);
  }
  const files = r.counterexamples.map((c) => (c as Counterexample & { replay_file?: string }).replay_file ?? '');
  if (o.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
  else process.stdout.write(`${exploreSummary(r, files, 0, o.coverage === true)}\n`);
  return r.counterexamples.length ? 1 : 0;
}

/** Registers `merge`; `setCode` receives the exit status. */
export function registerMerge(program: Command, setCode: (code: number) => void): void {
  program
    .command('merge')
    .description('combine the --json results of the shards of one exploration')
    .argument('<results...>', 'thpsim explore --json output files')
    .option('--coverage', 'list every atomic step no schedule took')
    .option('--json', 'print the merged result as JSON')
    .action(async (inputs: string[], o: { json?: boolean; coverage?: boolean }) => {
      setCode(await mergeCommand(inputs, o));
    });
}
