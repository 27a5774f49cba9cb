/**
 * Test helper for seed 000 (khugepaged collapsing shmem): runs with the ftrace-like trace
 * parsed into khugepaged_scan_shmem() results and data accesses.
 */
import { type ScanResult, SCAN_STRINGS } from '../../machines/khugepaged.ts';
import { type RunOptions, type RunResult, run } from '../../src/sched/run.ts';
import type { Scenario } from '../../src/scenario/schema.ts';

/** One mm_khugepaged_scan_file line. */
export interface Scan {
  mm: string;
  file: string;
  present: number;
  swap: number;
  result: ScanResult;
}

/** One load or read(2) (mem_read / file_read line): which file offset, and the data it returned. */
export interface Access {
  op: 'read' | 'write';
  via: 'mem' | 'file';
  file: string;
  index: number;
  /** -1: read(2) of a hole. */
  pfn: number;
  data: number;
}

const BY_STRING = new Map(Object.entries(SCAN_STRINGS).map(([k, v]) => [v, k as ScanResult]));
const SCAN_RE = /mm_khugepaged_scan_file: mm=(\S+) pfn=\S+ filename=(\S+) present=(\d+) swap=(\d+) result=(\S+)/;
const ACCESS_RE = /(mem|file)_(read|write): (?:mm=\S+ addr=\S+ )?file=(\S+) index=(\d+) pfn=(\S+) data=(-?\d+)/;

export interface Traced {
  r: RunResult;
  lines: string[];
  scans: Scan[];
  /** The SCAN_* results in order. */
  results: ScanResult[];
  accesses: Access[];
}

export function parseTrace(lines: readonly string[]): { scans: Scan[]; accesses: Access[] } {
  const scans: Scan[] = [];
  const accesses: Access[] = [];
  for (const l of lines) {
    const m = SCAN_RE.exec(l);
    if (m) {
      const result = BY_STRING.get(m[5]!);
      if (!result) throw new Error(`unknown scan result string '${m[5]}' in: ${l}`);
      scans.push({ mm: m[1]!, file: m[2]!, present: Number(m[3]), swap: Number(m[4]), result });
      continue;
    }
    const a = ACCESS_RE.exec(l);
    if (a) {
      accesses.push({
        via: a[1] as 'mem' | 'file', op: a[2] as 'read' | 'write', file: a[3]!, index: Number(a[4]),
        pfn: a[5] === 'hole' ? -1 : parseInt(a[5]!, 16), data: Number(a[6]),
      });
    }
  }
  return { scans, accesses };
}

/** run() with the trace collected and parsed. */
export function runTraced(s: Scenario, opts: Omit<RunOptions, 'trace'> = {}): Traced {
  const lines: string[] = [];
  const r = run(s, { ...opts, trace: (l) => lines.push(l) });
  const { scans, accesses } = parseTrace(lines);
  return { r, lines, scans, results: scans.map((x) => x.result), accesses };
}
