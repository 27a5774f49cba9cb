/**
 * Building a scenario's world: its kernel and objects, its files populated before the run,
 * and the compiled chart each actor kind runs (with the scenario's variants applied).
 */
import type { AnyStateMachine } from 'xstate';
import type { Scenario } from '../scenario/schema.ts';
import { Kernel } from '../memory/kernel.ts';
import { defaultSysfs, type Sysfs } from '../memory/sysfs.ts';
import { VM } from '../memory/mm.ts';
import { type CompiledTaskChart, compileTaskChart } from '../engine/task_chart.ts';
import { buildTaskMachine } from '../engine/xstate_chart.ts';
import { type ActorKind, patchedChart } from '../registry.ts';
import type { Actor } from '../sched/actor.ts';
import type { VectorBounds } from '../vector/state_vector.ts';

/** Compiled charts are cached per (definition, variant set). */
const compiledCache = new WeakMap<object, Map<string, { fast: CompiledTaskChart<any>; machine: AnyStateMachine | null }>>();

export function chartFor(kind: ActorKind, variants: readonly string[]) {
  let byVariants = compiledCache.get(kind.chart);
  if (!byVariants) compiledCache.set(kind.chart, (byVariants = new Map()));
  const key = variants.join(',');
  let c = byVariants.get(key);
  if (!c) {
    const def = patchedChart(kind.chart, variants);
    c = { fast: compileTaskChart(def), machine: null };
    byVariants.set(key, c);
  }
  return c;
}

/** An actor kind's compiled chart with the variants applied (cached: the one the scheduler runs). */
export function compiledChart(kind: ActorKind, variants: readonly string[]): CompiledTaskChart<Actor<any>> {
  return chartFor(kind, variants).fast;
}

export function machineFor(kind: ActorKind, variants: readonly string[]): AnyStateMachine {
  const c = chartFor(kind, variants);
  if (!c.machine) c.machine = buildTaskMachine(c.fast.def);
  return c.machine;
}


function sysfsFor(s: Scenario): Sysfs {
  const d = defaultSysfs(s.hpage_pmd_nr);
  const o = s.sysfs;
  return {
    enabled: o.enabled ?? d.enabled,
    defrag: o.defrag ?? d.defrag,
    use_zero_page: o.use_zero_page ?? d.use_zero_page,
    shmem_enabled: o.shmem_enabled ?? d.shmem_enabled,
    khugepaged: { ...d.khugepaged, ...(o.khugepaged ?? {}) },
  };
}

/**
 * The scenario's bounds, that size the state vector's variable-size layouts: the pmds and
 * pages its mms' VMAs span, and those mapping a file (the only VMAs there are: a fork
 * copies its parent's, mprotect and madvise split them), its mm_structs with the forks, its
 * largest file (or offset an operation names: an actor's spec is searched for `fork` and
 * `offset` wherever its kind keeps them).
 */
export function vectorBounds(s: Scenario): VectorBounds {
  const n = s.hpage_pmd_nr;
  // per mm of the scenario: the pmds its VMAs span, its pages, and those of its file mappings
  let pmds = 0;
  let allPmds = 0;
  let mmPages = 0;
  let fileVmas = 0;
  let filePmds = 0;
  let mostFileVmas = 0;
  let mostFilePmds = 0;
  for (const m of s.mms) {
    let spanned = 0;
    let pages = 0;
    let files = 0;
    let filePmdsHere = 0;
    for (const v of m.vmas) {
      const span = Math.floor((v.start + v.size - 1) / n) - Math.floor(v.start / n) + 1;
      spanned += span;
      pages += v.size;
      if (v.file !== undefined) {
        files++;
        filePmdsHere += span;
      }
    }
    pmds = Math.max(pmds, spanned);
    allPmds += spanned;
    mmPages = Math.max(mmPages, pages);
    fileVmas += files;
    filePmds += filePmdsHere;
    mostFileVmas = Math.max(mostFileVmas, files);
    mostFilePmds = Math.max(mostFilePmds, filePmdsHere);
  }
  let forks = 0;
  let filePages = Math.max(0, ...s.files.map((f) => f.size));
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (x === null || typeof x !== 'object') return;
    for (const [key, v] of Object.entries(x)) {
      if (key === 'fork') forks++;
      if (typeof v === 'number' && key === 'offset') filePages = Math.max(filePages, v + 1);
      visit(v);
    }
  };
  visit(s.actors);
  // (a fork copies its parent's VMAs: at most the largest mm's, each)
  return {
    hpagePmdNr: n, pmds, allPmds: allPmds + forks * pmds, mmPages, mms: s.mms.length + forks, filePages,
    fileVmas: fileVmas + forks * mostFileVmas, filePmds: filePmds + forks * mostFilePmds, actors: s.actors.length, files: s.files.length,
  };
}

/**
 * The VMAs each mm of the scenario can have, by name: its own, and two more for each
 * madvise, mprotect or munmap an actor in it makes (each splits at most the VMAs at its
 * range's two ends; an actor naming no mm counts for every mm). A fork's child copies its
 * parent's. (Per mm, not a VectorBounds field: one mm's many splits would size every mm's
 * table. One pass over the actors for all mms: a scenario may have 100,000 of each.)
 */
export function vmaBounds(s: Scenario): Map<string, number> {
  let splits = 0;
  const visit = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(visit);
    if (x === null || typeof x !== 'object') return;
    for (const [key, v] of Object.entries(x)) {
      if (key === 'madvise' || key === 'mprotect' || key === 'munmap') splits++;
      visit(v);
    }
  };
  const byMm = new Map<string, number>();
  let everyMm = 0;
  for (const a of s.actors) {
    splits = 0;
    visit(a);
    const own = (a as { mm?: string }).mm;
    if (own === undefined) everyMm += splits;
    else byMm.set(own, (byMm.get(own) ?? 0) + splits);
  }
  return new Map(s.mms.map((m) => [m.name, m.vmas.length + 2 * ((byMm.get(m.name) ?? 0) + everyMm)]));
}

/** Builds the kernel and its objects from the scenario; `slots`: its structs laid out in the state vector's slots (a world a search copies and hashes). */
export function buildKernel(s: Scenario, slots = false): Kernel {
  const k = new Kernel({ hpagePmdNr: s.hpage_pmd_nr, sysfs: sysfsFor(s), config: s.config, variants: s.variants, bounds: vectorBounds(s), slots });
  k.liveness = s.liveness;
  const inodes = new Map<string, number>();
  for (const f of s.files) {
    const ino = k.createInode(f.name, f.shmem, f.size);
    ino.huge = f.huge;
    inodes.set(f.name, ino.id);
  }
  const bounds = vmaBounds(s);
  for (const m of s.mms) {
    const mm = k.createMm(m.name, -1, bounds.get(m.name)!);
    mm.users = 0;
    for (const v of m.vmas) {
      const flags = v.flags.reduce((acc, f) => acc | VM[f.slice(3) as keyof typeof VM], 0);
      const file = v.file === undefined ? -1 : inodes.get(v.file)!;
      mm.addVma({ start: v.start, end: v.start + v.size, flags, pgoff: v.pgoff, file });
    }
    // its page tables: an entry for each pmd the VMAs span (a fault, a fork or a collapse
    // writes none outside them)
    const n = s.hpage_pmd_nr;
    const spanned: number[] = [];
    for (const v of mm.vmas) for (let i = Math.floor(v.start / n); v.end > v.start && i <= Math.floor((v.end - 1) / n); i++) spanned.push(i);
    mm.pmds.layOut(spanned.sort((x, y) => x - y), `mm ${mm.name}`);
  }
  return k;
}

/**
 * Files marked `populated`: every page written before the run starts — a small page in
 * the page cache, uptodate, on the LRU, holding its own data (and dirty in a regular file's
 * `dirty` ranges) — published on the bus like
 * any other change, so the monitors start from the same state.
 */
export function populateFiles(k: Kernel, s: Scenario): void {
  for (const f of s.files) {
    if (!f.populated) continue;
    const ino = k.inodeByName(f.name)!;
    if (!f.cached && !ino.shmem) {
      // on disk only: a read fault or collapse_file's readahead brings each page in
      for (let index = 0; index < f.size; index++) ino.setExpected(index, k.newToken());
      continue;
    }
    // per offset: 0 a page, 1 in swap, 2 a hole
    const swapped = new Uint8Array(f.size);
    for (const r of f.swapped) swapped.fill(1, r.offset, r.offset + r.size);
    for (const r of f.holes) swapped.fill(2, r.offset, r.offset + r.size);
    const dirty = new Uint8Array(f.size);
    for (const r of f.dirty) dirty.fill(1, r.offset, r.offset + r.size);
    let inSwap = 0;
    let holes = 0;
    for (let index = 0; index < f.size; index++) {
      if (swapped[index] === 2) {
        holes++;
        continue;
      }
      if (swapped[index]) {
        // written, then swapped out by shmem_writepage: only a swap entry in the page cache
        const token = k.newToken();
        ino.setExpected(index, token);
        k.cacheSet(ino, index, k.swapOut(token, -1), -1);
        inSwap++;
        continue;
      }
      const pfn = k.pages.alloc(0, false, -1); // its one reference is the page cache's
      if (ino.shmem) k.pages.setFlag(pfn, 'swapbacked');
      k.pages.setMapping(pfn, ino.id);
      k.pages.setIndex(pfn, index);
      const token = k.newToken();
      k.pages.setData(pfn, token);
      ino.setExpected(index, token);
      k.pages.setUptodate(pfn, -1);
      k.pages.lruAdd(pfn, -1);
      k.cacheSet(ino, index, pfn, -1);
      // written through a writable fd before the run (the model keeps PG_dirty, not PAGECACHE_TAG_DIRTY)
      if (dirty[index]) k.pages.setDirty(pfn, -1);
    }
    const cached = f.size - inSwap - holes;
    ino.mapping.nrpages += cached;
    k.count('nr_file_pages', cached, -1);
    if (ino.shmem) {
      ino.alloced += cached + inSwap;
      ino.swapped += inSwap;
      k.count('nr_shmem', cached, -1);
    }
  }
}

/** XState's state value as a dotted path to the active leaf. */
export function statePath(value: unknown): string {
  const parts: string[] = [];
  let v = value;
  while (v !== null && typeof v === 'object') {
    const [key, inner] = Object.entries(v as Record<string, unknown>)[0]!;
    parts.push(key);
    v = inner;
  }
  parts.push(String(v));
  return parts.join('.');
}
