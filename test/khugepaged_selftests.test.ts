// Seed 000: the cases a kernel developer tries first on shmem collapse (in the spirit of
// tools/testing/selftests/mm/khugepaged.c): populate an extent, let khugepaged run, then
// look at the page cache, the counters and the data. Each run is ordered — the task
// populating the file runs to the end, then reclaim, then khugepaged, then the task that
// checks — by a schedule built from the actors' states (test/helpers/khugepaged.ts).
import { describe, expect, it } from 'vitest';
import { validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import { runInOrder } from './helpers/khugepaged.ts';

const FIXES = ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated'];
const PAGE = 0x1000;
const ORDER = ['T1', 'kswapd', 'khugepaged', 'T2'];

type Op = Record<string, unknown> | 'exit';
const store = (i: number): Op => ({ write: i * PAGE });
const load = (i: number): Op => ({ read: i * PAGE });
const pwrite = (i: number): Op => ({ pwrite: { file: 'f', offset: i * PAGE } });
const pread = (i: number): Op => ({ pread: { file: 'f', offset: i * PAGE } });
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

interface Setup {
  nr?: number;
  variants?: string[];
  khugepaged?: Record<string, number>;
  /** T1: populates the file. */
  populate: Op[];
  /** Indices reclaim swaps out (after T1). */
  swapOut?: number[];
  /** T2: runs after khugepaged. */
  check?: Op[];
  fullScans?: number;
}

/** One shmem file of one extent, mapped shared by m1 at 0; shmem_enabled=always. */
async function scenario(o: Setup) {
  const nr = o.nr ?? 8;
  const actors: Record<string, unknown>[] = [{ kind: 'task', id: 'T1', mm: 'm1', ops: o.populate }];
  if (o.swapOut?.length) {
    actors.push({ kind: 'shmem_reclaim', id: 'kswapd', targets: o.swapOut.map((i) => ({ file: 'f', offset: i * PAGE })) });
  }
  actors.push({ kind: 'khugepaged', id: 'khugepaged', full_scans: o.fullScans ?? 1 });
  if (o.check) actors.push({ kind: 'task', id: 'T2', mm: 'm1', ops: o.check });
  return validateScenario({
    name: 'selftest', hpage_pmd_nr: nr,
    variants: o.variants ?? FIXES,
    sysfs: { shmem_enabled: 'always', khugepaged: o.khugepaged ?? {} },
    files: [{ name: 'f', size: nr * PAGE }],
    mms: [{ name: 'm1', vmas: [{ start: 0, size: nr * PAGE, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }] }],
    actors,
  }, 'selftest');
}

async function collapse(o: Setup) {
  const t = runInOrder(await scenario(o), ORDER);
  expect(t.r.actors.every((a) => a.outcome === 'ok'), JSON.stringify(t.r.actors)).toBe(true);
  return t;
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

describe('khugepaged selftests on shmem (seed 000, HPAGE_PMD_NR 8, fixes selected)', () => {
  it('a fully populated extent collapses into one huge page; the pte table is retracted', async () => {
    const t = await collapse({ populate: range(8).map(store) });
    const k = t.r.kernel;
    expect(t.r.verdict).toBe('ok');
    expect(t.results).toEqual(['SCAN_SUCCEED']);
    expect(t.scans[0]).toMatchObject({ present: 8, swap: 0 });
    expect(k.khugepaged.pages_collapsed).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.vmstat.get('nr_shmem_hugepages')).toBe(1);
    expectHuge(k);
    const mm = k.mmByName('m1')!;
    expect(mm.kindAt(0)).toBe('none');
    expect(mm.nr_ptes).toBe(0);
    expect(mm.rss.MM_SHMEMPAGES).toBe(0); // collapse_shmem unmapped every old page
  });

  it.each([
    ['the default max_ptes_none (HPAGE_PMD_NR - 1) lets it collapse', 7, 'SCAN_SUCCEED'],
    ['max_ptes_none 6 refuses it: exceed_none_pte', 6, 'SCAN_EXCEED_NONE_PTE'],
  ] as const)('a single present page: %s', async (_what, maxNone, result) => {
    const t = await collapse({ populate: [pwrite(5)], khugepaged: { max_ptes_none: maxNone } });
    const k = t.r.kernel;
    expect(t.r.verdict).toBe('ok');
    expect(k.sysfs.khugepaged.max_ptes_none).toBe(maxNone);
    expect(t.results).toEqual([result]);
    expect(t.scans[0]).toMatchObject({ present: 1 });
    if (result === 'SCAN_SUCCEED') {
      expectHuge(k);
      expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(0);
    } else {
      expectSmall(k, [5]);
      expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(1);
      expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
    }
  });

  it.each([
    ['exactly at the limit (3 holes) collapses', 5, 'SCAN_SUCCEED'],
    ['one past it (4 holes) does not', 4, 'SCAN_EXCEED_NONE_PTE'],
  ] as const)('max_ptes_none 3: %s', async (_what, present, result) => {
    const t = await collapse({ populate: range(present).map((i) => pwrite(7 - i)), khugepaged: { max_ptes_none: 3 } });
    const k = t.r.kernel;
    expect(t.r.verdict).toBe('ok');
    expect(t.results).toEqual([result]);
    expect(t.scans[0]).toMatchObject({ present });
    expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(result === 'SCAN_SUCCEED' ? 0 : 1);
    expect(k.khugepaged.pages_collapsed).toBe(result === 'SCAN_SUCCEED' ? 1 : 0);
    if (result === 'SCAN_SUCCEED') expectHuge(k);
    else expectSmall(k, range(present).map((i) => 7 - i));
  });

  it.each([
    ['the default (HPAGE_PMD_NR / 8 = 1), at the limit: swapped in and collapsed', undefined, [2], 'SCAN_SUCCEED'],
    ['the default, one past the limit: exceed_swap_pte', undefined, [2, 6], 'SCAN_EXCEED_SWAP_PTE'],
    ['raised to 2, at the limit: collapsed', 2, [2, 6], 'SCAN_SUCCEED'],
    ['raised to 2, one past it: exceed_swap_pte', 2, [1, 2, 6], 'SCAN_EXCEED_SWAP_PTE'],
  ] as const)('max_ptes_swap %s', async (_what, maxSwap, swapOut, result) => {
    const t = await collapse({
      populate: range(8).map(pwrite), swapOut: [...swapOut],
      khugepaged: maxSwap === undefined ? {} : { max_ptes_swap: maxSwap },
    });
    const k = t.r.kernel;
    expect(t.r.verdict).toBe('ok');
    expect(k.sysfs.khugepaged.max_ptes_swap).toBe(maxSwap ?? 1);
    expect(t.results).toEqual([result]);
    if (result === 'SCAN_SUCCEED') {
      expect(t.scans[0]).toMatchObject({ swap: swapOut.length, present: 8 - swapOut.length });
      expectHuge(k); // the swapped-out data came back through shmem_getpage into the huge page
      expect(k.inodeByName('f')!.swapped).toBe(0);
      expect(k.vmstat.get('thp_scan_exceed_swap_pte')).toBe(0);
    } else {
      expect(t.scans[0]!.swap).toBe(swapOut.length); // the walk stops at the entry past the limit
      expect(k.vmstat.get('thp_scan_exceed_swap_pte')).toBe(1);
      expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
      expect(k.inodeByName('f')!.swapped).toBe(swapOut.length);
      expectSmall(k, range(8).filter((i) => !swapOut.includes(i as never)));
    }
  });

  it('a range already huge is left alone: page_compound on the next full scan', async () => {
    const t = await collapse({ populate: range(8).map(pwrite), fullScans: 2 });
    const k = t.r.kernel;
    expect(t.r.verdict).toBe('ok');
    expect(t.results).toEqual(['SCAN_SUCCEED', 'SCAN_PAGE_COMPOUND']);
    expect(k.khugepaged.full_scans).toBe(2);
    expect(k.khugepaged.pages_collapsed).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expectHuge(k);
  });

  // Written: 0 and 3 by stores through the mapping, 5 by write(2); holes: 1, 2, 4, 6, 7.
  const WRITTEN = [0, 3, 5];
  const e2e: Setup = {
    populate: [store(0), store(3), pwrite(5)],
    check: [...range(8).map(load), ...range(8).map(pread)],
  };

  it('end to end: after the collapse every offset reads back its data or zeroes, by load and by read(2); the refault maps a huge pmd', async () => {
    const t = await collapse(e2e);
    const k = t.r.kernel;
    expect(t.r.verdict, JSON.stringify(t.r.violations)).toBe('ok');
    expect(t.results).toEqual(['SCAN_SUCCEED']);
    expect(t.scans[0]).toMatchObject({ present: 3 });
    const head = expectHuge(k);
    const written = new Map(t.accesses.filter((a) => a.op === 'write').map((a) => [a.index, a.data]));
    expect([...written.keys()].sort()).toEqual(WRITTEN);
    const reads = t.accesses.filter((a) => a.op === 'read');
    expect(reads.map((a) => `${a.via}:${a.index}`)).toEqual([...range(8).map((i) => `mem:${i}`), ...range(8).map((i) => `file:${i}`)]);
    for (const a of reads) {
      expect(a.pfn, `${a.via} read of index ${a.index}`).toBe(head + a.index);
      expect(a.data, `${a.via} read of index ${a.index}`).toBe(written.get(a.index) ?? 0);
    }
    // retract_page_tables() cleared the pmd; T2's first load refaulted it as a huge pmd
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
    expect(mm.rss.MM_SHMEMPAGES).toBe(8);
    expect(k.vmstat.get('thp_file_mapped')).toBe(1);
  });

  it('as posted (no clear_highpage of holes), a load of a former hole returns garbage; the recorded schedule replays it', async () => {
    const s = await scenario({ ...e2e, variants: [] });
    const t = runInOrder(s, ORDER);
    expect(t.results).toEqual(['SCAN_SUCCEED']);
    expect(t.r.verdict).toBe('violation');
    const v = t.r.violations[0]!;
    expect(v.invariant).toBe('data-integrity');
    expect(v.actor).toBe('T2');
    // the first hole T2 loads is index 1
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
  });
});
