/**
 * What `thpsim run` prints: a readable summary (like reading /proc/vmstat and a page-table
 * dump), or the documented JSON result (docs/json.md).
 */
import type { RunResult } from '../sched/run.ts';
import { pmdKind, PTE_NONE } from '../memory/mm.ts';
import { hex } from '../memory/pages.ts';
import { isSwapEntry } from '../memory/address_space.ts';
import type { Kernel } from '../memory/kernel.ts';

export interface PmdSummary {
  addr: string;
  kind: string;
  pfn?: string;
  writable?: boolean;
  /** For a pte table: how many ptes map a page, map the ZERO_PAGE, or are none. */
  ptes?: { present: number; zero_page: number; none: number };
}

// (both keyed by a scenario's own names, made with Object.fromEntries: an assignment to
// out['__proto__'] sets the object's prototype — an mm of that name was missing from the output)
export function pageTables(k: Kernel): Record<string, PmdSummary[]> {
  return Object.fromEntries(k.mms.map((mm) => [mm.name, pmdSummaries(k, mm)]));
}

/** An mm's pmds that are not none, by address. */
function pmdSummaries(k: Kernel, mm: Kernel['mms'][number]): PmdSummary[] {
  return [...mm.pmds.entries()]
    .sort(([a], [b]) => a - b)
    .filter(([, p]) => pmdKind(p.state) !== 'none')
    .map(([ix, p]) => {
      const kind = pmdKind(p.state);
      const s: PmdSummary = { addr: hex(ix * k.HPAGE_PMD_NR * 4096), kind };
      if (kind === 'huge' || kind === 'huge_zero') {
        s.pfn = hex(p.pfn);
        s.writable = p.writable;
      }
      if (kind === 'pte_table') {
        let present = 0, zero = 0, none = 0;
        for (const pfn of p.ptes) {
          if (pfn === PTE_NONE) none++;
          else if (pfn === k.ZERO_PAGE) zero++;
          else present++;
        }
        s.ptes = { present, zero_page: zero, none };
      }
      return s;
    });
}

/** A file's page cache at the end of a run: slots by kind, i_size in pages, and the first index of each huge page. */
export interface PageCacheSummary {
  nrpages: number;
  pages: number;
  holes: number;
  swap: number;
  i_size: number;
  huge: number[];
}

export function pageCache(k: Kernel): Record<string, PageCacheSummary> {
  return Object.fromEntries(k.inodes.map((ino) => {
    let pages = 0, holes = 0, swap = 0;
    for (const s of ino.mapping.slots) {
      if (s >= 0) pages++;
      else if (isSwapEntry(s)) swap++;
      else holes++;
    }
    // huge pages in the cache, by their first index
    const huge: number[] = [];
    ino.mapping.slots.forEach((v, i) => {
      if (v >= 0 && k.pages.order[v]! > 0) huge.push(i);
    });
    return [ino.name, { nrpages: ino.mapping.nrpages, pages, holes, swap, i_size: ino.i_size, huge }];
  }));
}

/** The machine-readable result of one run (documented in docs/json.md): what `thpsim run --json` prints and the library's run() returns. */
export interface RunReport {
  thpsim_result: 1;
  scenario: string;
  seed: number;
  engine: string;
  hpage_pmd_nr: number;
  /** `interrupted`: the command line's run stopped by Ctrl-C before it ended (what follows is the state it had reached). */
  verdict: RunResult['verdict'] | 'interrupted';
  steps: number;
  preemptions: number;
  time_ns: number;
  trace_hash: string;
  violations: RunResult['violations'];
  divergence?: string;
  actors: RunResult['actors'];
  page_tables: Record<string, PmdSummary[]>;
  mm_counters: Record<string, Record<string, number>>;
  page_cache: Record<string, PageCacheSummary>;
  huge_zero_page: { huge_zero_refcount: number; huge_zero_pfn: string };
  khugepaged: Record<string, number>;
  vmstat: Record<string, number>;
  shmem_huge_recovery: Record<string, number>;
  schedule?: RunResult['schedule'];
}

/** `interrupted`: the run was stopped before it ended (the command line's Ctrl-C): said as its verdict. */
export function toJson(r: RunResult, withSchedule: boolean, interrupted = false): RunReport {
  const k = r.kernel;
  return {
    thpsim_result: 1,
    scenario: r.scenario,
    seed: r.seed,
    engine: r.engine,
    hpage_pmd_nr: k.HPAGE_PMD_NR,
    verdict: interrupted ? 'interrupted' : r.verdict,
    steps: r.steps,
    preemptions: r.preemptions,
    time_ns: r.time_ns,
    trace_hash: r.traceHash,
    violations: r.violations,
    divergence: r.divergence,
    actors: r.actors,
    page_tables: pageTables(k),
    mm_counters: Object.fromEntries(k.mms.map((m) => [m.name, { nr_ptes: m.nr_ptes, MM_FILEPAGES: m.rss.MM_FILEPAGES, MM_ANONPAGES: m.rss.MM_ANONPAGES, MM_SHMEMPAGES: m.rss.MM_SHMEMPAGES, mm_users: m.users }])),
    page_cache: pageCache(k),
    huge_zero_page: { huge_zero_refcount: k.huge_zero_refcount, huge_zero_pfn: hex(k.huge_zero_pfn) },
    khugepaged: { ...k.khugepaged },
    vmstat: k.vmstat.toJSON(),
    // /sys/kernel/debug/shmem_huge_recovery/ (huge tmpfs, seed 001): the shr_stats counters
    shmem_huge_recovery: k.vmstat.shrStatsJSON(),
    ...(withSchedule ? { schedule: r.schedule } : {}),
  };
}

export function summary(r: RunResult, interrupted = false): string {
  const k = r.kernel;
  const lines: string[] = [];
  lines.push(`thpsim run: ${r.scenario}  (HPAGE_PMD_NR=${k.HPAGE_PMD_NR}, seed ${r.seed}, engine ${r.engine})`);
  lines.push(`verdict: ${interrupted ? 'INTERRUPTED' : r.verdict.toUpperCase()} after ${r.steps} steps, ${(r.time_ns / 1e9).toFixed(6)} s simulated; trace ${r.traceHash}`);
  if (interrupted) lines.push('  (Ctrl-C: the run had not ended; below, the state it had reached)');
  for (const v of r.violations) {
    lines.push('');
    lines.push(`  invariant  ${v.invariant}`);
    lines.push(`  what       ${v.message}`);
    lines.push(`  actor      ${v.actor}${v.state ? `, stepping from ${v.state}` : ''}`);
    lines.push(`  step       ${v.step}`);
  }
  if (r.divergence) lines.push(`  replay diverged: ${r.divergence}`);
  lines.push('');
  lines.push('actors:');
  const w = Math.max(...r.actors.map((a) => a.id.length));
  for (const a of r.actors) {
    lines.push(`  ${a.id.padEnd(w)}  ${a.kind.padEnd(24)} ${a.outcome}${a.outcome === 'running' || a.outcome === 'blocked' ? ` in ${a.state}` : ''}`);
    for (const res of a.results) lines.push(`  ${''.padEnd(w)}    ${res}`);
  }
  lines.push('');
  lines.push('page tables:');
  for (const [mm, pmds] of Object.entries(pageTables(k))) {
    const m = k.mmByName(mm)!;
    lines.push(`  ${mm}: nr_ptes=${m.nr_ptes} MM_ANONPAGES=${m.rss.MM_ANONPAGES} mm_users=${m.users}${pmds.length ? '' : '  (no page tables)'}`);
    for (const p of pmds) {
      const detail = p.ptes
        ? `ptes: ${p.ptes.present} page, ${p.ptes.zero_page} ZERO_PAGE, ${p.ptes.none} none`
        : `pfn ${p.pfn} ${p.writable ? 'rw' : 'ro'}`;
      lines.push(`    ${p.addr.padStart(10)}  ${p.kind.padEnd(10)} ${detail}`);
    }
  }
  const cache = pageCache(k);
  if (Object.keys(cache).length) {
    lines.push('');
    lines.push('page cache:');
    for (const [f, c] of Object.entries(cache)) {
      const huge = c.huge;
      lines.push(`  ${f}: i_size=${c.i_size} nrpages=${c.nrpages} pages=${c.pages} holes=${c.holes} swap=${c.swap}${huge.length ? ` huge pages at ${huge.join(', ')}` : ''}`);
    }
  }
  lines.push('');
  lines.push(`huge zero page: huge_zero_refcount=${k.huge_zero_refcount} huge_zero_pfn=${hex(k.huge_zero_pfn)}`);
  if (r.actors.some((a) => a.kind === 'khugepaged')) {
    lines.push(`khugepaged: full_scans=${k.khugepaged.full_scans} pages_collapsed=${k.khugepaged.pages_collapsed}`);
  }
  lines.push('');
  lines.push('vmstat (non-zero):');
  const vm = k.vmstat.format(true);
  lines.push(vm ? vm.split('\n').map((l) => `  ${l}`).join('\n') : '  (none)');
  const shr = k.vmstat.formatShrStats(true);
  if (shr) {
    lines.push('');
    lines.push('/sys/kernel/debug/shmem_huge_recovery (non-zero):');
    lines.push(shr.split('\n').map((l) => `  ${l}`).join('\n'));
  }
  return lines.join('\n');
}
