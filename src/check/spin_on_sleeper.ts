/**
 * Progress (issue 17, item 13): no actor busy-waits on a condition only another actor can
 * clear while that actor sleeps. Two kinds of busy-wait block a task chart's step (its
 * guard false, the task spinning in the kernel):
 *   - a spinlock acquisition: the lock its guard tests is held — by its holder;
 *   - a retry loop its chart marks `spins: 'page_frozen'` (find_get_entry()'s `goto
 *     repeat` while page_cache_get_speculative() fails): a page it tests is frozen at
 *     refcount 0 — by the actor that froze it ("Imagine the frozen refcount as a spinlock
 *     held, but without any lock debugging to highlight the abuse": Hugh Dickins,
 *     87c460a0bded). Who froze a page is the frozen-page monitor's record, so this case is
 *     checked only with that monitor on (it is by default).
 * Reported when that actor is itself blocked at a step its chart says may sleep
 * (`meta.sleeps`): waiting on a sleeping lock, a page lock, I/O — it will not be back soon,
 * and the spinner burns its CPU until it is (on one CPU, or with the sleeper needing the
 * spinner's CPU, for ever). Both actors' program points are named.
 *
 * Kept cheap: an actor's locks and program point change only in its own steps, so after
 * each step only the stepping actor is placed (or not) among the spinlock holders resting at
 * a step that may sleep, and among the actors resting at a `spins` step — both lists short,
 * usually empty. Only when one of the first is blocked, or one of the second is, are the
 * blocked actors' guards evaluated again, with a probe (src/memory/probe.ts) telling which
 * spinlocks and frozen pages they test.
 */
import type { MonitorKind } from '../registry.ts';
import { schedulerView } from '../sched/view.ts';
import { enabledStep, type StepEvent } from '../engine/task_chart.ts';
import { type GuardProbe, withGuardProbe } from '../memory/probe.ts';
import type { SpinLock } from '../memory/locks.ts';
import { hex } from '../memory/pages.ts';
import type { Actor } from '../sched/actor.ts';
import { pageFreezer } from './frozen_page.ts';
import { ScratchCells } from '../vector/state_vector.ts';

const STEP: StepEvent = { type: 'STEP', fail: false };

export const spinOnSleeperMonitor: MonitorKind = {
  name: 'spin-on-sleeper',
  description: 'no actor busy-waits (on a spinlock, or a page frozen at refcount 0) for an actor that is blocked in a step that may sleep',
  create({ k, report, actors }) {
    const view = schedulerView(k);
    // What the model says, so restored with the run and not hashed: the spinlock holders
    // resting at a step that may sleep, and the actors resting at a `spins` step, each a list
    // in the order they came (a length, then the actors); whether they have been placed yet
    // (from the first step on). Cells: [seen, holders' length, holders..., spinning's length, spinning...].
    const sc = new ScratchCells(k.sv, 'spin-on-sleeper: the actors resting where they may sleep or spin');
    const HOLDERS = 1;
    const SPINNING = 2 + actors.length;
    const size = (list: number) => sc.get(list);
    const member = (list: number, i: number) => sc.get(list + 1 + i);
    const place = (list: number, ix: number, on: boolean) => {
      const n = size(list);
      let i = 0;
      while (i < n && member(list, i) !== ix) i++;
      if (on && i === n) {
        sc.set(list + 1 + n, ix);
        sc.set(list, n + 1);
      } else if (!on && i < n) {
        for (let j = i; j + 1 < n; j++) sc.set(list + 1 + j, member(list, j + 1));
        sc.set(list + n, 0);
        sc.set(list, n - 1);
      }
    };
    const noteLeaf = (ix: number) => {
      const meta = view!.leaf(ix).meta;
      if (meta.spins !== undefined || size(SPINNING)) place(SPINNING, ix, meta.spins !== undefined);
      if (meta.sleeps !== undefined || size(HOLDERS)) place(HOLDERS, ix, meta.sleeps !== undefined && k.holdsSpinlock(ix));
    };

    const where = (a: Actor) => {
      const leaf = view!.leaf(a.ix);
      return `${leaf.path}${leaf.meta.kernel ? ` (${leaf.meta.kernel})` : ''}`;
    };
    /** Actor `b` is blocked at a step that may sleep. */
    const sleeping = (b: number) => b >= 0 && view!.leaf(b).meta.sleeps !== undefined && !view!.runnable(b);
    /** The spinlocks and pages `a`'s guards test, evaluated again (it is blocked: all of them). */
    const probe = (a: Actor) => {
      const locks: SpinLock[] = [];
      const pages: number[] = [];
      const p: GuardProbe = { spinLock: (l) => locks.push(l), frozen: (pfn) => pages.push(pfn) };
      withGuardProbe(p, () => enabledStep(view!.leaf(a.ix), a, STEP));
      return { locks, pages };
    };

    return {
      stepEnd() {
        if (!view) return;
        if (sc.get(0) === 0) {
          sc.set(0, 1);
          for (const a of actors) noteLeaf(a.ix);
        } else noteLeaf(k.stepActor);
        // a spinlock holder blocked at a step that may sleep: is anyone spinning on its lock?
        for (let i = 0; i < size(HOLDERS); i++) {
          const h = member(HOLDERS, i);
          if (view.runnable(h)) continue;
          for (const a of actors) {
            if (a.ix === h || a.outcome !== null || view.runnable(a.ix)) continue;
            const l = probe(a).locks.find((x) => x.holder === h);
            if (l) {
              const b = actors[h]!;
              report(`${a.id} spins on ${l.name} at ${where(a)}, held by ${b.id}, which sleeps (${view.leaf(h).meta.sleeps}) at ${where(b)}`, a.ix);
              return;
            }
          }
        }
        // a retry loop blocked on a page whose freezer sleeps
        for (let i = 0; i < size(SPINNING); i++) {
          const ix = member(SPINNING, i);
          const a = actors[ix]!;
          if (a.outcome !== null || view.runnable(ix)) continue;
          for (const pfn of probe(a).pages) {
            const f = pageFreezer(k, pfn);
            if (f !== a.ix && k.pages.isFrozen(pfn) && sleeping(f)) {
              const b = actors[f]!;
              report(`${a.id} spins at ${where(a)} on page ${hex(pfn)}, frozen (page_ref_freeze) by ${b.id}, which sleeps (${view.leaf(f).meta.sleeps}) at ${where(b)}`, a.ix);
              return;
            }
          }
        }
      },
    };
  },
};
