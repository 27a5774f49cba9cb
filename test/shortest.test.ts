// Counterexamples as short as the model allows, one per site (issue 20, items 6 and 7).
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { counterexampleScenario, explore, siteOf } from '../src/explore/explore.ts';
import { run } from '../src/sched/run.ts';
import { shortestSchedule } from '../src/explore/shortest.ts';

describe('seed 004 as posted (examples/zero-page-as-posted.yaml), dfs', async () => {
  const s = await loadScenario('examples/zero-page-as-posted.yaml');
  const r = explore(s, { strategy: 'dfs' });
  const bySite = Object.fromEntries(r.counterexamples.map((c) => [`${c.violation.invariant}@${c.site}`, c]));

  it('keeps one counterexample per (invariant, site): the shrinker\'s own __free_page surfaces beside the cmpxchg loser\'s', () => {
    expect(Object.keys(bySite).sort()).toEqual([
      'compound-free-order@huge_zero_page_shrinker:free',
      'compound-free-order@task:page_fault.do_huge_pmd_anonymous_page.get_huge_zero_page.freeOurs',
      'illegal-transition@task:page_fault.do_huge_pmd_anonymous_page.set_huge_zero_page',
    ]);
    for (const c of r.counterexamples) {
      const rr = run(counterexampleScenario(s, c), { seed: c.seed, schedule: c.decisions });
      expect(siteOf(rr)).toBe(c.site);
      expect(rr.violations[0]!.invariant).toBe(c.violation.invariant);
      expect(rr.steps).toBe(c.minimised.steps);
    }
  });

  it('minimises to the breadth-first lengths (16: the zero-pmd overwrite; 11: the cmpxchg loser\'s __free_page), reporting the found lengths too', () => {
    const overwrite = bySite['illegal-transition@task:page_fault.do_huge_pmd_anonymous_page.set_huge_zero_page']!;
    const loser = bySite['compound-free-order@task:page_fault.do_huge_pmd_anonymous_page.get_huge_zero_page.freeOurs']!;
    expect([overwrite.found.steps, overwrite.minimised.steps]).toEqual([18, 16]);
    expect([loser.found.steps, loser.minimised.steps]).toEqual([18, 11]);
  });

  it('nothing shorter exists: a complete search one step below each finds none', () => {
    for (const c of r.counterexamples) {
      const scen = counterexampleScenario(s, c);
      const key = (x: Parameters<typeof siteOf>[0] & { verdict: string }) => `${x.verdict}:${x.violations[0]?.invariant}@${siteOf(x)}`;
      const target = `${c.verdict}:${c.violation.invariant}@${c.site}`;
      const below = shortestSchedule(scen, (x) => key(x) === target, { seed: c.seed, bound: c.minimised.steps - 1, budget: 1_000_000 });
      expect(below.complete).toBe(true);
      expect(below.decisions).toBeUndefined();
    }
  });
});

it('random and pct keep the same sites, each minimised as short', async () => {
  const s = await loadScenario('examples/zero-page-as-posted.yaml');
  for (const strategy of ['random', 'pct'] as const) {
    const r = explore(s, { strategy, schedules: 300 });
    const steps = Object.fromEntries(r.counterexamples.map((c) => [`${c.violation.invariant}@${c.site}`, c.minimised.steps]));
    expect(steps['illegal-transition@task:page_fault.do_huge_pmd_anonymous_page.set_huge_zero_page']).toBe(16);
    expect(steps['compound-free-order@task:page_fault.do_huge_pmd_anonymous_page.get_huge_zero_page.freeOurs']).toBe(11);
  }
});
