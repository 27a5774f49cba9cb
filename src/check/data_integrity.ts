/**
 * "Every read of a file offset or virtual address returns the last data written there,
 * or zeroes — never garbage, another offset's data, or a freed page's data." Also: no
 * store lands in the huge zero page or the ZERO_PAGE, and no access goes to a freed page.
 */
import type { MonitorKind } from '../registry.ts';
import { DATA_GARBAGE } from '../memory/pages.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { AccessBusEvent } from '../bus/events.ts';
import { int, makeStruct, struct } from '../vector/struct.ts';

/** An actor's read(2) in progress, as the monitor remembers it (none: ino -1). */
interface Read {
  ino: number;
  index: number;
  /** The values the offset has held since the read found its page (first: the one then). */
  values: number[];
}

/**
 * The reads in progress, one per actor, rewritten in place. In a world a search copies and
 * hashes: each actor's ino, index and how many values a struct of slots, the values a
 * column (past their count, VALUE_FILL); else plain records (a state component, walked).
 */
interface Reads {
  ino(a: number): number;
  index(a: number): number;
  /** Whether a's read may return `token` (the offset has held it since the read found its page). */
  includes(a: number, token: number): boolean;
  /** Actor a's read begins at (ino, index), where the offset holds `value`; or ends (ino -1). */
  begin(a: number, ino: number, index: number, value: number): void;
  end(a: number): void;
  /** The offset of a's read now holds `token` too: true if it was new to the read. */
  add(a: number, token: number): boolean;
  state: object | undefined;
}

interface ReadSlots {
  ino: number;
  index: number;
  values: number;
}
const readSlots = struct<ReadSlots>('data_integrity_read', { ino: int(-1), index: int(-1), values: int() });
/** No token is INT32_MIN (tokens count up from 1; 0 is zeroes, -1 garbage). */
const VALUE_FILL = -2147483648;

function makeReads(k: Kernel, actors: number): Reads {
  if (!k.sv.plain) {
    const sv = k.sv;
    const slots = Array.from({ length: actors }, (_, a) => makeStruct(sv, readSlots, `data-integrity read of actor ${a}`, {}));
    const cols: Int32Array[] = [];
    const ids: number[] = [];
    for (let a = 0; a < actors; a++) {
      cols.push(new Int32Array(4).fill(VALUE_FILL));
      ids.push(sv.addColumn(`data-integrity.values[${a}]`, cols[a]!, VALUE_FILL));
    }
    const includes = (a: number, token: number) => {
      const n = slots[a]!.values;
      const col = cols[a]!;
      for (let i = 0; i < n; i++) if (col[i] === token) return true;
      return false;
    };
    const push = (a: number, token: number) => {
      const n = slots[a]!.values;
      if (n >= cols[a]!.length) {
        const b = new Int32Array(2 * cols[a]!.length).fill(VALUE_FILL);
        b.set(cols[a]!);
        cols[a] = b;
        sv.setColumn(ids[a]!, b);
      }
      sv.putCol(ids[a]!, n, token);
      slots[a]!.values = n + 1;
    };
    const clear = (a: number) => {
      const n = slots[a]!.values;
      for (let i = 0; i < n; i++) sv.putCol(ids[a]!, i, VALUE_FILL);
      slots[a]!.values = 0;
    };
    return {
      ino: (a) => slots[a]!.ino,
      index: (a) => slots[a]!.index,
      includes,
      begin(a, ino, index, value) {
        clear(a);
        slots[a]!.ino = ino;
        slots[a]!.index = index;
        push(a, value);
      },
      end(a) {
        clear(a);
        slots[a]!.ino = -1;
        slots[a]!.index = -1;
      },
      add(a, token) {
        if (includes(a, token)) return false;
        push(a, token);
        return true;
      },
      state: undefined,
    };
  }
  // (one record per actor, rewritten in place: no new objects for the dfs to walk)
  const st = { reads: Array.from({ length: actors }, (): Read => ({ ino: -1, index: -1, values: [] })) };
  return {
    ino: (a) => st.reads[a]!.ino,
    index: (a) => st.reads[a]!.index,
    includes: (a, token) => st.reads[a]!.values.includes(token),
    begin(a, ino, index, value) {
      const r = st.reads[a]!;
      if (r.values.length !== 0) r.values.length = 0; // (a length write is a runtime call)
      r.ino = ino;
      r.index = index;
      r.values.push(value);
    },
    end(a) {
      const r = st.reads[a]!;
      if (r.values.length !== 0) r.values.length = 0;
      r.ino = r.index = -1;
    },
    add(a, token) {
      const r = st.reads[a]!;
      if (r.values.includes(token)) return false;
      r.values.push(token);
      return true;
    },
    state: st,
  };
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
    // since (any of them is a valid answer: the read copies after it found the page).
    const reads = makeReads(k, actors.length);
    /** The offset (file ino, index) now holds `token`: a value every read in progress there may return. */
    const held = (ino: number, index: number, token: number) => {
      for (let a = 0; a < actors.length; a++) {
        if (reads.ino(a) === ino && reads.index(a) === index && reads.add(a, token)) changed();
      }
    };
    k.bus.on('pread').subscribe((e) => {
      if (e.op === 'begin') reads.begin(e.actor, e.ino, e.index, e.value);
      else reads.end(e.actor);
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
      const valid = e.spans && reads.ino(e.actor) === e.ino && reads.index(e.actor) === e.index ? reads.includes(e.actor, e.token) : e.token === want;
      if (!valid) {
        const got = e.token === DATA_GARBAGE ? 'garbage (uninitialised memory)' : e.token === 0 ? 'zeroes' : `data #${e.token}`;
        report(`load of ${where(k, e)} returned ${got}; expected ${want === 0 ? 'zeroes' : `data #${want}`}`, e.actor);
      }
    });
    return { state: reads.state };
  },
};
