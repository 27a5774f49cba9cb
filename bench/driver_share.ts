/**
 * What the explorer's driver costs a dfs node: `npx tsx bench/driver_share.ts [runs] [scenario]`.
 * The SPIN fixture (bench/spin/zero-page-3task-fixed.yaml) searched by explore() and by a
 * SPIN-style loop straight over the World — a stack of (saved world, enabled decisions as
 * integers, next one), a step, the hash probed in a visited table, no search nodes, no
 * prefixes, no results — round by round, every monitor on and then none. Both must find the
 * same states and transitions; the figures are medians. What the loop leaves is the model's
 * steps, its saves and restores and the hash: the part of a node no driver can take away.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { explore } from '../src/explore/explore.ts';
import { VisitedStates } from '../src/explore/visited.ts';
import { loadScenario } from '../src/scenario/load.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import { createWorld } from '../src/world/engine_world.ts';
import type { Saved } from '../src/world/world.ts';
import { fmt, median } from './format.ts';

/** A dfs over every decision, as explore()'s without sleep sets or a bound: its states and transitions. */
export function bareDfs(scen: Scenario, monitors: readonly string[] | undefined): { states: number; nodes: number } {
  const w = createWorld(scen, { engine: 'fast', snapshots: true, footprints: true, collect: true, monitors });
  const visited = new VisitedStates();
  const saves: Saved[] = [];
  const decisions: number[][] = [];
  const count: number[] = [];
  const next: number[] = [];
  let depth = 0;
  let nodes = 0;
  /** Timers fire while no actor can run; false: the run ended. */
  const settle = (): boolean => {
    while (!w.anyRunnable()) {
      if (!w.fireTimers()) {
        w.quiesce();
        return false;
      }
    }
    return true;
  };
  const push = (): void => {
    saves[depth] = w.save(depth > 0 ? saves[depth - 1] : undefined, saves[depth]);
    const into = (decisions[depth] ??= []);
    let n = 0;
    for (const d of w.enabled()) into[n++] = (w.actorIndex(d.actor) << 1) | (d.fail ? 1 : 0);
    count[depth] = n;
    next[depth] = 0;
    depth++;
  };
  settle();
  const [lo, hi] = w.hash();
  visited.add(lo, hi, 0);
  push();
  let atTop = true;
  const words: [number, number] = [0, 0];
  while (depth > 0) {
    const d = depth - 1;
    if (next[d]! >= count[d]!) {
      depth--;
      atTop = false;
      continue;
    }
    if (!atTop) w.restore(saves[d]!);
    atTop = false;
    const x = decisions[d]![next[d]!++]!;
    nodes++;
    if (w.step(x >> 1, (x & 1) === 1) || !settle()) continue;
    const [a, b] = w.hash(words);
    if (visited.add(a, b, 0) < 0) {
      push();
      atTop = true;
    }
  }
  w.close();
  return { states: visited.size, nodes };
}

/** The comparison, `runs` rounds on the scenario in `file`. */
async function main(runs: number, file: string): Promise<void> {
  const s = await loadScenario(file);
  const rows: { name: string; monitors: readonly string[] | undefined; explore: number[]; bare: number[] }[] = [
    { name: 'every monitor', monitors: undefined, explore: [], bare: [] },
    { name: 'no monitor', monitors: [], explore: [], bare: [] },
  ];
  for (let i = 0; i < runs; i++) {
    for (const row of rows) {
      let t = performance.now();
      const r = explore(s, { strategy: 'dfs', shrinkBudget: 0, monitors: row.monitors });
      row.explore.push((performance.now() - t) / 1000);
      t = performance.now();
      const b = bareDfs(s, row.monitors);
      row.bare.push((performance.now() - t) / 1000);
      // (explore() counts the root as a node: the loop, the transitions)
      if (b.states !== r.states || b.nodes !== r.nodes! - 1) throw new Error(`the loop found ${b.states} states and ${b.nodes} transitions, explore() ${r.states} and ${r.nodes! - 1}`);
      if (i === runs - 1 && row === rows[0]) console.log(`${file}: ${fmt(b.states)} states, ${fmt(b.nodes)} transitions, both ways`);
    }
  }
  for (const row of rows) {
    const e = median(row.explore);
    const b = median(row.bare);
    console.log(`${row.name.padEnd(13)} explore() ${fmt(e, 2)} s, the loop ${fmt(b, 2)} s: the driver ${fmt((100 * (e - b)) / e, 0)}% of a node (median of ${runs})`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main(Number(process.argv[2] ?? 3), process.argv[3] ?? join(import.meta.dirname, 'spin', 'zero-page-3task-fixed.yaml'));
}
