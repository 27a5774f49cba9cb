/** "Every lock is released on every path": an actor finishes holding nothing. (Releasing
 * what one does not hold is refused by the lock primitives themselves.) */
import type { MonitorKind } from '../registry.ts';

export const locksMonitor: MonitorKind = {
  name: 'lock-release',
  description: 'every lock taken is released before its holder finishes',
  create({ k, report }) {
    return {
      actorExit(a) {
        if (!k.holdsAnyLock(a.ix)) return;
        const h = k.heldBy(a.ix);
        if (h.length) report(`${a.id} finished holding ${h.join(', ')}`, a.ix);
      },
    };
  },
};
