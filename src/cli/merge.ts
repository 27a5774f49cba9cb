/**
 * `thpsim merge`: the --json results of the shards of one exploration, combined. Each
 * result carries what identifies its exploration (`exploration`: the scenario's hash, the
 * strategy, seed, schedules, step bound, PCT depth and shrink budget, and its shard i/n);
 * a merge takes only the n distinct shards of one exploration, each once, and names the
 * input that breaks that.
 */
import type { Command } from 'commander';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { ScenarioError, schemaError } from '../scenario/load.ts';
import { type Scenario, arrayOf } from '../scenario/schema.ts';
import { type Counterexample, type ExploreResult, mergeResults } from '../explore/explore.ts';
import { counts as countsRecord } from '../explore/merge_results.ts';
import { exploreSummary } from './explore.ts';

const count = z.number().int().nonnegative();
/**
 * Counts by name, every key kept as given: z.record assigns each key into a plain object, so
 * a "__proto__" key was dropped (a merge then summed without it, silently). Into an object
 * with no prototype (explore.ts counts()).
 */
const counts = z.unknown().transform((v, ctx): Record<string, number> => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    ctx.addIssue({ code: 'custom', message: `Invalid input: expected record, received ${v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v}` });
    return z.NEVER;
  }
  const out = countsRecord();
  for (const [k, x] of Object.entries(v)) {
    const r = count.safeParse(x);
    if (!r.success) {
      for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [k, ...issue.path] });
      return z.NEVER;
    }
    out[k] = r.data;
  }
  return out;
});
const shardSchema = z.strictObject({ index: count, count: z.number().int().positive() }).refine((s) => s.index < s.count, 'expected index < count');

/** What identifies an exploration: two results merge only if these agree (but the shard). */
const explorationSchema = z.strictObject({
  scenario_hash: z.string().regex(/^[0-9a-f]{16}$/, 'expected 16 hex digits'),
  strategy: z.enum(['random', 'pct', 'coverage', 'dfs', 'bfs']),
  seed: count,
  schedules: count,
  max_steps: z.number().int().positive(),
  depth: z.number().int().positive().optional(),
  shrink: count,
  shard: shardSchema.optional(),
});
export type Exploration = z.output<typeof explorationSchema>;

/** A `thpsim explore --json` result as merge reads it: every field it adds up, typed. */
const resultSchema = z.looseObject({
  exploration: explorationSchema,
  scenario: z.string(),
  strategy: z.enum(['random', 'pct', 'coverage', 'dfs', 'bfs']),
  seed: count,
  schedules: count,
  distinctTraces: count,
  traceHashes: arrayOf(z.string()),
  shard: shardSchema.optional(),
  verdicts: counts,
  violations: counts,
  outcomes: counts,
  scanResults: counts,
  contention: counts,
  blocked: counts.optional(),
  counterexamples: arrayOf(z.looseObject({
    verdict: z.string(),
    violation: z.looseObject({ invariant: z.string(), message: z.string() }),
    // (a result written before sites were kept has none: one counterexample per invariant)
    site: z.string().optional(),
    seed: count,
    decisions: arrayOf(z.looseObject({ actor: z.string(), state: z.string() })),
    replay_file: z.string().optional(),
  })),
  stopped: z.boolean(),
  stopReason: z.string().optional(),
  coverage: z.record(z.string(), z.strictObject({ reached: count, steps: count, missed: arrayOf(z.string()) })),
});

/** JSON with its keys sorted at every level: the same data, the same text. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The identity `thpsim explore --json` writes with its result. */
export function explorationOf(
  scenario: Scenario, r: ExploreResult,
  o: { schedules: number; maxSteps?: number; depth: number; shrink: number; shard?: { index: number; count: number } },
): Exploration {
  return {
    scenario_hash: createHash('sha256').update(canonical(scenario)).digest('hex').slice(0, 16),
    strategy: r.strategy, seed: r.seed, schedules: o.schedules, max_steps: o.maxSteps ?? scenario.max_steps,
    ...(r.strategy === 'pct' ? { depth: o.depth } : {}),
    shrink: o.shrink,
    ...(o.shard ? { shard: o.shard } : {}),
  };
}

type Part = z.output<typeof resultSchema> & { file: string };

async function readResult(file: string): Promise<Part> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ScenarioError(file, '', code === 'ENOENT' ? 'no such file' : code ? `cannot read: ${(e as Error).message}` : `not a thpsim explore --json result: ${(e as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ScenarioError(file, '', 'not a thpsim explore --json result: expected an object');
  if (!('exploration' in data)) throw new ScenarioError(file, 'exploration', 'not a thpsim explore --json result (or one from before merge checked its inputs): expected this field');
  const r = resultSchema.safeParse(data);
  if (!r.success) {
    throw schemaError(r.error.issues[0]!, file);
  }
  return { ...r.data, file };
}

/** A result's own numbers agree with each other (a hand-edited one may not). */
function checkConsistent(p: Part): void {
  const e = p.exploration;
  const bad = (field: string, what: string) => new ScenarioError(p.file, field, what);
  if (p.strategy !== e.strategy || p.seed !== e.seed) throw bad('strategy', `the result and its exploration disagree (${p.strategy}, seed ${p.seed} vs ${e.strategy}, seed ${e.seed})`);
  const verdicts = Object.values(p.verdicts).reduce((a, b) => a + b, 0);
  if (verdicts !== p.schedules) throw bad('verdicts', `add up to ${verdicts}, but the result has ${p.schedules} schedules (one verdict each)`);
  if (e.shard) {
    const share = Math.ceil(Math.max(0, e.schedules - e.shard.index) / e.shard.count);
    if (p.schedules > share || (p.schedules < share && !p.stopped)) {
      throw bad('schedules', `shard ${e.shard.index}/${e.shard.count} of ${e.schedules} schedules runs ${share}${p.stopped ? ' at most' : ''}, not ${p.schedules}`);
    }
  }
  if (p.traceHashes.length !== p.distinctTraces || p.distinctTraces > p.schedules) {
    throw bad('distinctTraces', `expected the number of traceHashes (${p.traceHashes.length}), at most the ${p.schedules} schedules`);
  }
}

/** The inputs are the n shards of one exploration, each once: or the error naming the input that is not. */
function checkShards(parts: Part[]): void {
  const first = parts[0]!;
  const id = (e: Exploration) => ({ ...e, shard: undefined });
  for (const p of parts) {
    if (p.strategy === 'dfs' || p.strategy === 'bfs' || p.strategy === 'coverage') {
      throw new ScenarioError(p.file, 'strategy', `a ${p.strategy} exploration runs on one machine, unsharded: there is nothing to merge it with`);
    }
    if (!p.exploration.shard) {
      throw new ScenarioError(p.file, 'exploration.shard', 'a whole exploration (explore without --shard): expected the results of explore --shard i/n');
    }
    const [a, b] = [id(p.exploration), id(first.exploration)];
    const key = (Object.keys(a) as (keyof Exploration)[]).find((k) => a[k] !== b[k]) ?? (Object.keys(b) as (keyof Exploration)[]).find((k) => a[k] !== b[k]);
    if (key) {
      throw new ScenarioError(p.file, `exploration.${key}`, `${a[key] ?? 'none'}, but ${first.file} has ${b[key] ?? 'none'}: the shards of one exploration share the scenario, strategy, seed, schedules, max_steps, depth and shrink`);
    }
    if (p.exploration.shard.count !== first.exploration.shard!.count) {
      throw new ScenarioError(p.file, 'exploration.shard', `shard ${p.exploration.shard.index}/${p.exploration.shard.count}, but ${first.file} is ${first.exploration.shard!.index}/${first.exploration.shard!.count}: expected the shards of one split`);
    }
  }
  const n = first.exploration.shard!.count;
  const byIndex = new Map<number, Part>();
  for (const p of parts) {
    const i = p.exploration.shard!.index;
    const again = byIndex.get(i);
    if (again) throw new ScenarioError(p.file, 'exploration.shard', `shard ${i}/${n} again (${again.file} is shard ${i}/${n} too): expected each shard once`);
    byIndex.set(i, p);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) {
    throw new ScenarioError('thpsim merge', '<results>', `shard${missing.length > 1 ? 's' : ''} ${missing.slice(0, 10).map((i) => `${i}/${n}`).join(', ')}${missing.length > 10 ? ', …' : ''} missing: expected all ${n} shards of the exploration`);
  }
}

async function mergeCommand(inputs: string[], o: { json?: boolean; coverage?: boolean }): Promise<number> {
  const parts: Part[] = [];
  for (const f of inputs) {
    const p = await readResult(f);
    checkConsistent(p);
    parts.push(p);
  }
  checkShards(parts);
  // (the schema checked every field merging reads; the rest of a result is carried as it is)
  const r = mergeResults(parts as unknown as ExploreResult[]);
  const { shard: _, ...exploration } = parts[0]!.exploration;
  const files = r.counterexamples.map((c) => (c as Counterexample & { replay_file?: string }).replay_file ?? '');
  if (o.json) process.stdout.write(`${JSON.stringify({ exploration, ...r }, null, 2)}\n`);
  else process.stdout.write(`${exploreSummary(r, files, 0, o.coverage === true)}\n`);
  return r.counterexamples.length ? 1 : 0;
}

/** Registers `merge`; `setCode` receives the exit status. */
export function registerMerge(program: Command, setCode: (code: number) => void): void {
  program
    .command('merge')
    .description('combine the --json results of the n shards of one exploration (explore --shard i/n), each once')
    .argument('<results...>', 'thpsim explore --json output files')
    .option('--coverage', 'list every atomic step no schedule took')
    .option('--json', 'print the merged result as JSON')
    .action(async (inputs: string[], o: { json?: boolean; coverage?: boolean }) => {
      setCode(await mergeCommand(inputs, o));
    });
}
