// The library's entry point (`thpsim`, src/index.ts): run() and explore() take the options a
// user sets, check them as the CLI checks its flags, and return the documented results.
import { describe, expect, it } from 'vitest';
import { ScenarioError, explore, loadScenario, run } from 'thpsim';
import { run as runInternal } from '../src/sched/run.ts';
import { toJson } from '../src/cli/report.ts';

describe('run()', () => {
  it('returns the thpsim run --json object, with the schedule, and the same run as the engine gives', async () => {
    const s = await loadScenario('examples/zero-page-read-faults.yaml');
    const r = run(s, { seed: 5 });
    const internal = runInternal(s, { seed: 5, collect: true });
    expect(r).toEqual({ ...toJson(internal, true), schedule: internal.schedule, scan_results: internal.scans });
    expect(r.thpsim_result).toBe(1);
    expect(r.trace).toBeUndefined();
  });

  it('trace: true collects the trace lines; a function receives them', async () => {
    const s = await loadScenario('examples/zero-page-read-faults.yaml');
    const seen: string[] = [];
    const a = run(s, { seed: 2, trace: true });
    run(s, { seed: 2, trace: (l) => seen.push(l) });
    expect(a.trace!.length).toBeGreaterThan(10);
    expect(seen).toEqual(a.trace);
    expect(a.trace![0]).toMatch(/thpsim_step|^\s*\S+-\d+/);
  });

  it('replays a schedule, and variants add to the scenario\'s own', async () => {
    const s = await loadScenario('examples/zero-page-as-posted.yaml');
    const a = run(s, { seed: 9 });
    expect(run(s, { schedule: a.schedule }).trace_hash).toBe(a.trace_hash);
    const fixed = run(s, { seed: 9, variants: ['set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order'] });
    expect(fixed.verdict).toBe('ok');
  });

  it('a bad option is one line naming it', async () => {
    const s = await loadScenario('examples/zero-page-read-faults.yaml');
    expect(() => run(s, { seed: -1 })).toThrow(ScenarioError);
    expect(() => run(s, { seed: -1 })).toThrow(/^run options: seed: /);
    expect(() => run(s, { strategy: 'dfs' as never })).toThrow(/^run options: strategy: /);
    expect(() => run(s, { sead: 1 } as never)).toThrow('run options: sead: unknown option');
    expect(() => run(s, { variants: ['no_such'] })).toThrow("run options: variants[0]: unknown variant 'no_such'");
    expect(() => run(s, { monitors: ['no-such'] })).toThrow("run options: monitors[0]: unknown monitor 'no-such'");
    expect(() => run({ name: 'x' } as never)).toThrow(/^run: scenario: expected a scenario/);
  });
});

describe('explore()', () => {
  it('finds the broken shrinker\'s violation, and not with its monitor left out', async () => {
    const s = await loadScenario('examples/zero-page-broken-shrinker.yaml');
    const all = await explore(s, { schedules: 200 });
    expect(all.violations['huge-zero-refcount']).toBeGreaterThan(0);
    expect(all.counterexamples[0]!.violation.invariant).toBe('huge-zero-refcount');
    const others = await explore(s, { schedules: 200, monitors: ['page-refcount', 'lock-release'] });
    expect(others.violations['huge-zero-refcount']).toBeUndefined();
    expect(others.schedules).toBe(200);
  });

  it('dfs with a preemption bound is complete on a small scenario; the options are checked', async () => {
    const s = await loadScenario('examples/khugepaged-selftest-collapse-full.yaml');
    const r = await explore(s, { strategy: 'dfs', preemptionBound: 2 });
    expect(r.complete).toBe(true);
    expect(r.verdicts).toEqual({ ok: r.schedules });
    await expect(explore(s, { strategy: 'pct', preemptionBound: 1 })).rejects.toThrow("explore options: preemptionBound: bounds the dfs: use it with strategy 'dfs'");
    await expect(explore(s, { schedules: 0 })).rejects.toThrow(/^explore options: schedules: /);
    await expect(explore(s, { frontier: true } as never)).rejects.toThrow('explore options: frontier: unknown option');
  });

  it('an aborted signal stops it with what ran', async () => {
    const s = await loadScenario('examples/zero-page-read-faults.yaml');
    const ac = new AbortController();
    ac.abort();
    const r = await explore(s, { schedules: 100_000, signal: ac.signal });
    expect(r.stopped).toBe(true);
    expect(r.stopReason).toBe('interrupted');
    expect(r.schedules).toBeLessThan(100_000);
  });
});
