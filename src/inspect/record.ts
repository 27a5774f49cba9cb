/**
 * Records one run for the inspector: after every step, each actor's chart state, the
 * memory map of the extents in play (every page-cache slot of every file, every pte of
 * every VMA) and the bus events of that step as ftrace-like text. Frame n is the model
 * after n steps (frame 0: after setup); the events of frame n are those of step n-1.
 *
 * Kept compact for runs of a few thousand steps: state paths by index into a per-actor
 * table, and memory cells as deltas (frame 0 holds every cell, later frames only the
 * cells that changed). The page draws frame n by replaying the deltas.
 */
import type { Scenario } from '../scenario/schema.ts';
import { type Decision, type RunResult, type Verdict, run } from '../sched/run.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { Actor } from '../sched/actor.ts';
import type { Violation } from '../bus/events.ts';
import { formatTraceLine } from '../sched/trace.ts';
import { PTE_NONE, type Vma, pmdKind } from '../memory/mm.ts';
import { isSwapEntry, swapOffset } from '../memory/address_space.ts';
import { TEAM_HEAD_CHART } from '../memory/pages.ts';
import { PageTeam, teamHead } from '../memory/team.ts';
import { type Explanation, type Fact, explain } from './causes.ts';

/** What a page-cache slot or a pte shows of the struct page behind it. */
export interface PageCell {
  pfn: number;
  /** Packed page-chart state (machines/page.ts; decoded with the chart's radix). */
  st: number;
  /** A tail page: its head's state (PG_locked, PG_uptodate, the frozen count live on the head). */
  hst?: number;
  /** PG_* bits that are plain flags (src/memory/pages.ts PG). */
  fl: number;
  /** page_count() (the compound head's) and page_mapcount() of this subpage. */
  ref: number;
  map: number;
  /** Compound head and its order (0: a small page). */
  head: number;
  order: number;
  /** Data token the page holds (0: zeroes, -1: uninitialised garbage). */
  data: number;
  /** Actor holding PG_locked, if any. */
  locker?: string;
  /**
   * A team page (PageTeam) or a team head in any team state but none: the packed
   * team-head chart state of its team head (machines/team_head.ts), and that head when
   * it is another page (team_head(page)).
   */
  tst?: number;
  th?: number;
}

export type Cell =
  | { t: 'hole' }
  | { t: 'swap'; off: number }
  | ({ t: 'page' } & PageCell)
  | { t: 'pte_none'; pmd: 'none' | 'pte_table' }
  | ({ t: 'pte'; pmd: 'pte_table' | 'huge' | 'huge_zero'; w: boolean } & PageCell)
  | { t: 'mm'; st: number }
  /** Not there at this frame: an mm not forked yet, a VMA unmapped or gone with exit_mmap. */
  | { t: 'absent' };

/**
 * idle: no actor of the run names it (a task's mm) and nothing in it changed — the
 * scenario's memory of an actor a minimised counterexample does without.
 */
export interface FileExtent { key: string; name: string; shmem: boolean; slots: number; idle?: boolean }
export interface VmaExtent { start: number; end: number; file: string | null; pgoff: number }
export interface MmExtent { key: string; name: string; vmas: VmaExtent[]; idle?: boolean }

export interface Recording {
  scenario: string;
  description: string;
  seed: number;
  verdict: Verdict;
  hpagePmdNr: number;
  steps: number;
  /** chart: the actor kind whose chart (with the scenario's variants) it runs. */
  actors: { id: string; kind: string; comm: string; chart: string; outcome: string }[];
  /** Per actor, the state paths it was in; frames[n].s[a] indexes this. */
  paths: string[][];
  /** Per frame: every actor's state (index into paths[a]). */
  states: number[][];
  /**
   * Per frame n ≥ 1: the step that led to it — actor index, from, to, injected failure,
   * and whether it preempted the actor before it (which could have stepped on).
   */
  moves: ([number, string, string, boolean, boolean] | null)[];
  /** Per frame: the locks each actor holds, for the actors whose set changed. */
  held: Record<number, string[]>[];
  files: FileExtent[];
  mms: MmExtent[];
  /** Per frame: cells by key ("f<ino>:<index>", "m<mm>:<vpn>", "mm<mm>"), all at frame 0, then what changed. */
  cells: Record<string, Cell>[];
  /** [frame, actor index (-1: the model), ftrace-like text]. */
  events: [number, number, string][];
  violations: (Violation & { frame: number })[];
  /** The first violation's causes and the one-sentence story of them (src/inspect/causes.ts). */
  explanation: Explanation | null;
  divergence?: string;
}

/** Extents wider than this are cut (the inspector is for small, explained runs). */
export const MAX_CELLS_PER_EXTENT = 4096;

export function pageCell(k: Kernel, pfn: number): PageCell {
  const p = k.pages;
  const head = p.compoundHead(pfn);
  const locker = k.pageLockHolder.get(pfn);
  const th = p.teamState[pfn] !== TEAM_HEAD_CHART.initial ? pfn : PageTeam(k, pfn) ? teamHead(k, pfn) : -1;
  return {
    pfn, st: p.state[pfn]!, fl: p.flags[pfn]!, ref: p.pageCount(pfn), map: p.pageMapcount(pfn),
    head, order: p.order[head]!, data: p.data[pfn]!,
    ...(head !== pfn ? { hst: p.state[head]! } : {}),
    ...(locker !== undefined ? { locker: k.actorName(locker) } : {}),
    ...(th >= 0 ? { tst: p.teamState[th]!, ...(th !== pfn ? { th } : {}) } : {}),
  };
}

function fileCells(k: Kernel, out: Map<string, Cell>): void {
  for (const ino of k.inodes) {
    const slots = ino.mapping.slots;
    const n = Math.min(ino.mapping.nrSlots, MAX_CELLS_PER_EXTENT);
    for (let i = 0; i < n; i++) {
      const v = slots[i]!;
      out.set(`f${ino.id}:${i}`, v >= 0 ? { t: 'page', ...pageCell(k, v) } : isSwapEntry(v) ? { t: 'swap', off: swapOffset(v) } : { t: 'hole' });
    }
  }
}

function mmCells(k: Kernel, out: Map<string, Cell>): void {
  const nr = k.HPAGE_PMD_NR;
  for (const mm of k.mms) {
    out.set(`mm${mm.id}`, { t: 'mm', st: mm.state });
    let n = 0;
    for (const v of mm.vmas) {
      for (let vpn = v.start; vpn < v.end && n < MAX_CELLS_PER_EXTENT; vpn++, n++) {
        const pmd = mm.pmds.get(Math.floor(vpn / nr));
        const kind = pmd ? pmdKind(pmd.state) : 'none';
        let c: Cell;
        if (kind === 'huge' || kind === 'huge_zero') {
          c = { t: 'pte', pmd: kind, w: pmd!.writable, ...pageCell(k, pmd!.pfn + (vpn % nr)) };
        } else if (kind === 'pte_table') {
          const pfn = pmd!.ptes.at(vpn % nr)!;
          c = pfn === PTE_NONE ? { t: 'pte_none', pmd: kind } : { t: 'pte', pmd: kind, w: pmd!.pteWritable.at(vpn % nr) === 1, ...pageCell(k, pfn) };
        } else c = { t: 'pte_none', pmd: 'none' };
        out.set(`m${mm.id}:${vpn}`, c);
      }
    }
  }
}

/**
 * The address ranges some VMA covered at some frame, as disjoint runs (a VMA split by
 * mprotect or madvise shows once), each named by the VMA covering its start.
 */
function extents(vmas: Vma[]): { start: number; end: number; file: number; pgoff: number }[] {
  const sorted = [...vmas].sort((a, b) => a.start - b.start || b.end - a.end);
  const out: { start: number; end: number; file: number; pgoff: number }[] = [];
  for (const v of sorted) {
    const last = out[out.length - 1];
    if (last && v.start < last.end) last.end = Math.max(last.end, v.end);
    else out.push({ start: v.start, end: v.end, file: v.file, pgoff: v.pgoff });
  }
  return out;
}

/** Bus events the causes of a violation are found in (src/inspect/causes.ts). */
const FACT_EVENTS = new Set(['page', 'pmd', 'pte', 'cache', 'data', 'access', 'ref', 'atomic', 'lock', 'pmd_read', 'inode']);

/** Bus events that can change what a memory cell shows. */
const MEMORY_EVENTS = new Set(['page', 'pmd', 'pte', 'mm', 'cache', 'lock', 'access', 'team']);

/** ftrace's "<comm>-<pid> [cpu] .... <ts>: " prefix: the timeline shows step and actor instead. */
const PREFIX = /^.*?\[\d+\] \.\.\.\. +[\d.]+: /;

export interface RecordOptions {
  seed?: number;
  schedule?: readonly Decision[];
  maxSteps?: number;
}

export function record(scenario: Scenario, opts: RecordOptions = {}): Recording {
  const paths: string[][] = scenario.actors.map(() => []);
  const pathIx: Map<string, number>[] = scenario.actors.map(() => new Map());
  const states: number[][] = [];
  const steps: Recording['moves'] = [];
  const held: Record<number, string[]>[] = [];
  const cells: Record<string, Cell>[] = [];
  const events: Recording['events'] = [];
  const facts: Fact[] = [];
  /** Cell keys changed at some frame after setup (an extent with none is idle). */
  const touched = new Set<string>();
  let k!: Kernel;
  let actors!: readonly Actor[];
  let frame = 0;
  let memoryDirty = true;
  let last = new Map<string, string>();
  let lastHeld: string[] = [];
  /** Every VMA each mm had at some frame (exit_mmap empties the list by the end). */
  const vmasSeen = new Map<number, Map<string, Vma>>();

  const snapshotCells = (): Record<string, Cell> => {
    const now = new Map<string, Cell>();
    fileCells(k, now);
    mmCells(k, now);
    const delta: Record<string, Cell> = {};
    const enc = new Map<string, string>();
    for (const [key, c] of now) {
      const s = JSON.stringify(c);
      enc.set(key, s);
      if (last.get(key) !== s) delta[key] = c;
    }
    for (const key of last.keys()) if (!now.has(key)) delta[key] = { t: 'absent' };
    last = enc;
    for (const mm of k.mms) {
      let seen = vmasSeen.get(mm.id);
      if (!seen) vmasSeen.set(mm.id, (seen = new Map()));
      // (a copy: a VMA of a world laid out in the state vector reads its slots as they are when read)
      for (const v of mm.vmas) seen.set(`${v.start}:${v.end}:${v.file}:${v.pgoff}`, { ...v });
    }
    return delta;
  };

  const r: RunResult = run(scenario, {
    seed: opts.seed, schedule: opts.schedule, maxSteps: opts.maxSteps,
    observe: (kernel, as) => {
      k = kernel;
      actors = as;
      k.bus.events$.subscribe((e) => {
        if (MEMORY_EVENTS.has(e.kind)) memoryDirty = true;
        if (e.kind === 'step') steps[frame + 1] = [e.actor, e.from, e.to, e.fail, e.preempted];
        if (FACT_EVENTS.has(e.kind)) {
          const f: Fact = { step: states.length === 0 ? -1 : frame, e };
          // (what the page was when the event was published: split or freed later, it differs)
          if (e.kind === 'access' || e.kind === 'data') f.head = e.pfn >= 0 ? k.pages.compoundHead(e.pfn) : -1;
          if (e.kind === 'page' && e.op === 'ALLOC') Object.assign(f, { order: k.pages.order[e.pfn]!, zeroed: k.pages.data[e.pfn] === 0 });
          facts.push(f);
        }
        const line = formatTraceLine(e, k, actors);
        if (line === null) return;
        const actor = e.kind === 'violation' ? actors.findIndex((a) => a.id === e.violation.actor) : e.actor;
        events.push([states.length === 0 ? 0 : frame + 1, actor, line.replace(PREFIX, '')]);
      });
    },
    onStep: (n, leaves) => {
      frame = n;
      states[n] = leaves.map((p, a) => {
        let i = pathIx[a]!.get(p);
        if (i === undefined) {
          i = paths[a]!.length;
          paths[a]!.push(p);
          pathIx[a]!.set(p, i);
        }
        return i;
      });
      cells[n] = memoryDirty ? snapshotCells() : {};
      if (n > 0) for (const key of Object.keys(cells[n]!)) touched.add(key);
      memoryDirty = false;
      const h: Record<number, string[]> = {};
      actors.forEach((a) => {
        const locks = k.heldBy(a.ix).sort();
        const s = locks.join('\n');
        if (s !== (lastHeld[a.ix] ?? '')) h[a.ix] = locks;
        lastHeld[a.ix] = s;
      });
      held[n] = h;
    },
  });

  const nFrames = states.length;
  // events published after the last frame (violations found at quiescence) belong to it
  for (const e of events) if (e[0] >= nFrames) e[0] = nFrames - 1;
  steps[0] = null;
  const names = actors.map((a) => a.id);
  // the memory an actor of the run names: a task's mm (khugepaged and the shrinkers reach what is there)
  const usedMms = new Set(scenario.actors.map((a) => (a as { mm?: string }).mm).filter((m) => m !== undefined));
  const changed = (prefix: string) => [...touched].some((key) => key.startsWith(prefix));
  const first = r.violations[0];
  return {
    scenario: r.scenario,
    description: scenario.description ?? '',
    seed: r.seed,
    verdict: r.verdict,
    hpagePmdNr: k.HPAGE_PMD_NR,
    steps: r.steps,
    actors: actors.map((a, i) => ({ id: a.id, kind: a.kind, comm: a.comm, chart: a.kind, outcome: r.actors[i]!.outcome })),
    paths, states, moves: steps, held,
    files: k.inodes.map((ino) => ({
      key: `f${ino.id}`, name: ino.name, shmem: ino.shmem, slots: Math.min(ino.mapping.nrSlots, MAX_CELLS_PER_EXTENT),
      ...(!changed(`f${ino.id}:`) && !k.mms.some((mm) => usedMms.has(mm.name) && mm.vmas.some((v) => v.file === ino.id)) ? { idle: true } : {}),
    })),
    mms: k.mms.map((mm) => ({
      key: `m${mm.id}`, name: mm.name,
      ...(!usedMms.has(mm.name) && !changed(`m${mm.id}:`) && !changed(`mm${mm.id}`) ? { idle: true } : {}),
      vmas: extents([...(vmasSeen.get(mm.id)?.values() ?? [])]).map((v) => ({ ...v, file: v.file < 0 ? null : k.inodes[v.file]!.name })),
    })),
    cells,
    events,
    violations: r.violations.map((v) => ({ ...v, frame: Math.min(v.step + 1, nFrames - 1) })),
    // (a check at quiescence has no actor: its causes are the steps that last changed what it names)
    explanation: first ? explain(facts, first, { actors: names, mms: k.mms.map((m) => m.name), files: k.inodes.map((i) => i.name), hpagePmdNr: k.HPAGE_PMD_NR }) : null,
    divergence: r.divergence,
  };
}
