// Seed 004 end to end: the huge zero page's refcounting against racing faults, COW,
// fork, split, munmap, exit and the shrinker, over many schedules.
import { describe, expect, it } from 'vitest';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { registerActorKind } from '../src/registry.ts';
import { z } from 'zod';

const seeds = (n: number, from = 1) => Array.from({ length: n }, (_, i) => from + i);

function firstViolation(s: Scenario, n: number) {
  for (const seed of seeds(n)) {
    const r = run(s, { seed });
    if (r.verdict !== 'ok') return r;
  }
  return null;
}

describe('huge zero page (seed 004)', () => {
  it('keeps every invariant over 400 schedules of faults, COW, fork, split, munmap and the shrinker (with the fixes)', async () => {
    const s = await loadScenario('examples/zero-page-read-faults.yaml');
    const verdicts = new Map<string, number>();
    const outcomes = new Set<string>();
    let allocs = 0;
    let allocFailures = 0;
    for (const seed of seeds(400)) {
      const r = run(s, { seed });
      verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
      if (r.verdict !== 'ok') throw new Error(`seed ${seed}: ${JSON.stringify(r.violations)}`);
      for (const a of r.actors) outcomes.add(a.outcome);
      allocs += r.kernel.vmstat.get('thp_zero_page_alloc');
      allocFailures += r.kernel.vmstat.get('thp_zero_page_alloc_failed');
    }
    expect(allocs).toBeGreaterThan(400);
    expect(allocFailures).toBeGreaterThan(0);
    expect(verdicts.get('ok')).toBe(400);
    expect(outcomes.has('ok')).toBe(true);
  });

  it('finds both findings on the seed as posted, and each replays from its schedule', async () => {
    const s = await loadScenario('examples/zero-page-as-posted.yaml');
    const found = new Map<string, ReturnType<typeof run>>();
    for (const seed of seeds(200)) {
      const r = run(s, { seed });
      if (r.verdict === 'violation' && !found.has(r.violations[0]!.invariant)) found.set(r.violations[0]!.invariant, r);
    }
    expect([...found.keys()].sort()).toEqual(['compound-free-order', 'illegal-transition']);
    expect(found.get('illegal-transition')!.violations[0]!.message).toMatch(/SET_HUGE_ZERO is not allowed in state \[huge_zero\]/);
    for (const r of found.values()) {
      const again = run(s, { schedule: r.schedule });
      expect(again.verdict).toBe('violation');
      expect(again.violations[0]).toEqual(r.violations[0]);
      expect(again.traceHash).toBe(r.traceHash);
    }
  });

  it('the fix variants remove both findings', async () => {
    const s = await loadScenario('examples/zero-page-as-posted.yaml');
    const fixed = { ...s, variants: ['set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order'] };
    expect(firstViolation(fixed, 300)).toBeNull();
    const onlyFirst = { ...s, variants: ['set_huge_zero_page_pmd_none_check'] };
    expect(firstViolation(onlyFirst, 300)?.violations[0]!.invariant).toBe('compound-free-order');
  });

  it('catches the deliberately broken shrinker (a plugin) with a replayable schedule', async () => {
    const s = await loadScenario('examples/zero-page-broken-shrinker.yaml');
    const r = firstViolation(s, 200);
    expect(r).not.toBeNull();
    expect(r!.violations[0]!.invariant).toBe('huge-zero-refcount');
    expect(r!.violations[0]!.actor).toBe('kswapd');
    expect(r!.violations[0]!.state).toBe('zeroCount');
    const again = run(s, { schedule: r!.schedule });
    expect(again.violations).toEqual(r!.violations);
    expect(again.traceHash).toBe(r!.traceHash);
    // without the broken variant the same schedule diverges or passes, never violates
    const fixed = { ...s, variants: s.variants.filter((v) => v !== 'shrink_huge_zero_page_nonatomic') };
    expect(run(fixed, { schedule: r!.schedule }).verdict).not.toBe('violation');
  });

  const base = {
    name: 'inline', hpage_pmd_nr: 4,
    variants: ['set_huge_zero_page_pmd_none_check', 'free_compound_page_with_order'],
    mms: [{ name: 'mm1', vmas: [{ start: 0, size: 0x8000 }] }],
  };

  it('a failed huge zero page allocation counts thp_zero_page_alloc_failed and falls back to the ZERO_PAGE pte', async () => {
    const s = await validateScenario({
      ...base, inject: { alloc_huge_page: 1 },
      actors: [{ kind: 'task', id: 'T1', mm: 'mm1', ops: [{ read: 0 }, { read: 0x1000 }] }],
    }, 'inline');
    const r = run(s);
    expect(r.verdict).toBe('ok');
    expect(r.kernel.vmstat.get('thp_zero_page_alloc_failed')).toBe(1); // the second read finds a pte table: no THP attempt
    expect(r.kernel.vmstat.get('thp_fault_fallback')).toBe(1);
    expect(r.kernel.vmstat.get('thp_zero_page_alloc')).toBe(0);
    const mm = r.kernel.mmByName('mm1')!;
    expect(mm.kindAt(0)).toBe('pte_table');
    expect(r.kernel.pte(mm, 0)).toBe(r.kernel.ZERO_PAGE);
    expect(r.kernel.pte(mm, 1)).toBe(r.kernel.ZERO_PAGE);
  });

  it('a read maps the huge zero pmd; a write COWs it into a new huge page that keeps the data', async () => {
    const s = await validateScenario({
      ...base,
      actors: [{ kind: 'task', id: 'T1', mm: 'mm1', ops: [{ read: 0 }, { write: 0x2000 }, { read: 0x2000 }, { read: 0x1000 }] }],
    }, 'inline');
    const r = run(s);
    expect(r.verdict).toBe('ok');
    const k = r.kernel;
    const mm = k.mmByName('mm1')!;
    expect(mm.kindAt(0)).toBe('huge');
    expect(k.huge_zero_refcount).toBe(1); // only the shrinker's reference is left
    expect(k.vmstat.get('thp_zero_page_alloc')).toBe(1);
    expect(mm.rss.MM_ANONPAGES).toBe(4);
    const head = mm.pmd(0).pfn;
    expect(k.pages.data[head + 2]).toBe(mm.expected.get(2));
    expect(k.pages.data[head + 1]).toBe(0);
  });

  it('the shrinker frees the huge zero page once only its own reference is left', async () => {
    const s = await validateScenario({
      ...base,
      actors: [
        { kind: 'task', id: 'T1', mm: 'mm1', ops: [{ read: 0 }, { munmap: { start: 0, size: 0x8000 } }] },
        { kind: 'huge_zero_page_shrinker', id: 'kswapd', passes: 1 },
      ],
    }, 'inline');
    // run the task to completion first, then the shrinker: a recorded schedule by name
    const probe = run(s, { seed: 1 });
    const taskSteps = probe.schedule.filter((d) => d.actor === 'T1');
    const order = [...taskSteps, { actor: 'kswapd', state: 'count' }, { actor: 'kswapd', state: 'scan' }, { actor: 'kswapd', state: 'xchgPfn' }, { actor: 'kswapd', state: 'free' }];
    const r = run(s, { schedule: order });
    expect(r.verdict).toBe('ok');
    expect(r.kernel.huge_zero_refcount).toBe(0);
    expect(r.kernel.huge_zero_pfn).toBe(0);
  });

  it('reports a deadlock with who holds what, from a registered test actor that never releases mmap_lock', async () => {
    registerActorKind({
      kind: 'test_mmap_lock_hog',
      description: 'takes mmap_lock for write and waits for something that never happens',
      comm: 'hog',
      schema: z.strictObject({ id: z.string(), mm: z.string() }) as never,
      locals: (spec: { mm: string }) => ({ mm: spec.mm }),
      chart: {
        id: 'test_mmap_lock_hog',
        initial: 'take',
        states: {
          take: { on: { STEP: { guard: 'free', actions: 'take', target: 'wait' } } },
          wait: { on: { STEP: { guard: 'never', target: 'done' } } },
          done: { type: 'final' },
        },
        guards: {
          free: (a: any) => a.k.mmByName(a.l.mm).mmapLock.writeFree,
          never: () => false,
        },
        actions: { take: (a: any) => a.k.mmapWriteLock(a.k.mmByName(a.l.mm), a.ix) },
      },
    });
    const s = await validateScenario({
      ...base,
      actors: [
        { kind: 'test_mmap_lock_hog', id: 'H', mm: 'mm1' },
        { kind: 'task', id: 'T1', mm: 'mm1', ops: [{ read: 0 }] },
      ],
    }, 'inline');
    const r = run(s, { schedule: [{ actor: 'H', state: 'take' }] });
    expect(r.verdict).toBe('deadlock');
    expect(r.violations[0]!.message).toMatch(/H in wait \(holding mmap_lock\(mm1\):write\)/);
    expect(r.violations[0]!.message).toMatch(/T1 in access/);
  });
});
