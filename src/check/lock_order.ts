/**
 * lockdep's lock-order check (issue 17, item 11). Every acquisition of a lock class is
 * recorded with the classes its actor already holds: an edge held → taken. It is a
 * violation when the edge goes against the order documented at the top of mm/rmap.c (of the
 * seeds' era, below), or when it closes a cycle in the graph of every edge seen so far —
 * across every schedule of an exploration, as lockdep's graph grows across a boot — even
 * though this schedule did not deadlock.
 *
 * A class is a lock's name without its instance: mmap_lock(mm1):read → mmap_lock,
 * page_lock(0x40) → page_lock, tree_lock(f) → tree_lock. Taking a lock of a class already
 * held (collapse_shmem's hundreds of page locks, fork's two mmap_locks, copy_huge_pmd's
 * nested page table locks) is no edge, as lockdep's *_nested annotations say. An
 * acquisition that did not wait — a trylock that succeeded, __SetPageLocked on a new page —
 * makes no edge into its lock (lockdep checks no order for a trylock), though it is held,
 * and orders what is taken after it.
 *
 * The graphs live in this module, one per scenario (its actors, files, mms and variants) in
 * the process: every run of a scenario adds to its graph, so it spans the schedules of one
 * `thpsim explore` in one thread (a run of another scenario — a minimising candidate that
 * drops actors — has a graph of its own). With `--workers` or `--shard` each worker thread
 * or process keeps its own graphs and sees only its own schedules' edges. A cycle whose two
 * edges come from two schedules is reported in the second, once; the replay file of that
 * schedule alone does not take the first edge, so it reproduces only the documented-order
 * violations and the cycles within one schedule (the message names both chains).
 *
 * Not modelled, so not checked: anon_vma->rwsem, lru_lock (isolate_lru_page is one step),
 * swap_lock, khugepaged_mm_lock, the shrinker_rwsem, inode->i_rwsem.
 */
import type { MonitorKind } from '../registry.ts';
import type { LockBusEvent } from '../bus/events.ts';
import { schedulerView } from '../sched/view.ts';
import { ScratchCells } from '../vector/state_vector.ts';

/**
 * mm/rmap.c (v4.8), at the top of the file — the lines of the classes the model has; "..."
 * marks lines left out:
 *
 *   * Lock ordering in mm:
 *   *
 *   * inode->i_mutex	(while writing or truncating, not reading or faulting)
 *   *   mm->mmap_sem
 *   *     page->flags PG_locked (lock_page)
 *   *       hugetlbfs_i_mmap_rwsem_key (in huge_pmd_share)
 *   *         mapping->i_mmap_rwsem
 *   *           anon_vma->rwsem
 *   *             mm->page_table_lock or pte_lock
 *   *               zone_lru_lock (in mark_page_accessed, isolate_lru_page)
 *   *               swap_lock (in swap_duplicate, swap_info_get)
 *   *                 mmlist_lock (in mmput, drain_mmlist and others)
 *   *                 mapping->private_lock (in __set_page_dirty_buffers)
 *   *                   ...
 *   *                     mapping->tree_lock (widely used)
 *   *                 ...
 *
 * Each line's lock is taken inside the one it is indented under: along the chain the
 * model's classes lie on, each is taken inside every one above it. shmem_shrinklist_lock
 * (seed 001) is not in it: only the cycle check orders it.
 */
export const RMAP_LOCK_ORDER: readonly { cls: string; kernel: string }[] = [
  { cls: 'mmap_lock', kernel: 'mm->mmap_sem' },
  { cls: 'page_lock', kernel: 'page->flags PG_locked (lock_page)' },
  { cls: 'i_mmap_rwsem', kernel: 'mapping->i_mmap_rwsem' },
  { cls: 'page_table_lock', kernel: 'mm->page_table_lock or pte_lock' },
  { cls: 'tree_lock', kernel: 'mapping->tree_lock' },
];

const RANK = new Map(RMAP_LOCK_ORDER.map((r, i) => [r.cls, i]));

/** A lock's class: its name without the instance in parentheses or an rwsem's :read / :write. */
export function lockClass(name: string): string {
  const i = name.indexOf('(');
  if (i >= 0) return name.slice(0, i);
  const j = name.indexOf(':');
  return j >= 0 ? name.slice(0, j) : name;
}

/** One edge held → taken, as first seen: who took `taken` holding what, where. */
interface Edge {
  from: string;
  to: string;
  chain: string;
}

/** Lock classes by id: the process's, the same in every graph. */
const classes: string[] = [];
const classIds = new Map<string, number>();
/** Per class id, its row in RMAP_LOCK_ORDER (-1: not in it). */
const rankOf: number[] = [];

interface Graph {
  /** "from>to" (class ids) → the edge as first seen. */
  edges: Map<string, Edge>;
  /** Per class id, the classes it has an edge to. */
  succ: number[][];
}

/** The process's graphs, one per scenario (see the file comment); past 64, the least recently used goes. */
const graphs = new Map<string, Graph>();

function graphFor(key: string): Graph {
  let g = graphs.get(key);
  if (g) graphs.delete(key);
  else g = { edges: new Map(), succ: [] };
  graphs.set(key, g);
  if (graphs.size > 64) graphs.delete(graphs.keys().next().value!);
  return g;
}

/** Forgets every edge of every scenario (a test's fresh start). */
export function resetLockOrderGraph(): void {
  graphs.clear();
}

function classId(cls: string): number {
  let id = classIds.get(cls);
  if (id === undefined) {
    id = classes.length;
    classes.push(cls);
    classIds.set(cls, id);
    rankOf.push(RANK.get(cls) ?? -1);
  }
  return id;
}

const succOf = (g: Graph, c: number): number[] => (g.succ[c] ??= []);

/** A path of edges from class `a` to class `b` in the graph, or null. */
function pathBetween(g: Graph, a: number, b: number): Edge[] | null {
  const prev = new Map<number, number>([[a, -1]]);
  const queue = [a];
  while (queue.length) {
    const x = queue.shift()!;
    if (x === b) {
      const out: Edge[] = [];
      for (let y = b; prev.get(y)! >= 0; y = prev.get(y)!) out.unshift(g.edges.get(`${prev.get(y)}>${y}`)!);
      return out;
    }
    for (const y of succOf(g, x)) {
      if (!prev.has(y)) {
        prev.set(y, x);
        queue.push(y);
      }
    }
  }
  return null;
}

export const lockOrderMonitor: MonitorKind = {
  name: 'lock-order',
  description: "every lock is taken in mm/rmap.c's documented order, and no acquisition closes a cycle in the order graph of every schedule run so far (lockdep)",
  create({ k, report, actors }) {
    const graph = graphFor([k.HPAGE_PMD_NR, [...k.variants].join(','), actors.map((a) => `${a.id}:${a.kind}`).join(','),
      k.inodes.map((i) => i.name).join(','), k.mms.map((m) => m.name).join(',')].join('|'));
    const view = schedulerView(k);
    // per actor, how many locks of each class (by id) it holds, at class × actors + actor: what
    // the model's locks say, so restored with the run, not hashed
    const held = new ScratchCells(k.sv, 'lock-order: the lock classes each actor holds');
    const A = actors.length;
    // per actor, past the highest class it ever took: where its counts can be other than 0
    // (only ever raised, a restore included: a bound on a loop, not state)
    const classesTaken = actors.map(() => 0);
    // lock name → class id (but a page lock's: there is one name per page)
    const classOf = new Map<string, number>();
    const pageLock = classId('page_lock');

    /** What the actor held as it took `taking` (now held too), and its program point. */
    const chain = (a: number, taking: string): string => {
      const held = k.heldBy(a);
      held.splice(held.indexOf(taking), 1);
      const leaf = view?.leaf(a);
      const at = leaf ? `${leaf.path}${leaf.meta.kernel ? ` (${leaf.meta.kernel})` : ''}` : k.stepState;
      return `${k.actorName(a)} holding ${held.join(', ')} takes ${taking} at ${at}`;
    };

    // (a tap, not an RxJS subscription: it sees every lock taken and released)
    k.bus.tap(['lock'], (ev) => {
      const e = ev as LockBusEvent;
      if (e.actor < 0 || e.op === 'trylock_failed') return;
      let c = e.pfn !== undefined ? pageLock : classOf.get(e.lock);
      if (c === undefined) classOf.set(e.lock, (c = classId(lockClass(e.lock))));
      const at = c * A + e.actor;
      if (e.op === 'release') {
        held.set(at, held.get(at) - 1);
        return;
      }
      if (!e.nowait) {
        const rc = rankOf[c]!;
        for (let h = 0; h < classesTaken[e.actor]!; h++) {
          if (h === c || held.get(h * A + e.actor) === 0) continue;
          const rh = rankOf[h]!;
          if (rc >= 0 && rh > rc) {
            report(`${chain(e.actor, e.lock)}: ${classes[c]} before ${classes[h]} is mm/rmap.c's order (${RMAP_LOCK_ORDER[rc]!.kernel} outside ${RMAP_LOCK_ORDER[rh]!.kernel})`, e.actor);
            continue;
          }
          if (succOf(graph, h).includes(c)) continue;
          const from = classes[h]!;
          const to = classes[c]!;
          const name = `${h}>${c}`;
          const edge: Edge = { from, to, chain: chain(e.actor, e.lock) };
          const back = pathBetween(graph, c, h);
          if (back) {
            report(`${edge.chain}: ${from} → ${to} closes a cycle with the order seen before: ${back.map((b) => `${b.from} → ${b.to} (${b.chain})`).join('; ')}`, e.actor);
          }
          graph.edges.set(name, edge);
          succOf(graph, h).push(c);
        }
      }
      held.set(at, held.get(at) + 1);
      if (c >= classesTaken[e.actor]!) classesTaken[e.actor] = c + 1;
    });
    return {};
  },
};
