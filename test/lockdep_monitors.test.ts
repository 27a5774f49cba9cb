// Lockdep and might_sleep in the model (issue 17, items 11-13): the lock-order,
// sleep-in-atomic and spin-on-sleeper monitors, each catching a deliberately wrong chart and
// accepting every example; the `sleeps` metadata checked against every sleeping primitive the
// examples call.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { final, step } from '../src/engine/chart.ts';
import type { TaskChartDef } from '../src/engine/task_chart.ts';
import { registerActorKind, registerVariant } from '../src/registry.ts';
import { loadScenario, validateScenario } from '../src/scenario/load.ts';
import { type Decision, compiledChart, run } from '../src/sched/run.ts';
import { getActorKind } from '../src/registry.ts';
import type { Actor } from '../src/sched/actor.ts';
import type { Kernel } from '../src/memory/kernel.ts';
import { setMightSleepHook } from '../src/memory/probe.ts';
import { schedulerView } from '../src/sched/view.ts';
import { lockClass, resetLockOrderGraph } from '../src/check/lock_order.ts';

const NEW = ['lock-order', 'sleep-in-atomic', 'spin-on-sleeper'];

// ---- test-only actor kinds: a few steps each, on the kernel's own locks and pages ---------

interface L { mm: string; page: number }
type A = Actor<L>;
const ptl = (a: A) => a.k.mmByName(a.l.mm)!.pageTableLock;
const shrinklist = (a: A) => a.k.shmemShrinklistLock;
const spec = z.strictObject({ id: z.string(), mm: z.string().default('mm1') });

function kind(name: string, chart: TaskChartDef<A>): void {
  registerActorKind({
    kind: name, description: `test: ${chart.description}`, comm: name, chart,
    schema: spec as unknown as z.ZodType<{ id: string; mm: string }>,
    // a page of its own, allocated at start (pfn recorded for the other test actors to find)
    locals: (s, k) => ({ mm: s.mm, page: k.pages.alloc(0, true, -1) }),
  });
}

const common = {
  guards: {
    injectedFailure: (_a: A, ev: { fail: boolean }) => ev.fail,
    ptlFree: (a: A) => ptl(a).free,
    shrinklistFree: (a: A) => shrinklist(a).free,
    // the page of the first actor of kind lockdep-page-owner
    ownerPageUnlocked: (a: A) => !a.k.pages.isLocked(ownerPage(a)),
    ownerPageNotFrozen: (a: A) => !a.k.pages.isFrozen(ownerPage(a)),
  },
  actions: {
    lockPtl: (a: A) => a.k.spinLock(ptl(a), a.ix),
    unlockPtl: (a: A) => a.k.spinUnlock(ptl(a), a.ix),
    lockShrinklist: (a: A) => a.k.spinLock(shrinklist(a), a.ix),
    unlockShrinklist: (a: A) => a.k.spinUnlock(shrinklist(a), a.ix),
    lockOwnPage: (a: A) => a.k.lockPage(a.l.page, a.ix),
    unlockOwnPage: (a: A) => a.k.unlockPage(a.l.page, a.ix),
    freezeOwnPage: (a: A) => void a.k.pages.freeze(a.l.page, 1, a.ix),
    unfreezeOwnPage: (a: A) => a.k.pages.unfreeze(a.l.page, 1, a.ix),
    lockOwnerPage: (a: A) => a.k.lockPage(ownerPage(a), a.ix),
    unlockOwnerPage: (a: A) => a.k.unlockPage(ownerPage(a), a.ix),
  },
};
let owners: Actor[] = [];
const ownerPage = (a: A): number => (owners.find((o) => o.kind === 'lockdep-page-owner' && o.k === a.k)! as A).l.page;

// shmem_shrinklist_lock then the page table lock, or (the step's injected failure) the other way
kind('lockdep-ab-ba', {
  id: 'lockdep_ab_ba', description: 'two spinlocks in an order an injection picks', initial: 'first', ...common,
  states: {
    first: step('test: spin_lock(&shmem_shrinklist_lock), or (injected) the page table lock', [
      { guard: 'injectedFailure', actions: 'lockPtl', target: 'then_shrinklist' },
      { actions: 'lockShrinklist', target: 'then_ptl' },
    ], { inject: 'trylock' }),
    then_ptl: step('test: spin_lock(ptl)', { actions: 'lockPtl', target: 'unlock' }),
    then_shrinklist: step('test: spin_lock(&shmem_shrinklist_lock)', { actions: 'lockShrinklist', target: 'unlock' }),
    unlock: step('test: unlock both', { actions: ['unlockPtl', 'unlockShrinklist'], target: 'done' }),
    done: final,
  },
});

// locks its page, and holds it for a few steps
kind('lockdep-page-owner', {
  id: 'lockdep_page_owner', description: 'lock_page, three steps, unlock_page', initial: 'lock', ...common,
  states: {
    lock: step('test: lock_page(page)', { actions: 'lockOwnPage', target: 'hold' }, { sleeps: 'lock_page' }),
    hold: step('test: still holding it', { target: 'hold2' }),
    hold2: step('test: still holding it', { target: 'unlock' }),
    unlock: step('test: unlock_page(page)', { actions: 'unlockOwnPage', target: 'done' }),
    done: final,
  },
});

// takes the page table lock, then waits (sleeping) for the owner's page lock under it
kind('lockdep-sleeper', {
  id: 'lockdep_sleeper', description: 'spin_lock(ptl); lock_page(the owner\'s page)', initial: 'ptl', ...common,
  states: {
    ptl: step('test: spin_lock(ptl)', { guard: 'ptlFree', actions: 'lockPtl', target: 'lock_page' }),
    lock_page: step('test: lock_page(owner page) under the page table lock', {
      guard: 'ownerPageUnlocked', actions: 'lockOwnerPage', target: 'unlock',
    }, { sleeps: 'lock_page' }),
    unlock: step('test: unlock_page; spin_unlock(ptl)', { actions: ['unlockOwnerPage', 'unlockPtl'], target: 'done' }),
    done: final,
  },
});

// spins on the page table lock
kind('lockdep-spinner', {
  id: 'lockdep_spinner', description: 'spin_lock(ptl); spin_unlock(ptl)', initial: 'ptl', ...common,
  states: {
    ptl: step('test: spin_lock(ptl)', { guard: 'ptlFree', actions: 'lockPtl', target: 'unlock' }),
    unlock: step('test: spin_unlock(ptl)', { actions: 'unlockPtl', target: 'done' }),
    done: final,
  },
});

// freezes its page, then waits (sleeping) for the owner's page lock with it frozen
kind('lockdep-freezer', {
  id: 'lockdep_freezer', description: 'page_ref_freeze(page); lock_page(the owner\'s page)', initial: 'freeze', ...common,
  states: {
    freeze: step('test: page_ref_freeze(page, 1)', { actions: 'freezeOwnPage', target: 'lock_page' }),
    lock_page: step('test: lock_page(owner page) with the page frozen', {
      guard: 'ownerPageUnlocked', actions: 'lockOwnerPage', target: 'unfreeze',
    }, { sleeps: 'lock_page' }),
    unfreeze: step('test: unlock_page; page_ref_unfreeze(page, 1)', { actions: ['unlockOwnerPage', 'unfreezeOwnPage'], target: 'done' }),
    done: final,
  },
});

// find_get_entry's retry on the freezer's page (the first lockdep-freezer's)
const freezerPage = (a: A): number => (owners.find((o) => o.kind === 'lockdep-freezer' && o.k === a.k)! as A).l.page;
kind('lockdep-getter', {
  id: 'lockdep_getter', description: 'page_cache_get_speculative, retried while the page is frozen', initial: 'get',
  guards: { ...common.guards, freezerPageNotFrozen: (a) => !a.k.pages.isFrozen(freezerPage(a)) },
  actions: common.actions,
  states: {
    get: step('test: find_get_entry: repeat while page_cache_get_speculative fails', {
      guard: 'freezerPageNotFrozen', target: 'done',
    }, { spins: 'page_frozen' }),
    done: final,
  },
});

async function scenario(actors: { kind: string; id: string }[]) {
  return validateScenario({
    name: 'lockdep', hpage_pmd_nr: 4,
    mms: [{ name: 'mm1', vmas: [{ start: 0, size: 0x4000 }] }],
    actors,
  }, 'inline');
}

/** run() with the test actors findable by each other. */
function runWith(s: Awaited<ReturnType<typeof scenario>>, opts: Parameters<typeof run>[1]) {
  return run(s, { ...opts, observe: (_k, actors) => { owners = [...actors]; } });
}

const violationsOf = (r: ReturnType<typeof run>, inv: string) => r.violations.filter((v) => v.invariant === inv);

// ---- a deliberately wrong collapse_shmem: lock_page (not trylock_page) under the tree lock --

registerVariant({
  name: 'test_collapse_shmem_lock_page_under_tree_lock',
  description: 'test: collapse_shmem waits for each page lock with the tree lock held (the kernel trylocks)',
  kind: 'broken',
  functions: {
    collapse_shmem: {
      patch: (states) => ({
        ...states,
        slot: step('test: lock_page(page) under spin_lock_irq(&mapping->tree_lock)', [
          { guard: 'csSlotNeedsGetpage', actions: ['csUnlockTree', 'csBeginGetpage'], target: 'getpage' },
          { guard: 'csTrylock', actions: 'testLockPageGet', target: 'check' },
        ], { sleeps: 'lock_page' }),
      }),
      actions: {
        testLockPageGet: (a: any) => {
          const pfn = a.k.inodes[a.l.sc_ino].mapping.lookup(a.l.cs_index);
          a.k.lockPage(a.k.pages.compoundHead(pfn), a.ix);
          a.k.pages.get(pfn, a.ix, a.id);
          a.l.cs_page = pfn;
        },
      },
    },
  },
});

describe('lock-order', () => {
  it('reports a lock taken against mm/rmap.c\'s order (lock_page under the tree lock), naming the held chain', async () => {
    const s = await loadScenario('examples/collapse-shmem-scan-succeed.yaml');
    const ok = run(s, { monitors: ['lock-order'] });
    expect(ok.verdict).toBe('ok');
    const bad = run({ ...s, variants: [...s.variants, 'test_collapse_shmem_lock_page_under_tree_lock'] }, { monitors: ['lock-order'] });
    expect(bad.verdict).toBe('violation');
    const [v] = violationsOf(bad, 'lock-order');
    expect(v!.actor).toBe('khugepaged');
    expect(v!.message).toMatch(/khugepaged holding .*tree_lock\(f\).* takes page_lock\(0x[0-9a-f]+\) at scan_shmem\.collapse_shmem\.slot \(test: lock_page/);
    expect(v!.message).toContain("page_lock before tree_lock is mm/rmap.c's order");
  });

  it('reports a cycle closed by a later schedule, naming the chain of the earlier one; a trylock makes no edge', async () => {
    resetLockOrderGraph();
    const s = await scenario([{ kind: 'lockdep-ab-ba', id: 'X' }]);
    const ab: Decision[] = [{ actor: 'X', state: 'first' }, { actor: 'X', state: 'then_ptl' }, { actor: 'X', state: 'unlock' }];
    const ba: Decision[] = [{ actor: 'X', state: 'first', fail: true }, { actor: 'X', state: 'then_shrinklist' }, { actor: 'X', state: 'unlock' }];
    // each order alone is fine...
    expect(runWith(s, { schedule: ba, monitors: ['lock-order'] }).verdict).toBe('ok');
    resetLockOrderGraph();
    expect(runWith(s, { schedule: ab, monitors: ['lock-order'] }).verdict).toBe('ok');
    // ...but the graph outlives the schedule (as lockdep's outlives a task): the other order closes a cycle
    const r = runWith(s, { schedule: ba, monitors: ['lock-order'] });
    expect(r.verdict).toBe('violation');
    const [v] = violationsOf(r, 'lock-order');
    expect(v!.message).toMatch(/^X holding page_table_lock\(mm1\) takes shmem_shrinklist_lock at then_shrinklist \(test: spin_lock\(&shmem_shrinklist_lock\)\): page_table_lock → shmem_shrinklist_lock closes a cycle with the order seen before: shmem_shrinklist_lock → page_table_lock \(X holding shmem_shrinklist_lock takes page_table_lock\(mm1\) at then_ptl/);
    // once known, the cycle is not reported again
    expect(runWith(s, { schedule: ba, monitors: ['lock-order'] }).verdict).toBe('ok');
    // a run of another scenario starts a new graph
    const other = await scenario([{ kind: 'lockdep-ab-ba', id: 'Y' }]);
    expect(runWith(other, { schedule: ab.map((d) => ({ ...d, actor: 'Y' })), monitors: ['lock-order'] }).verdict).toBe('ok');
  });

  it('is no edge for same-class nesting nor a trylock: collapse_shmem (hundreds of page locks, trylock_page under the tree lock) runs clean', async () => {
    const s = await loadScenario('examples/collapse-shmem-vs-faults.yaml');
    for (let seed = 1; seed <= 30; seed++) expect(violationsOf(run(s, { seed, monitors: ['lock-order'] }), 'lock-order')).toEqual([]);
  });

  it('a lock class is the name without its instance', () => {
    expect(['mmap_lock(mm1):read', 'page_lock(0x1f)', 'tree_lock(f)', 'i_mmap_rwsem(f):write', 'page_table_lock(m2)', 'shmem_shrinklist_lock'].map(lockClass))
      .toEqual(['mmap_lock', 'page_lock', 'tree_lock', 'i_mmap_rwsem', 'page_table_lock', 'shmem_shrinklist_lock']);
  });
});

describe('sleep-in-atomic', () => {
  it('reports a step that may sleep taken holding a spinlock (lock_page under spin_lock_irq: interrupts off too)', async () => {
    const s = await loadScenario('examples/collapse-shmem-scan-succeed.yaml');
    const r = run({ ...s, variants: [...s.variants, 'test_collapse_shmem_lock_page_under_tree_lock'] }, { monitors: ['sleep-in-atomic'] });
    expect(r.verdict).toBe('violation');
    const [v] = violationsOf(r, 'sleep-in-atomic');
    expect(v!.message).toBe('sleeping function called from invalid context: khugepaged may sleep (lock_page) at scan_shmem.collapse_shmem.slot (test: lock_page(page) under spin_lock_irq(&mapping->tree_lock)) holding spinlock tree_lock(f), interrupts off');
  });

  it('reports the page table lock held into lock_page', async () => {
    const s = await scenario([{ kind: 'lockdep-page-owner', id: 'O' }, { kind: 'lockdep-sleeper', id: 'S' }]);
    const r = runWith(s, { schedule: [{ actor: 'S', state: 'ptl' }, { actor: 'S', state: 'lock_page' }], monitors: ['sleep-in-atomic'] });
    expect(violationsOf(r, 'sleep-in-atomic')[0]!.message).toBe('sleeping function called from invalid context: S may sleep (lock_page) at lock_page (test: lock_page(owner page) under the page table lock) holding spinlock page_table_lock(mm1)');
  });

  it('does not report a step that drops its spinlock before it sleeps (collapse_file: spin_unlock; page_cache_sync_readahead)', async () => {
    const s = await loadScenario('examples/madvise-collapse-file.yaml');
    let reached = 0;
    for (let seed = 1; seed <= 20; seed++) {
      const r = run(s, { seed, monitors: ['sleep-in-atomic'] });
      expect(violationsOf(r, 'sleep-in-atomic')).toEqual([]);
      reached += r.schedule.filter((d) => d.state.endsWith('collapse_shmem.readahead')).length;
    }
    expect(reached).toBeGreaterThan(0);
  });
});

describe('spin-on-sleeper', () => {
  const sched = (...ds: [string, string][]): Decision[] => ds.map(([actor, state]) => ({ actor, state }));

  it('reports an actor spinning on a spinlock whose holder sleeps, with both program points', async () => {
    const s = await scenario([{ kind: 'lockdep-page-owner', id: 'O' }, { kind: 'lockdep-sleeper', id: 'S' }, { kind: 'lockdep-spinner', id: 'P' }]);
    const r = runWith(s, { schedule: sched(['O', 'lock'], ['S', 'ptl']), continueAfterSchedule: true, monitors: ['spin-on-sleeper'] });
    expect(r.verdict).toBe('violation');
    expect(violationsOf(r, 'spin-on-sleeper')[0]).toMatchObject({
      actor: 'P', step: 1,
      message: "P spins on page_table_lock(mm1) at ptl (test: spin_lock(ptl)), held by S, which sleeps (lock_page) at lock_page (test: lock_page(owner page) under the page table lock)",
    });
  });

  it('reports a retry loop spinning on a page frozen by an actor that sleeps', async () => {
    const s = await scenario([{ kind: 'lockdep-page-owner', id: 'O' }, { kind: 'lockdep-freezer', id: 'F' }, { kind: 'lockdep-getter', id: 'G' }]);
    // (who froze a page is the frozen-page monitor's record)
    const r = runWith(s, { schedule: sched(['O', 'lock'], ['F', 'freeze']), continueAfterSchedule: true, monitors: ['frozen-page', 'spin-on-sleeper'] });
    expect(r.verdict).toBe('violation');
    expect(violationsOf(r, 'spin-on-sleeper')[0]!.message).toMatch(/^G spins at get \(test: find_get_entry: .*\) on page 0x[0-9a-f]+, frozen \(page_ref_freeze\) by F, which sleeps \(lock_page\) at lock_page \(test: lock_page\(owner page\) with the page frozen\)$/);
  });

  it('accepts a spinner whose holder runs, and a sleeper nobody spins on', async () => {
    const s = await scenario([{ kind: 'lockdep-page-owner', id: 'O' }, { kind: 'lockdep-sleeper', id: 'S' }, { kind: 'lockdep-spinner', id: 'P' }]);
    // the page owner unlocks first: S takes its lock without sleeping, P spins on a holder that runs
    const r = runWith(s, { schedule: sched(['O', 'lock'], ['O', 'hold'], ['O', 'hold2'], ['O', 'unlock'], ['S', 'ptl'], ['S', 'lock_page'], ['S', 'unlock'], ['P', 'ptl'], ['P', 'unlock']), monitors: ['spin-on-sleeper'] });
    expect(r.verdict).toBe('ok');
    // S sleeps holding the ptl, but the spinner has not come yet and the owner wakes it first
    const s2 = await scenario([{ kind: 'lockdep-page-owner', id: 'O' }, { kind: 'lockdep-sleeper', id: 'S' }]);
    expect(runWith(s2, { schedule: sched(['O', 'lock'], ['S', 'ptl'], ['O', 'hold'], ['O', 'hold2'], ['O', 'unlock'], ['S', 'lock_page'], ['S', 'unlock']), monitors: ['spin-on-sleeper'] }).verdict).toBe('ok');
  });
});

describe('the new monitors on every example', () => {
  const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml')).sort();

  it.each(examples)('%s: none of them reports (20 seeds)', async (f) => {
    const s = await loadScenario(`examples/${f}`);
    for (let seed = 1; seed <= 20; seed++) {
      const r = run(s, { seed });
      expect(r.violations.filter((v) => NEW.includes(v.invariant)), `seed ${seed}`).toEqual([]);
    }
  });
});

describe('sleeps metadata', () => {
  /**
   * Where the model calls a sleeping primitive later than the kernel does, in a step whose
   * own code does not sleep: uprobe_write_opcode allocates the new page before
   * __replace_page takes the pte lock; the model allocates it in __replace_page's step.
   */
  const LATER_THAN_THE_KERNEL = new Set(['task: replace_page.replace']);

  it('every step that calls a sleeping kernel primitive (a sleeping lock, lock_page, a page allocation) declares `sleeps`', async () => {
    const files = [
      ...readdirSync('examples').filter((f) => f.endsWith('.yaml')).map((f) => `examples/${f}`),
      ...readdirSync('test/fixtures').filter((f) => f.endsWith('.yaml')).map((f) => `test/fixtures/${f}`),
    ];
    let k: Kernel | null = null;
    let actors: readonly Actor[] = [];
    const calls = new Set<string>();
    const undeclared = new Map<string, string>();
    setMightSleepHook((what, ix) => {
      const leaf = schedulerView(k!)!.leaf(ix);
      const where = `${actors[ix]!.kind}: ${leaf.path}`;
      calls.add(where);
      if (leaf.meta.sleeps === undefined && !LATER_THAN_THE_KERNEL.has(where)) undeclared.set(where, what);
    });
    try {
      for (const f of files.sort()) {
        const s = await loadScenario(f);
        for (let seed = 1; seed <= 5; seed++) run(s, { seed, observe: (kk, aa) => { k = kk; actors = aa; } });
      }
    } finally {
      setMightSleepHook(null);
    }
    expect(Object.fromEntries(undeclared)).toEqual({});
    // the check saw the primitives: the sleeping locks, lock_page and allocations of the charts
    for (const where of ['task: access', 'task: page_fault.shmem_fault.getpage.lock_page', 'khugepaged: scan_shmem.collapse_shmem.alloc',
      'khugepaged: scan_shmem.collapse_shmem.retract_page_tables.i_mmap_lock', 'task: truncate.unmap.i_mmap_lock']) {
      expect(calls).toContain(where);
    }
  });

  it('a step declared to sleep is one of the charts\' (the metadata reaches the compiled chart)', () => {
    const chart = compiledChart(getActorKind('task')!, []);
    expect(chart.byPath.get('page_fault.shmem_fault.getpage.lock_page')!.meta.sleeps).toBe('lock_page');
    expect(chart.byPath.get('page_fault.shmem_fault.getpage.tree_lock')!.meta.sleeps).toBeUndefined();
    expect(chart.byPath.get('page_fault.shmem_fault.getpage.find_lock_entry')!.meta.spins).toBe('page_frozen');
  });
});
