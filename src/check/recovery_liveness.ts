/**
 * shmem_recovery_populate terminates (seed 001). Its loop goes round again (`goto again`)
 * only after a pass whose migrate_pages() left pages `migratable` — moved into holes of
 * the team, which the next pass enteams; a hole is filled once per team — or once, after
 * lru_add_drain_all(), when pages were off the LRU (`drained_all`). So one recovery makes
 * at most HPAGE_PMD_NR + 2 passes (the first, one per hole, the retry); a pass beyond
 * that is the loop going round without progress, reported as it begins.
 *
 * A recovery that began and never ended is an actor that never finished: the scheduler
 * reports that (every actor blocked is a deadlock), so this monitor does not.
 */
import type { MonitorKind } from '../registry.ts';
import { fit } from './ghost.ts';
import type { StateVector } from '../vector/state_vector.ts';

export const recoveryTerminatesMonitor: MonitorKind = {
  name: 'recovery-terminates',
  description: 'shmem_recovery_populate makes at most HPAGE_PMD_NR + 2 passes before its recovery ends',
  create({ k, report, actors, changed }) {
    const most = k.HPAGE_PMD_NR + 2;
    const passes = passesPerActor(k.sv, Math.max(1, actors.length), changed);
    k.bus.on('recovery').subscribe((e) => {
      if (e.actor < 0) return;
      if (e.op === 'pass') {
        const n = passes.get(e.actor) + 1;
        passes.set(e.actor, n);
        if (n > most) report(`shmem_recovery_populate of ${k.inodes[e.ino]?.name ?? `inode ${e.ino}`} index ${e.index} begins pass ${n}: more than HPAGE_PMD_NR + 2 (${most}), so a pass went round again without filling a hole`, e.actor);
      } else if (passes.get(e.actor) !== 0) {
        passes.set(e.actor, 0);
      }
    });
    return { state: passes.state };
  },
};

/**
 * Per actor: the populate passes since its recovery began (its last 'end'). Slots of the
 * state vector in a world a search copies and hashes (no state component then: `state`
 * undefined); else a plain array, the monitor's state, announced by `changed`.
 */
function passesPerActor(sv: StateVector, actors: number, changed: () => void): { get(a: number): number; set(a: number, n: number): void; state: object | undefined } {
  if (!sv.plain) {
    const base = sv.alloc(actors, 'recovery-terminates: populate passes per actor');
    return { get: (a) => sv.w[base + a]!, set: (a, n) => sv.put(base + a, n), state: undefined };
  }
  const st = { passes: new Int32Array(actors) };
  return {
    get: (a) => (a < st.passes.length ? st.passes[a]! : 0),
    set(a, n) {
      st.passes = fit(st.passes, a);
      st.passes[a] = n;
      changed();
    },
    state: st,
  };
}
