// The writeback extension as a user's package tests it: through thpsim's public API, on
// its own scenarios. The finding (collapse as posted frees a page under writeback), its
// replay file, and the fix: no violation in any schedule, SCAN_FAIL and -1 EINVAL.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { explore, loadScenario, run } from 'thpsim';

const here = (f: string) => new URL(`../${f}`, import.meta.url).pathname;
const scenario = (name: string) => loadScenario(here(`${name}.yaml`));

describe('as posted: collapse frees a page under writeback', () => {
  it('the dfs finds the illegal FREE (free_pages_check) and the END_WRITEBACK on a frozen page', async () => {
    const r = await explore(await scenario('writeback-as-posted'), { strategy: 'dfs', shrinkBudget: 0 });
    expect(r.complete).toBe(true);
    expect(r.violations['illegal-transition']).toBeGreaterThan(0);
    expect(r.violations['frozen-page']).toBeGreaterThan(0);
    const free = r.counterexamples.find((c) => c.violation.invariant === 'illegal-transition')!;
    expect(free.violation.message).toMatch(/FREE is not allowed in state \[allocated .* writeback count=0/);
    const frozen = r.counterexamples.find((c) => c.violation.invariant === 'frozen-page')!;
    expect(frozen.violation.message).toMatch(/frozen by khugepaged was touched \(END_WRITEBACK\) by flusher/);
  });

  it('the replay file reproduces the FREE, the flusher\'s steps traced by their commands', async () => {
    const replay = JSON.parse(readFileSync(here('writeback-as-posted.replay.json'), 'utf8'));
    const r = run(await scenario('writeback-as-posted'), { schedule: replay.decisions, trace: true });
    expect(r.verdict).toBe('violation');
    expect(r.violations[0]!.invariant).toBe('illegal-transition');
    expect(r.violations[0]!.message).toBe(replay.violation.message);
    const wb = r.trace!.filter((l) => /page_(set|end)_writeback/.test(l));
    // set, and never ended: collapse_shmem freed the page first
    expect(wb).toHaveLength(1);
    expect(wb[0]).toMatch(/^ *kworker\/u8:0-\d+ .*page_set_writeback: pfn=0x2 /);
  });
});

describe('with collapse_file_writeback_check', () => {
  it('khugepaged: every interleaving keeps every invariant, and some fail the page with SCAN_FAIL', async () => {
    const r = await explore(await scenario('writeback-fixed'), { strategy: 'dfs' });
    expect(r.complete).toBe(true);
    expect(r.verdicts).toEqual({ ok: r.schedules });
    expect(r.scanResults['SCAN_FAIL']).toBeGreaterThan(0);
    expect(r.scanResults['SCAN_SUCCEED']).toBeGreaterThan(0);
  });

  it('khugepaged reports it as mm_khugepaged_scan_file result=failed, with the page under writeback', async () => {
    const s = await scenario('writeback-fixed');
    const failed = Array.from({ length: 200 }, (_, i) => run(s, { seed: i + 1, trace: true }))
      .find((r) => r.trace!.some((l) => /mm_khugepaged_scan_file: .*result=failed/.test(l)));
    expect(failed).toBeDefined();
    const lines = failed!.trace!;
    // the step that gave up: the walk's test before trylock_page
    const gaveUp = lines.findIndex((l) => /collapse_shmem\.writeback -> \S+\.rollback_uncharge$/.test(l));
    const set = lines.findIndex((l) => /page_set_writeback/.test(l));
    const end = lines.findIndex((l) => /page_end_writeback/.test(l));
    expect(set).toBeGreaterThanOrEqual(0);
    expect(set).toBeLessThan(gaveUp);
    expect(end).toBeGreaterThan(gaveUp);
    expect(gaveUp).toBeLessThan(lines.findIndex((l) => /result=failed/.test(l)));
    expect(failed!.verdict).toBe('ok');
  });

  it('MADV_COLLAPSE: -1 EINVAL (madvise_collapse_errno(SCAN_FAIL)) in some schedules, no violation in any', async () => {
    const r = await explore(await scenario('writeback-madvise-collapse'), { strategy: 'dfs' });
    expect(r.complete).toBe(true);
    expect(r.verdicts).toEqual({ ok: r.schedules });
    expect(r.outcomes['T1: ok madvise(0x0, 0x4000, MADV_COLLAPSE) = -1 EINVAL (last: SCAN_FAIL)']).toBeGreaterThan(0);
    expect(r.outcomes['T1: ok madvise(0x0, 0x4000, MADV_COLLAPSE) = 0']).toBeGreaterThan(0);
  });

  it('without it, the MADV_COLLAPSE scenario frees a page under writeback too', async () => {
    const s = await scenario('writeback-madvise-collapse');
    const r = await explore({ ...s, variants: s.variants.filter((v) => v !== 'collapse_file_writeback_check') }, { strategy: 'dfs', stopOnFirst: true, shrinkBudget: 0 });
    expect(Object.keys(r.violations).length).toBeGreaterThan(0);
  });
});
