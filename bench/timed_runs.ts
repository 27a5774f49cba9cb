/**
 * What the bench's child processes share: a scenario timed over several runs after a
 * warm-up, beside the same scenario with an idle actor instead of its own (the setup part
 * of the time: building the kernel and populating its files).
 */
import { run, type RunResult } from '../src/sched/run.ts';
import type { Scenario } from '../src/scenario/schema.ts';

export interface TimedRuns {
  ms: number[];
  setupMs: number[];
  last: RunResult;
}

/**
 * Runs `s` `runs` times (after one warm-up), calling `check` on each result (it throws on a
 * wrong one); `monitors`: only these (default every one; [] none), in both runs.
 */
export function timedRuns(s: Scenario, runs: number, check: (r: RunResult) => void, monitors?: readonly string[]): TimedRuns {
  const setup = { ...s, actors: [{ kind: 'huge_zero_page_shrinker', id: 'idle', passes: 1, interval_us: 0 }] } as Scenario;
  const ms: number[] = [];
  const setupMs: number[] = [];
  let last = run(s, { record: false, monitors }); // warm-up
  run(setup, { record: false, monitors });
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    run(setup, { record: false, monitors });
    setupMs.push(performance.now() - t);
    t = performance.now();
    last = run(s, { record: false, monitors });
    ms.push(performance.now() - t);
    check(last);
  }
  return { ms, setupMs, last };
}
