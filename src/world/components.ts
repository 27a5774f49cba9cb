/**
 * The model's state in components, for the dfs: the kernel's own fields, the page store,
 * the page-lock holders, each mm_struct, each inode (with its address_space and page
 * cache), each actor, and what each invariant monitor remembers (its ghost state: see
 * Monitor.state in src/registry.ts) — where these are not laid out in the state vector.
 *
 * What is laid out in the state vector (src/vector/: the actors' locals and where each
 * actor's chart is, the locks each actor holds, each lock's holders, the kernel's globals
 * and khugepaged's counters, vmstat, the page-lock holders, an mm_struct's own fields,
 * rss_stat and page tables, and the monitors' ghosts that lay themselves out there) is not
 * in a component, or not that part of it: the vector is hashed, copied and restored as its
 * slots, beside them (two words of hash; `check()` recomputes them).
 *
 * A step changes few of them: the actor that stepped (when its locals are not in the state
 * vector, or its system calls' results or outcome changed), and the objects its bus events name —
 * a `page` or `data` event the page store, a `cache` or `inode` event its inode, a `pmd`,
 * `pte`, `mm`, `mm_counter` or `mm_field` event its mm, a `lock` event the lock (or the
 * page-lock holders) and the locks its actor holds, a `swap`, `atomic` or
 * `khugepaged_counter` event the kernel's own fields; a monitor's state, the monitor's own
 * `changed()` call (src/registry.ts). (An mm forked during the run is not a
 * component: it is the kernel's, reached through k.mms.) So the state hash is
 * kept per component, and a component is hashed again only when a step may have changed
 * it; the others go in as the two words of their last hash. Snapshots are per component
 * too: a component no step changed since the last snapshot on the path shares that
 * snapshot's copy, and going back restores only the components that differ.
 *
 * Which components a step may have changed is what the bus says, so this is only as sound
 * as the bus is complete. `check()` (the explorer's `checkStateHash`, run by the tests on
 * every example scenario) hashes every component again from scratch and names any whose
 * contents changed with no event saying so, and any object two components share.
 *
 * Each component is hashed on its own walk (its objects numbered from 0), and the roots of
 * the others are written as their component numbers: references between components are by
 * number, never by contents. The numbering is fixed for the run (the order below), so
 * equal states hash equal in every run.
 */
import type { BusEvent } from '../bus/events.ts';
import type { Kernel } from '../memory/kernel.ts';
import { RwSem, SpinLock } from '../memory/locks.ts';
import type { Actor } from '../sched/actor.ts';
import { HASH_SKIP, type Meta, OWN, VECTOR, metaOf } from './shape.ts';
import { type StateVector, type VectorSaved, inVector } from '../vector/state_vector.ts';
import { type SavesOwnState, Snapshot } from './snapshot.ts';
import { StateHasher } from './state_hash.ts';

/** A monitor's ghost state (Monitor.state). */
export interface MonitorState {
  readonly name: string;
  readonly state: object;
}

/** The components as they were at a search node: a copy of each, shared with the snapshot before while unchanged. */
export interface ComponentsSnapshot {
  readonly version: Float64Array;
  readonly copies: readonly Snapshot[];
  /** Each component's hash at that version, where it was known (hashed = 1). */
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly hashed: Uint8Array;
  /** The state vector's slots and hash (src/vector/). */
  readonly vector: VectorSaved;
}

/**
 * The kernel's own fields (page-lock holders, the token counter, swap slots, the huge zero
 * page globals...): hashed, copied and restored as any component, after the events that
 * write them. (The clocks that move with no event — the simulated time, the step and who
 * takes it — are no state; the world saves and restores them itself.)
 */
const KERNEL = 0;
/** The page store's component, where it is one (struct page arrays not in the state vector). */
const PAGES = 1;

export class StateComponents {
  /** Per component, what a report calls it ("inode f", "actor T1"). */
  readonly names: string[] = [];
  private readonly roots: object[] = [];
  private readonly metas: Meta[] = [];
  /**
   * Per component, a version: a new number from `clock` whenever a step may have changed
   * it. A version names one content: a snapshot or cached hash of that version is good.
   */
  private readonly version: Float64Array;
  private clock = 0;
  /** The version whose hash lo/hi hold (-1: none). */
  private readonly hashedAt: Float64Array;
  private readonly lo: Int32Array;
  private readonly hi: Int32Array;
  private readonly hasher = new StateHasher();
  private readonly byInode = new Map<number, number>();
  /** mm id → its component (an mm forked during the run has none: it is the kernel's, in k.mms). */
  private readonly byMm: number[] = [];
  /** mm id → 1 where its own fields and page tables are slots of the state vector (MmStruct.inVector). */
  private readonly mmInVector: number[] = [];
  /** Per actor, its component — only an actor whose locals are not in the state vector (its outcome and results are: src/world/actor_records.ts). */
  private readonly byActor: number[] = [];
  /** Per actor, the component of the locks it holds (k.held[ix]). */
  private readonly heldBy: number[] = [];
  /** Lock name → the component the lock lives in (mmap_lock(m1) → mm m1). */
  private readonly lockIn = new Map<string, number>();

  /** Per monitor with a state (in the order given), its component. */
  private readonly byMonitor: number[] = [];

  /** vmstat's component (-1: its counters are slots of the state vector). */
  private readonly vmstat: number;
  /** Who holds each page lock (k.pageLockHolder): its component, or -1 (slots of the state vector). */
  private readonly pageLocks: number;

  /** The state vector: what is laid out in it is hashed, copied and restored as its slots, not walked. */
  private readonly sv: StateVector;

  /** The kernel's globals (the huge zero page's atomics, the token counter, khugepaged's counters) are slots of the state vector. */
  private readonly globalsInVector: boolean;
  /** The page store is columns of the state vector (its arrays, mem_map's extent and the free lists): no component. */
  private readonly pagesInVector: boolean;
  /** Every inode is in the state vector: its counts slots, its arrays (page cache slots and tags, expected data, recovery marks) and its mapping's flags columns — no component. */
  private readonly inodesInVector: boolean;

  constructor(k: Kernel, actors: readonly Actor[], monitors: readonly MonitorState[] = []) {
    this.sv = k.sv;
    this.globalsInVector = inVector(k.g) && inVector(k.khugepaged);
    this.pagesInVector = k.pages.inVector;
    this.inodesInVector = k.inodes.length > 0 && k.inodes.every((i) => i.inVector);
    this.add('kernel', k);
    if (!this.pagesInVector) this.add('page store', k.pages);
    // (vmstat and the page-lock holders in the state vector are no components)
    this.pageLocks = inVector(k.pageLockHolder) ? -1 : this.add('page locks', k.pageLockHolder);
    this.vmstat = inVector(k.vmstat) ? -1 : this.add('vmstat', k.vmstat);
    for (const mm of k.mms) {
      this.byMm[mm.id] = this.add(`mm ${mm.name}`, mm);
      this.mmInVector[mm.id] = mm.inVector ? 1 : 0;
    }
    // (an inode whose every field is in the state vector is no component)
    for (const ino of k.inodes) if (!ino.inVector) this.byInode.set(ino.id, this.add(`inode ${ino.name}`, ino));
    for (const a of actors) this.byActor[a.ix] = this.add(`actor ${a.id}`, a);
    // (an actor's held set in the state vector is no component)
    k.held.forEach((h, ix) => { if (!inVector(h)) this.heldBy[ix] = this.add(`locks held by ${k.actorName(ix)}`, h); });
    for (const m of monitors) this.byMonitor.push(this.add(`monitor ${m.name}`, m.state));
    // each lock on its own (an mm's page_table_lock is taken and dropped far more often
    // than the mm changes)
    for (let c = this.roots.length - 1; c >= 0; c--) {
      for (const o of this.objectsOf(c)) {
        if (o instanceof RwSem || o instanceof SpinLock) {
          // (one whose holders are in the state vector is no component: -1, nothing to touch)
          const l = o.inVector ? -1 : this.add(o.name, o);
          for (const how of ['', ':read', ':write']) this.lockIn.set(o.name + how, l);
        }
      }
    }
    // (an inode in the state vector is no component to find its locks in: they are in it too)
    for (const ino of k.inodes) {
      if (!ino.inVector) continue;
      for (const o of [ino.mapping.treeLock, ino.mapping.iMmap]) for (const how of ['', ':read', ':write']) this.lockIn.set(o.name + how, -1);
    }
    const n = this.roots.length;
    this.version = new Float64Array(n);
    this.hashedAt = new Float64Array(n).fill(-1);
    this.lo = new Int32Array(n);
    this.hi = new Int32Array(n);
    this.touchAll();
  }

  private add(name: string, root: object): number {
    const m = metaOf(root);
    if (m.component >= 0) throw new Error(`state components: ${name} is already component ${this.names[m.component]}`);
    m.component = this.roots.length;
    this.names.push(name);
    this.roots.push(root);
    this.metas.push(m);
    return m.component;
  }

  get size(): number {
    return this.roots.length;
  }

  /** Component c may have changed. */
  touch(c: number): void {
    this.version[c] = ++this.clock;
  }

  touchAll(): void {
    for (let c = 0; c < this.version.length; c++) this.version[c] = ++this.clock;
  }

  /** An actor's fields changed outside its own step (it never started, at the end of the run). */
  touchActor(ix: number): void {
    const c = this.byActor[ix];
    if (c !== undefined) this.version[c] = ++this.clock; // (undefined: an actor kept in the state vector)
  }

  /** The state of monitor i (of those given, in order) was written (its changed() call). */
  touchMonitor(i: number): void {
    const c = this.byMonitor[i];
    if (c !== undefined) this.version[c] = ++this.clock; // (undefined: a monitor that remembers nothing)
  }

  /** The kinds of bus event that say a component changed (onEvent's). */
  static readonly EVENTS = ['page', 'team', 'data', 'vmstat', 'inode', 'lock', 'mm', 'pmd', 'pte', 'mm_counter', 'mm_field', 'sysfs', 'atomic', 'khugepaged_counter', 'swap', 'cache', 'truncate', 'access', 'actor'] as const;

  /**
   * The kinds of bus event that can say a component of this world changed: EVENTS but
   * those whose every object is in the state vector here (vmstat; the page store's page,
   * team and data events; the page caches' cache events; swap and sysfs with the kernel's globals).
   */
  events(): readonly BusEvent['kind'][] {
    return StateComponents.EVENTS.filter((kind) => !(
      (kind === 'vmstat' && this.vmstat < 0)
      || ((kind === 'page' || kind === 'team' || kind === 'data') && this.pagesInVector)
      || ((kind === 'cache' || kind === 'inode' || kind === 'truncate') && this.inodesInVector)
      || ((kind === 'swap' || kind === 'sysfs') && this.globalsInVector)));
  }

  /** What a bus event says changed. */
  readonly onEvent = (e: BusEvent): void => {
    switch (e.kind) {
      case 'page':
        if (!this.pagesInVector) this.touch(PAGES);
        return;
      case 'team':
        if (!this.pagesInVector) this.touch(PAGES);
        return;
      case 'vmstat':
        if (this.vmstat >= 0) this.touch(this.vmstat);
        return;
      case 'data':
        if (!this.pagesInVector) this.touch(PAGES);
        return;
      case 'inode':
        // (its counts, the expected data, the tags, the recovery marks and the mapping's
        // flags: slots and columns of the state vector, where it is laid out there)
        if (!this.inodesInVector) this.touchInode(e.ino);
        return;
      case 'lock': {
        // the lock (a page lock: the page-lock holders; a lock of an mm forked during the
        // run: the kernel's), and what its actor holds
        if (e.pfn !== undefined) {
          // (a page lock taken or dropped names its pfn: no lookup of its name)
          if (this.pageLocks >= 0) this.touch(this.pageLocks);
        } else {
          const c = this.lockIn.get(e.lock);
          if (c === undefined) {
            if (!e.lock.startsWith('page_lock(')) this.touch(KERNEL);
            else if (this.pageLocks >= 0) this.touch(this.pageLocks);
          } else if (c !== -1) this.touch(c);
        }
        const h = this.heldBy[e.actor];
        if (h !== undefined) this.touch(h);
        return;
      }
      case 'mm':
        if (e.op === 'CREATE') this.touch(KERNEL); // (k.mms)
        this.touchMmFields(e.mm);
        return;
      case 'pmd':
      case 'pte':
      case 'mm_counter':
        this.touchMmFields(e.mm);
        return;
      case 'mm_field':
        // (MMF_VM_HUGEPAGE: the mm joined khugepaged's mm_slot list — slots of the vector)
        // (an mm laid out in the vector has its VMAs, expected data, replaced vpns and pmds to retry there too)
        if ((e.field === 'vmas' || e.field === 'expected' || e.field === 'replaced' || e.field === 'pte_mapped_thp') && this.mmInVector[e.mm] !== 1) this.touchMm(e.mm);
        else this.touchMmFields(e.mm);
        return;
      case 'atomic':
      case 'khugepaged_counter':
        if (!this.globalsInVector) this.touch(KERNEL);
        return;
      case 'sysfs':
        // (the settings' fingerprint: a slot of the vector, with the kernel's globals)
        if (!this.globalsInVector) this.touch(KERNEL);
        return;
      case 'swap':
        // (the slots and the next offset: a column and a slot of the state vector, with the kernel's globals)
        if (!this.globalsInVector) this.touch(KERNEL);
        return;
      case 'cache':
        // (the page cache's slots: columns of the state vector)
        if (!this.inodesInVector) this.touchInode(e.ino);
        return;
      case 'truncate':
        if (!this.inodesInVector) this.touchInode(e.ino);
        return;
      case 'access':
        // the data token written, and the one the mapping or file is expected to hold
        if (e.pfn >= 0 && !this.pagesInVector) this.touch(PAGES);
        if (e.ino >= 0 && !this.inodesInVector) this.touchInode(e.ino);
        if (e.op === 'write') {
          if (!this.globalsInVector) this.touch(KERNEL); // (the token counter)
          // (anonymous memory: the mm's expected data — a column of the vector for an mm laid out in it)
          if (e.mm >= 0 && e.ino < 0 && this.mmInVector[e.mm] !== 1) this.touchMm(e.mm);
        }
        return;
      case 'actor': {
        // (going to sleep and waking move only the actor's wake-up time, which the world
        // saves itself and the hash takes as the time left: no field of its component)
        if (e.op === 'wake' || e.op === 'sleep') return;
        const c = this.byActor[e.actor];
        if (c !== undefined) this.touch(c);
        return;
      }
      default:
      // the kernel's own fields and the mm_structs (their page tables, counters, vmas) are
      // hashed again at every step; step, step_end, trace, violation: the run's record
      // (what a monitor keeps is not the model's)
    }
  };

  /** An mm_struct changed (one forked during the run is the kernel's). */
  private touchMm(id: number): void {
    this.touch(this.byMm[id] ?? KERNEL);
  }

  /**
   * An mm_struct's own fields or page tables changed (MmStruct's `mm_struct`, `rss_stat`
   * and pmds): slots of the state vector for an mm made with the world, nothing to touch.
   */
  private touchMmFields(id: number): void {
    if (this.mmInVector[id] !== 1) this.touchMm(id);
  }

  private touchInode(id: number): void {
    const c = this.byInode.get(id);
    if (c !== undefined) this.touch(c);
  }

  /** Write every component's hash (two words each), hashing again those that may have changed. */
  hashInto(sh: StateHasher): void {
    const n = this.roots.length;
    if (!this.sv.hashing) this.sv.startHashing();
    if (sh.n + 2 * n + 2 > sh.b.length) sh.grow(sh.n + 2 * n + 2);
    for (let c = 0; c < n; c++) {
      if (this.hashedAt[c] !== this.version[c]) this.rehash(c);
      sh.b[sh.n++] = this.lo[c]!;
      sh.b[sh.n++] = this.hi[c]!;
    }
    // the state vector's hash, kept by its every write
    sh.b[sh.n++] = this.sv.lo;
    sh.b[sh.n++] = this.sv.hi;
  }

  private rehash(c: number): void {
    const h = this.fresh(c);
    this.lo[c] = h.lo;
    this.hi[c] = h.hi;
    this.hashedAt[c] = this.version[c]!;
    if (this.printed) this.printed[c] = print(this.roots[c]!);
  }

  /** With check(): each component as printed when it was last hashed, to say what changed unannounced. */
  private printed: string[] | undefined;

  /** Component c hashed from scratch: the hasher, its lo and hi set. */
  private fresh(c: number): StateHasher {
    const h = this.hasher;
    h.reset();
    h.root = this.metas[c]!;
    h.object(this.roots[c]!, this.metas[c]!);
    h.digestInto();
    return h;
  }

  /** The objects of component c (not the immutable or opaque ones it points to). */
  private objectsOf(c: number): readonly object[] {
    return Snapshot.take([this.roots[c]], undefined, this.roots[c]).reached();
  }

  /**
   * The components whose cached hash no longer matches their contents — changed with no bus
   * event naming them — and the objects two components (or a component and `others`, the
   * run's own roots a snapshot takes besides) both reach. Empty when the bookkeeping is sound.
   */
  check(others: readonly unknown[]): string[] {
    const problems: string[] = [];
    this.sv.startHashing();
    const [lo, hi] = this.sv.freshHash();
    if (lo !== this.sv.lo || hi !== this.sv.hi) problems.push('the state vector\'s hash is not its slots\' (a slot written other than through StateVector.put)');
    const printed = (this.printed ??= []);
    for (let c = 0; c < this.roots.length; c++) {
      if (this.hashedAt[c] !== this.version[c]) continue; // (hashed again anyway at the next node)
      const { lo, hi } = this.fresh(c);
      if (lo !== this.lo[c] || hi !== this.hi[c]) {
        const now = print(this.roots[c]!).split('\n');
        const was = printed[c]?.split('\n') ?? [];
        const i = now.findIndex((line, j) => line !== was[j]);
        const what = was.length ? ` (${was[i]?.trim()} → ${now[i]?.trim()})` : '';
        const announce = this.byMonitor.includes(c) ? 'changed() call' : 'bus event naming it';
        problems.push(`${this.names[c]} changed with no ${announce}${what}`);
      } else if (printed[c] === undefined) printed[c] = print(this.roots[c]!); // (as hashed)
    }
    const owner = new Map<object, string>();
    const claim = (o: object, who: string) => {
      const was = owner.get(o);
      if (was !== undefined && was !== who) problems.push(`a ${o.constructor?.name ?? 'object'} is reached from both ${was} and ${who}`);
      else owner.set(o, who);
    };
    for (let c = 0; c < this.roots.length; c++) for (const o of this.objectsOf(c)) claim(o, this.names[c]!);
    for (const o of Snapshot.take(others).reached()) claim(o, "the run's own state");
    return problems;
  }

  /** The components now; `prev`, a snapshot on the way here, whose copies of unchanged components are shared. */
  take(prev: ComponentsSnapshot | undefined, reuse?: ComponentsSnapshot): ComponentsSnapshot {
    const n = this.roots.length;
    // (a snapshot no longer needed lends its arrays; the copies in it may be shared with others, and are not reused)
    const r = reuse !== undefined && reuse.lo.length === n ? reuse : undefined;
    const copies: Snapshot[] = r ? (r.copies as Snapshot[]) : new Array(n);
    const lo = r ? r.lo : new Int32Array(n);
    const hi = r ? r.hi : new Int32Array(n);
    const hashed = r ? r.hashed : new Uint8Array(n);
    const version = r ? r.version : new Float64Array(n);
    version.set(this.version);
    for (let c = 0; c < n; c++) {
      const v = this.version[c]!;
      const same = prev !== undefined && prev.version[c] === v;
      copies[c] = same ? prev.copies[c]! : Snapshot.take([this.roots[c]], undefined, this.roots[c]);
      if (this.hashedAt[c] === v) {
        lo[c] = this.lo[c]!;
        hi[c] = this.hi[c]!;
        hashed[c] = 1;
      } else hashed[c] = 0;
    }
    return { version, copies, lo, hi, hashed, vector: this.sv.save(reuse?.vector) };
  }

  /** Back to a snapshot: only the components that differ from it are written back. */
  restore(s: ComponentsSnapshot): void {
    this.sv.restore(s.vector);
    for (let c = 0; c < this.roots.length; c++) {
      const v = s.version[c]!;
      if (this.version[c] === v) continue;
      s.copies[c]!.restore();
      this.version[c] = v;
      if (s.hashed[c]) {
        this.lo[c] = s.lo[c]!;
        this.hi[c] = s.hi[c]!;
        this.hashedAt[c] = v;
        if (this.printed) this.printed[c] = print(this.roots[c]!); // (what the check diffs against)
      }
    }
  }
}

/**
 * A component printed a field a line, for the check's diagnosis (which field changed):
 * what the hash sees — not the keys it skips, nor into another component.
 */
function print(root: object): string {
  const out: string[] = [];
  const seen = new Set<object>();
  const go = (v: unknown, path: string): void => {
    if (v === null || typeof v !== 'object') {
      if (typeof v !== 'function') out.push(`${path} = ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
      return;
    }
    const m = metaOf(v);
    if (v !== root && m.component >= 0) return void out.push(`${path} = (component ${m.component})`);
    if (seen.has(v)) return void out.push(`${path} = (seen)`);
    seen.add(v);
    if (m.kind === OWN) return go((v as unknown as SavesOwnState).saveState(), `${path}(saved)`);
    if (m.kind === VECTOR) return void out.push(`${path} = (in the state vector)`);
    if (v instanceof Map) return v.forEach((x, key) => go(x, `${path}.get(${String(key)})`));
    if (v instanceof Set) return void out.push(`${path} = Set {${[...v].map(String).join(', ')}}`);
    if (ArrayBuffer.isView(v)) return void out.push(`${path} = [${Array.from(v as unknown as ArrayLike<number>).join(', ')}]`);
    for (const [key, x] of Object.entries(v)) if (!HASH_SKIP.has(key)) go(x, `${path}.${key}`);
    if (Array.isArray(v)) out.push(`${path}.length = ${v.length}`);
  };
  go(root, '');
  return out.join('\n');
}
