/**
 * An exploration over worker threads (`thpsim explore --workers N`): random and pct split
 * the schedule set into shards (one per worker); dfs shares one visited-state table and
 * hands out the subtrees below a split depth (see DfsWorker in explore.ts). The results
 * are merged into what one worker gives.
 */
import { Worker } from 'node:worker_threads';
import { type ExploreOptions, type ExploreResult, exploreAsync, mergeResults } from './explore.ts';
import { SharedVisitedStates } from './visited.ts';
import { validateScenario } from '../scenario/load.ts';

/**
 * Parallel dfs: the depth of the subtrees the workers take. Every worker runs the tree
 * above it (a few thousand nodes at most on the example scenarios); below it, thousands of
 * subtrees keep two to a few dozen workers busy to the end.
 */
export const DFS_SPLIT_DEPTH = 8;

export interface ParallelHooks {
  /** Schedules (dfs: nodes) done since the last call, from any worker; dfs: the states all have seen. */
  onProgress?: (done: number, states?: number) => void;
  signal?: AbortSignal;
}

/**
 * Run `options` over `workers` threads: this one (its code already loaded and compiled)
 * and workers - 1 worker threads, which take about a second to start. The scenario goes
 * to them as the validated file's data.
 */
export async function exploreInWorkers(raw: unknown, file: string, options: ExploreOptions, workers: number, hooks: ParallelHooks = {}): Promise<ExploreResult> {
  const dfs = options.strategy === 'dfs';
  const shard = options.shard ?? { index: 0, count: 1 };
  const shared = dfs
    ? { visited: SharedVisitedStates.create(options.maxStates ?? 1_000_000), claims: new SharedArrayBuffer(8), splitDepth: DFS_SPLIT_DEPTH }
    : undefined;
  // random and pct: worker w of W in shard i/n runs shard i + w*n of n*W — the same
  // schedule set, split finer
  const part = (w: number): ExploreOptions => shared
    ? { ...options, dfsWorker: { worker: w, ...shared } }
    : { ...options, shard: { index: shard.index + w * shard.count, count: shard.count * workers } };
  const scenario = await validateScenario(raw, file);
  const table = shared && new SharedVisitedStates(shared.visited);
  const parts = await Promise.all(
    Array.from({ length: workers }, (_, w) =>
      w === 0
        ? (() => {
          let last = 0;
          return exploreAsync(scenario, {
            ...part(0), clock: options.clock ?? (() => performance.now()), signal: hooks.signal,
            onProgress: (done) => {
              hooks.onProgress?.(done - last, table?.size);
              last = done;
            },
          });
        })()
        : new Promise<ExploreResult>((resolveResult, reject) => {
        const mine = part(w);
        const worker = new Worker(new URL('../cli/explore_worker.js', import.meta.url), { workerData: { raw, file, options: mine } });
        hooks.signal?.addEventListener('abort', () => worker.postMessage('stop'));
        worker.on('message', (m: { kind: string; done?: number; result?: ExploreResult }) => {
          if (m.kind === 'progress') {
            if (m.done) hooks.onProgress?.(m.done, table?.size);
          } else resolveResult(m.result!);
        });
        worker.on('error', reject);
      }),
    ),
  );
  const r = mergeResults(parts, { dfsWorkers: dfs });
  if (options.shard) r.shard = options.shard;
  return r;
}
