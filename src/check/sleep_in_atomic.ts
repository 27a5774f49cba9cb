/**
 * might_sleep() in the model (issue 17, item 12), as CONFIG_DEBUG_ATOMIC_SLEEP reports "BUG:
 * sleeping function called from invalid context": a step that may sleep — its chart state
 * says so in `meta.sleeps` (a sleeping lock, lock_page, an allocation that may reclaim, a
 * swap-in, migration) — taken while its actor holds a spinlock (a page table lock,
 * shmem_shrinklist_lock; a mapping's tree_lock, taken with spin_lock_irq, also has
 * interrupts off).
 *
 * The check reads the charts, not a list of kernel functions: the state an actor steps from
 * names whether the step may sleep (test/lockdep_monitors.test.ts checks every sleeping
 * primitive a run calls against that metadata, so it cannot go stale). A step is atomic, and
 * where in it the sleep falls is not recorded, so a spinlock counts as held across the sleep
 * when it is held both as the step begins and as it ends — a step that unlocks and then
 * sleeps (collapse_file's readahead) is not reported; one that would lock and then sleep, or
 * unlock, sleep and lock again, within one step would be misjudged (the charts take and drop
 * spinlocks in steps of their own, but for such an unlock-then-sleep).
 *
 * RCU read sections are not modelled across steps (each is inside one step), so there is no
 * "in an RCU read section" to check.
 */
import type { MonitorKind } from '../registry.ts';
import { schedulerView } from '../sched/view.ts';
import { lockClass } from './lock_order.ts';

/** The spinlocks the model takes with spin_lock_irq(): holding one, interrupts are off too. */
const IRQ_OFF = new Set(['tree_lock']);

export const sleepInAtomicMonitor: MonitorKind = {
  name: 'sleep-in-atomic',
  description: 'no step that may sleep (meta.sleeps in its chart) is taken while its actor holds a spinlock',
  create({ k, report }) {
    const view = schedulerView(k);
    // within a step: the actor taking a step that may sleep while holding spinlocks, why, where, and those spinlocks
    const sc = { actor: -1, why: '', at: '', spins: [] as string[] };
    view?.beforeStep.push((ix, from) => {
      const why = from.meta.sleeps;
      if (why === undefined || !k.holdsSpinlock(ix)) return;
      const spins = k.spinlocksHeldBy(ix);
      sc.actor = ix;
      sc.why = why;
      sc.at = `${from.path}${from.meta.kernel ? ` (${from.meta.kernel})` : ''}`;
      sc.spins = spins;
    });
    const forgetStep = () => {
      sc.actor = -1;
      if (sc.spins.length) sc.spins = [];
    };
    return {
      scratch: sc,
      stepEnd() {
        if (sc.actor < 0) return;
        const held = k.held[sc.actor]!;
        const spins = sc.spins.filter((l) => held.has(l));
        if (spins.length) {
          const irq = spins.some((l) => IRQ_OFF.has(lockClass(l))) ? ', interrupts off' : '';
          report(`sleeping function called from invalid context: ${k.actorName(sc.actor)} may sleep (${sc.why}) at ${sc.at} holding spinlock ${spins.join(', ')}${irq}`, sc.actor);
        }
        forgetStep();
      },
      reset: forgetStep,
    };
  },
};
