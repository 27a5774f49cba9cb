/**
 * (g) SPIN side by side: SPIN's pan on bench/spin/zero_page.pml against thpsim's dfs on
 * bench/spin/zero-page-3task-fixed.yaml, the same state graph (bench/spin/README.md), round
 * by round in the same run; states a second each, and thpsim's over SPIN's against the goal
 * (≥ 1/3). pan is built into a temporary directory when spin and a C compiler are on PATH;
 * without them the section says which is missing and thpsim's row stands alone.
 */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { explore, type ExploreResult } from '../src/explore/explore.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { createWorld } from '../src/world/engine_world.ts';
import { fmt, kv, median, table } from './format.ts';
import { workPerNode } from './work.ts';

export interface SpinSectionOptions {
  /** The Promela model and the thpsim scenario with the same state graph. */
  pml: string;
  scenario: string;
  /** spin -DNTASK= (the model's default, 2, when absent). */
  ntask?: number;
  runs: number;
  /** Where spin and the compiler are looked for (default process.env.PATH); they run in this process's environment, which their own tools (cpp, as, ld) come from. */
  path?: string;
  /** Paths are printed relative to this. */
  root: string;
}

const GOAL = 1 / 3;

/** The first executable `name` in the directories of `path`. */
export function onPath(name: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const f = join(dir, name);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface PanRun {
  stored: number;
  transitions: number;
  errors: number;
  /** pan's own timer (times(): 10 ms ticks), the search alone. */
  searchS: number;
  /** spawn to exit: the search, the 128 MB hash table's set-up, the process. */
  wallS: number;
}

/** Runs a command to completion; a failure is one line: the command and its first line of output. */
function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  if (r.error || r.status !== 0) {
    const why = r.error?.message ?? `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`;
    throw new Error(`${[cmd, ...args].join(' ')}: ${why}`);
  }
  return r.stdout;
}

/** Builds pan from `pml` in `dir` (spin -o2 ... -a, then cc -O2 -DSAFETY -DNOREDUCE) and returns its path. */
function buildPan(dir: string, name: string, tools: { spin: string; cc: string }, pml: string, defines: string[]): string {
  // spin -a runs the C preprocessor over the model for the -D switches: the same compiler
  // that builds pan (spin's own default is gcc, which a machine with only cc lacks)
  sh(tools.spin, [`-P${tools.cc} -std=gnu99 -E -x c`, '-o2', ...defines, '-a', pml], dir);
  sh(tools.cc, ['-O2', '-DSAFETY', '-DNOREDUCE', '-o', name, 'pan.c'], dir);
  return join(dir, name);
}

/** pan's figures from its report; a report without them is an error (another Spin's format). */
export function parsePan(out: string, wallS: number): PanRun {
  const num = (re: RegExp, what: string) => {
    const m = re.exec(out);
    if (!m) throw new Error(`pan: no ${what} in its report: ${out.trim().split('\n')[0] ?? ''}`);
    return Number(m[1]);
  };
  return {
    errors: num(/errors: (\d+)/, "'errors:'"),
    stored: num(/^\s*(\d+) states, stored/m, "'states, stored'"),
    transitions: num(/^\s*(\d+) transitions \(/m, "'transitions'"),
    searchS: num(/elapsed time ([\d.e+-]+) seconds/, "'elapsed time'"),
    wallS,
  };
}

function runPan(pan: string, args: string[], dir: string): PanRun {
  const t = performance.now();
  const out = sh(pan, ['-m1000000', ...args], dir);
  return parsePan(out, (performance.now() - t) / 1000);
}

/** Prints section (g). */
export async function spinSection(o: SpinSectionOptions): Promise<void> {
  const path = o.path ?? process.env.PATH ?? '';
  const rel = (f: string) => relative(o.root, f);
  const defines = o.ntask === undefined ? [] : [`-DNTASK=${o.ntask}`];
  console.log(`(g) SPIN side by side: the same state graph, SPIN's pan against thpsim's dfs, ${o.runs} round${o.runs === 1 ? '' : 's'}`);
  kv('model', `${rel(o.pml)} ${defines.join(' ') || '(NTASK=2)'}  ≡  ${rel(o.scenario)} (every monitor on; again with none)`);

  const spin = onPath('spin', path);
  const cc = onPath('gcc', path) ?? onPath('cc', path);
  const missing = [...(spin ? [] : ['spin']), ...(cc ? [] : ['C compiler (gcc or cc)'])];
  const dir = missing.length ? undefined : mkdtempSync(join(tmpdir(), 'thpsim-spin-'));
  try {
    let pan: string | undefined;
    let terminal: number | undefined;
    if (dir) {
      const tools = { spin: spin!, cc: cc! };
      try {
        const version = sh(spin!, ['-V'], dir).trim();
        const t = performance.now();
        pan = buildPan(dir, 'pan', tools, o.pml, defines);
        kv('spin', `${version}; spin -o2 ${[...defines, '-a'].join(' ')}, ${cc} -O2 -DSAFETY -DNOREDUCE (built in ${fmt((performance.now() - t) / 1000, 1)} s); ./pan -m1000000`);
        // pan stores the terminal states, thpsim does not count them: a pan whose terminal
        // states are all invalid end states (-DCOUNT_END) reports their number as its errors
        terminal = runPan(buildPan(dir, 'pan_count_end', tools, o.pml, [...defines, '-DCOUNT_END']), ['-c0'], dir).errors;
      } catch (e) {
        // (a toolchain that cannot build pan is as good as none: the section goes on without it)
        pan = undefined;
        kv('spin', `pan not built: ${(e as Error).message}; thpsim's row alone, no ratio`);
      }
    } else {
      kv('spin', `not installed: no ${missing.join(' and no ')} on PATH (apt-get install spin${cc ? '' : ' gcc'}); thpsim's row alone, no ratio`);
    }
    kv('thpsim', `explore(strategy 'dfs') in this process`);
    console.log();

    const scen = await loadScenario(o.scenario);
    const spinRuns: PanRun[] = [];
    const thp: { r: ExploreResult; s: number }[] = [];
    const unmonitored: { r: ExploreResult; s: number }[] = [];
    // pan and thpsim in turn, round by round (this VM's speed drifts within minutes: a
    // ratio of two runs taken back to back is steadier than a ratio of medians)
    for (let i = 0; i < o.runs; i++) {
      if (pan) {
        const p = runPan(pan, [], dir!);
        if (p.errors !== 0) throw new Error(`pan: errors: ${p.errors} on a model that must have none`);
        spinRuns.push(p);
      }
      const t = performance.now();
      const r = explore(scen, { strategy: 'dfs', shrinkBudget: 0 });
      const s = (performance.now() - t) / 1000;
      if (r.verdicts.ok === undefined || Object.keys(r.verdicts).some((v) => v !== 'ok')) {
        throw new Error(`thpsim dfs: verdicts ${JSON.stringify(r.verdicts)} on a scenario that must have only ok`);
      }
      thp.push({ r, s });
      // the same search with every monitor off: what the monitors' share of a node is
      const t2 = performance.now();
      const bare = explore(scen, { strategy: 'dfs', shrinkBudget: 0, monitors: [] });
      const s2 = (performance.now() - t2) / 1000;
      if (bare.states !== r.states || bare.nodes !== r.nodes) throw new Error(`thpsim dfs with no monitor: ${bare.states} states, ${bare.nodes} nodes; with every monitor ${r.states}, ${r.nodes}`);
      unmonitored.push({ r: bare, s: s2 });
    }

    const thpRates = thp.map(({ r, s }) => r.states! / s);
    const bareRates = unmonitored.map(({ r, s }) => r.states! / s);
    // pan's timer ticks every 10 ms: a shorter search has no rate of its own (pan prints none)
    const timed = spinRuns.length > 0 && spinRuns.every((p) => p.searchS > 0.01);
    const spinRates = spinRuns.map((p) => p.stored / p.searchS);
    const range = (xs: number[], d = 0) => `${fmt(Math.min(...xs), d)}–${fmt(Math.max(...xs), d)}`;
    const rows: string[][] = [];
    if (spinRuns.length) {
      const p = spinRuns.at(-1)!;
      rows.push(['SPIN pan (compiled C)', fmt(p.stored), fmt(p.transitions), `errors: ${p.errors}`,
        fmt(median(spinRuns.map((q) => q.searchS)), 2), fmt(median(spinRuns.map((q) => q.wallS)), 2),
        timed ? fmt(median(spinRates)) : '< 10 ms', timed ? range(spinRates) : '']);
    }
    const last = thp.at(-1)!.r;
    rows.push(['thpsim dfs', fmt(last.states!), fmt(last.nodes!), last.complete ? 'complete' : 'INCOMPLETE',
      fmt(median(thp.map((x) => x.s)), 2), '', fmt(median(thpRates)), range(thpRates)]);
    rows.push(['thpsim dfs, no monitor', fmt(last.states!), fmt(last.nodes!), last.complete ? 'complete' : 'INCOMPLETE',
      fmt(median(unmonitored.map((x) => x.s)), 2), '', fmt(median(bareRates)), range(bareRates)]);
    table(['tool', 'states', 'transitions', 'result', 'search s', 'wall s', 'states/s', 'min–max'], rows,
      [false, true, true, false, true, true, true, true]);
    console.log(`  (median of ${o.runs}; search s: pan's own timer / explore() alone; wall s: pan's process, its 128 MB hash table's set-up included;`);
    console.log('   states: pan\'s stored states, thpsim\'s distinct states; transitions: pan\'s, thpsim\'s search nodes)');

    // what a stored state costs: pan's -DSAFETY stores the whole state vector; thpsim keeps a
    // 64-bit hash of it (hash compaction) in an open-addressing table
    kv('memory', `thpsim ${fmt(last.stateBytes ?? 0, 1)} B per stored dfs state (the visited table: a 64-bit hash a state, half its slots free at most) — goal ≤ 64 B: ${(last.stateBytes ?? Infinity) <= 64 ? 'met' : 'NOT met'}`);
    const w = createWorld(scen, { snapshots: true });
    const sv = w.kernel.sv;
    kv('vector', `thpsim's state vector: ${fmt(sv.n)} slots (${fmt(sv.n * 8)} B) and ${sv.columnCount} columns (${fmt(sv.columnElements())} elements as the run starts) — the actors' locals and chart positions, the kernel's globals, sysfs, khugepaged's mm_slot list, the locks and who holds them, the mm_structs (their fields, VMAs, page tables, expected data, replaced vpns and pmds to retry), vmstat, the page-lock holders, mem_map (its struct page arrays, extent and free lists), the inodes, the swap slots, the actors' outcomes and results, every built-in monitor's memory; in components only what a run makes (a forked mm) and an extension's plain objects`);
    w.close();
    const work = workPerNode(scen);
    kv('work', `per search node, counted in a run of its own (the same figures on every machine; a cut in work shows whatever the noise): `
      + `${fmt(work.events, 2)} bus events, ${fmt(work.slotWrites, 2)} slot writes, ${fmt(work.columnWrites, 2)} column writes, `
      + `${fmt(work.saves, 2)} saves and ${fmt(work.restores, 2)} restores of the vector, ${fmt(work.componentHashes, 4)} components hashed again and ${fmt(work.componentCopies, 4)} copied (${fmt(work.nodes)} nodes)`);
    if (spinRuns.length) {
      const p = spinRuns.at(-1)!;
      const same = p.stored - terminal! === last.states && p.transitions === last.nodes;
      kv('graph', `SPIN ${fmt(p.stored)} stored − ${fmt(terminal!)} terminal (pan -DCOUNT_END -c0) = ${fmt(p.stored - terminal!)}, thpsim ${fmt(last.states!)} distinct;`
        + ` ${fmt(p.transitions)} transitions, thpsim ${fmt(last.nodes!)} search nodes: ${same ? 'the same graph' : 'DIFFERENT graphs'}`);
      if (timed) {
        const ratios = thpRates.map((x, i) => x / spinRates[i]!);
        const r = median(ratios);
        kv('ratio', `thpsim/SPIN states/s ${fmt(r, 3)} (1/${fmt(1 / r, 0)}; ${range(ratios, 3)} round by round) — goal ≥ 1/3: ${r >= GOAL ? 'met' : 'NOT met'}`);
        const bare = median(bareRates.map((x, i) => x / spinRates[i]!));
        kv('', `with no monitor: ${fmt(bare, 3)} (1/${fmt(1 / bare, 0)}) — the model's steps, the driver, saves, restores and the hash alone`);
      } else {
        kv('ratio', 'none: pan\'s search took under its timer\'s 10 ms (a larger model has a rate)');
      }
    }
    console.log();
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
