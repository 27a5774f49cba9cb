/**
 * An exploration over worker threads (`thpsim explore --workers N`): random and pct split
 * the schedule set into shards (one per worker); dfs shares one visited-state table, and
 * workers out of nodes get one from a worker that has some (see DfsWorker in explore.ts,
 * DfsWorkPool). The results
 * are merged into what one worker gives.
 */
import { Worker } from 'node:worker_threads';
import { type ExploreOptions, type ExploreResult, exploreAsync, mergeResults } from './explore.ts';
import { SharedBoundedStates, SharedVisitedStates } from './visited.ts';
import { DfsWorkPool } from './work_pool.ts';
import { workerEntry } from './worker_bundle.ts';
import type { Scenario } from '../scenario/schema.ts';

export interface ParallelHooks {
  /**
   * Schedules (dfs: nodes) done since the last call, from any worker; dfs: the states all
   * have seen; the counterexamples found so far (distinct verdict and invariant, as merged).
   */
  onProgress?: (done: number, states: number | undefined, found: number) => void;
  signal?: AbortSignal;
  /**
   * The clock a time budget is read from in this thread (the explorer reads none of its
   * own; the worker threads read the wall clock: explore_worker_shard.ts).
   */
  clock?: () => number;
}

/**
 * Run `options` over `workers` threads: this one (its code already loaded and compiled)
 * and workers - 1 worker threads, started from one bundled file (worker_bundle.ts). The
 * scenario goes to them as the file's data (`source`), which they validate again.
 */
export async function exploreInWorkers(
  scenario: Scenario, source: { raw: unknown; file: string }, options: ExploreOptions, workers: number, hooks: ParallelHooks = {},
): Promise<ExploreResult> {
  const dfs = options.strategy === 'dfs';
  const shard = options.shard ?? { index: 0, count: 1 };
  const shared = dfs
    ? {
      visited: SharedVisitedStates.create(options.maxStates ?? 1_000_000), pool: DfsWorkPool.create(),
      // (search states: a model state once per last actor it is reached after — 1.2–1.7
      // times the model states on the examples; the search stops if the table fills)
      bounded: options.preemptionBound === undefined ? undefined : SharedBoundedStates.create(2 * (options.maxStates ?? 1_000_000)),
    }
    : undefined;
  // random and pct: worker w of W in shard i/n runs shard i + w*n of n*W — the same
  // schedule set, split finer
  const part = (w: number): ExploreOptions => shared
    ? { ...options, dfsWorker: { worker: w, ...shared } }
    : { ...options, shard: { index: shard.index + w * shard.count, count: shard.count * workers } };
  const table = shared && new SharedVisitedStates(shared.visited);
  const entry = workers > 1 ? await workerEntry() : undefined;
  const found = new Set<string>();
  const threads = Array.from({ length: workers - 1 }, (_, i) => i + 1).map((w) =>
    new Promise<ExploreResult>((resolveResult, reject) => {
      const worker = new Worker(entry!, { workerData: { ...source, options: part(w) } });
      hooks.signal?.addEventListener('abort', () => worker.postMessage('stop'));
      worker.on('message', (m: { kind: string; done?: number; found?: string[]; result?: ExploreResult }) => {
        if (m.kind === 'progress') {
          for (const f of m.found ?? []) found.add(f);
          if (m.done) hooks.onProgress?.(m.done, table?.size, found.size);
        } else resolveResult(m.result!);
      });
      worker.on('error', reject);
    }));
  let last = 0;
  const here = exploreAsync(scenario, {
    ...part(0), clock: hooks.clock, signal: hooks.signal,
    onProgress: (done, res) => {
      for (const c of res.counterexamples) found.add(`${c.verdict}:${c.violation.invariant}`);
      hooks.onProgress?.(done - last, table?.size, found.size);
      last = done;
    },
  });
  const parts = await Promise.all([here, ...threads]);
  const r = mergeResults(parts, { dfsWorkers: dfs });
  if (options.shard) r.shard = options.shard;
  return r;
}
