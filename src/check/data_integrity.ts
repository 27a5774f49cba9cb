/**
 * "Every read of a file offset or virtual address returns the last data written there,
 * or zeroes — never garbage, another offset's data, or a freed page's data." Also: no
 * store lands in the huge zero page or the ZERO_PAGE, and no access goes to a freed page.
 */
import type { MonitorKind } from '../registry.ts';
import { DATA_GARBAGE } from '../memory/pages.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { AccessBusEvent } from '../bus/events.ts';

/** An actor's read(2) in progress, as the monitor remembers it (none: ino -1). */
interface Read {
  ino: number;
  index: number;
  /** The values the offset has held since the read found its page (first: the one then). */
  values: number[];
}

/** The address an access went to, as a report names it (formatted only for a report). */
function where(k: Kernel, e: AccessBusEvent): string {
  const file = e.ino >= 0 ? `${k.inodes[e.ino]!.name}[${e.index}]` : '';
  return e.mm >= 0 ? `${k.mms[e.mm]!.name}:0x${(e.vpn * 4096).toString(16)}${file ? ` (${file})` : ''}` : file;
}

export const dataIntegrityMonitor: MonitorKind = {
  name: 'data-integrity',
  description: 'a load returns the last store to that address (or zeroes); no access to a freed page; no store into a zero page',
  create({ k, report, actors, changed }) {
    // Per actor in a read(2) that found its page: the offset, and every value it has held
    // since (any of them is a valid answer: the read copies after it found the page). One
    // record per actor, rewritten in place: no new objects for the dfs to walk.
    const st = { reads: actors.map((): Read => ({ ino: -1, index: -1, values: [] })) };
    /** The offset (file ino, index) now holds `token`: a value every read in progress there may return. */
    const held = (ino: number, index: number, token: number) => {
      for (const r of st.reads) {
        if (r.ino === ino && r.index === index && !r.values.includes(token)) {
          r.values.push(token);
          changed();
        }
      }
    };
    k.bus.on('pread').subscribe((e) => {
      const r = st.reads[e.actor]!;
      if (r.values.length !== 0) r.values.length = 0; // (a length write is a runtime call)
      if (e.op === 'begin') {
        r.ino = e.ino;
        r.index = e.index;
        r.values.push(e.value);
      } else r.ino = r.index = -1;
      changed();
    });
    k.bus.on('inode').subscribe((e) => {
      if (e.field === 'expected') held(e.ino, e.index!, e.value);
    });
    k.bus.on('access').subscribe((e) => {
      if (e.op === 'write' && e.ino >= 0) held(e.ino, e.index, e.token);
      const mm = e.mm >= 0 ? k.mms[e.mm]! : null;
      if (e.pfn < 0) {
        // read(2) of a hole
        const want = k.expectedAt(mm, e.vpn, e.ino, e.index);
        if (want !== 0) report(`read of ${where(k, e)} found a hole; expected data #${want}`, e.actor);
        return;
      }
      if (!k.pages.isAllocated(e.pfn)) {
        report(`${e.op} of ${where(k, e)} went to freed page 0x${e.pfn.toString(16)}`, e.actor);
        return;
      }
      if (e.op === 'write') {
        const h = k.pages.compoundHead(e.pfn);
        if (e.pfn === k.ZERO_PAGE || (k.huge_zero_pfn !== 0 && h === k.huge_zero_pfn)) {
          report(`store to ${where(k, e)} landed in the ${e.pfn === k.ZERO_PAGE ? 'ZERO_PAGE' : 'huge zero page'}`, e.actor);
        }
        return;
      }
      const want = k.expectedAt(mm, e.vpn, e.ino, e.index);
      const r = e.spans ? st.reads[e.actor] : null;
      const valid = r && r.ino === e.ino && r.index === e.index ? r.values : [want];
      if (!valid.includes(e.token)) {
        const got = e.token === DATA_GARBAGE ? 'garbage (uninitialised memory)' : e.token === 0 ? 'zeroes' : `data #${e.token}`;
        report(`load of ${where(k, e)} returned ${got}; expected ${want === 0 ? 'zeroes' : `data #${want}`}`, e.actor);
      }
    });
    return { state: st };
  },
};
