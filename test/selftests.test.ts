// The kernel's khugepaged selftest (tools/testing/selftests/mm/khugepaged.c) as scenarios
// (issue 17, item 10): every case it runs on file and shmem memory, in each collapse
// context, is a file in test/selftests/ that follows the selftest's own sequence — its
// sysfs settings, faults, madvise calls and wait_for_scan — with no schedule but the
// scenario's own operations and waits. Each runs under several seeds, and each run must
// give what the selftest checks: check_huge() (how many extents of the range are
// pmd-mapped) wherever the selftest reads smaps, MADV_COLLAPSE's return value, and
// validate_memory() (every page reads back its data). Files are named
// <case>-<context>-<memory>: memory is shmem (shmem_ops: a memfd), file (file_ops on a
// regular file, CONFIG_READ_ONLY_THP_FOR_FS) or tmpfs (file_ops with its directory on
// tmpfs); alloc_at_fault, which main() runs first on anonymous memory and which needs no
// collapse, is alloc_at_fault-anon. docs/selftests.md maps the cases, and lists those not
// modelled.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { parseTrace } from './helpers/khugepaged.ts';

const DIR = 'test/selftests';
const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

interface Expected {
  /**
   * check_huge(p, n) where the selftest calls it: [ops, n] — after the task's first `ops`
   * operations (as listed in the file; its `# -- check_huge(p, n)` comments), n extents of
   * the mapping are pmd-mapped (smaps' FilePmdMapped / ShmemPmdMapped).
   */
  checks: [ops: number, huge: number][];
  /** How many MADV_COLLAPSE calls the case makes; the selftest expects each to return 0. */
  collapse: number;
}

/** The outcome the selftest checks, per scenario file (test/selftests/<case>-<context>-<memory>.yaml). */
const EXPECTED: Record<string, Expected> = {
  'alloc_at_fault-anon': { checks: [[2, 1], [4, 0]], collapse: 0 },
  'collapse_full-khugepaged-file': { checks: [[16, 0], [35, 4]], collapse: 0 },
  'collapse_full-khugepaged-shmem': { checks: [[16, 0], [35, 4]], collapse: 0 },
  'collapse_full-khugepaged-tmpfs': { checks: [[16, 0], [35, 4]], collapse: 0 },
  'collapse_full-madvise-file': { checks: [[16, 0], [19, 4]], collapse: 1 },
  'collapse_full-madvise-shmem': { checks: [[16, 0], [19, 4]], collapse: 1 },
  'collapse_full-madvise-tmpfs': { checks: [[16, 0], [19, 4]], collapse: 1 },
  'collapse_single_pte_entry-khugepaged-file': { checks: [[1, 0], [8, 1]], collapse: 0 },
  'collapse_single_pte_entry-khugepaged-shmem': { checks: [[1, 0], [8, 1]], collapse: 0 },
  'collapse_single_pte_entry-khugepaged-tmpfs': { checks: [[1, 0], [8, 1]], collapse: 0 },
  'collapse_single_pte_entry-madvise-file': { checks: [[1, 0], [4, 1]], collapse: 1 },
  'collapse_single_pte_entry-madvise-shmem': { checks: [[1, 0], [4, 1]], collapse: 1 },
  'collapse_single_pte_entry-madvise-tmpfs': { checks: [[1, 0], [4, 1]], collapse: 1 },
  'collapse_max_ptes_none-khugepaged-file': { checks: [[2, 0], [9, 0], [12, 0], [19, 1]], collapse: 0 },
  'collapse_max_ptes_none-madvise-file': { checks: [[2, 0], [5, 1]], collapse: 1 },
  'collapse_single_pte_entry_compound-khugepaged-file': { checks: [[5, 1], [8, 0], [15, 1]], collapse: 1 },
  'collapse_single_pte_entry_compound-madvise-file': { checks: [[5, 1], [8, 0], [11, 1]], collapse: 2 },
  'collapse_full_of_compound-khugepaged-file': { checks: [[5, 1], [8, 0], [15, 1]], collapse: 1 },
  'collapse_full_of_compound-khugepaged-shmem': { checks: [[5, 1], [8, 0], [15, 1]], collapse: 1 },
  'collapse_full_of_compound-khugepaged-tmpfs': { checks: [[5, 1], [8, 0], [15, 1]], collapse: 1 },
  'collapse_full_of_compound-madvise-file': { checks: [[5, 1], [8, 0], [11, 1]], collapse: 2 },
  'collapse_full_of_compound-madvise-shmem': { checks: [[5, 1], [8, 0], [11, 1]], collapse: 2 },
  'collapse_full_of_compound-madvise-tmpfs': { checks: [[5, 1], [8, 0], [11, 1]], collapse: 2 },
  'madvise_collapse_existing_thps-madvise-file': { checks: [[4, 0], [7, 1], [15, 1]], collapse: 2 },
  'madvise_collapse_existing_thps-madvise-shmem': { checks: [[4, 0], [7, 1], [15, 1]], collapse: 2 },
  'madvise_collapse_existing_thps-madvise-tmpfs': { checks: [[4, 0], [7, 1], [15, 1]], collapse: 2 },
  'madvise_retracted_page_tables-madvise-file': { checks: [[4, 0], [7, 0], [10, 1]], collapse: 1 },
  'madvise_retracted_page_tables-madvise-shmem': { checks: [[4, 0], [7, 0], [10, 1]], collapse: 1 },
  'madvise_retracted_page_tables-madvise-tmpfs': { checks: [[4, 0], [7, 0], [10, 1]], collapse: 1 },
};

const FILES = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -'.yaml'.length)).sort();

type TaskOpSpec = Record<string, unknown>;

/** The index of the task's first TaskOp for each scenario operation (a sysfs operation is one write per tunable). */
function firstTaskOp(ops: readonly TaskOpSpec[]): number[] {
  const at: number[] = [];
  let pc = 0;
  for (const o of ops) {
    at.push(pc);
    const w = o.sysfs as Record<string, unknown> | undefined;
    pc += w ? Object.keys(w).filter((k) => k !== 'khugepaged').length + Object.keys((w.khugepaged as object | undefined) ?? {}).length : 1;
  }
  at.push(pc);
  return at;
}

interface SelftestRun {
  r: ReturnType<typeof run>;
  k: Kernel;
  /** check_huge at each point asked: the number of extents of the mapping pmd-mapped. */
  huge: Map<number, number>;
  lines: string[];
}

/** Runs the scenario, reading check_huge() when the task reaches each point of `at` (operations done). */
function runSelftest(s: Scenario, seed: number, at: readonly number[]): SelftestRun {
  const task = s.actors.find((a) => a.kind === 'task')!;
  const ops = task.ops as TaskOpSpec[];
  const pcAt = firstTaskOp(ops);
  const vma = s.mms.find((m) => m.name === task.mm)!.vmas[0]!;
  let k!: Kernel;
  let self!: Actor<{ pc: number }>;
  const huge = new Map<number, number>();
  const checkHuge = () => {
    const mm = k.mmByName(task.mm as string)!;
    let n = 0;
    for (let v = vma.start; v < vma.start + vma.size; v += s.hpage_pmd_nr) if (mm.kindAt(v / s.hpage_pmd_nr) === 'huge') n++;
    return n;
  };
  const pending = [...new Set(at)].sort((a, b) => a - b);
  const look = () => {
    while (pending.length && self.l.pc >= pcAt[pending[0]!]!) huge.set(pending.shift()!, checkHuge());
  };
  const lines: string[] = [];
  const r = run(s, {
    seed,
    trace: (l) => { if (/ mem_(read|write): /.test(l)) lines.push(l); },
    observe: (kk, actors) => {
      k = kk;
      self = actors.find((a) => a.id === task.id) as Actor<{ pc: number }>;
    },
    onStep: look,
  });
  return { r, k, huge, lines };
}

/** validate_memory(): every load returned what the last store to that page left, or the file's own data. */
function expectDataReadBack(t: SelftestRun): number {
  const { accesses } = parseTrace(t.lines);
  const last = new Map<string, number>();
  let loads = 0;
  for (const a of accesses) {
    const key = `${a.file}:${a.index}`;
    if (a.op === 'write') {
      last.set(key, a.data);
      continue;
    }
    loads++;
    const want = last.get(key) ?? t.k.inodeByName(a.file)!.expected.get(a.index);
    expect(a.data, `load of ${key}`).toBe(want);
  }
  return loads;
}

/** The page cache holds each extent the last check finds pmd-mapped as one huge page, mapped by that pmd. */
function expectHugeInPageCache(t: SelftestRun, s: Scenario): void {
  const task = s.actors.find((a) => a.kind === 'task')!;
  const vma = s.mms.find((m) => m.name === task.mm)!.vmas[0]!;
  if (vma.file === undefined) return;
  const ino = t.k.inodeByName(vma.file)!;
  const mm = t.k.mmByName(task.mm as string)!;
  const nr = s.hpage_pmd_nr;
  for (let e = 0; e < vma.size / nr; e++) {
    if (mm.kindAt(vma.start / nr + e) !== 'huge') continue;
    const head = ino.mapping.slots[e * nr]!;
    expect(t.k.pages.order[head], `extent ${e}: a huge page at its head`).toBe(t.k.HPAGE_PMD_ORDER);
    for (let i = 0; i < nr; i++) expect(ino.mapping.slots[e * nr + i]).toBe(head + i);
    expect(mm.pmdAt(vma.start / nr + e).pfn).toBe(head);
  }
}

describe('tools/testing/selftests/mm/khugepaged.c on file and shmem (HPAGE_PMD_NR 4)', () => {
  it('every scenario file has its expected outcome, and every outcome its file', () => {
    expect(FILES).toEqual(Object.keys(EXPECTED).sort());
  });

  describe.each(FILES)('%s', (name) => {
    const want = EXPECTED[name]!;
    it(`seeds ${SEEDS[0]}-${SEEDS.at(-1)}: check_huge, MADV_COLLAPSE's return and the data read back are what the selftest checks`, async () => {
      const s = await loadScenario(`${DIR}/${name}.yaml`);
      const khugepaged = s.actors.some((a) => a.kind === 'khugepaged');
      const ops = s.actors.find((a) => a.kind === 'task')!.ops as TaskOpSpec[];
      const waits = ops.filter((o) => o.wait).length;
      for (const seed of SEEDS) {
        const t = runSelftest(s, seed, want.checks.map(([at]) => at));
        const at = `seed ${seed}`;
        expect(t.r.verdict, `${at}: ${JSON.stringify(t.r.violations[0])}`).toBe('ok');
        expect(t.r.actors.every((a) => a.outcome === 'ok'), `${at}: ${JSON.stringify(t.r.actors)}`).toBe(true);
        for (const [ops, n] of want.checks) {
          expect(t.huge.get(ops), `${at}: check_huge(p, ${n}) after ${ops} operations`).toBe(n);
        }
        const results = t.r.actors.find((a) => a.kind === 'task')!.results;
        const collapses = results.filter((l) => l.includes('MADV_COLLAPSE'));
        expect(collapses, at).toHaveLength(want.collapse);
        for (const l of collapses) expect(l, at).toMatch(/ = 0$/);
        // every other call succeeds too: madvise returns 0, each sysfs write its length
        for (const l of results.filter((x) => !x.includes('MADV_COLLAPSE'))) expect(l, at).toMatch(/ = (0|[1-9]\d*)$/);
        expect(expectDataReadBack(t), at).toBe(ops.filter((o) => o.read !== undefined).length);
        expectHugeInPageCache(t, s);
        // wait_for_scan reads khugepaged/full_scans: two more full scans each time
        if (khugepaged) expect(t.k.khugepaged.full_scans, at).toBeGreaterThanOrEqual(2 * waits);
      }
    });
  });
});
