/** Results of one exploration's parts (shards, or a parallel dfs's workers) combined. */
import type { Counterexample, ExploreResult } from './types.ts';

/** Counts listed in key order, so a result's JSON does not depend on discovery order. */
/**
 * A record of counts by a name that comes from the model or a shard's file (an outcome, an
 * invariant): no prototype, so a key such as `constructor` counts from 0 and `__proto__` is
 * a key like any other (from {}, a merged count of "constructor" came out as
 * "function Object() { [native code] }3", and one of "__proto__" was dropped).
 */
export function counts(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

export function inKeyOrder(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * Combine the results of the shards of one exploration (same scenario, strategy, seed and
 * schedule count): the same content a single process would have produced — counts
 * summed, traces united, a step covered if any shard took it, and per (verdict,
 * invariant) the counterexample of the lowest-numbered schedule, in schedule order.
 */
export function mergeResults(parts: readonly ExploreResult[], o: { dfsWorkers?: boolean } = {}): ExploreResult {
  if (!parts.length) throw new Error('nothing to merge');
  const first = parts[0]!;
  for (const p of parts) {
    if (p.scenario !== first.scenario || p.strategy !== first.strategy || p.seed !== first.seed) {
      throw new Error(`cannot merge ${p.scenario}/${p.strategy}/seed ${p.seed} with ${first.scenario}/${first.strategy}/seed ${first.seed}`);
    }
    if (p.strategy === 'coverage' || p.strategy === 'bfs' || (p.strategy === 'dfs' && !o.dfsWorkers)) throw new Error(`${p.strategy} results are not sharded`);
  }
  const dfs = first.strategy === 'dfs';
  const sum = (pick: (r: ExploreResult) => Record<string, number>) => {
    const out = counts();
    for (const p of parts) for (const [k, v] of Object.entries(pick(p))) out[k] = (out[k] ?? 0) + v;
    return inKeyOrder(out);
  };
  const hashes = new Set(parts.flatMap((p) => p.traceHashes));
  const byKey = new Map<string, Counterexample>();
  // (a parallel dfs: every counterexample has the one seed; the shortest, then the first by its decisions)
  const order = dfs
    ? (a: Counterexample, b: Counterexample) => {
      const [x, y] = [JSON.stringify(a.decisions), JSON.stringify(b.decisions)];
      return a.decisions.length - b.decisions.length || (x < y ? -1 : x > y ? 1 : 0);
    }
    : (a: Counterexample, b: Counterexample) => a.seed - b.seed;
  for (const c of parts.flatMap((p) => p.counterexamples).sort(order)) {
    const key = `${c.verdict}:${c.violation.invariant}@${c.site}`;
    if (!byKey.has(key)) byKey.set(key, c);
  }
  const coverage: ExploreResult['coverage'] = {};
  for (const kind of Object.keys(first.coverage)) {
    const missed = first.coverage[kind]!.missed.filter((m) => parts.every((p) => p.coverage[kind]?.missed.includes(m)));
    const steps = first.coverage[kind]!.steps;
    coverage[kind] = { reached: steps - missed.length, steps, missed };
  }
  return {
    scenario: first.scenario, strategy: first.strategy, seed: first.seed,
    schedules: parts.reduce((n, p) => n + p.schedules, 0),
    distinctTraces: hashes.size, traceHashes: [...hashes].sort(),
    verdicts: sum((p) => p.verdicts), violations: sum((p) => p.violations), outcomes: sum((p) => p.outcomes),
    scanResults: sum((p) => p.scanResults), contention: sum((p) => p.contention), blocked: sum((p) => p.blocked ?? {}),
    counterexamples: [...byKey.values()],
    stopped: parts.some((p) => p.stopped),
    stopReason: parts.find((p) => p.stopped)?.stopReason,
    coverage,
    ...(dfs ? {
      states: parts.reduce((n, p) => n + (p.states ?? 0), 0),
      nodes: parts.reduce((n, p) => n + (p.nodes ?? 0), 0),
      ...(first.preemptionBound === undefined ? {} : { preemptionBound: first.preemptionBound }),
      complete: parts.every((p) => p.complete),
    } : {}),
  };
}
