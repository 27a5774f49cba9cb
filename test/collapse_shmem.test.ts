// Seed 000: khugepaged collapsing shmem, racing truncation, hole punch, swap-out and
// faults. The findings on the seed as posted, each with its recorded schedule and the
// variant that fixes it; and the racing scenarios, with the fixes, over many schedules.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { readReplay } from '../src/cli/replay.ts';
import { run } from '../src/sched/run.ts';
import type { Scenario } from '../src/scenario/schema.ts';

const FIXES = ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated', 'retract_page_tables_test_exit', 'collapse_shmem_no_freeze_new_page'];

/** SCAN_* results (as mm_khugepaged_scan_file prints them) over `n` schedules, and their verdicts. */
function explore(s: Scenario, n: number) {
  const results = new Map<string, number>();
  const verdicts = new Map<string, number>();
  for (let seed = 1; seed <= n; seed++) {
    const lines: string[] = [];
    const r = run(s, { seed, trace: (l) => l.includes('mm_khugepaged_scan_file') && lines.push(l) });
    verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
    if (r.verdict !== 'ok') throw new Error(`${s.name} seed ${seed}: ${JSON.stringify(r.violations)}`);
    for (const l of lines) {
      const m = /result=(\w+)/.exec(l)!;
      results.set(m[1]!, (results.get(m[1]!) ?? 0) + 1);
    }
  }
  return { results, verdicts };
}

describe('findings on collapse_shmem as posted', () => {
  const findings = [
    { name: 'holes', invariant: 'data-integrity', message: /returned garbage \(uninitialised memory\); expected zeroes/, fix: 'collapse_shmem_clear_holes' },
    { name: 'rollback', invariant: 'accounting', message: /mapping->nrpages is \d+ but \d+ pages are in the page cache/, fix: 'collapse_shmem_rollback_nrpages' },
    { name: 'truncate', invariant: 'truncation', message: /in the page cache beyond i_size/, fix: 'collapse_shmem_stop_if_truncated' },
    { name: 'exit', invariant: 'page-table', message: /zap_pte_range .* the pte table \*pmd pointed to was freed under it/, fix: 'retract_page_tables_test_exit' },
    { name: 'frozen', invariant: 'spin-on-sleeper', message: /^T2 spins at .*find_lock_entry .* on page 0x[0-9a-f]+, frozen \(page_ref_freeze\) by khugepaged, which sleeps \(i_mmap_rwsem\) at .*retract_page_tables\.i_mmap_lock/, fix: 'collapse_shmem_no_freeze_new_page' },
  ];
  for (const f of findings) {
    it(`${f.name}: the scenario's seed shows ${f.invariant}, its replay file reproduces it exactly, and ${f.fix} removes it`, async () => {
      const s = await loadScenario(`examples/collapse-shmem-as-posted-${f.name}.yaml`);
      const r = run(s);
      expect(r.verdict).toBe('violation');
      expect(r.violations[0]!.invariant).toBe(f.invariant);
      expect(r.violations[0]!.message).toMatch(f.message);

      const replay = await readReplay(`examples/collapse-shmem-as-posted-${f.name}.replay.json`);
      const again = run(replay.scenario, { seed: replay.seed, schedule: replay.decisions });
      expect(again.traceHash).toBe(r.traceHash);
      expect(again.violations).toEqual(r.violations);

      const fixed = { ...s, variants: [...new Set([...s.variants, ...FIXES])] };
      const { verdicts } = explore(fixed, 300);
      expect(verdicts.get('ok')).toBe(300);
      // and the fix alone is what matters: without it (the others kept) the finding comes back
      const without = { ...s, variants: FIXES.filter((v) => v !== f.fix) };
      let seen = false;
      for (let seed = 1; seed <= 4000 && !seen; seed++) {
        const x = run(without, { seed });
        seen = x.verdict === 'violation' && x.violations[0]!.invariant === f.invariant;
      }
      expect(seen).toBe(true);
    });
  }
});

describe('collapse racing the tasks of seed 000 (with the fixes)', () => {
  const races: [string, string[]][] = [
    ['truncate', ['succeeded', 'page_locked']],
    ['punch', ['succeeded', 'page_locked']],
    ['swapout', ['succeeded', 'could_not_delete_page_from_lru']],
    ['faults', ['succeeded']],
  ];
  for (const [race, mustSee] of races) {
    it(`vs ${race}: 600 schedules keep every invariant, and the race is really run (${mustSee.join(', ')} reached)`, async () => {
      const s = await loadScenario(`examples/collapse-shmem-vs-${race}.yaml`);
      const { results, verdicts } = explore(s, 600);
      expect(verdicts.get('ok')).toBe(600);
      for (const r of mustSee) expect(results.get(r) ?? 0).toBeGreaterThan(0);
      // more than one outcome: the interleavings differ in what collapse_shmem meets
      expect(results.size).toBeGreaterThan(1);
    });
  }
});
