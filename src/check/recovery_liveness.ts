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

export const recoveryTerminatesMonitor: MonitorKind = {
  name: 'recovery-terminates',
  description: 'shmem_recovery_populate makes at most HPAGE_PMD_NR + 2 passes before its recovery ends',
  create({ k, report, actors, changed }) {
    const most = k.HPAGE_PMD_NR + 2;
    // per actor: the populate passes since its recovery began (its last 'end')
    const st = { passes: new Int32Array(Math.max(1, actors.length)) };
    k.bus.on('recovery').subscribe((e) => {
      if (e.actor < 0) return;
      st.passes = fit(st.passes, e.actor);
      if (e.op === 'pass') {
        const n = st.passes[e.actor]! + 1;
        st.passes[e.actor] = n;
        changed();
        if (n > most) report(`shmem_recovery_populate of ${k.inodes[e.ino]?.name ?? `inode ${e.ino}`} index ${e.index} begins pass ${n}: more than HPAGE_PMD_NR + 2 (${most}), so a pass went round again without filling a hole`, e.actor);
      } else if (st.passes[e.actor] !== 0) {
        st.passes[e.actor] = 0;
        changed();
      }
    });
    return { state: st };
  },
};
