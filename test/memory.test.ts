/**
 * The memory model: PageStore (through a Kernel), page locks, data tokens, sysfs
 * defaults and range checks, and the page cache's AddressSpace / Inode.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Kernel, ModelViolation } from '../src/memory/kernel.ts';
import { DATA_GARBAGE, DATA_ZERO, PAGE_CHART, hex } from '../src/memory/pages.ts';
import { checkSysfs, defaultSysfs } from '../src/memory/sysfs.ts';
import { AddressSpace, Inode, SLOT_HOLE, isSwapEntry, swapEntry, swapOffset } from '../src/memory/address_space.ts';
import type { Violation } from '../src/bus/events.ts';
import { StateHasher } from '../src/world/state_hash.ts';

/** Runs fn, expecting a ModelViolation; returns its violation. */
function violation(fn: () => unknown): Violation {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ModelViolation);
    return (e as ModelViolation).violation;
  }
  throw new Error('expected a ModelViolation, nothing was thrown');
}

const T1 = 0;
const T2 = 1;
let k: Kernel;
let published: Violation[];
beforeEach(() => {
  k = new Kernel({ hpagePmdNr: 8 });
  k.setActors(['T1', 'T2']);
  published = [];
  k.bus.on('violation').subscribe((e) => published.push(e.violation));
});

describe('Kernel', () => {
  it('takes HPAGE_PMD_NR as a power of two ≥ 2 and reserves ZERO_PAGE', () => {
    expect(k.HPAGE_PMD_ORDER).toBe(3);
    expect(k.pages.isAllocated(k.ZERO_PAGE)).toBe(true);
    expect(k.pages.testFlag(k.ZERO_PAGE, 'reserved')).toBe(true);
    expect(() => new Kernel({ hpagePmdNr: 6 })).toThrow(/power of two/);
    expect(() => new Kernel({ hpagePmdNr: 1 })).toThrow(/power of two/);
  });
});

describe('PageStore: the allocator', () => {
  it('alloc order 0: one allocated page with one reference, its own head', () => {
    const p = k.pages.alloc(0, true, T1);
    expect(p).not.toBe(k.ZERO_PAGE);
    expect(k.pages.isAllocated(p)).toBe(true);
    expect(k.pages.refcount[p]).toBe(1);
    expect(k.pages.pageCount(p)).toBe(1);
    expect(k.pages.compoundHead(p)).toBe(p);
    expect(k.pages.order[p]).toBe(0);
    expect(k.pages.testFlag(p, 'head')).toBe(false);
    expect(k.pages.testFlag(p, 'tail')).toBe(false);
    expect(PAGE_CHART.value(k.pages.state[p]!)).toMatchObject({ alloc: 'allocated', lock: 'unlocked', ref: 'live', lru: 'isolated', mapped: 'unmapped' });
  });

  it('alloc order 3: an aligned compound page, refcount on the head, tails point at it', () => {
    const h = k.pages.alloc(3, true, T1);
    expect(h % 8).toBe(0);
    expect(k.pages.order[h]).toBe(3);
    expect(k.pages.testFlag(h, 'head')).toBe(true);
    expect(k.pages.refcount[h]).toBe(1);
    for (let t = h + 1; t < h + 8; t++) {
      expect(k.pages.isAllocated(t)).toBe(true);
      expect(k.pages.testFlag(t, 'tail')).toBe(true);
      expect(k.pages.testFlag(t, 'head')).toBe(false);
      expect(k.pages.compoundHead(t)).toBe(h);
      expect(k.pages.refcount[t]).toBe(0);
      expect(k.pages.pageCount(t)).toBe(1);
    }
    expect(k.pages.isAllocated(h + 8)).toBe(false);
    // a get through a tail page counts on the head
    k.pages.get(h + 3, T1);
    expect(k.pages.refcount[h]).toBe(2);
    expect(k.pages.refcount[h + 3]).toBe(0);
  });

  it('the alignment gap before a compound page becomes free small pages', () => {
    const h = k.pages.alloc(3, true, T1);
    expect(h).toBe(8); // ZERO_PAGE is pfn 0, so pfns 1..7 are the gap
    const p = k.pages.alloc(0, true, T1);
    expect(p).toBeGreaterThan(k.ZERO_PAGE);
    expect(p).toBeLessThan(h);
  });

  it('get / put: the last put frees the page and the allocator hands the pfn out again', () => {
    const p = k.pages.alloc(0, true, T1);
    k.pages.get(p, T1);
    expect(k.pages.refcount[p]).toBe(2);
    expect(k.pages.put(p, T1)).toBe(false);
    expect(k.pages.isAllocated(p)).toBe(true);
    expect(k.pages.put(p, T1)).toBe(true);
    expect(k.pages.isAllocated(p)).toBe(false);
    expect(k.pages.refcount[p]).toBe(0);
    expect(k.pages.alloc(0, true, T2)).toBe(p);
    expect(k.pages.refcount[p]).toBe(1);
  });

  it('freeing a compound page frees all its pages, and an order-3 alloc reuses it', () => {
    const h = k.pages.alloc(3, true, T1);
    k.pages.freePages(h, T1);
    for (let t = h; t < h + 8; t++) {
      expect(k.pages.isAllocated(t)).toBe(false);
      expect(k.pages.testFlag(t, 'tail') || k.pages.testFlag(t, 'head')).toBe(false);
    }
    expect(k.pages.alloc(3, false, T1)).toBe(h);
  });

  it('the last put takes an on-LRU page off the LRU and clears uptodate/dirty before freeing', () => {
    const p = k.pages.alloc(0, true, T1);
    k.pages.lruAdd(p, T1);
    k.pages.setUptodate(p, T1);
    k.pages.setDirty(p, T1);
    expect(k.pages.put(p, T1)).toBe(true);
    expect(k.pages.state[p]).toBe(PAGE_CHART.initial);
    expect(published).toEqual([]);
  });

  it('grows its arrays past the initial capacity and keeps existing pages', () => {
    const small = new Kernel({ hpagePmdNr: 8, pageCapacity: 8 });
    const heads = [0, 1, 2, 3].map(() => small.pages.alloc(3, true, -1));
    expect(small.pages.capacity).toBeGreaterThanOrEqual(40);
    for (const h of heads) {
      expect(small.pages.isAllocated(h)).toBe(true);
      expect(small.pages.refcount[h]).toBe(1);
      expect(small.pages.compoundHead(h + 7)).toBe(h);
    }
    expect(small.pages.isAllocated(small.ZERO_PAGE)).toBe(true);
    expect(small.pages.isAllocated(heads[3]! + 8)).toBe(false);
  });
});

describe('PageStore: illegal commands are violations, never applied', () => {
  it('freeze(expected count) succeeds only at that count', () => {
    const p = k.pages.alloc(0, true, T1);
    k.pages.get(p, T1);
    expect(k.pages.freeze(p, 1, T1)).toBe(false);
    expect(k.pages.isFrozen(p)).toBe(false);
    expect(k.pages.refcount[p]).toBe(2);
    expect(k.pages.freeze(p, 2, T1)).toBe(true);
    expect(k.pages.isFrozen(p)).toBe(true);
    expect(k.pages.refcount[p]).toBe(0);
    k.pages.unfreeze(p, 2, T1);
    expect(k.pages.isFrozen(p)).toBe(false);
    expect(k.pages.refcount[p]).toBe(2);
  });

  it('a GET while frozen throws illegal-transition; get_page_unless_zero just fails', () => {
    const p = k.pages.alloc(0, true, T1);
    expect(k.pages.freeze(p, 1, T1)).toBe(true);
    const before = k.pages.state[p];
    expect(k.pages.getUnlessZero(p, T2)).toBe(false);
    const v = violation(() => k.pages.get(p, T2));
    expect(v.invariant).toBe('illegal-transition');
    expect(v.message).toMatch(/GET/);
    expect(v.actor).toBe('T2');
    expect(published).toEqual([v]);
    expect(k.pages.state[p]).toBe(before);
    expect(k.pages.refcount[p]).toBe(0);
    expect(violation(() => k.pages.put(p, T2)).invariant).toBe('illegal-transition');
  });

  it('freePages with the wrong order throws compound-free-order and frees nothing', () => {
    const h = k.pages.alloc(3, true, T1);
    const v = violation(() => k.pages.freePages(h, T1, 0));
    expect(v.invariant).toBe('compound-free-order');
    expect(v.message).toContain('7 tail pages');
    expect(k.pages.isAllocated(h)).toBe(true);
    expect(k.pages.refcount[h]).toBe(1);
    k.pages.freePages(h, T1, 3);
    expect(k.pages.isAllocated(h)).toBe(false);
  });

  it('dropping the last reference of a mapped page is illegal (FREE of a mapped page)', () => {
    const p = k.pages.alloc(0, true, T1);
    k.pages.mapPte(p, T1);
    expect(k.pages.isMapped(p)).toBe(true);
    const v = violation(() => k.pages.put(p, T1));
    expect(v.invariant).toBe('illegal-transition');
    expect(v.message).toMatch(/FREE/);
    expect(k.pages.isAllocated(p)).toBe(true);
  });

  it('dropping the last reference of a locked page is illegal', () => {
    const p = k.pages.alloc(0, true, T1);
    k.lockPage(p, T1);
    expect(violation(() => k.pages.put(p, T1)).message).toMatch(/FREE/);
    expect(k.pages.isAllocated(p)).toBe(true);
  });

  it('mapcount drives MAP_FIRST / MAP / UNMAP / UNMAP_LAST; pmd maps count on the head', () => {
    const h = k.pages.alloc(3, true, T1);
    k.pages.mapPmd(h, T1);
    k.pages.mapPte(h + 2, T1);
    expect(k.pages.pageMapcount(h + 2)).toBe(2);
    expect(k.pages.pageMapcount(h + 3)).toBe(1);
    expect(k.pages.pageMapcount(h)).toBe(1);
    k.pages.mapPmd(h, T1);
    expect(k.pages.mapcount[h]).toBe(2);
    k.pages.unmapPmd(h, T1);
    expect(k.pages.isMapped(h)).toBe(true);
    k.pages.unmapPmd(h, T1);
    expect(k.pages.isMapped(h)).toBe(false);
    expect(violation(() => k.pages.unmapPte(h, T1)).invariant).toBe('illegal-transition');
  });
});

describe('page locks', () => {
  it('lock / unlock by the holder; the lock is recorded as held', () => {
    const p = k.pages.alloc(0, true, T1);
    k.lockPage(p, T1);
    expect(k.pages.isLocked(p)).toBe(true);
    expect(k.pageLockHolder.get(p)).toBe(T1);
    expect(k.heldBy(T1)).toEqual([`page_lock(${hex(p)})`]);
    expect(k.trylockPage(p, T2)).toBe(false);
    k.unlockPage(p, T1);
    expect(k.pages.isLocked(p)).toBe(false);
    expect(k.heldBy(T1)).toEqual([]);
    expect(k.trylockPage(p, T2)).toBe(true);
    expect(k.pageLockHolder.get(p)).toBe(T2);
  });

  it('unlock by another actor throws lock-holder and leaves the page locked', () => {
    const p = k.pages.alloc(0, true, T1);
    k.lockPage(p, T1);
    const v = violation(() => k.unlockPage(p, T2));
    expect(v.invariant).toBe('lock-holder');
    expect(v.message).toContain('T2');
    expect(v.message).toContain('T1');
    expect(k.pages.isLocked(p)).toBe(true);
    expect(k.pageLockHolder.get(p)).toBe(T1);
  });

  it('unlock of an unlocked page is illegal', () => {
    const p = k.pages.alloc(0, true, T1);
    const v = violation(() => k.unlockPage(p, T1));
    expect(v.invariant).toBe('illegal-transition');
    expect(v.message).toMatch(/UNLOCK/);
    expect(violation(() => k.pages.clearLocked(p, T1)).invariant).toBe('illegal-transition');
  });

  it('locking a free page or locking twice is illegal', () => {
    const p = k.pages.alloc(0, true, T1);
    k.pages.put(p, T1);
    expect(violation(() => k.lockPage(p, T1)).invariant).toBe('illegal-transition');
    const q = k.pages.alloc(0, true, T1);
    k.lockPage(q, T1);
    expect(violation(() => k.pages.setLocked(q, T2)).invariant).toBe('illegal-transition');
  });
});

describe('data tokens', () => {
  it('a zeroed alloc holds zeroes; a fresh non-zeroed alloc holds garbage', () => {
    const z = k.pages.alloc(0, true, T1);
    expect(k.pages.data[z]).toBe(DATA_ZERO);
    const g = k.pages.alloc(0, false, T1);
    expect(k.pages.data[g]).toBe(DATA_GARBAGE);
    const h = k.pages.alloc(3, false, T1);
    for (let t = h; t < h + 8; t++) expect(k.pages.data[t]).toBe(DATA_GARBAGE);
  });

  it('a non-zeroed realloc of a written page keeps stale data or garbage, never zeroes', () => {
    const mm = k.createMm('mm', -1);
    const p = k.pages.alloc(0, true, T1);
    const token = k.write(mm, 5, p, T1);
    expect(token).toBeGreaterThan(0);
    expect(k.pages.data[p]).toBe(token);
    expect(k.read(mm, 5, p, T1)).toBe(token);
    expect(k.expectedAt(mm, 5)).toBe(token);
    expect(k.expectedAt(mm, 6)).toBe(DATA_ZERO);
    k.pages.put(p, T1);
    const q = k.pages.alloc(0, false, T2);
    expect(q).toBe(p);
    expect(k.pages.data[q]).not.toBe(DATA_ZERO);
    expect([token, DATA_GARBAGE]).toContain(k.pages.data[q]);
    // and a zeroed realloc clears it
    k.pages.put(q, T2);
    expect(k.pages.alloc(0, true, T2)).toBe(p);
    expect(k.pages.data[p]).toBe(DATA_ZERO);
  });

  it('tokens are fresh on every write', () => {
    const mm = k.createMm('mm', -1);
    const p = k.pages.alloc(0, true, T1);
    const a = k.write(mm, 0, p, T1);
    const b = k.write(mm, 0, p, T1);
    expect(b).not.toBe(a);
    expect(k.pages.data[p]).toBe(b);
  });
});

describe('sysfs', () => {
  it('defaults scale with HPAGE_PMD_NR', () => {
    const d = defaultSysfs(8);
    expect(d.khugepaged).toMatchObject({ max_ptes_none: 7, max_ptes_swap: 1, max_ptes_shared: 4, pages_to_scan: 64 });
    expect(defaultSysfs(512).khugepaged).toMatchObject({ max_ptes_none: 511, max_ptes_swap: 64, max_ptes_shared: 256, pages_to_scan: 4096 });
    expect(d).toMatchObject({ enabled: 'always', defrag: 'madvise', use_zero_page: 1 });
    expect(k.sysfs).toEqual(d);
  });

  it('checkSysfs accepts the defaults and the kernel range limits', () => {
    for (const nr of [2, 8, 64, 512]) expect(checkSysfs(defaultSysfs(nr), nr)).toBeNull();
    const s = defaultSysfs(8);
    s.khugepaged.max_ptes_none = 7;
    s.khugepaged.max_ptes_swap = 7;
    s.khugepaged.max_ptes_shared = 7;
    expect(checkSysfs(s, 8)).toBeNull();
  });

  it('checkSysfs rejects pages_to_scan 0', () => {
    const s = defaultSysfs(8);
    s.khugepaged.pages_to_scan = 0;
    expect(checkSysfs(s, 8)).toMatch(/pages_to_scan/);
  });

  it('checkSysfs rejects max_ptes_none / max_ptes_swap / max_ptes_shared > HPAGE_PMD_NR - 1', () => {
    for (const f of ['max_ptes_none', 'max_ptes_swap', 'max_ptes_shared'] as const) {
      const s = defaultSysfs(8);
      s.khugepaged[f] = 8;
      expect(checkSysfs(s, 8)).toMatch(new RegExp(f));
    }
  });

  // KNOWN BUG (minor): defaultSysfs() computes max_ptes_swap as HPAGE_PMD_NR / 8 without
  // the kernel's integer division, so for the schema-allowed HPAGE_PMD_NR 2 and 4 the
  // default is 0.25 / 0.5 — a value the scenario schema itself (int) would reject.
  it('defaults are integers for every HPAGE_PMD_NR the scenario schema allows', () => {
    for (let nr = 2; nr <= 512; nr *= 2) {
      for (const [f, v] of Object.entries(defaultSysfs(nr).khugepaged)) {
        expect(Number.isInteger(v), `NR ${nr}: ${f} = ${v}`).toBe(true);
      }
    }
  });
});

describe('AddressSpace / Inode', () => {
  it('an inode starts with i_size pages of holes', () => {
    const ino = new Inode(3, 'f', true, 16);
    expect(ino.i_size).toBe(16);
    expect(ino.shmem).toBe(true);
    expect(ino.alloced).toBe(0);
    expect(ino.swapped).toBe(0);
    expect(ino.mapping.id).toBe(3);
    expect(ino.mapping.slots.length).toBe(16);
    expect([...ino.mapping.slots].every((s) => s === SLOT_HOLE)).toBe(true);
    expect(ino.mapping.lookup(0)).toBe(SLOT_HOLE);
    expect(ino.mapping.lookup(1000)).toBe(SLOT_HOLE);
    expect(ino.mapping.nrpages).toBe(0);
    expect(ino.mapping.treeLock.free).toBe(true);
    expect(ino.mapping.iMmap.writeFree).toBe(true);
  });

  it('Kernel.createInode numbers inodes in order', () => {
    const a = k.createInode('a', false, 4);
    const b = k.createInode('b', true, 8);
    expect([a.id, b.id]).toEqual([0, 1]);
    expect(k.inodes).toEqual([a, b]);
  });

  it('slots hold pfns, holes or swap entries, told apart', () => {
    const as = new AddressSpace(0, 'x', 4);
    as.slots[0] = 0; // pfn 0 is a page, not a hole
    as.slots[1] = 42;
    as.slots[2] = swapEntry(0);
    expect(as.lookup(0)).toBe(0);
    expect(isSwapEntry(as.lookup(0))).toBe(false);
    expect(isSwapEntry(as.lookup(1))).toBe(false);
    expect(isSwapEntry(as.lookup(2))).toBe(true);
    expect(swapOffset(as.lookup(2))).toBe(0);
    expect(isSwapEntry(as.lookup(3))).toBe(false);
    expect(as.lookup(3)).toBe(SLOT_HOLE);
    expect(swapEntry(0)).not.toBe(SLOT_HOLE);
  });

  it('swap entry encoding round-trips and never collides with a pfn or a hole', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 30 }), (off) => {
        const e = swapEntry(off);
        expect(isSwapEntry(e)).toBe(true);
        expect(swapOffset(e)).toBe(off);
        expect(e).toBeLessThan(SLOT_HOLE);
        expect(isSwapEntry(off)).toBe(false);
      }),
      { numRuns: 200, seed: 7 },
    );
    expect(isSwapEntry(SLOT_HOLE)).toBe(false);
  });

  it('radix-tree tags', () => {
    const as = new AddressSpace(0, 'x', 8);
    expect(as.tagged(3, 'dirty')).toBe(false);
    as.tag(3, 'dirty');
    as.tag(4, 'towrite');
    expect(as.tagged(3, 'dirty')).toBe(true);
    expect(as.tagged(3, 'towrite')).toBe(false);
    as.untag(3, 'dirty');
    expect(as.tagged(3, 'dirty')).toBe(false);
    expect(as.tagged(4, 'towrite')).toBe(true);
    as.untag(5, 'writeback'); // untagging an untagged index is harmless
  });
});

describe('PageStore: the state hash view', () => {
  it('beyond nr every page array still holds its initial fill, so hashing the pages in use loses nothing', async () => {
    const { loadScenario } = await import('../src/scenario/load.ts');
    const { run } = await import('../src/sched/run.ts');
    for (const file of ['examples/zero-page-read-faults.yaml', 'examples/collapse-shmem-vs-truncate.yaml', 'examples/madvise-collapse-two-callers.yaml']) {
      const s = await loadScenario(file);
      for (let seed = 1; seed <= 20; seed++) {
        const p = run(s, { seed }).kernel.pages;
        expect(p.nr).toBeGreaterThan(0);
        for (const [name, fill] of [['state', PAGE_CHART.initial], ['flags', 0], ['refcount', 0], ['mapcount', 0], ['pmdMapcount', 0], ['order', 0], ['head', 0], ['mapping', 0], ['index', 0], ['data', 0], ['lru', -1]] as const) {
          const a = p[name] as ArrayLike<number>;
          for (let i = p.nr; i < a.length; i++) if (a[i] !== fill) expect.fail(`${file} seed ${seed}: ${name}[${i}] = ${a[i]} beyond nr ${p.nr}`);
        }
        // the hash reads every field of the pages in use, and nothing beyond them
        const digest = () => {
          const h = new StateHasher();
          p.hashState(h);
          return h.digest();
        };
        const was = digest();
        for (const name of ['state', 'flags', 'refcount', 'mapcount', 'pmdMapcount', 'order', 'head', 'mapping', 'index', 'data', 'lru'] as const) {
          const a = p[name];
          for (const [pfn, counts] of [[p.nr, false], [p.nr - 1, true]] as const) {
            const old = a[pfn]!;
            a[pfn] = old === 7 ? 8 : 7;
            if (counts) expect(digest(), `${name} of a page in use`).not.toBe(was);
            else expect(digest(), `${name} beyond nr`).toBe(was);
            a[pfn] = old;
          }
          expect(digest()).toBe(was);
        }
      }
    }
  });
});
