// The dfs's state in components (src/world/components.ts): a component is hashed again
// only when a bus event (or its actor's step) says it changed, and snapshotted only then.
// That is sound only if every write a step makes is announced: checkStateHash hashes every
// component from scratch at every node and names any that changed unannounced — run here
// over every example scenario and fixture.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { explore } from '../src/explore/explore.ts';
import { run } from '../src/sched/run.ts';
import { StateComponents } from '../src/world/components.ts';
import { vmaBounds } from '../src/world/build.ts';
import { allMonitors, registerMonitor } from '../src/registry.ts';
import { StateHasher } from '../src/world/state_hash.ts';
import { Kernel } from '../src/memory/kernel.ts';
import type { Actor } from '../src/sched/actor.ts';

const root = join(import.meta.dirname, '..');
const scenarios = [
  ...readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml')).map((f) => join('examples', f)),
  ...readdirSync(join(root, 'test', 'fixtures')).filter((f) => f.endsWith('.yaml')).map((f) => join('test', 'fixtures', f)),
];

/** A short run of collapse-shmem-vs-truncate, its kernel and actors as it ended. */
async function model(): Promise<{ k: Kernel; actors: readonly Actor[] }> {
  const s = await loadScenario(join(root, 'examples', 'collapse-shmem-vs-truncate.yaml'));
  let got: { k: Kernel; actors: readonly Actor[] } | undefined;
  run(s, { seed: 3, maxSteps: 30, observe: (k, actors) => (got = { k, actors }) });
  return got!;
}

/** Runs f, counting how many times each state component (by name) is hashed. */
function rehashes<T>(f: () => T): { r: T; hashed: Map<string, number> } {
  const hashed = new Map<string, number>();
  const P = StateComponents.prototype as unknown as { rehash(c: number): void; names: string[] };
  const orig = P.rehash;
  P.rehash = function (this: { names: string[] }, c: number) {
    hashed.set(this.names[c]!, (hashed.get(this.names[c]!) ?? 0) + 1);
    orig.call(this, c);
  };
  try {
    return { r: f(), hashed };
  } finally {
    P.rehash = orig;
  }
}

const hashOf = (parts: StateComponents): string => {
  const h = new StateHasher();
  parts.hashInto(h);
  return h.digest();
};

describe('state components', () => {
  it.each(scenarios)('%s: every write a step makes is announced on the bus (dfs, checkStateHash)', async (f) => {
    const s = await loadScenario(join(root, f));
    const r = explore(s, { strategy: 'dfs', shrinkBudget: 0, maxStates: 250, checkStateHash: true });
    expect(r.states).toBeGreaterThan(0);
  });

  it('the check names a component written with no event, and its field', async () => {
    const { k, actors } = await model();
    const parts = new StateComponents(k, actors);
    const before = hashOf(parts);
    expect(parts.check([])).toEqual([]);
    k.inodes[0]!.alloced += 7; // no event: the cached hash is stale
    expect(hashOf(parts)).toBe(before);
    const problems = parts.check([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^inode f changed with no bus event naming it \(\.alloced = \d+ → \.alloced = \d+\)$/);
    // announced, it is hashed again
    k.inodeAdd(k.inodes[0]!, 'alloced', -7, 0);
    k.bus.tap(StateComponents.EVENTS, parts.onEvent);
    k.inodeAdd(k.inodes[0]!, 'alloced', 7, 0);
    expect(hashOf(parts)).not.toBe(before);
    expect(parts.check([])).toEqual([]);
  });

  it("a monitor's state is a component: hashed again after its changed() call, named by the check if written without one", async () => {
    const { k, actors } = await model();
    // what a monitor remembers (here: which cache slots were filled)
    const ghost = { filled: new Map<number, number>() };
    const parts = new StateComponents(k, actors, [{ name: 'filled', state: ghost }]);
    expect(parts.names).toContain('monitor filled');
    const before = hashOf(parts);
    ghost.filled.set(5, 1); // not announced: stale, and the check says so
    expect(hashOf(parts)).toBe(before);
    expect(parts.check([]).join('\n')).toMatch(/^monitor filled changed with no changed\(\) call/);
    parts.touchMonitor(0); // (what the monitor's changed() does)
    expect(hashOf(parts)).not.toBe(before);
    expect(parts.check([])).toEqual([]);
  });

  it('a run gives each monitor that remembers something its changed(), and the dfs re-hashes it only then', async () => {
    // (every built-in monitor keeps its memory in the state vector in a world a search copies
    // and hashes: two an extension registers, remembering in plain objects, are components)
    const s = await loadScenario(join(root, 'examples', 'team-recovery-vs-punch.yaml'));
    for (const kind of ['cache', 'lock'] as const) {
      registerMonitor({
        name: `test-remembers-${kind}`,
        description: `test: remembers how many ${kind} events there were, per actor`,
        create({ k, changed }) {
          const state = { seen: new Map<number, number>() };
          k.bus.on(kind).subscribe((e) => {
            state.seen.set(e.actor, (state.seen.get(e.actor) ?? 0) + 1);
            changed();
          });
          return { state };
        },
      });
    }
    const calls = new Map<string, number>();
    const P = StateComponents.prototype as unknown as { touchMonitor(i: number): void; names: string[] };
    const orig = P.touchMonitor;
    P.touchMonitor = function (this: StateComponents, i: number) {
      calls.set(String(i), (calls.get(String(i)) ?? 0) + 1);
      orig.call(this, i);
    };
    try {
      explore(s, { strategy: 'dfs', shrinkBudget: 0, maxStates: 300, checkStateHash: true, monitors: ['test-remembers-cache', 'test-remembers-lock', 'team'] });
    } finally {
      P.touchMonitor = orig;
    }
    expect(calls.size).toBeGreaterThan(1); // several monitors announced writes (and the check found none missing)
  });

  it("in a search world no built-in monitor's memory is a component: a recovery's (team, truncation, recovery-terminates) is in the state vector too", async () => {
    const s = await loadScenario(join(root, 'examples', 'team-recovery-vs-punch.yaml'));
    const names = new Set<string>();
    const P = StateComponents.prototype as unknown as { rehash(c: number): void; names: string[] };
    const orig = P.rehash;
    P.rehash = function (this: { names: string[] }, c: number) {
      for (const n of this.names) names.add(n);
      orig.call(this, c);
    };
    let r;
    try {
      r = explore(s, { strategy: 'dfs', shrinkBudget: 0, maxStates: 3000, checkStateHash: true, monitors: allMonitors().map((m) => m.name).filter((n) => !n.startsWith('test-')) });
    } finally {
      P.rehash = orig;
    }
    expect(r.states).toBe(3000);
    expect(names.size).toBeGreaterThan(0);
    expect([...names].filter((n) => n.startsWith('monitor '))).toEqual([]);
  });

  it("sysfs's settings, khugepaged's mm_slot list and an mm's VMAs are slots of the state vector: a sysfs write, an mm joining the list, a VMA split, munmap or exit changes no component", async () => {
    const s = await validateScenario({
      name: 'sysfs-and-mm-head', hpage_pmd_nr: 4, sysfs: { enabled: 'madvise' },
      mms: [{ name: 'm', vmas: [{ start: 0x10000, size: 0x8000 }] }, { name: 'n', vmas: [] }],
      actors: [
        { kind: 'task', id: 'T1', mm: 'm', ops: [{ madvise: { start: 0x10000, size: 0x4000, advice: 'MADV_HUGEPAGE' } }, { write: 0x10000 }, { munmap: { start: 0x16000, size: 0x1000 } }, 'exit'] },
        { kind: 'task', id: 'T2', mm: 'n', ops: [{ sysfs: { khugepaged: { pages_to_scan: 8 } } }, { sysfs: { enabled: 'always' } }] },
        { kind: 'khugepaged', id: 'khugepaged', full_scans: 1 },
      ],
    }, '<test>');
    const { r, hashed } = rehashes(() => explore(s, { strategy: 'dfs', shrinkBudget: 0, maxStates: 3000, checkStateHash: true }));
    expect(r.states).toBeGreaterThan(100);
    expect(hashed.get('kernel')).toBe(1); // (hashed once, at the first node)
    expect(hashed.get('mm m')).toBe(1);
    // (both happen in every schedule: the settings written, the mm on khugepaged's list)
    const one = run(s, { seed: 1 });
    expect(one.kernel.sysfs).toMatchObject({ enabled: 'always', khugepaged: { pages_to_scan: 8 } });
    expect(one.kernel.khugepagedMmSlots).toEqual([0]);
    expect(one.kernel.mmByName('m')!.vmas).toEqual([]); // (split by madvise, a page unmapped, all gone at exit)
  });

  it("an mm's VMA table is bounded by its own VMAs and the splits its own actors can make (2 a madvise, mprotect or munmap), not every mm's", async () => {
    const s = await validateScenario({
      name: 'vma-bounds', hpage_pmd_nr: 4,
      mms: [{ name: 'a', vmas: [{ start: 0, size: 0x4000 }, { start: 0x10000, size: 0x4000 }] }, { name: 'b', vmas: [{ start: 0, size: 0x4000 }] }],
      actors: [
        { kind: 'task', id: 'A', mm: 'a', ops: [{ mprotect: { start: 0, size: 0x1000, prot: ['PROT_READ'] } }, { munmap: { start: 0x1000, size: 0x1000 } }, { madvise: { start: 0, size: 0x1000, advice: 'MADV_HUGEPAGE' } }] },
        { kind: 'task', id: 'B', mm: 'b', ops: [{ read: 0 }] },
        { kind: 'huge_zero_page_shrinker', id: 'kswapd', passes: 1 },
      ],
    }, '<test>');
    expect(vmaBounds(s)).toEqual(new Map([['a', 2 + 2 * 3], ['b', 1]]));
    // (the layout holds what the ops make: a dfs over every schedule keeps within it)
    const r = explore(s, { strategy: 'dfs', shrinkBudget: 0, checkStateHash: true });
    expect(r.complete).toBe(true);
    expect(r.verdicts).toEqual({ ok: r.schedules });
  });

  it("an mm's replaced vpns and pmds to retry are columns of the state vector too: uprobe's __replace_page and retract_page_tables' retry change no component", async () => {
    const s = await loadScenario(join(root, 'examples', 'pte-mapped-thp-retry-per-pmd.yaml'));
    const fields = new Map<string, number>();
    const K = Kernel.prototype as unknown as { mmField(mm: unknown, field: string, a: number): void };
    const origField = K.mmField;
    K.mmField = function (this: Kernel, mm: unknown, field: string, a: number) {
      fields.set(field, (fields.get(field) ?? 0) + 1);
      origField.call(this, mm, field, a);
    };
    let got;
    try {
      got = rehashes(() => explore(s, { strategy: 'dfs', shrinkBudget: 0, maxStates: 3000, checkStateHash: true }));
    } finally {
      K.mmField = origField;
    }
    const { r, hashed } = got;
    expect(r.states).toBe(3000);
    // (both are written along the search)
    expect(fields.get('replaced')).toBeGreaterThan(0);
    expect(fields.get('pte_mapped_thp')).toBeGreaterThan(0);
    const mms = [...hashed].filter(([name]) => name.startsWith('mm '));
    expect(mms.length).toBeGreaterThan(0);
    for (const [name, n] of mms) expect(n, name).toBe(1);
  });

  it('the check names an object two components share (identity between components is not hashed)', async () => {
    const { k, actors } = await model();
    const parts = new StateComponents(k, actors);
    hashOf(parts);
    // (an object-valued field of the actor: its locals are slots of the state vector now)
    const a = actors[0]! as unknown as { results: unknown };
    const shared = k.inodes[0]!.mapping.slots;
    const saved = a.results;
    a.results = shared;
    parts.touchActor(0);
    expect(parts.check([]).join('\n')).toMatch(/a Int32Array is reached from both inode f and actor T1/);
    a.results = saved;
    expect(parts.check([]).filter((p) => p.includes('reached from both'))).toEqual([]);
  });

  it('a snapshot shares the copies of unchanged components, and going back restores the changed ones only', async () => {
    const { k, actors } = await model();
    const parts = new StateComponents(k, actors);
    const h0 = hashOf(parts);
    const s0 = parts.take(undefined);
    k.bus.tap(StateComponents.EVENTS, parts.onEvent);
    k.inodeAdd(k.inodes[0]!, 'i_size', 3, 0);
    const s1 = parts.take(s0);
    const h1 = hashOf(parts);
    expect(h1).not.toBe(h0);
    const ino = parts.names.indexOf('inode f');
    const pages = parts.names.indexOf('page store');
    expect(s1.copies[pages]).toBe(s0.copies[pages]);
    expect(s1.copies[ino]).not.toBe(s0.copies[ino]);
    const size = k.inodes[0]!.i_size;
    parts.restore(s0);
    expect(k.inodes[0]!.i_size).toBe(size - 3);
    expect(hashOf(parts)).toBe(h0);
    expect(parts.check([])).toEqual([]);
    parts.restore(s1);
    expect(k.inodes[0]!.i_size).toBe(size);
    expect(hashOf(parts)).toBe(h1);
  });
});
