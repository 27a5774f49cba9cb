/**
 * One shard of an exploration in a worker thread: the scenario (as validated data), the
 * options and the shard come in workerData; the result goes back in a message. A 'stop'
 * message ends it between schedules, keeping what it found.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { validateScenario } from '../scenario/load.ts';
import { type ExploreOptions, type ExploreResult, exploreAsync } from '../explore/explore.ts';
import { wallClock } from './wall_clock.ts';

const { raw, file, options } = workerData as { raw: unknown; file: string; options: ExploreOptions };
const ac = new AbortController();
parentPort!.on('message', (m) => {
  if (m === 'stop') ac.abort();
});
const scenario = await validateScenario(raw, file);
let lastReport = 0;
// what it found so far, keyed as merging keys counterexamples: the progress line counts them
const found = (r: ExploreResult) => r.counterexamples.map((c) => `${c.verdict}:${c.violation.invariant}`);
const result = await exploreAsync(scenario, {
  ...options,
  // the wall clock, for --time-budget: read here, by the process driving the explorer
  clock: wallClock,
  signal: ac.signal,
  onProgress: (done, res) => {
    if (done - lastReport >= 100) {
      parentPort!.postMessage({ kind: 'progress', done: done - lastReport, found: found(res) });
      lastReport = done;
    }
  },
});
parentPort!.postMessage({
  kind: 'progress', done: (options.strategy === 'dfs' ? (result.nodes ?? 0) : result.schedules) - lastReport,
  found: found(result),
});
parentPort!.postMessage({ kind: 'result', result });
parentPort!.close();
