// Seed 003: collapsing the pmd of pte-mapped THPs later, when retract_page_tables()
// could not take mmap_sem — the posted per-mapping AS_COLLAPSE_PMD flag (design a)
// against per-PMD retry state (design b, what the reviewer asks for) — checked by the
// liveness monitor at quiescence.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { readReplay } from '../src/cli/replay.ts';
import { run } from '../src/sched/run.ts';
import { PTE_NONE } from '../src/memory/mm.ts';
import { explore } from '../src/explore/explore.ts';

function outcomes(s: Awaited<ReturnType<typeof loadScenario>>, n: number) {
  const verdicts = new Map<string, number>();
  const events = new Map<string, number>();
  for (let seed = 1; seed <= n; seed++) {
    const lines: string[] = [];
    const r = run(s, { seed, trace: (l) => /collapse_pte_mapped_thp|retract_page_tables:|uprobe_replace_page/.test(l) && lines.push(l) });
    verdicts.set(r.verdict, (verdicts.get(r.verdict) ?? 0) + 1);
    if (r.verdict !== 'ok' && r.verdict !== 'liveness') throw new Error(`seed ${seed}: ${JSON.stringify(r.violations)}`);
    for (const l of lines) {
      const k = /retracted|fallback|down_write_trylock failed|prepare_pmd_for_collapse failed|uprobe_replace_page/.exec(l)?.[0];
      if (k) events.set(k, (events.get(k) ?? 0) + 1);
    }
  }
  return { verdicts, events };
}

describe('pte-mapped THP retry (seed 003)', () => {
  it('design a, as posted: the one AS_COLLAPSE_PMD flag loses ranges — liveness fails; the replay file reproduces it', async () => {
    const s = await loadScenario('examples/pte-mapped-thp-retry-as-flag.yaml');
    const r = run(s);
    expect(r.verdict).toBe('liveness');
    expect(r.violations[0]!.invariant).toBe('liveness-pmd-mapped');
    expect(r.violations[0]!.message).toMatch(/maps huge page 0x[0-9a-f]+ of f by ptes, not by pmd/);
    const replay = await readReplay('examples/pte-mapped-thp-retry-as-flag.replay.json');
    const again = run(replay.scenario, { seed: replay.seed, schedule: replay.decisions });
    expect(again.traceHash).toBe(r.traceHash);
    expect(again.violations).toEqual(r.violations);
    const { verdicts } = outcomes(s, 400);
    expect(verdicts.get('liveness') ?? 0).toBeGreaterThan(0);
    expect(verdicts.get('ok') ?? 0).toBeGreaterThan(0);
  });

  it('design b (per-PMD): every schedule ends pmd-mapped, through retries, and a replaced subpage forces the fallback', async () => {
    const s = await loadScenario('examples/pte-mapped-thp-retry-per-pmd.yaml');
    const { verdicts, events } = outcomes(s, 800);
    expect(verdicts.get('ok')).toBe(800);
    expect(events.get('down_write_trylock failed') ?? 0).toBeGreaterThan(0);
    expect(events.get('retracted') ?? 0).toBeGreaterThan(0); // collapse_pte_mapped_thp did the retry
    expect(events.get('fallback') ?? 0).toBeGreaterThan(0); // the uprobe'd subpage
    expect(events.get('prepare_pmd_for_collapse failed') ?? 0).toBeGreaterThan(0);
  });

  it('exhaustively (dfs, 20,000 states): design b leaves no range pte-mapped, design a does', async () => {
    const b = explore(await loadScenario('examples/pte-mapped-thp-retry-per-pmd.yaml'), { strategy: 'dfs', shrinkBudget: 0, maxStates: 20_000 });
    expect(b.states).toBe(20_000);
    expect(b.violations).toEqual({});
    const a = explore(await loadScenario('examples/pte-mapped-thp-retry-as-flag.yaml'), { strategy: 'dfs', shrinkBudget: 0, maxStates: 20_000 });
    expect(a.violations['liveness-pmd-mapped'] ?? 0).toBeGreaterThan(0);
  });

  it('design b, a schedule unfair to the task: khugepaged runs out of passes with the retry still owed — not reported', async () => {
    // found by the dfs: U1 holds mmap_lock for read across khugepaged's last passes, so every
    // down_write_trylock of khugepaged_collapse_pte_mapped_thps fails
    const replay = await readReplay('test/fixtures/pte-mapped-thp-per_pmd-owed.replay.json');
    const lines: string[] = [];
    const r = run(replay.scenario, { seed: replay.seed, schedule: replay.decisions, trace: (l) => /collapse_pte_mapped_thps\.trylock -> down_read/.test(l) && lines.push(l) });
    expect(r.verdict).toBe('ok');
    expect(lines.length).toBeGreaterThan(1); // the trylock failed, pass after pass
    const mm = r.kernel.mmByName('m1')!;
    expect(mm.kindAt(1)).toBe('pte_table');
    expect([...mm.ptePmdRetry]).toEqual([1]);
    const head = r.kernel.inodeByName('f')!.mapping.lookup(4);
    expect(r.kernel.pages.order[head]).toBe(r.kernel.HPAGE_PMD_ORDER);
  });

  it('the same schedules of design b without its variant (seed 000: no retry) leave ranges pte-mapped', async () => {
    const s = await loadScenario('examples/pte-mapped-thp-retry-per-pmd.yaml');
    const noRetry = { ...s, variants: s.variants.filter((v) => v !== 'pte_mapped_thp_retry_per_pmd') };
    let liveness = 0;
    for (let seed = 1; seed <= 200; seed++) if (run(noRetry, { seed }).verdict === 'liveness') liveness++;
    expect(liveness).toBeGreaterThan(0);
  });

  it('after collapse_pte_mapped_thp the range refaults as one huge pmd, and its data reads back', async () => {
    const s = await loadScenario('examples/pte-mapped-thp-retry-per-pmd.yaml');
    const noUprobe = { ...s, actors: s.actors.filter((a) => a.id !== 'U1'), liveness: true };
    let checked = 0;
    for (let seed = 1; seed <= 300 && checked < 20; seed++) {
      const r = run(noUprobe, { seed });
      expect(r.verdict).toBe('ok');
      const k = r.kernel;
      const mm = k.mmByName('m1')!;
      for (const p of [0, 1]) {
        if (mm.kindAt(p) !== 'huge') continue;
        const head = mm.pmds.get(p)!.pfn;
        expect(k.pages.order[head]).toBe(k.HPAGE_PMD_ORDER);
        for (let i = 0; i < k.HPAGE_PMD_NR; i++) expect(k.pages.data[head + i]).toBe(k.inodeByName('f')!.expected.get(p * 4 + i) ?? 0);
        checked++;
      }
      // nothing pte-maps a huge page at quiescence (the liveness monitor agrees)
      for (const pm of mm.pmds.values()) for (const pfn of pm.ptes) if (pfn !== PTE_NONE) expect(k.pages.order[k.pages.compoundHead(pfn)]).toBe(0);
    }
    expect(checked).toBeGreaterThan(0);
  });
});
