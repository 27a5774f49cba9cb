/**
 * `npm run bench`: (a) engine steps per second on a large generated zero-page scenario,
 * invariants and bus on, against a plain-function baseline (bench/baseline.ts) that takes
 * the identical schedule; (b) memory per struct page with 262,144 pages (a child process
 * with --expose-gc, bench/memory.ts); (c) peak RSS; (d) khugepaged collapsing a 1 GiB shmem
 * file end to end (a child process, bench/khugepaged.ts).
 *
 * (e) the explorer: schedules/s (random, PCT) on race scenarios at HPAGE_PMD_NR=8, and time
 * to the first counterexample on the seeded defects, median over 20 base seeds.
 *
 * Options: --mms N (250) --threads N (4) --hpage N (512) --passes N (2000) --seed N (1)
 *          --runs N (5) --no-scaling (skip the smaller workloads) --no-memory --no-khugepaged
 *          --no-recovery --no-explore --no-startup --no-spin --help
 *
 * (d2) huge tmpfs recovery (seed 001) of 64 half-swapped extents (a child process,
 * bench/team_recovery.ts).
 *
 * (f) the command's start-up (bench/startup.ts); (g) SPIN's pan against thpsim's dfs on the
 * same state graph, when spin and a C compiler are installed (bench/spin.ts).
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, availableParallelism, platform, arch, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measureStartup } from './startup.ts';
import { fmt, kv, median, table } from './format.ts';
import { spinSection } from './spin.ts';
import { parseArgs } from 'node:util';
import { validateScenario } from '../src/scenario/load.ts';
import { run, type RunResult } from '../src/sched/run.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { allMonitors } from '../src/registry.ts';
import { DEFAULT_WORKLOAD, type WorkloadOptions, zeroPageWorkload } from './scenario.ts';
import { runBaseline } from './baseline.ts';
import { exploreInWorkers } from '../src/explore/parallel.ts';
import type { ExploreOptions } from '../src/explore/explore.ts';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const OPTIONS = {
  mms: { type: 'string', default: String(DEFAULT_WORKLOAD.mms) },
  threads: { type: 'string', default: String(DEFAULT_WORKLOAD.threads) },
  hpage: { type: 'string', default: String(DEFAULT_WORKLOAD.hpagePmdNr) },
  passes: { type: 'string', default: String(DEFAULT_WORKLOAD.shrinkerPasses) },
  seed: { type: 'string', default: String(DEFAULT_WORKLOAD.seed) },
  runs: { type: 'string', default: '5' },
  'no-scaling': { type: 'boolean', default: false },
  'no-memory': { type: 'boolean', default: false },
  'no-khugepaged': { type: 'boolean', default: false },
  'no-recovery': { type: 'boolean', default: false },
  'no-explore': { type: 'boolean', default: false },
  'no-startup': { type: 'boolean', default: false },
  'no-spin': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;
const USAGE = 'usage: npm run bench -- [--runs N] [--seed N] [--mms N] [--threads N] [--hpage N] [--passes N] [--no-scaling] [--no-memory] [--no-khugepaged] [--no-recovery] [--no-explore] [--no-startup] [--no-spin]';
const parsed = (() => {
  try {
    return parseArgs({ options: OPTIONS });
  } catch (e) {
    // (a bad option is one line and the usage, never a stack trace)
    console.error(`bench: ${(e as Error).message.split('\n')[0]}\n${USAGE}`);
    process.exit(2);
  }
})();
const opt = parsed.values;
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
for (const k of ['mms', 'threads', 'hpage', 'passes', 'seed', 'runs'] as const) {
  if (!/^\d+$/.test(opt[k])) {
    console.error(`bench: --${k}: expected a whole number, got '${opt[k]}'\n${USAGE}`);
    process.exit(2);
  }
}

const RUNS = Math.max(1, Number(opt.runs));
const SEED = Number(opt.seed);
const GOAL_RATIO = 1 / 3;
const GOAL_BYTES = 200;

// ---- header --------------------------------------------------------------------------------

const cpu = cpus();
console.log('thpsim bench');
kv('command', [process.argv0 === 'node' ? 'node' : process.execPath, ...process.execArgv, ...process.argv.slice(1).map((a) => a.replace(`${process.cwd()}/`, ''))].join(' '));
kv('node', `${process.version} (V8 ${process.versions.v8}), ${platform()} ${release()} ${arch()}`);
kv('cpu', `${availableParallelism()} cores (os.cpus: ${cpu.length}), ${cpu[0]?.model.trim() ?? 'unknown model'}`);
kv('memory', `${fmt(totalmem() / 2 ** 30, 1)} GiB`);
kv('date', new Date().toISOString());
console.log();

// ---- (a) engine steps per second ---------------------------------------------------------------

interface EngineFigures {
  actors: number;
  steps: number;
  engineSps: number[];
  baselineSps: number[];
  engineMs: number[];
  baselineMs: number[];
  /** The engine with every monitor off (the same trace), where asked for; else empty. */
  bareMs: number[];
  matched: boolean;
  first: RunResult;
}

function opCounts(s: Scenario): string {
  const c: Record<string, number> = {};
  for (const a of s.actors) {
    const ops = (a as { ops?: unknown[] }).ops;
    if (!ops) continue;
    for (const o of ops) {
      const k = typeof o === 'string' ? o : Object.keys(o as object)[0]!;
      c[k] = (c[k] ?? 0) + 1;
    }
  }
  return Object.entries(c).map(([k, v]) => `${fmt(v)} ${k}`).join(', ');
}

async function scenarioFor(o: WorkloadOptions) {
  const w = zeroPageWorkload(o);
  const s = await validateScenario(w.data, '<bench>');
  return { w, s };
}

/** `bare`: time the engine with every monitor off too (EngineFigures.bareMs). */
function benchEngine(s: Scenario, bare = false): EngineFigures {
  // warm-up, which is also the check: the engine's recorded schedule vs the baseline's decisions
  const first = run(s, { seed: SEED, record: true });
  if (first.verdict !== 'ok') {
    throw new Error(`bench scenario: verdict ${first.verdict}, expected ok: ${first.violations.map((v) => `${v.invariant}: ${v.message}`).join('; ')}`);
  }
  const b0 = runBaseline(s, SEED, true);
  let matched = b0.steps === first.steps;
  for (let i = 0; matched && i < first.schedule.length; i++) {
    const e = first.schedule[i]!;
    const d = b0.decisions[i]!;
    if (e.actor !== d.actor || e.state !== d.state) {
      matched = false;
      console.log(`  ! baseline diverges at decision ${i}: engine ${e.actor} @ ${e.state}, baseline ${d.actor} @ ${d.state}`);
    }
  }
  // short workloads: each sample times a batch of runs (≥ ~250 ms), reported per run
  const reps = (ms: number) => Math.max(1, Math.ceil(250 / Math.max(ms, 0.01)));
  let t = performance.now();
  run(s, { seed: SEED, record: false });
  const engineReps = reps(performance.now() - t);
  t = performance.now();
  runBaseline(s, SEED, false);
  const baselineReps = reps(performance.now() - t);
  const engineMs: number[] = [];
  const baselineMs: number[] = [];
  const bareMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    t = performance.now();
    for (let j = 0; j < engineReps; j++) {
      const r = run(s, { seed: SEED, record: false });
      if (r.verdict !== 'ok' || r.steps !== first.steps || r.traceHash !== first.traceHash) {
        throw new Error(`engine run ${i}: verdict ${r.verdict}, ${r.steps} steps, hash ${r.traceHash}; expected ok, ${first.steps}, ${first.traceHash}`);
      }
    }
    engineMs.push((performance.now() - t) / engineReps);
    t = performance.now();
    for (let j = 0; j < baselineReps; j++) {
      const b = runBaseline(s, SEED, false);
      if (b.steps !== first.steps) throw new Error(`baseline run ${i}: ${b.steps} steps, expected ${first.steps}`);
    }
    baselineMs.push((performance.now() - t) / baselineReps);
    if (bare) {
      t = performance.now();
      for (let j = 0; j < engineReps; j++) {
        const r = run(s, { seed: SEED, record: false, monitors: [] });
        if (r.traceHash !== first.traceHash) throw new Error(`engine run ${i} with no monitor: hash ${r.traceHash}, expected ${first.traceHash}`);
      }
      bareMs.push((performance.now() - t) / engineReps);
    }
  }
  return {
    actors: s.actors.length, steps: first.steps, first, matched, engineMs, baselineMs, bareMs,
    engineSps: engineMs.map((ms) => (first.steps / ms) * 1000),
    baselineSps: baselineMs.map((ms) => (first.steps / ms) * 1000),
  };
}

// (a block: the engine runs' results, a 1,001-actor model among them, are garbage once
// printed: the explorer's figures below are not taken in a heap that still holds them)
{
  const main: WorkloadOptions = {
    ...DEFAULT_WORKLOAD,
    mms: Number(opt.mms), threads: Number(opt.threads), hpagePmdNr: Number(opt.hpage), shrinkerPasses: Number(opt.passes), seed: SEED,
  };
  const { w, s } = await scenarioFor(main);
  console.log('(a) engine steps/s — fast (compiled) engine, bus on, all monitors on, record: false');
  kv('workload', `bench/scenario.ts, HPAGE_PMD_NR=${main.hpagePmdNr}; ${w.baseMms + w.children} mm_structs (${w.baseMms} + ${w.children} fork children), ${fmt(w.tasks)} task actors (${main.threads}/mm) + 1 huge_zero_page_shrinker (${fmt(main.shrinkerPasses)} passes)`);
  kv('ops', opCounts(s));
  kv('variants', `${s.variants.join(', ')}; inject: none; seed ${SEED}`);
  kv('monitors', allMonitors().map((m) => m.name).join(', '));
  kv('baseline', 'bench/baseline.ts: the same kernel steps hand-written as a switch over program points on plain');
  kv('', 'objects + typed arrays (refcount/mapcount inc/dec, pmd/pte set/clear, buddy alloc/free, huge');
  kv('', 'zero page atomics, locks); same scheduler algorithm (rejection draw over live actors, same Rng) — no XState,');
  kv('', 'no compiled charts, no bus, no monitors, no ghost refs, no trace hash.');
  kv('runs', `${RUNS} timed samples each, after warm-up (the engine's with record: true, then the schedule check);`);
  kv('', 'medians; ms are per run (a sample of a short workload times a batch of runs of ≥ 250 ms)');
  console.log();

  const figures: { label: string; f: EngineFigures }[] = [];
  const big = benchEngine(s, true);
  figures.push({ label: `${w.baseMms + w.children} mm × ${main.threads}`, f: big });
  if (!opt['no-scaling']) {
    for (const mms of [10, 50]) {
      if (mms >= main.mms) continue;
      const small = await scenarioFor({ ...main, mms, shrinkerPasses: Math.max(50, Math.round((main.shrinkerPasses * mms) / main.mms)) });
      figures.push({ label: `${mms} mm × ${main.threads}`, f: benchEngine(small.s) });
    }
  }

  const rows = figures.map(({ label, f }) => {
    const e = median(f.engineSps);
    const b = median(f.baselineSps);
    const ratio = e / b;
    return [
      label, fmt(f.actors), fmt(f.steps), f.first.verdict,
      fmt(median(f.engineMs), median(f.engineMs) < 100 ? 1 : 0), fmt(e), `${fmt(Math.min(...f.engineSps))}–${fmt(Math.max(...f.engineSps))}`,
      fmt(median(f.baselineMs), median(f.baselineMs) < 100 ? 1 : 0), fmt(b), f.matched ? 'identical' : 'DIVERGED',
      fmt(ratio, 3), ratio >= GOAL_RATIO ? 'met' : 'NOT met',
    ];
  });
  table(
    ['workload', 'actors', 'steps', 'verdict', 'engine ms', 'engine steps/s', 'min–max', 'baseline ms', 'baseline steps/s', 'schedule', 'engine/baseline', 'goal ≥ 1/3'],
    rows,
    [false, true, true, false, true, true, true, true, true, false, true, false],
  );
  {
    const bare = median(big.bareMs);
    const bareSps = (big.steps / bare) * 1000;
    console.log(`  with no monitor (the same trace), ${figures[0]!.label}: engine ${fmt(bare, bare < 100 ? 1 : 0)} ms, ${fmt(bareSps)} steps/s, engine/baseline ${fmt(bareSps / median(big.baselineSps), 3)}`);
  }
  const v = big.first.kernel.vmstat;
  console.log(`  main run: ${fmt(big.steps)} steps; thp_fault_alloc ${v.get('thp_fault_alloc')}, thp_split_pmd ${v.get('thp_split_pmd')}, thp_zero_page_alloc ${v.get('thp_zero_page_alloc')}; trace hash ${big.first.traceHash}`);
  console.log();
}

// ---- (b) memory per struct page ---------------------------------------------------------------

let childRssKiB = 0;
if (!opt['no-memory']) {
  console.log('(b) memory per struct page — Kernel + k.pages.alloc, Δ(heapUsed + arrayBuffers) around it, after global.gc()');
  const args = ['--expose-gc', '--import', 'tsx', join(here, 'memory.ts'), String(RUNS)];
  kv('child', `node ${args.join(' ').replace(`${process.cwd()}/`, '')}`);
  const out = execFileSync(process.execPath, args, { cwd: join(here, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const mem = JSON.parse(out.trim().split('\n').pop()!) as {
    staticBytesPerPage: number;
    maxRssKiB: number;
    cases: { name: string; describe: string; bytesPerPage: number; minBytesPerPage: number; maxBytesPerPage: number; heap: number; arrayBuffers: number; capacity: number; allocMs: number; runs: number }[];
  };
  childRssKiB = mem.maxRssKiB;
  kv('arrays', `PageStore typed arrays: ${mem.staticBytesPerPage} B per pfn slot (PageStore.bytesPerPage())`);
  table(
    ['case', 'pages', 'capacity', 'heap Δ', 'arrayBuffers Δ', 'bytes/page', 'min–max', 'goal ≤ 200 B', 'alloc ms'],
    mem.cases.map((c) => [
      c.describe, '262,144', fmt(c.capacity), `${fmt(c.heap / 1024)} KiB`, `${fmt(c.arrayBuffers / 1024)} KiB`,
      fmt(c.bytesPerPage, 1), `${fmt(c.minBytesPerPage, 1)}–${fmt(c.maxBytesPerPage, 1)}`, c.bytesPerPage <= GOAL_BYTES ? 'met' : 'NOT met', fmt(c.allocMs),
    ]),
    [false, true, true, true, true, true, true, false, true],
  );
  console.log(`  (median of ${mem.cases[0]!.runs} after a warm-up; the first row is the headline figure)`);
  console.log();
}

// ---- (d) khugepaged collapsing 1 GiB of shmem ---------------------------------------------------

let khugepagedRssKiB = 0;
if (!opt['no-khugepaged']) {
  console.log('(d) khugepaged collapsing a 1 GiB shmem file: 512 extents × 512 pages, HPAGE_PMD_NR=512, every invariant on');
  const args = ['--import', 'tsx', join(here, 'khugepaged.ts'), String(RUNS)];
  kv('child', `node ${args.join(' ').replace(`${process.cwd()}/`, '')}`);
  kv('scenario', 'file populated before the run (262,144 written pages; timed separately), one mm maps it VM_HUGEPAGE;');
  kv('', 'khugepaged: one full scan; khugepaged_scan_shmem + collapse_shmem + retract_page_tables on every extent');
  const out = execFileSync(process.execPath, args, { cwd: join(here, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const kh = JSON.parse(out.trim().split('\n').pop()!) as {
    ms: number[]; setupMs: number[]; bareMs: number[]; bareSetupMs: number[]; steps: number; verdict: string; pagesCollapsed: number; maxRssKiB: number; traceHash: string;
  };
  khugepagedRssKiB = kh.maxRssKiB;
  const m = median(kh.ms);
  const setupM = median(kh.setupMs);
  const collapse = kh.ms.map((x, i) => x - kh.setupMs[i]!);
  const c = median(collapse);
  table(
    ['steps', 'verdict', 'pages_collapsed', 'total s', 'min–max s', 'populate s', 'khugepaged s', 'steps/s', 'goal ≤ 2 s', 'peak RSS'],
    [[fmt(kh.steps), kh.verdict, fmt(kh.pagesCollapsed), fmt(m / 1000, 2), `${fmt(Math.min(...kh.ms) / 1000, 2)}–${fmt(Math.max(...kh.ms) / 1000, 2)}`,
      fmt(setupM / 1000, 2), fmt(c / 1000, 2), fmt((kh.steps / c) * 1000), m <= 2000 ? 'met (total)' : c <= 2000 ? 'met (khugepaged)' : 'NOT met',
      `${fmt(kh.maxRssKiB / 1024, 1)} MiB`]],
    [true, false, true, true, true, true, true, true, false, true],
  );
  console.log('  total = populating the 262,144 pages (setup, every monitor on) + khugepaged\'s full scan; the goal is for the latter');
  const bare = median(kh.bareMs.map((x, i) => x - kh.bareSetupMs[i]!));
  console.log(`  with no monitor (the same trace): khugepaged ${fmt(bare / 1000, 2)} s — the monitors' share ${fmt(c / 1000 - bare / 1000, 2)} s`);
  console.log(`  (median of ${kh.ms.length} after a warm-up; trace hash ${kh.traceHash})`);
  console.log();
}

// ---- (d2) huge tmpfs recovery of 64 half-swapped extents ------------------------------------------

let recoveryRssKiB = 0;
if (!opt['no-recovery']) {
  console.log('(d2) huge tmpfs recovery (seed 001 as posted): 64 extents × 512 pages, half swapped out, HPAGE_PMD_NR=512, every invariant on');
  const args = ['--import', 'tsx', join(here, 'team_recovery.ts'), String(RUNS)];
  kv('child', `node ${args.join(' ').replace(`${process.cwd()}/`, '')}`);
  kv('scenario', 'a huge=1 file of 32,768 pages, every other one in swap (timed separately), no team; one recovery worker per extent:');
  kv('', 'shmem_recovery_work → shmem_recovery_populate swaps in, migrates every page into its team, completes 64 teams');
  const out = execFileSync(process.execPath, args, { cwd: join(here, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const rc = JSON.parse(out.trim().split('\n').pop()!) as {
    ms: number[]; setupMs: number[]; steps: number; verdict: string; recovCompleted: number; pageMigrate: number; maxRssKiB: number; traceHash: string;
  };
  recoveryRssKiB = rc.maxRssKiB;
  const m = median(rc.ms);
  const setupM = median(rc.setupMs);
  const work = median(rc.ms.map((x, i) => x - rc.setupMs[i]!));
  table(
    ['steps', 'verdict', 'recov_completed', 'page_migrate', 'total s', 'min–max s', 'populate s', 'recovery s', 'steps/s', 'goal ≤ 2 s', 'peak RSS'],
    [[fmt(rc.steps), rc.verdict, fmt(rc.recovCompleted), fmt(rc.pageMigrate), fmt(m / 1000, 2), `${fmt(Math.min(...rc.ms) / 1000, 2)}–${fmt(Math.max(...rc.ms) / 1000, 2)}`,
      fmt(setupM / 1000, 2), fmt(work / 1000, 2), fmt((rc.steps / work) * 1000), m <= 2000 ? 'met (total)' : work <= 2000 ? 'met (recovery)' : 'NOT met',
      `${fmt(rc.maxRssKiB / 1024, 1)} MiB`]],
    [true, false, true, true, true, true, true, true, true, false, true],
  );
  console.log(`  (median of ${rc.ms.length} after a warm-up; trace hash ${rc.traceHash})`);
  console.log();
}

// ---- (e) the explorer ---------------------------------------------------------------------------

if (!opt['no-explore']) {
  const { loadScenario } = await import('../src/scenario/load.ts');
  const { explore } = await import('../src/explore/explore.ts');
  console.log('(e) the schedule explorer');
  const rows: string[][] = [];
  for (const f of ['zero-page-read-faults', 'collapse-shmem-vs-truncate']) {
    const s = await loadScenario(join(here, '..', 'examples', `${f}.yaml`));
    for (const strategy of ['random', 'pct'] as const) {
      const rates: number[] = [];
      const bareRates: number[] = [];
      let steps = 0;
      for (let i = 0; i < RUNS; i++) {
        let t = performance.now();
        const r = explore(s, { strategy, schedules: 2000, seed: 1 + i * 2000 });
        rates.push(r.schedules / ((performance.now() - t) / 1000));
        steps = Object.values(r.verdicts).reduce((a, b) => a + b, 0);
        t = performance.now();
        const bare = explore(s, { strategy, schedules: 2000, seed: 1 + i * 2000, monitors: [] });
        bareRates.push(bare.schedules / ((performance.now() - t) / 1000));
      }
      rows.push([f, `${s.hpage_pmd_nr}`, strategy, fmt(steps), fmt(median(rates)), `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`, fmt(median(bareRates))]);
    }
  }
  table(['scenario', 'HPAGE_PMD_NR', 'strategy', 'schedules', 'schedules/s', 'min–max', 'no monitor'], rows, [false, true, false, true, true, true, true]);
  console.log(`  (median of ${RUNS} runs of 2,000 schedules each, every monitor on; the last column the same schedules with none)`);
  {
    const s = await loadScenario(join(here, '..', 'test', 'fixtures', 'zero-page-dfs-fixed.yaml'));
    const dfsRows: string[][] = [];
    const truncate = await loadScenario(join(here, '..', 'examples', 'collapse-shmem-vs-truncate.yaml'));
    // the fixture searched completely, without sleep sets (the default) and with; a longer
    // scenario's first 20,000 states (long enough that JIT warm-up is not the figure); its
    // first 3,000 with snapshots and by re-running every prefix from the start (all of it
    // within a preemption bound: below, in one thread and over worker threads)
    const cases = [
      ['test/fixtures/zero-page-dfs-fixed', s, {}],
      ['test/fixtures/zero-page-dfs-fixed', s, { sleepSets: true }],
      ['examples/collapse-shmem-vs-truncate (20,000 states)', truncate, { maxStates: 20_000 }],
      ['examples/collapse-shmem-vs-truncate (3,000 states)', truncate, { maxStates: 3000 }],
      ['examples/collapse-shmem-vs-truncate (3,000 states)', truncate, { maxStates: 3000, snapshots: false }],
    ] as const;
    for (const [name, scen, o] of cases) {
      const rates: number[] = [];
      const nodeRates: number[] = [];
      let last: { states?: number; nodes?: number; complete?: boolean } = {};
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        last = explore(scen, { strategy: 'dfs', shrinkBudget: 0, ...o });
        const secs = (performance.now() - t) / 1000;
        rates.push(last.states! / secs);
        nodeRates.push(last.nodes! / secs);
      }
      const how = `${'sleepSets' in o && o.sleepSets ? 'on' : 'off'}${'snapshots' in o ? ', re-run' : ''}`;
      dfsRows.push([name, `${scen.hpage_pmd_nr}`, how, fmt(last.states!), fmt(last.nodes!), String(last.complete), fmt(median(rates)),
        `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`, fmt(median(nodeRates)), median(rates) >= 100_000 ? 'met' : 'NOT met']);
    }
    // the same scenario's first 200,000 states, and all of it within a bound of 2 preemptions
    // (unbounded, it is not complete at 3,000,000 states), in this thread and over worker
    // threads sharing the visited states (each worker thread's start, about half a second,
    // included)
    const truncateFile = join(here, '..', 'examples', 'collapse-shmem-vs-truncate.yaml');
    const truncateRaw = parseYaml(readFileSync(truncateFile, 'utf8'));
    const workers = Math.max(2, availableParallelism());
    // One thread and the worker threads in turn, round by round (this VM's speed drifts by
    // up to 2x within minutes: a ratio of two runs taken back to back is steadier than a
    // ratio of medians taken minutes apart). Beside the dfs, what the machine gives work
    // that shares nothing: random schedules, one shard a worker thread, the same scenario,
    // the threads started the same way.
    const searches = [
      { name: 'examples/collapse-shmem-vs-truncate (200,000 states)', o: { strategy: 'dfs' as const, shrinkBudget: 0, maxStates: 200_000 } },
      { name: 'examples/collapse-shmem-vs-truncate, --preemption-bound 2', o: { strategy: 'dfs' as const, shrinkBudget: 0, preemptionBound: 2 } },
    ];
    const randomOptions = { strategy: 'random' as const, schedules: 8000, seed: 1 };
    const byWorkers = <T>(make: () => T) => new Map<number, T>([[1, make()], [workers, make()]]);
    const dfsRates = searches.map(() => byWorkers<number[]>(() => []));
    const dfsNodeRates = searches.map(() => byWorkers<number[]>(() => []));
    const randomRates = byWorkers<number[]>(() => []);
    const last = searches.map(() => byWorkers<{ states?: number; nodes?: number; complete?: boolean }>(() => ({})));
    /** The exploration in this thread (w = 1) or over w threads, and how long it took (s). */
    const timed = async (w: number, o: ExploreOptions) => {
      const t = performance.now();
      const r = w === 1 ? explore(truncate, o) : await exploreInWorkers(truncate, { raw: truncateRaw, file: truncateFile }, o, w);
      return { r, s: (performance.now() - t) / 1000 };
    };
    for (let i = 0; i < RUNS; i++) {
      for (const w of [1, workers]) {
        for (const [j, { o }] of searches.entries()) {
          const d = await timed(w, o);
          dfsRates[j]!.get(w)!.push(d.r.states! / d.s);
          dfsNodeRates[j]!.get(w)!.push(d.r.nodes! / d.s);
          last[j]!.set(w, d.r);
        }
        const q = await timed(w, randomOptions);
        randomRates.get(w)!.push(q.r.schedules / q.s);
      }
    }
    for (const [j, { name }] of searches.entries()) {
      for (const w of [1, workers]) {
        const rates = dfsRates[j]!.get(w)!;
        const r = last[j]!.get(w)!;
        dfsRows.push([`${name}, ${w === 1 ? 'one thread' : `${w} worker threads`}`, '4', 'off',
          fmt(r.states!), fmt(r.nodes!), String(r.complete), fmt(median(rates)), `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`,
          fmt(median(dfsNodeRates[j]!.get(w)!)), median(rates) >= 100_000 ? 'met' : 'NOT met']);
      }
    }
    table(['dfs scenario', 'HPAGE_PMD_NR', 'sleep sets', 'states', 'nodes', 'complete', 'states/s', 'min–max', 'nodes/s', 'goal ≥ 100,000/s'], dfsRows,
      [false, true, false, true, true, false, true, true, true, false]);
    console.log(`  (median of ${RUNS}; each search node reached from a snapshot restored in place, or with "re-run" from the start along its prefix; with sleep sets its last step runs on a recording view;`);
    console.log('   nodes/s: search nodes (transitions run) a second, the states\' and the pruned ones: the work rate whatever the state space;');
    console.log(`   worker threads (--workers): one visited-state table shared by compare-and-swap, nodes given to workers that run out, on ${availableParallelism()} cores)`);
    const ratios = (m: Map<number, number[]>) => m.get(workers)!.map((x, i) => x / m.get(1)![i]!);
    const independent = ratios(randomRates);
    const range = (xs: number[], d = 2) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;
    kv('scaling', `${workers} worker threads over one thread, run back to back (median of ${RUNS} rounds):`);
    kv('', `random schedules (8,000; one shard a thread: nothing shared) ${fmt(median(independent), 2)}× (${range(independent)}, ${fmt(median(randomRates.get(1)!))} → ${fmt(median(randomRates.get(workers)!))} schedules/s);`);
    for (const [j, { o }] of searches.entries()) {
      const shared = ratios(dfsRates[j]!);
      const share = shared.map((x, i) => x / independent[i]!);
      kv('', `dfs${o.preemptionBound === undefined ? ', 200,000 states' : `, --preemption-bound ${o.preemptionBound}`} ${fmt(median(shared), 2)}× (${range(shared)}): ${fmt(100 * median(share))}% (${range(share.map((x) => 100 * x), 0)}%) of what work that shares nothing gets`);
    }
  }
  const rows2: string[][] = [];
  for (const [f, inv] of [['zero-page-as-posted', 'illegal-transition'], ['collapse-shmem-as-posted-holes', 'data-integrity'], ['madvise-collapse-as-posted-compound', 'collapse_shmem']] as const) {
    const s = await loadScenario(join(here, '..', 'examples', `${f}.yaml`));
    for (const strategy of ['random', 'pct'] as const) {
      const ms: number[] = [];
      const counts: number[] = [];
      let missed = 0;
      for (let seed = 1; seed <= 20; seed++) {
        const t = performance.now();
        let n = 0;
        const r = explore(s, {
          strategy, schedules: 20_000, seed: seed * 100_003, shrinkBudget: 0,
          onProgress: (_, res) => ((n = res.schedules), (res.violations[inv] ?? 0) > 0),
        });
        if (!r.violations[inv]) missed++;
        ms.push(performance.now() - t);
        counts.push(n);
      }
      rows2.push([f, inv, strategy, fmt(median(counts)), fmt(median(ms), 1), missed ? `${missed}/20 not within 20,000` : '']);
    }
  }
  table(['scenario (seeded defect)', 'invariant', 'strategy', 'schedules to first', 'ms to first', ''], rows2, [false, false, false, true, true, false]);
  console.log('  (median over 20 base seeds; the time to find it, not to minimise it; goal: PCT ≤ 1 s median)');
  console.log();
}

// ---- (f) the command's start-up ------------------------------------------------------------------

if (!opt['no-startup']) {
  console.log(`(f) command start-up: a fresh process each, wall time, median of ${RUNS}`);
  const rows = measureStartup(join(here, '..'), RUNS, median);
  table(
    ['command', 'compiled (dist/)', 'sources (tsx)'],
    rows.map((r) => [r.command, r.compiled === undefined ? 'not built' : `${fmt(r.compiled, 3)} s`, `${fmt(r.sources, 3)} s`]),
    [false, true, true],
  );
  const v = rows[0]!;
  console.log(v.compiled === undefined
    ? '  dist/ is missing or older than the sources: npm run build, then measure again (goal: --version ≤ 0.2 s compiled)'
    : `  goal: thpsim --version ≤ 0.2 s from the package: ${fmt(v.compiled, 3)} s — ${v.compiled <= 0.2 ? 'met' : 'NOT met'}`);
  console.log();
}

// ---- (g) SPIN side by side ---------------------------------------------------------------------

if (!opt['no-spin']) {
  const dir = join(here, 'spin');
  await spinSection({ pml: join(dir, 'zero_page.pml'), scenario: join(dir, 'zero-page-3task-fixed.yaml'), ntask: 3, runs: RUNS, root: process.cwd() });
}

// ---- (c) peak RSS ------------------------------------------------------------------------------

console.log('(c) peak RSS (getrusage ru_maxrss)');
const mainRss = process.resourceUsage().maxRSS;
table(
  ['process', 'peak RSS'],
  [
    ['bench/run.ts (the engine and baseline runs)', `${fmt(mainRss / 1024, 1)} MiB`],
    ...(childRssKiB ? [['bench/memory.ts (child: 262,144-page kernels)', `${fmt(childRssKiB / 1024, 1)} MiB`]] : []),
    ...(khugepagedRssKiB ? [['bench/khugepaged.ts (child: 1 GiB collapse)', `${fmt(khugepagedRssKiB / 1024, 1)} MiB`]] : []),
    ...(recoveryRssKiB ? [['bench/team_recovery.ts (child: 64 extents recovered)', `${fmt(recoveryRssKiB / 1024, 1)} MiB`]] : []),
  ],
  [false, true],
);
console.log(`  total wall time ${fmt(process.uptime(), 1)} s`);
