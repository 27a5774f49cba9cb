import { describe, expect, it } from 'vitest';
import { StateVector } from '../src/vector/state_vector.ts';
import { ActorRecords } from '../src/world/actor_records.ts';
import type { Actor } from '../src/sched/actor.ts';
import { loadScenario } from '../src/scenario/load.ts';
import { createWorld } from '../src/world/engine_world.ts';
import { join } from 'node:path';

const bounds = { hpagePmdNr: 4, pmds: 6, allPmds: 12, mmPages: 24, mms: 2, filePages: 8, fileVmas: 2, filePmds: 6, actors: 2, files: 1 };
const actor = (ix: number): Actor => ({ ix, id: `T${ix}`, pid: 100 + ix, comm: 'test', cpu: 0, kind: 'task', k: null as never, l: {}, wakeAt: 0, outcome: null, results: [] });

describe("the actors' outcomes and results in the state vector", () => {
  it('are slots a restore gives back to the fields: the outcome, the results cut to their count', () => {
    const v = new StateVector(bounds);
    v.startHashing();
    v.stacked = true;
    const a = [actor(0), actor(1)];
    const r = new ActorRecords(v, a);
    const start = v.save();
    const h0 = [v.lo, v.hi];
    a[0]!.results.push('madvise(0x200000, 2097152, MADV_COLLAPSE) = 0');
    r.note(a[0]!);
    const mid = v.save();
    const h1 = [v.lo, v.hi];
    expect(h1).not.toEqual(h0);
    a[0]!.results.push('madvise(0x400000, 2097152, MADV_COLLAPSE) = -1 EAGAIN');
    a[0]!.outcome = 'ok';
    r.note(a[0]!);
    expect([v.lo, v.hi]).not.toEqual(h1);
    v.restore(mid);
    expect([a[0]!.outcome, a[0]!.results]).toEqual([null, ['madvise(0x200000, 2097152, MADV_COLLAPSE) = 0']]);
    expect([v.lo, v.hi]).toEqual(h1);
    v.restore(start);
    expect([a[0]!.outcome, a[0]!.results, a[1]!.outcome]).toEqual([null, [], null]);
    expect([v.lo, v.hi]).toEqual(h0);
  });

  it('hash the results in order and by actor: other lines, the same lines in another order or in another actor are other states', () => {
    const hashOf = (lines: [number, string][], outcome: string | null = null) => {
      const v = new StateVector(bounds);
      v.startHashing();
      const a = [actor(0), actor(1)];
      const r = new ActorRecords(v, a);
      for (const [ix, line] of lines) {
        a[ix]!.results.push(line);
        r.note(a[ix]!);
      }
      a[0]!.outcome = outcome;
      r.note(a[0]!);
      return `${v.lo}:${v.hi}`;
    };
    const all = [
      hashOf([]),
      hashOf([[0, 'a() = 0']]),
      hashOf([[0, 'a() = 1']]),
      hashOf([[1, 'a() = 0']]),
      hashOf([[0, 'a() = 0'], [0, 'b() = 0']]),
      hashOf([[0, 'b() = 0'], [0, 'a() = 0']]),
      hashOf([[0, 'a() = 0b() = 0']]),
      hashOf([], 'ok'),
      hashOf([], 'SIGSEGV'),
    ];
    expect(new Set(all).size).toBe(all.length);
    // (the same lines, noted one by one or together: one state)
    expect(hashOf([[0, 'a() = 0'], [1, 'x() = 2'], [0, 'b() = 0']])).toBe(hashOf([[1, 'x() = 2'], [0, 'a() = 0'], [0, 'b() = 0']]));
  });

  it('in a search world a restore brings every actor\'s results and outcome back, and the state hash with them', async () => {
    const s = await loadScenario(join(import.meta.dirname, '../examples/madvise-collapse-two-callers.yaml'));
    const w = createWorld(s, { snapshots: true, record: false });
    const start = w.save();
    const before = w.hash();
    // (the lowest runnable actor steps until the run ends)
    while (w.anyRunnable()) w.step(w.live.filter((ix) => w.runnable(ix)).sort((x, y) => x - y)[0]!, false);
    const end = w.actorResults(true);
    expect(end.some((a) => a.results.length > 0)).toBe(true);
    expect(end.every((a) => a.outcome === 'ok')).toBe(true);
    expect(w.hash()).not.toEqual(before);
    w.restore(start);
    expect(w.actorResults(true).map((a) => [a.outcome, a.results])).toEqual(end.map(() => ['running', []]));
    expect(w.hash()).toEqual(before);
  });
});
