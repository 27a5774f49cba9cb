/**
 * Test helper for seed 000 (khugepaged collapsing shmem): runs with the ftrace-like trace
 * parsed into khugepaged_scan_shmem() results and data accesses, and schedules built by
 * priority ("run T1 to the end, then khugepaged, then T2") rather than drawn from a seed.
 */
import { type ScanResult, SCAN_STRINGS } from '../../machines/khugepaged.ts';
import { type Decision, type RunOptions, type RunResult, run } from '../../src/sched/run.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { getActorKind, patchedChart } from '../../src/registry.ts';
import { type CompiledTaskChart, type TaskChartDef, compileTaskChart } from '../../src/engine/task_chart.ts';
import type { Actor } from '../../src/sched/actor.ts';
import type { InjectionPoint } from '../../src/engine/chart.ts';

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

/**
 * A schedule where, at every step, the first actor of `order` that can step does (the
 * others wait; ids the scenario lacks are ignored); an injection point whose scenario rate is 1 fails. Built one decision
 * at a time from the actors' states, so it follows the model as it is, not a recording.
 */
export function scheduleInOrder(s: Scenario, order: readonly string[], maxDecisions = 5000): Decision[] {
  const kinds = new Map(s.actors.map((a) => [a.id, a.kind]));
  const charts = new Map<string, CompiledTaskChart<Actor<unknown>>>();
  const injectAt = (id: string, state: string): InjectionPoint | undefined => {
    const kind = kinds.get(id)!;
    let c = charts.get(kind);
    if (!c) {
      c = compileTaskChart(patchedChart(getActorKind(kind)!.chart as TaskChartDef<Actor<unknown>>, s.variants));
      charts.set(kind, c);
    }
    return c.byPath.get(state)?.inject;
  };
  const inject = s.inject as Partial<Record<InjectionPoint, number>>;
  const schedule: Decision[] = [];
  for (let i = 0; i <= maxDecisions; i++) {
    const r = run(s, { schedule, record: false });
    if (r.verdict !== 'divergence') return schedule;
    if (!r.divergence?.startsWith('the schedule ended')) throw new Error(`scheduleInOrder: ${r.divergence}`);
    const next = order.map((id) => r.actors.find((a) => a.id === id)).find((a) => a?.outcome === 'running');
    if (!next) throw new Error(`scheduleInOrder: no actor of [${order.join(', ')}] can step: ${JSON.stringify(r.actors)}`);
    const point = injectAt(next.id, next.state);
    const fail = point !== undefined && inject[point] === 1;
    schedule.push(fail ? { actor: next.id, state: next.state, fail } : { actor: next.id, state: next.state });
  }
  throw new Error(`scheduleInOrder: more than ${maxDecisions} decisions`);
}

/** Runs `s` with actors stepping in priority `order` (see scheduleInOrder), traced. */
export function runInOrder(s: Scenario, order: readonly string[]): Traced & { schedule: Decision[] } {
  const schedule = scheduleInOrder(s, order);
  return { ...runTraced(s, { schedule }), schedule };
}
