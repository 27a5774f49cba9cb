// The compaction extension as a user's package tests it: through thpsim's public names
// only. Its legal runs (pages isolated and migrated, traced as the kernel's tracepoints),
// its races with collapse_shmem explored exhaustively within a preemption bound, and its
// deliberately broken variant caught by the invariants every run checks.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type Decision, ScenarioError, explore, loadScenario, run, validateScenario } from 'thpsim';
import { getActorKind, getVariant } from 'thpsim/extend';
import '../index.ts';

const here = (f: string) => fileURLToPath(new URL(`../${f}`, import.meta.url));
const COLLAPSE_FIXES = [
  'collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated',
  'retract_page_tables_test_exit', 'collapse_shmem_compound_check', 'collapse_shmem_no_freeze_new_page',
];

describe('compaction: a legal run', () => {
  it('isolates each shmem page of the zone, migrates it to a new page, and the cache, the pte and the data follow', async () => {
    const s = await loadScenario(here('compaction.yaml'));
    const r = run(s, { trace: true });
    expect(r.verdict).toBe('ok');
    const kc = r.trace!.filter((l) => l.trimStart().startsWith('kcompactd0-'));
    const isolated = kc.filter((l) => / isolate_lru_page: pfn=0x[0-9a-f]+ reason=compaction$/.test(l));
    const moved = kc.filter((l) => / move_to_new_page: pfn=0x[0-9a-f]+ newpfn=0x[0-9a-f]+ reason=compaction$/.test(l));
    expect(isolated.length).toBeGreaterThan(0);
    // every page isolated is moved or put back, and migrate_pages reports each pageblock's
    expect(moved.length + kc.filter((l) => l.includes(' putback_lru_page: ')).length).toBeGreaterThanOrEqual(isolated.length);
    const done = kc.filter((l) => l.includes(' mm_migrate_pages: '));
    expect(done.length).toBeGreaterThan(0);
    for (const l of done) expect(l).toMatch(/mm_migrate_pages: nr_succeeded=\d+ nr_failed=\d+ mode=MIGRATE_SYNC_LIGHT reason=compaction$/);
    const succeeded = done.reduce((n, l) => n + Number(/nr_succeeded=(\d+)/.exec(l)![1]), 0);
    expect(succeeded).toBe(moved.length);
    expect(r.vmstat.nr_isolated_anon ?? 0).toBe(0);
    expect(r.page_cache.f).toMatchObject({ nrpages: 4, pages: 4 });
  });

  it('with a seed, the task and compaction interleave: every page still reads its own data', async () => {
    const s = await loadScenario(here('compaction.yaml'));
    for (let seed = 1; seed <= 40; seed++) expect(run(s, { seed }).verdict).toBe('ok');
  });

  it('a wrong scenario entry is a one-line error naming the field', async () => {
    const bad = {
      name: 'x', plugins: ['./index.ts'],
      actors: [{ kind: 'compaction', id: 'kcompactd0', passes: 0 }],
    };
    await expect(validateScenario(bad, here('x.yaml'))).rejects.toThrow(ScenarioError);
    await expect(validateScenario(bad, here('x.yaml'))).rejects.toThrow(/x\.yaml: actors\[0\]\.passes: /);
  });

  it('is registered through thpsim/extend with its broken variant', () => {
    expect(getActorKind('compaction')).toMatchObject({ kind: 'compaction', comm: 'kcompactd0' });
    expect(getVariant('compaction_get_page_not_unless_zero')?.kind).toBe('broken');
  });
});

describe('compaction racing collapse_shmem', () => {
  it('MADV_COLLAPSE: every schedule with at most 2 preemptions keeps every invariant, and the collapse sees each of compaction\'s races', async () => {
    const s = await loadScenario(here('compaction-vs-madvise-collapse.yaml'));
    const r = await explore(s, { strategy: 'dfs', preemptionBound: 2 });
    expect(r.complete).toBe(true);
    expect(r.counterexamples).toEqual([]);
    expect(r.verdicts).toEqual({ ok: r.schedules });
    const outcomes = Object.keys(r.outcomes).join('\n');
    // compaction's reference fails page_ref_freeze(page, 3); its trylock of the dirty page
    // fails collapse's trylock_page; whoever clears PG_lru first isolates the page
    for (const scan of ['SCAN_PAGE_COUNT', 'SCAN_PAGE_LOCK', 'SCAN_DEL_PAGE_LRU', 'SCAN_PAGE_LRU']) {
      expect(outcomes).toContain(`madvise(0x0, 0x4000, MADV_COLLAPSE) = -1 EAGAIN (last: ${scan})`);
    }
    expect(outcomes).toContain('madvise(0x0, 0x4000, MADV_COLLAPSE) = 0');
    // the dirty page's folio_trylock and its unlock are steps of their own
    expect(r.coverage!.compaction!.missed).not.toContain('compact_zone.isolate_migratepages.unlock');
  }, 120_000);

  it('khugepaged and a truncation: every schedule with at most 1 preemption keeps every invariant', async () => {
    const s = await loadScenario(here('compaction-vs-khugepaged.yaml'));
    const r = await explore(s, { strategy: 'dfs', preemptionBound: 1 });
    expect(r.complete).toBe(true);
    expect(r.counterexamples).toEqual([]);
    expect(r.scanResults.SCAN_SUCCEED).toBeGreaterThan(0);
    expect(r.scanResults.SCAN_PAGE_COUNT).toBeGreaterThan(0);
    // a page truncated while compaction held it isolated: migrate_page_move_mapping with no mapping
    expect(r.coverage!.compaction!.missed).not.toContain('compact_zone.migrate.move_no_mapping');
  }, 120_000);
});

describe('compaction_get_page_not_unless_zero (broken)', () => {
  it('its replay reproduces the violation: compaction takes a reference on the page collapse_shmem froze', async () => {
    const replay = JSON.parse(readFileSync(here('compaction-broken-get-page.replay.json'), 'utf8')) as {
      scenario: unknown; seed: number; decisions: Decision[];
    };
    const s = await validateScenario(replay.scenario, here('compaction-broken-get-page.yaml'));
    const r = run(s, { seed: replay.seed, schedule: replay.decisions });
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]).toMatchObject({ invariant: 'illegal-transition', actor: 'kcompactd0' });
    expect(r.violations[0]!.message).toMatch(/GET is not allowed in state \[allocated locked frozen /);
  });

  it('the dfs finds it; without the broken variant the same scenario keeps every invariant', async () => {
    const s = await loadScenario(here('compaction-broken-get-page.yaml'));
    const broken = await explore(s, { strategy: 'dfs', preemptionBound: 2, stopOnFirst: true, shrinkBudget: 0 });
    expect(broken.counterexamples[0]?.violation).toMatchObject({ invariant: 'illegal-transition', actor: 'kcompactd0' });
    // the same scenario (compaction-broken-get-page.yaml) with get_page_unless_zero as the kernel has it
    const fixed = await validateScenario({
      name: 'compaction-get-page-unless-zero', hpage_pmd_nr: 4, plugins: ['./index.ts'], variants: COLLAPSE_FIXES,
      files: [{ name: 'f', size: 0x4000, populated: true }],
      mms: [{ name: 'm1', vmas: [{ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }] }],
      actors: [
        { kind: 'task', id: 'T1', mm: 'm1', ops: [{ madvise_collapse: { start: 0, size: 0x4000 } }] },
        { kind: 'compaction', id: 'kcompactd0' },
      ],
    }, here('inline.yaml'));
    expect(s.variants).toEqual([...COLLAPSE_FIXES, 'compaction_get_page_not_unless_zero']);
    const ok = await explore(fixed, { strategy: 'dfs', preemptionBound: 2 });
    expect(ok.complete).toBe(true);
    expect(ok.counterexamples).toEqual([]);
  }, 120_000);
});
