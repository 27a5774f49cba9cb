// Seed 000 (khugepaged: add support of collapse for tmpfs/shmem pages): every SCAN_*
// result khugepaged_scan_shmem() / collapse_shmem() can produce, one example scenario
// each (examples/collapse-shmem-scan-*.yaml), run as the CLI runs them (their own seed):
// the result appears in mm_khugepaged_scan_file, the vmstat counters agree, and the
// page cache ends as the kernel would leave it.
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { SLOT_HOLE, isSwapEntry } from '../src/memory/address_space.ts';
import type { ScanResult } from '../machines/khugepaged.ts';
import { type Traced, runTraced } from './helpers/khugepaged.ts';

const FIXES = ['collapse_shmem_clear_holes', 'collapse_shmem_rollback_nrpages', 'collapse_shmem_stop_if_truncated'];

async function example(name: string): Promise<{ s: Scenario; t: Traced }> {
  const s = await loadScenario(`examples/collapse-shmem-scan-${name}.yaml`);
  const t = runTraced(s);
  expect(t.r.verdict, JSON.stringify(t.r.violations)).toBe(s.expect?.verdict ?? 'ok');
  expect(t.r.actors.every((a) => a.outcome === 'ok')).toBe(true);
  checkCounters(t);
  return { s, t };
}

const count = (t: Traced, res: ScanResult) => t.results.filter((x) => x === res).length;

/** What the counters must say of any run, whatever its results. */
function checkCounters(t: Traced): void {
  const k = t.r.kernel;
  expect(t.scans.length).toBeGreaterThan(0);
  expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(count(t, 'SCAN_EXCEED_NONE_PTE'));
  expect(k.vmstat.get('thp_scan_exceed_swap_pte')).toBe(count(t, 'SCAN_EXCEED_SWAP_PTE'));
  expect(k.vmstat.get('thp_collapse_alloc_failed')).toBe(count(t, 'SCAN_ALLOC_HUGE_PAGE_FAIL'));
  expect(k.khugepaged.pages_collapsed).toBe(count(t, 'SCAN_SUCCEED'));
  // collapse_shmem() counts its allocation; of the results, these come after it (and
  // SCAN_PAGE_COUNT may: the scan's page_count check or collapse_shmem's page_ref_freeze)
  const afterAlloc = ['SCAN_SUCCEED', 'SCAN_CGROUP_CHARGE_FAIL', 'SCAN_PAGE_LOCK', 'SCAN_TRUNCATED', 'SCAN_DEL_PAGE_LRU', 'SCAN_FAIL'];
  const n = t.results.filter((x) => afterAlloc.includes(x)).length;
  expect(k.vmstat.get('thp_collapse_alloc')).toBeGreaterThanOrEqual(n);
  expect(k.vmstat.get('thp_collapse_alloc')).toBeLessThanOrEqual(n + count(t, 'SCAN_PAGE_COUNT'));
}

/** The file's extent [start, start + HPAGE_PMD_NR) is one order-N page, subpage i at index start + i, with the data last written. */
function expectCollapsed(k: Kernel, file: string, start = 0): void {
  const ino = k.inodeByName(file)!;
  const slots = ino.mapping.slots;
  const head = k.pages.compoundHead(slots[start]!);
  expect(k.pages.order[head]).toBe(k.HPAGE_PMD_ORDER);
  expect(k.pages.index[head]).toBe(start);
  expect(k.pages.mapping[head]).toBe(ino.id);
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    expect(slots[start + i]).toBe(head + i);
    expect(k.pages.data[head + i]).toBe(ino.expected.get(start + i) ?? 0);
  }
}

/** Each slot of the file: 'page' (a small page), 'hole', 'swap' or 'huge'. */
function slotKinds(k: Kernel, file: string): string[] {
  return [...k.inodeByName(file)!.mapping.slots].map((v) => {
    if (v === SLOT_HOLE) return 'hole';
    if (isSwapEntry(v)) return 'swap';
    return k.pages.order[k.pages.compoundHead(v)]! > 0 ? 'huge' : 'page';
  });
}

describe('khugepaged_scan_shmem / collapse_shmem results (seed 000), one example each', () => {
  it('SCAN_SUCCEED: the extent becomes one order-2 page holding the data; the page table is retracted', async () => {
    const { t } = await example('succeed');
    const k = t.r.kernel;
    expect(t.results).toContain('SCAN_SUCCEED');
    expect(t.scans.find((x) => x.result === 'SCAN_SUCCEED')).toMatchObject({ present: 4, swap: 0 });
    expect(k.khugepaged.pages_collapsed).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.vmstat.get('nr_shmem_hugepages')).toBe(1);
    expectCollapsed(k, 'f');
    const mm = k.mmByName('m1')!;
    expect(mm.kindAt(0)).toBe('none'); // retract_page_tables: refaults map it by pmd
    expect(mm.nr_ptes).toBe(0);
    expect(t.lines.some((l) => l.includes('mm_collapse_huge_page: mm=m1 isolated=1 status=succeeded'))).toBe(true);
  });

  it('SCAN_EXCEED_NONE_PTE: one page present, max_ptes_none 2 — no collapse attempt', async () => {
    const { t } = await example('exceed-none-pte');
    const k = t.r.kernel;
    expect(t.results).toEqual(['SCAN_EXCEED_NONE_PTE', 'SCAN_EXCEED_NONE_PTE']);
    expect(t.scans[1]).toMatchObject({ present: 1, swap: 0 });
    expect(k.vmstat.get('thp_scan_exceed_none_pte')).toBe(2);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['hole', 'page', 'hole', 'hole']);
  });

  it('SCAN_EXCEED_SWAP_PTE: one swap entry past max_ptes_swap (0 with HPAGE_PMD_NR 4)', async () => {
    const { t } = await example('exceed-swap-pte');
    const k = t.r.kernel;
    expect(k.sysfs.khugepaged.max_ptes_swap).toBe(0);
    expect(t.results.at(-1)).toBe('SCAN_EXCEED_SWAP_PTE');
    expect(t.scans.at(-1)).toMatchObject({ swap: 1, present: 0 });
    expect(k.vmstat.get('thp_scan_exceed_swap_pte')).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['swap', 'page', 'hole', 'hole']);
    expect(k.inodeByName('f')!.swapped).toBe(1);
  });

  it('SCAN_PAGE_COMPOUND: the next full scan of a collapsed extent finds the huge page and stops', async () => {
    const { t } = await example('page-compound');
    const k = t.r.kernel;
    expect(t.results.slice(-2)).toEqual(['SCAN_SUCCEED', 'SCAN_PAGE_COMPOUND']);
    expect(t.scans.at(-1)).toMatchObject({ present: 0 });
    expect(k.khugepaged.pages_collapsed).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.khugepaged.full_scans).toBe(3);
    expectCollapsed(k, 'f');
  });

  it('SCAN_PAGE_LRU: the scan meets a page added to the cache but not yet to the LRU; the next scan collapses', async () => {
    const { t } = await example('page-lru');
    const k = t.r.kernel;
    expect(t.results).toEqual(['SCAN_PAGE_LRU', 'SCAN_SUCCEED']);
    expect(t.scans[0]).toMatchObject({ present: 0 }); // the lockless scan, not collapse_shmem()
    // the scan came between shmem_add_to_page_cache and lru_cache_add_anon
    const at = t.lines.findIndex((l) => l.includes('result=page_not_in_lru'));
    const before = t.lines.slice(0, at).filter((l) => l.includes('thpsim_step: actor=T1')).at(-1)!;
    expect(before).toMatch(/add_to_page_cache -> pwrite\.getpage\.lru_add/);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expectCollapsed(k, 'f');
  });

  it('SCAN_PAGE_COUNT: the scan meets a page a read(2) holds a reference on; the next scan collapses', async () => {
    const { t } = await example('page-count');
    const k = t.r.kernel;
    expect(t.results).toEqual(['SCAN_PAGE_COUNT', 'SCAN_SUCCEED']);
    expect(t.scans[0]).toMatchObject({ present: 0 });
    const at = t.lines.findIndex((l) => l.includes('result=not_suitable_page_count'));
    const before = t.lines.slice(0, at).filter((l) => l.includes('thpsim_step: actor=T1')).at(-1)!;
    expect(before).toMatch(/pread\./); // mid read(2): find_lock_entry .. put_page
    expectCollapsed(k, 'f');
    // the other site of the same result: collapse_shmem()'s page_ref_freeze(page, 3)
    const s = await loadScenario('examples/collapse-shmem-scan-page-count.yaml');
    const other = runTraced(s, { seed: 605 });
    expect(other.r.verdict).toBe('ok');
    expect(other.scans[0]).toMatchObject({ result: 'SCAN_PAGE_COUNT', present: 1 });
    expect(other.lines.some((l) => l.includes('collapse_shmem.freeze -> scan_shmem.collapse_shmem.out_lru'))).toBe(true);
  });

  it('SCAN_PAGE_LOCK: collapse_shmem() cannot trylock a page a write(2) holds locked; holes are put back', async () => {
    const { t } = await example('page-lock');
    const k = t.r.kernel;
    expect(t.results).toEqual(['SCAN_PAGE_LOCK', 'SCAN_SUCCEED']);
    expect(t.scans[0]).toMatchObject({ present: 1 }); // the scan passed; collapse_shmem() failed
    // holes 0-2 were filled with subpages of the new page, then restored
    const first = t.lines.findIndex((l) => l.includes('result=page_locked'));
    const restored = t.lines.slice(0, first).filter((l) => /delete_from_page_cache: file=f index=\d \S+ -> hole/.test(l));
    expect(restored).toHaveLength(3);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(2);
    expect(k.khugepaged.pages_collapsed).toBe(1);
    expectCollapsed(k, 'f');
  });

  it('SCAN_TRUNCATED: a punch empties the extent between scan and collapse (fix collapse_shmem_stop_if_truncated)', async () => {
    const { s, t } = await example('truncated');
    const k = t.r.kernel;
    expect(t.results).toEqual(['SCAN_TRUNCATED']);
    expect(t.scans[0]).toMatchObject({ present: 1 });
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.khugepaged.pages_collapsed).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['hole', 'hole', 'hole', 'hole']);
    expect(k.inodeByName('f')!.mapping.nrpages).toBe(0);
    // as posted, the same schedule refills the punched extent with a (garbage-holding) huge page
    const posted = runTraced({ ...s, variants: FIXES.filter((v) => v !== 'collapse_shmem_stop_if_truncated') }, { seed: s.seed });
    expect(posted.results).toEqual(['SCAN_SUCCEED']);
    expect(slotKinds(posted.r.kernel, 'f')).toEqual(['huge', 'huge', 'huge', 'huge']);
  });

  it('SCAN_DEL_PAGE_LRU: isolate_lru_page fails; the hole filled before it is put back, nrpages restored', async () => {
    const { s, t } = await example('del-page-lru');
    const k = t.r.kernel;
    expect(t.results.at(-1)).toBe('SCAN_DEL_PAGE_LRU');
    expect(t.scans.at(-1)).toMatchObject({ present: 2 });
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.khugepaged.pages_collapsed).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['hole', 'page', 'page', 'hole']);
    expect(k.inodeByName('f')!.mapping.nrpages).toBe(2);
    // as posted, the rollback leaves the filled hole in mapping->nrpages
    const posted = runTraced({ ...s, variants: FIXES.filter((v) => v !== 'collapse_shmem_rollback_nrpages') });
    expect(posted.r.verdict).toBe('violation');
    expect(posted.r.violations[0]).toMatchObject({ invariant: 'accounting' });
    expect(posted.r.violations[0]!.message).toMatch(/f: mapping->nrpages is 3 but 2 pages are in the page cache/);
  });

  it('SCAN_ALLOC_HUGE_PAGE_FAIL: the huge page allocation fails; khugepaged sleeps alloc_sleep_millisecs', async () => {
    const { t } = await example('alloc-huge-page-fail');
    const k = t.r.kernel;
    expect(t.results.at(-1)).toBe('SCAN_ALLOC_HUGE_PAGE_FAIL');
    expect(k.vmstat.get('thp_collapse_alloc_failed')).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['page', 'page', 'hole', 'hole']);
    // khugepaged_prealloc_page: the pass's next iteration sleeps alloc_sleep_millisecs
    // (and the pass then ends with scan_sleep_millisecs)
    expect(t.r.time_ns).toBeGreaterThanOrEqual((60_000 + 10_000) * 1e6);
  });

  it('SCAN_CGROUP_CHARGE_FAIL: the memcg charge of the new page fails after it was allocated (and counted)', async () => {
    const { t } = await example('cgroup-charge-fail');
    const k = t.r.kernel;
    expect(t.results.at(-1)).toBe('SCAN_CGROUP_CHARGE_FAIL');
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.vmstat.get('thp_collapse_alloc_failed')).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['page', 'page', 'hole', 'hole']);
  });

  it('SCAN_FAIL: shmem_getpage() cannot swap the entry in (alloc_page fails); the collapse rolls back', async () => {
    const { t } = await example('fail');
    const k = t.r.kernel;
    expect(t.results.at(-1)).toBe('SCAN_FAIL');
    expect(t.scans.at(-1)).toMatchObject({ present: 1, swap: 1 });
    const at = t.lines.findIndex((l) => l.includes('result=failed'));
    expect(t.lines.slice(0, at).some((l) => /actor=khugepaged \S*collapse_shmem\.getpage\.swapin_alloc -> \S* injected=fail/.test(l))).toBe(true);
    expect(k.vmstat.get('thp_collapse_alloc')).toBe(1);
    expect(k.khugepaged.pages_collapsed).toBe(0);
    expect(slotKinds(k, 'f')).toEqual(['swap', 'page', 'hole', 'hole']);
    expect(k.inodeByName('f')!.swapped).toBe(1);
  });

  it('covers every SCAN_* result the seed can produce', async () => {
    const all = new Set<ScanResult>();
    for (const name of ['succeed', 'exceed-none-pte', 'exceed-swap-pte', 'page-compound', 'page-lru', 'page-count', 'page-lock',
      'truncated', 'del-page-lru', 'alloc-huge-page-fail', 'cgroup-charge-fail', 'fail']) {
      const s = await loadScenario(`examples/collapse-shmem-scan-${name}.yaml`);
      for (const r of runTraced(s).results) all.add(r);
    }
    expect([...all].sort()).toEqual([
      'SCAN_ALLOC_HUGE_PAGE_FAIL', 'SCAN_CGROUP_CHARGE_FAIL', 'SCAN_DEL_PAGE_LRU', 'SCAN_EXCEED_NONE_PTE', 'SCAN_EXCEED_SWAP_PTE',
      'SCAN_FAIL', 'SCAN_PAGE_COMPOUND', 'SCAN_PAGE_COUNT', 'SCAN_PAGE_LOCK', 'SCAN_PAGE_LRU', 'SCAN_SUCCEED', 'SCAN_TRUNCATED',
    ]);
  });
});
