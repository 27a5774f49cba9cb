// Seed 000: what a kernel developer tries on shmem collapse beyond what the kernel's
// khugepaged selftest checks. The selftest's own cases (collapse_full, a single present
// page, max_ptes_none on a file, ...) are scenarios in test/selftests/, run by
// test/selftests.test.ts; the two that were here in its spirit — a full extent collapsed,
// a single page collapsed with the default max_ptes_none — are replaced by
// collapse_full-khugepaged-shmem and collapse_single_pte_entry-khugepaged-shmem. Kept, as
// the selftest does not test them: what the collapse leaves in the page tables before the
// refault; max_ptes_none on shmem (the selftest runs it on regular files only); khugepaged's
// max_ptes_swap on shmem (the selftest's swap cases are anonymous memory, not modelled);
// the next scan of an extent already huge; every former hole read back as zeroes by load
// and by read(2); and the as-posted finding there. Each is written as the selftest writes
// its cases — populate, MADV_HUGEPAGE, wait for khugepaged's full scans, look — so no
// schedule is built by hand: the swapped-out pages are swapped out before the run
// (`swapped:`), and each case holds for every seed tried.
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import { type Traced, runTraced } from './helpers/khugepaged.ts';

const FIXES = ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated'];
const PAGE = 0x1000;
const NR = 8;
const SEEDS = [1, 2, 3, 4, 5];

type Op = Record<string, unknown>;
const store = (i: number): Op => ({ write: i * PAGE });
const load = (i: number): Op => ({ read: i * PAGE });
const pwrite = (i: number): Op => ({ pwrite: { file: 'f', offset: i * PAGE } });
const pread = (i: number): Op => ({ pread: { file: 'f', offset: i * PAGE } });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Setup {
  variants?: string[];
  khugepaged?: Record<string, number>;
  /** The file starts with every page written and these swapped out (shmem_writepage before the run). */
  swapped?: number[];
  /** The task's stores, before it asks for collapse. */
  populate?: Op[];
  /** khugepaged's full scans to wait for after MADV_HUGEPAGE. */
  scans?: number;
  /** The task's loads and reads after the wait. */
  check?: Op[];
}

/**
 * One shmem file of one extent, mapped shared at 0; the selftest's settings (enabled and
 * shmem_enabled madvise/advise, so khugepaged scans the mm only once MADV_HUGEPAGE has
 * registered it). The task populates, madvises, waits for khugepaged's scans, then checks.
 */
async function scenario(o: Setup): Promise<Scenario> {
  const swapped = o.swapped ?? [];
  return validateScenario({
    name: 'khugepaged-shmem', hpage_pmd_nr: NR,
    variants: o.variants ?? FIXES,
    sysfs: { enabled: 'madvise', shmem_enabled: 'advise', khugepaged: { scan_sleep_millisecs: 10, ...o.khugepaged } },
    files: [swapped.length
      ? { name: 'f', size: NR * PAGE, populated: true, swapped: swapped.map((i) => ({ offset: i * PAGE, size: PAGE })) }
      : { name: 'f', size: NR * PAGE }],
    mms: [{ name: 'm1', vmas: [{ start: 0, size: NR * PAGE, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }] }],
    actors: [
      {
        kind: 'task', id: 'T', mm: 'm1', ops: [
          ...(o.populate ?? []),
          { madvise: { start: 0, size: NR * PAGE, advice: 'MADV_HUGEPAGE' } },
          { wait: { khugepaged_full_scans: o.scans ?? 1 } },
          ...(o.check ?? []),
        ],
      },
      { kind: 'khugepaged', id: 'khugepaged', full_scans: 1 },
    ],
  }, 'khugepaged-shmem');
}

/** Runs `s` under each seed; every run must end with every actor done. */
function runs(s: Scenario): Traced[] {
  return SEEDS.map((seed) => {
    const t = runTraced(s, { seed });
    expect(t.r.actors.every((a) => a.outcome === 'ok'), `seed ${seed}: ${JSON.stringify(t.r.actors)}`).toBe(true);
    return t;
  });
}

/** The extent is one huge page, subpage i at index i, holding what was last written there (zeroes for holes). */
function expectHuge(k: Kernel): number {
  const ino = k.inodeByName('f')!;
  const head = k.pages.compoundHead(ino.mapping.slots[0]!);
  expect(k.pages.order[head]).toBe(k.HPAGE_PMD_ORDER);
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    expect(ino.mapping.slots[i]).toBe(head + i);
    expect(k.pages.data[head + i]).toBe(ino.expected.get(i) ?? 0);
  }
  expect(ino.mapping.nrpages).toBe(k.HPAGE_PMD_NR);
  return head;
}

function expectSmall(k: Kernel, present: number[]): void {
  const slots = k.inodeByName('f')!.mapping.slots;
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    const v = slots[i]!;
    if (present.includes(i)) expect(v >= 0 && k.pages.order[k.pages.compoundHead(v)] === 0).toBe(true);
    else expect(v === SLOT_HOLE || isSwapEntry(v)).toBe(true);
  }
}

describe('khugepaged on shmem beyond the selftest (seed 000, HPAGE_PMD_NR 8, fixes selected)', () => {
  it('a collapsed extent is left unmapped until refaulted: retract_page_tables freed the pte table, no page stays mapped', async () => {
    for (const t of runs(await scenario({ populate: range(NR).map(store) }))) {
      const k = t.r.kernel;
      expect(t.r.verdict).toBe('ok');
      expect(t.results).toEqual(['SCAN_SUCCEED']);
      expect(t.scans[0]).toMatchObject({ present: NR, swap: 0 });
      expect(k.khugepaged.pages_collapsed).toBe(1);
      expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
      expect(k.vmstat.get('nr_shmem_hugepages')).toBe(1);
      expectHuge(k);
      const mm = k.mmByName('m1')!;
      expect(mm.kindAt(0)).toBe('none');
      expect(mm.nr_ptes).toBe(0);
      expect(mm.rss.MM_SHMEMPAGES).toBe(0); // collapse_shmem unmapped every old page
    }
  });

  it('a single present page with max_ptes_none 6 (one below the default): exceed_none_pte, nothing collapsed', async () => {
    for (const t of runs(await scenario({ populate: [pwrite(5)], khugepaged: { max_ptes_none: 6 } }))) {
      const k = t.r.kernel;
      expect(t.r.verdict).toBe('ok');
      expect(k.sysfs.khugepaged.max_ptes_none).toBe(6);
      expect(t.results).toEqual(['SCAN_EXCEED_NONE_PTE']);
      expect(t.scans[0]).toMatchObject({ present: 1 });
      expectSmall(k, [5]);
      expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(1);
      expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
    }
  });

  it.each([
    ['exactly at the limit (3 holes) collapses', 5, 'SCAN_SUCCEED'],
    ['one past it (4 holes) does not', 4, 'SCAN_EXCEED_NONE_PTE'],
  ] as const)('max_ptes_none 3: %s', async (_what, present, result) => {
    for (const t of runs(await scenario({ populate: range(present).map((i) => pwrite(7 - i)), khugepaged: { max_ptes_none: 3 } }))) {
      const k = t.r.kernel;
      expect(t.r.verdict).toBe('ok');
      expect(t.results).toEqual([result]);
      expect(t.scans[0]).toMatchObject({ present });
      expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(result === 'SCAN_SUCCEED' ? 0 : 1);
      expect(k.khugepaged.pages_collapsed).toBe(result === 'SCAN_SUCCEED' ? 1 : 0);
      if (result === 'SCAN_SUCCEED') expectHuge(k);
      else expectSmall(k, range(present).map((i) => 7 - i));
    }
  });

  it.each([
    ['the default (HPAGE_PMD_NR / 8 = 1), at the limit: swapped in and collapsed', undefined, [2], 'SCAN_SUCCEED'],
    ['the default, one past the limit: exceed_swap_pte', undefined, [2, 6], 'SCAN_EXCEED_SWAP_PTE'],
    ['raised to 2, at the limit: collapsed', 2, [2, 6], 'SCAN_SUCCEED'],
    ['raised to 2, one past it: exceed_swap_pte', 2, [1, 2, 6], 'SCAN_EXCEED_SWAP_PTE'],
  ] as const)('max_ptes_swap %s', async (_what, maxSwap, swapped, result) => {
    const s = await scenario({ swapped: [...swapped], khugepaged: maxSwap === undefined ? {} : { max_ptes_swap: maxSwap } });
    for (const t of runs(s)) {
      const k = t.r.kernel;
      expect(t.r.verdict).toBe('ok');
      expect(k.sysfs.khugepaged.max_ptes_swap).toBe(maxSwap ?? 1);
      expect(t.results).toEqual([result]);
      if (result === 'SCAN_SUCCEED') {
        expect(t.scans[0]).toMatchObject({ swap: swapped.length, present: NR - swapped.length });
        expectHuge(k); // the swapped-out data came back through shmem_getpage into the huge page
        expect(k.inodeByName('f')!.swapped).toBe(0);
        expect(k.vmstat.get('thp_scan_exceed_swap_pte')).toBe(0);
      } else {
        expect(t.scans[0]!.swap).toBe(swapped.length); // the walk stops at the entry past the limit
        expect(k.vmstat.get('thp_scan_exceed_swap_pte')).toBe(1);
        expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
        expect(k.inodeByName('f')!.swapped).toBe(swapped.length);
        expectSmall(k, range(NR).filter((i) => !swapped.includes(i as never)));
      }
    }
  });

  it('a range already huge is left alone: page_compound on the next full scan', async () => {
    for (const t of runs(await scenario({ populate: range(NR).map(pwrite), scans: 2 }))) {
      const k = t.r.kernel;
      expect(t.r.verdict).toBe('ok');
      expect(t.results).toEqual(['SCAN_SUCCEED', 'SCAN_PAGE_COMPOUND']);
      expect(k.khugepaged.full_scans).toBe(2);
      expect(k.khugepaged.pages_collapsed).toBe(1);
      expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
      expectHuge(k);
    }
  });

  // Written: 0 and 3 by stores through the mapping, 5 by write(2); holes: 1, 2, 4, 6, 7.
  const WRITTEN = [0, 3, 5];
  const e2e: Setup = {
    populate: [store(0), store(3), pwrite(5)],
    check: [...range(NR).map(load), ...range(NR).map(pread)],
  };

  it('end to end: after the collapse every offset reads back its data or zeroes, by load and by read(2); the refault maps a huge pmd', async () => {
    for (const t of runs(await scenario(e2e))) {
      const k = t.r.kernel;
      expect(t.r.verdict, JSON.stringify(t.r.violations)).toBe('ok');
      expect(t.results).toEqual(['SCAN_SUCCEED']);
      expect(t.scans[0]).toMatchObject({ present: 3 });
      const head = expectHuge(k);
      const written = new Map(t.accesses.filter((a) => a.op === 'write').map((a) => [a.index, a.data]));
      expect([...written.keys()].sort()).toEqual(WRITTEN);
      const reads = t.accesses.filter((a) => a.op === 'read');
      expect(reads.map((a) => `${a.via}:${a.index}`)).toEqual([...range(NR).map((i) => `mem:${i}`), ...range(NR).map((i) => `file:${i}`)]);
      for (const a of reads) {
        expect(a.pfn, `${a.via} read of index ${a.index}`).toBe(head + a.index);
        expect(a.data, `${a.via} read of index ${a.index}`).toBe(written.get(a.index) ?? 0);
      }
      // retract_page_tables() cleared the pmd; T's first load refaulted it as a huge pmd
      const collapsed = t.lines.findIndex((l) => l.includes('mm_collapse_huge_page:'));
      const retracted = t.lines.findIndex((l) => l.includes('pmd_pmdp_clear: mm=m1 addr=0x0'));
      const mapped = t.lines.findIndex((l) => /pmd_set_pmd_huge: mm=m1 addr=0x0 pfn=/.test(l));
      expect(retracted).toBeGreaterThan(0);
      expect(retracted).toBeLessThan(collapsed);
      expect(mapped).toBeGreaterThan(collapsed);
      expect(t.lines[mapped]).toMatch(/^\s*task-\d+ /);
      const mm = k.mmByName('m1')!;
      expect(mm.kindAt(0)).toBe('huge');
      expect(mm.pmd(0).pfn).toBe(head);
      expect(mm.rss.MM_SHMEMPAGES).toBe(NR);
      expect(k.vmstat.get('thp_file_mapped')).toBe(1);
    }
  });

  it('as posted (no clear_highpage of holes), a load of a former hole returns garbage; the recorded schedule replays it', async () => {
    const s = await scenario({ ...e2e, variants: [] });
    for (const seed of SEEDS) {
      const t = runTraced(s, { seed });
      expect(t.results).toEqual(['SCAN_SUCCEED']);
      expect(t.r.verdict).toBe('violation');
      const v = t.r.violations[0]!;
      expect(v.invariant).toBe('data-integrity');
      expect(v.actor).toBe('T');
      // the first hole T loads is index 1
      expect(v.message).toBe('load of m1:0x1000 (f[1]) returned garbage (uninitialised memory); expected zeroes');
      // the written offsets were fine up to there
      expect(t.accesses.filter((a) => a.op === 'read').map((a) => a.index)).toEqual([0, 1]);
      const again = run(s, { schedule: t.r.schedule });
      expect(again.verdict).toBe('violation');
      expect(again.violations[0]).toEqual(v);
      expect(again.traceHash).toBe(t.r.traceHash);
      // the fix, on the same schedule, reads zeroes there (and the schedule then simply ends)
      const fixed = run({ ...s, variants: ['collapse_shmem_clear_holes'] }, { schedule: t.r.schedule });
      expect(fixed.violations).toEqual([]);
      expect(fixed.verdict).toBe('divergence');
      expect(fixed.divergence).toMatch(/^the schedule ended after \d+ decisions/);
      expect(fixed.steps).toBe(t.r.schedule.length);
    }
  });
});
