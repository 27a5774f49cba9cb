// The breadth-first search (ExploreOptions.strategy 'bfs', `thpsim explore --strategy bfs`):
// a driver over the same world as the dfs, expanding the states of each depth before any of
// the next. Without sleep sets or a preemption bound it runs the transitions the dfs runs,
// so a complete search of each gives the same states, nodes, ended schedules and coverage;
// its first counterexample at a site is reached in the fewest steps.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadScenario } from '../src/scenario/load.ts';
import { type ExploreResult, explore, exploreAsync } from '../src/explore/explore.ts';
import { run } from '../src/sched/run.ts';

/**
 * What a complete search finds, whatever its order. (Not the trace hashes: an ended
 * schedule's trace is the path it took, and a state is first reached along another path in
 * another order — the same number of them, each ending the same way.)
 */
const found = (r: ExploreResult) => ({
  states: r.states, nodes: r.nodes, complete: r.complete, schedules: r.schedules, distinctTraces: r.distinctTraces,
  verdicts: r.verdicts, violations: r.violations, outcomes: r.outcomes, scanResults: r.scanResults, contention: r.contention,
  blocked: r.blocked, coverage: r.coverage,
});

describe('bfs', () => {
  it.each([
    'test/fixtures/zero-page-dfs-as-posted.yaml',
    'test/fixtures/zero-page-dfs-fixed.yaml',
    'test/fixtures/khugepaged-only.yaml',
    'examples/collapse-shmem-scan-page-lock.yaml',
  ])('%s: a complete bfs finds what a complete dfs finds', async (file) => {
    const s = await loadScenario(file);
    const dfs = explore(s, { strategy: 'dfs', shrinkBudget: 0 });
    const bfs = explore(s, { strategy: 'bfs', shrinkBudget: 0 });
    expect(dfs.complete).toBe(true);
    expect(bfs.strategy).toBe('bfs');
    expect(found(bfs)).toEqual(found(dfs));
    // the same (verdict, invariant, site)s
    const sites = (r: ExploreResult) => r.counterexamples.map((c) => `${c.verdict} ${c.violation.invariant} ${c.site}`).sort();
    expect(sites(bfs)).toEqual(sites(dfs));
  });

  it('finds each counterexample in the fewest steps: seed 004 as posted, where the dfs first finds longer ones; each replays', async () => {
    const s = await loadScenario('test/fixtures/zero-page-dfs-as-posted.yaml');
    const dfs = explore(s, { strategy: 'dfs', shrinkBudget: 0 });
    const bfs = explore(s, { strategy: 'bfs', shrinkBudget: 0 });
    expect(bfs.counterexamples.length).toBeGreaterThan(0);
    for (const c of bfs.counterexamples) {
      const d = dfs.counterexamples.find((x) => x.site === c.site && x.violation.invariant === c.violation.invariant)!;
      expect(c.found.steps).toBeLessThanOrEqual(d.found.steps);
      const r = run(s, { schedule: c.decisions });
      expect(r.verdict).toBe(c.verdict);
      expect(r.violations[0]!.message).toBe(c.violation.message);
    }
    expect(bfs.counterexamples.some((c) => c.found.steps < dfs.counterexamples.find((x) => x.site === c.site)!.found.steps)).toBe(true);
    // no shorter schedule reaches a violation: every state within fewer steps was expanded first
    const shortest = Math.min(...bfs.counterexamples.map((c) => c.found.steps));
    const bounded = explore(s, { strategy: 'dfs', shrinkBudget: 0, maxSteps: shortest - 1 });
    expect(bounded.verdicts.violation).toBeUndefined();
  });

  it('is deterministic, stops at --max-states, and runs under exploreAsync as in one call', async () => {
    const s = await loadScenario('examples/collapse-shmem-vs-truncate.yaml');
    const a = explore(s, { strategy: 'bfs', shrinkBudget: 0, maxStates: 3000 });
    const b = explore(s, { strategy: 'bfs', shrinkBudget: 0, maxStates: 3000 });
    expect(a).toEqual(b);
    expect(a.states).toBe(3000);
    expect(a.complete).toBe(false);
    const c = await exploreAsync(s, { strategy: 'bfs', shrinkBudget: 0, maxStates: 3000 });
    expect(found(c)).toEqual(found(a));
  });

  it('refuses what it does not do: sleep sets, a preemption bound, shards, snapshots off', async () => {
    const s = await loadScenario('test/fixtures/khugepaged-only.yaml');
    expect(() => explore(s, { strategy: 'bfs', sleepSets: true })).toThrow('the bfs runs in one process, with snapshots and without sleep sets: not with sleep sets');
    expect(() => explore(s, { strategy: 'bfs', preemptionBound: 1 })).toThrow('preemptionBound bounds the dfs');
    expect(() => explore(s, { strategy: 'bfs', shard: { index: 0, count: 2 } })).toThrow('not with shards');
    expect(() => explore(s, { strategy: 'bfs', snapshots: false })).toThrow('not with snapshots off');
  });

  describe('thpsim explore --strategy bfs', () => {
    const thpsim = (...args: string[]) => {
      const r = spawnSync(process.execPath, ['bin/thpsim.js', ...args], { encoding: 'utf8', timeout: 120_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };

    it('searches, says so, and writes the shortest counterexamples as replay files', () => {
      const out = mkdtempSync(join(tmpdir(), 'thpsim-bfs-'));
      const r = thpsim('explore', 'test/fixtures/zero-page-dfs-as-posted.yaml', '--strategy', 'bfs', '--out', out, '--shrink', '0');
      expect(r.code).toBe(1);
      expect(r.out).toMatch(/^zero-page-dfs-as-posted: bfs, \d+ schedules run to their end/);
      expect(r.out).toMatch(/\nbfs: 886 distinct states, 2259 search nodes, \d+ states\/s — complete: every interleaving up to the step bound was covered\n/);
      const files = readdirSync(out);
      expect(files.length).toBeGreaterThan(0);
      expect(files.every((f) => f.includes('.bfs.'))).toBe(true);
      const replay = thpsim('run', '--replay', join(out, files[0]!));
      expect(replay.code).toBe(1);
    });

    it('refuses --workers, --shard and --sleep-sets with one line naming the flag', () => {
      for (const [flag, ...rest] of [['--workers', '2', '--force-workers'], ['--shard', '0/2'], ['--sleep-sets']]) {
        const r = thpsim('explore', 'test/fixtures/khugepaged-only.yaml', '--strategy', 'bfs', flag!, ...rest);
        expect(r.code).toBe(2);
        expect(r.err.trim().split('\n')).toHaveLength(1);
        expect(r.err).toContain(`thpsim explore: ${flag}: the bfs runs in one thread`);
      }
      expect(thpsim('explore', 'test/fixtures/khugepaged-only.yaml', '--strategy', 'bfz').err).toContain('expected random, pct, coverage, dfs or bfs');
    });
  });
});
