/**
 * The object charts (struct page, pmd entry, mm_struct, huge tmpfs team head): the transitions the charts
 * name as legal, and the illegal commands the model must refuse — checked in the
 * compiled next-table (-1 = illegal) and through the XState machine built from the
 * same definition.
 */
import { describe, expect, it } from 'vitest';
import { getInitialSnapshot } from 'xstate';
import { type PageEvent, PAGE_EVENTS, pageChart } from '../machines/page.ts';
import { type PmdEvent, PMD_EVENTS, pmdChart } from '../machines/pmd.ts';
import { MM_EVENTS, mmChart } from '../machines/mm_struct.ts';
import { type TeamHeadEvent, TEAM_HEAD_EVENTS, teamHeadChart } from '../machines/team_head.ts';
import { ObjectChartError, compileObjectChart } from '../src/engine/object_chart.ts';
import { harness } from './helpers/object_harness.ts';

describe('page chart', () => {
  const h = harness(pageChart);
  const c = h.chart;
  const A: PageEvent[] = ['ALLOC'];

  it('compiles to 7 two-state regions with every event owned by one region', () => {
    expect(c.regionNames).toEqual(['alloc', 'lock', 'ref', 'lru', 'uptodate', 'dirty', 'mapped']);
    expect(c.nStates).toBe(128);
    expect(c.next.length).toBe(PAGE_EVENTS.length * 128);
    expect(c.eventRegion[c.eventIndex.GET]).toBe('ref');
    expect(c.eventRegion[c.eventIndex.FREE]).toBe('alloc');
    expect(c.eventRegion[c.eventIndex.MAP_FIRST]).toBe('mapped');
    expect(c.value(c.initial)).toEqual({
      alloc: 'free', lock: 'unlocked', ref: 'live', lru: 'isolated',
      uptodate: 'not_uptodate', dirty: 'clean', mapped: 'unmapped',
    });
    expect(getInitialSnapshot(h.machine).value).toEqual(c.value(c.initial));
    for (let s = 0; s < c.nStates; s++) expect(c.encode(c.value(s))).toBe(s);
  });

  it('ALLOC from free; FREE when unmapped, unlocked, live and isolated returns to the initial state', () => {
    const s = h.legal([], 'ALLOC', { alloc: 'allocated' });
    expect(h.legal(A, 'FREE')).toBe(c.initial);
    h.illegal(A, 'ALLOC');
    expect(s).not.toBe(c.initial);
  });

  it('LOCK / UNLOCK', () => {
    h.legal(A, 'LOCK', { lock: 'locked' });
    h.legal([...A, 'LOCK'], 'UNLOCK', { lock: 'unlocked' });
    h.illegal([...A, 'LOCK'], 'LOCK');
  });

  it('FREEZE / UNFREEZE', () => {
    h.legal(A, 'FREEZE', { ref: 'frozen' });
    h.legal([...A, 'FREEZE'], 'UNFREEZE', { ref: 'live' });
    h.illegal(A, 'UNFREEZE');
    h.illegal([...A, 'FREEZE'], 'FREEZE');
    h.illegal([], 'FREEZE');
  });

  it('GET / PUT on a live allocated page are self-transitions', () => {
    const s = h.reach(A);
    expect(h.legal(A, 'GET')).toBe(s);
    expect(h.legal(A, 'PUT')).toBe(s);
    h.illegal([], 'GET');
    h.illegal([], 'PUT');
  });

  it('LRU_ADD / ISOLATE', () => {
    h.legal(A, 'LRU_ADD', { lru: 'on_lru' });
    h.legal([...A, 'LRU_ADD'], 'ISOLATE', { lru: 'isolated' });
    h.illegal(A, 'ISOLATE');
    h.illegal([...A, 'LRU_ADD'], 'LRU_ADD');
    h.illegal([...A, 'FREEZE'], 'LRU_ADD');
    h.illegal([], 'LRU_ADD');
  });

  it('MAP_FIRST / MAP / UNMAP / UNMAP_LAST', () => {
    const m = h.legal(A, 'MAP_FIRST', { mapped: 'mapped' });
    expect(h.legal([...A, 'MAP_FIRST'], 'MAP')).toBe(m);
    expect(h.legal([...A, 'MAP_FIRST'], 'UNMAP')).toBe(m);
    expect(h.legal([...A, 'MAP_FIRST'], 'UNMAP_LAST')).toBe(h.reach(A));
    h.illegal(A, 'MAP');
    h.illegal(A, 'UNMAP');
    h.illegal(A, 'UNMAP_LAST');
    h.illegal([...A, 'MAP_FIRST'], 'MAP_FIRST');
    h.illegal([], 'MAP_FIRST');
    // a frozen page may lose mappings but not gain them
    h.illegal([...A, 'MAP_FIRST', 'FREEZE'], 'MAP');
    h.legal([...A, 'MAP_FIRST', 'FREEZE'], 'UNMAP_LAST');
  });

  it('uptodate / dirty flags need an allocated page to be set, and may be cleared when clear', () => {
    h.legal(A, 'SET_UPTODATE', { uptodate: 'uptodate' });
    h.legal([...A, 'SET_UPTODATE'], 'CLEAR_UPTODATE', { uptodate: 'not_uptodate' });
    h.legal(A, 'SET_DIRTY', { dirty: 'dirty' });
    h.legal([...A, 'SET_DIRTY'], 'CLEAR_DIRTY', { dirty: 'clean' });
    h.illegal([], 'SET_UPTODATE');
    h.illegal([], 'SET_DIRTY');
    h.legal([], 'CLEAR_DIRTY');
  });

  it('illegal: GET on a frozen page', () => h.illegal([...A, 'FREEZE'], 'GET'));
  it('illegal: PUT on a frozen page', () => h.illegal([...A, 'FREEZE'], 'PUT'));
  it('illegal: UNLOCK of an unlocked page', () => {
    h.illegal(A, 'UNLOCK');
    h.illegal([], 'UNLOCK');
  });
  it('illegal: FREE of a mapped page', () => h.illegal([...A, 'MAP_FIRST'], 'FREE'));
  it('illegal: FREE of a locked page', () => h.illegal([...A, 'LOCK'], 'FREE'));
  it('illegal: FREE of an on-LRU page', () => h.illegal([...A, 'LRU_ADD'], 'FREE'));
  it('illegal: FREE of a frozen page', () => h.illegal([...A, 'FREEZE'], 'FREE'));
  it('illegal: FREE of a free page', () => h.illegal([], 'FREE'));
  it('illegal: LOCK of a free page', () => h.illegal([], 'LOCK'));
  it('illegal: MAP_FIRST of a frozen page', () => h.illegal([...A, 'FREEZE'], 'MAP_FIRST'));

  it('FREE becomes legal again once the blocking condition is undone', () => {
    h.legal([...A, 'MAP_FIRST', 'UNMAP_LAST', 'LOCK', 'UNLOCK', 'LRU_ADD', 'ISOLATE', 'FREEZE', 'UNFREEZE'], 'FREE', { alloc: 'free' });
  });

  it("XState's can() is false for the chart's legal but effect-free self-transitions (GET, PUT, MAP, UNMAP...)", () => {
    // Table: legal. XState: a transition is selected and the state is unchanged, but
    // snapshot.can() only counts transitions with a target or actions. So can() is not
    // a legality oracle for these object machines.
    const x = h.snap(h.reach([...A, 'MAP_FIRST']));
    for (const ev of ['GET', 'PUT', 'MAP', 'UNMAP', 'CLEAR_UPTODATE', 'CLEAR_DIRTY'] as const) {
      expect(h.xLegal(x, ev)).toBe(true);
      expect(h.xNoop(x, ev)).toBe(true);
      expect(x.can({ type: ev })).toBe(false);
    }
    expect(x.can({ type: 'UNMAP_LAST' })).toBe(true);
  });
});

describe('pmd chart', () => {
  const h = harness(pmdChart);
  const c = h.chart;

  it('compiles to one region of four states', () => {
    expect(c.regionNames).toEqual(['entry']);
    expect(c.regionStates[0]).toEqual(['none', 'pte_table', 'huge', 'huge_zero']);
    expect(c.nStates).toBe(4);
    expect(c.next.length).toBe(PMD_EVENTS.length * 4);
    expect(c.stateName(c.initial, 'entry')).toBe('none');
  });

  it('installs only over pmd_none', () => {
    h.legal([], 'PMD_POPULATE', { entry: 'pte_table' });
    h.legal([], 'SET_PMD_HUGE', { entry: 'huge' });
    h.legal([], 'SET_HUGE_ZERO', { entry: 'huge_zero' });
    for (const present of [['PMD_POPULATE'], ['SET_PMD_HUGE'], ['SET_HUGE_ZERO']] as PmdEvent[][]) {
      h.illegal(present, 'SET_HUGE_ZERO');
      h.illegal(present, 'SET_PMD_HUGE');
      h.illegal(present, 'PMD_POPULATE');
    }
  });

  it('illegal: SET_HUGE_ZERO over a present pmd (table entry is -1)', () => {
    for (const st of ['pte_table', 'huge', 'huge_zero']) {
      expect(c.next[c.eventIndex.SET_HUGE_ZERO * c.nStates + c.encode({ entry: st })]).toBe(-1);
    }
  });

  it('SPLIT_HUGE_ZERO from huge_zero; SPLIT_HUGE from huge', () => {
    h.legal(['SET_HUGE_ZERO'], 'SPLIT_HUGE_ZERO', { entry: 'pte_table' });
    h.legal(['SET_PMD_HUGE'], 'SPLIT_HUGE', { entry: 'pte_table' });
    h.illegal(['SET_PMD_HUGE'], 'SPLIT_HUGE_ZERO');
    h.illegal(['SET_HUGE_ZERO'], 'SPLIT_HUGE');
    h.illegal([], 'SPLIT_HUGE_ZERO');
    h.illegal(['PMD_POPULATE'], 'SPLIT_HUGE');
  });

  it('COW and write-protect', () => {
    h.legal(['SET_HUGE_ZERO'], 'COW_HUGE_ZERO', { entry: 'huge' });
    h.legal(['SET_PMD_HUGE'], 'COW_HUGE', { entry: 'huge' });
    h.legal(['SET_PMD_HUGE'], 'PMD_WRPROTECT', { entry: 'huge' });
    h.illegal(['SET_PMD_HUGE'], 'COW_HUGE_ZERO');
    h.illegal(['SET_HUGE_ZERO'], 'COW_HUGE');
    h.illegal(['SET_HUGE_ZERO'], 'PMD_WRPROTECT');
    h.illegal([], 'COW_HUGE');
  });

  it('PMDP_CLEAR from any present entry, never from none', () => {
    for (const p of [['PMD_POPULATE'], ['SET_PMD_HUGE'], ['SET_HUGE_ZERO']] as PmdEvent[][]) {
      expect(h.legal(p, 'PMDP_CLEAR')).toBe(c.initial);
    }
    h.illegal([], 'PMDP_CLEAR');
  });
});

describe('mm_struct chart', () => {
  const h = harness(mmChart);
  const c = h.chart;

  it('compiles to users × mmap_lock', () => {
    expect(c.regionNames).toEqual(['users', 'mmap_lock']);
    expect(c.nStates).toBe(9);
    expect(c.next.length).toBe(MM_EVENTS.length * 9);
    expect(c.value(c.initial)).toEqual({ users: 'live', mmap_lock: 'unlocked' });
  });

  it('read lock: DOWN_READ, nested DOWN_READ, UP_READ, UP_READ_LAST', () => {
    h.legal([], 'DOWN_READ', { mmap_lock: 'read_locked' });
    const r = h.reach(['DOWN_READ']);
    expect(h.legal(['DOWN_READ'], 'DOWN_READ')).toBe(r);
    expect(h.legal(['DOWN_READ'], 'UP_READ')).toBe(r);
    expect(h.legal(['DOWN_READ'], 'UP_READ_LAST')).toBe(c.initial);
    h.illegal([], 'UP_READ');
    h.illegal([], 'UP_READ_LAST');
  });

  it('write lock: DOWN_WRITE, UP_WRITE', () => {
    h.legal([], 'DOWN_WRITE', { mmap_lock: 'write_locked' });
    expect(h.legal(['DOWN_WRITE'], 'UP_WRITE')).toBe(c.initial);
    h.illegal(['DOWN_WRITE'], 'DOWN_WRITE');
    h.illegal(['DOWN_WRITE'], 'DOWN_READ');
    h.illegal(['DOWN_WRITE'], 'UP_READ_LAST');
  });

  it('illegal: UP_WRITE when unlocked', () => h.illegal([], 'UP_WRITE'));
  it('illegal: UP_WRITE when read-locked', () => h.illegal(['DOWN_READ'], 'UP_WRITE'));
  it('illegal: DOWN_WRITE when read-locked', () => h.illegal(['DOWN_READ'], 'DOWN_WRITE'));
  it('legal: MMPUT_LAST while khugepaged holds mmap_lock for read (exit_mmap runs without it)', () => {
    h.legal(['DOWN_READ'], 'MMPUT_LAST', { users: 'exiting', mmap_lock: 'read_locked' });
    h.legal(['DOWN_WRITE'], 'MMPUT_LAST', { users: 'exiting', mmap_lock: 'write_locked' });
  });

  it('life: MMPUT_LAST → exiting → EXIT_MMAP_DONE → exited; mm_count holders may still take mmap_lock', () => {
    h.legal([], 'MMPUT_LAST', { users: 'exiting' });
    h.legal(['MMPUT_LAST'], 'EXIT_MMAP_DONE', { users: 'exited', mmap_lock: 'unlocked' });
    h.illegal([], 'EXIT_MMAP_DONE');
    h.illegal(['MMPUT_LAST'], 'MMPUT_LAST');
    h.legal(['MMPUT_LAST'], 'DOWN_WRITE', { users: 'exiting', mmap_lock: 'write_locked' });
    h.legal(['MMPUT_LAST', 'EXIT_MMAP_DONE'], 'DOWN_READ', { users: 'exited', mmap_lock: 'read_locked' });
    h.illegal(['MMPUT_LAST', 'EXIT_MMAP_DONE'], 'MMPUT_LAST');
    h.illegal(['MMPUT_LAST', 'EXIT_MMAP_DONE'], 'EXIT_MMAP_DONE');
  });
});

describe('team head chart', () => {
  const h = harness(teamHeadChart);
  const c = h.chart;
  // recovery's path (shmem_recovery_work → shmem_recovery_populate) and a fault's (shmem_alloc_page)
  const PREPARED: TeamHeadEvent[] = ['PREPARE'];
  const EXPOSED: TeamHeadEvent[] = ['PREPARE', 'EXPOSE'];
  const FILLING: TeamHeadEvent[] = [...EXPOSED, 'ENTEAM_FIRST'];
  const COMPLETE: TeamHeadEvent[] = [...FILLING, 'ENTEAM', 'ENTEAM_LAST'];
  const DISBANDED: TeamHeadEvent[] = [...FILLING, 'DISBAND'];

  it('compiles to team × hugehole × checked, every event owned by one region, starting as no team', () => {
    expect(c.regionNames).toEqual(['team', 'hugehole', 'checked']);
    expect(c.regionStates).toEqual([
      ['none', 'prepared', 'exposed', 'filling', 'complete', 'disbanded'],
      ['untagged', 'tagged'],
      ['unchecked', 'checked'],
    ]);
    expect(c.nStates).toBe(24);
    expect(c.next.length).toBe(TEAM_HEAD_EVENTS.length * 24);
    expect(c.eventRegion[c.eventIndex.DISBAND_TAILS]).toBe('team');
    expect(c.eventRegion[c.eventIndex.TAG_HUGEHOLE]).toBe('hugehole');
    expect(c.eventRegion[c.eventIndex.SET_CHECKED]).toBe('checked');
    expect(c.value(c.initial)).toEqual({ team: 'none', hugehole: 'untagged', checked: 'unchecked' });
    expect(getInitialSnapshot(h.machine).value).toEqual(c.value(c.initial));
    for (let s = 0; s < c.nStates; s++) expect(c.encode(c.value(s))).toBe(s);
  });

  it('PREPARE from none; EXPOSE from none (a fault heads a team at once) or from prepared (recovery)', () => {
    h.legal([], 'PREPARE', { team: 'prepared' });
    h.legal([], 'EXPOSE', { team: 'exposed' });
    h.legal(PREPARED, 'EXPOSE', { team: 'exposed' });
  });

  it('ENTEAM_FIRST from exposed; ENTEAM stays filling; ENTEAM_LAST completes', () => {
    h.legal(EXPOSED, 'ENTEAM_FIRST', { team: 'filling' });
    expect(h.legal(FILLING, 'ENTEAM')).toBe(h.reach(FILLING));
    h.legal(FILLING, 'ENTEAM_LAST', { team: 'complete' });
    h.legal(['EXPOSE', 'ENTEAM_FIRST'], 'ENTEAM_LAST', { team: 'complete' });
  });

  it('DISBAND from exposed, filling and complete while unchecked', () => {
    for (const p of [EXPOSED, FILLING, COMPLETE]) h.legal(p, 'DISBAND', { team: 'disbanded', checked: 'unchecked' });
    h.legal([...COMPLETE, 'SET_CHECKED', 'CLEAR_CHECKED'], 'DISBAND', { team: 'disbanded' });
    // a tagged team disbands with its tag: the hugehole region is the address_space's to clear
    h.legal([...FILLING, 'TAG_HUGEHOLE'], 'DISBAND', { team: 'disbanded', hugehole: 'tagged' });
  });

  it('DISBAND_TAILS from prepared ("failed before even setting team head")', () => {
    h.legal(PREPARED, 'DISBAND_TAILS', { team: 'disbanded' });
  });

  it('a disbanded head heads a new team once reallocated: PREPARE or EXPOSE again', () => {
    h.legal(DISBANDED, 'PREPARE', { team: 'prepared' });
    h.legal(DISBANDED, 'EXPOSE', { team: 'exposed' });
    h.legal([...PREPARED, 'DISBAND_TAILS'], 'EXPOSE', { team: 'exposed' });
  });

  it('TAG_HUGEHOLE only once a page is instantiated (filling or complete); CLEAR_HUGEHOLE always', () => {
    h.legal(FILLING, 'TAG_HUGEHOLE', { hugehole: 'tagged' });
    h.legal(COMPLETE, 'TAG_HUGEHOLE', { hugehole: 'tagged' });
    const t = h.reach([...FILLING, 'TAG_HUGEHOLE']);
    expect(h.legal([...FILLING, 'TAG_HUGEHOLE'], 'TAG_HUGEHOLE')).toBe(t);
    h.legal([...FILLING, 'TAG_HUGEHOLE'], 'CLEAR_HUGEHOLE', { hugehole: 'untagged' });
    expect(h.legal(FILLING, 'CLEAR_HUGEHOLE')).toBe(h.reach(FILLING));
    expect(h.legal([], 'CLEAR_HUGEHOLE')).toBe(c.initial);
    for (const p of [[], PREPARED, DISBANDED] as TeamHeadEvent[][]) h.illegal(p, 'TAG_HUGEHOLE');
  });

  it('SET_CHECKED only on a complete team; CLEAR_CHECKED always', () => {
    h.legal(COMPLETE, 'SET_CHECKED', { checked: 'checked' });
    h.legal([...COMPLETE, 'SET_CHECKED'], 'CLEAR_CHECKED', { checked: 'unchecked' });
    // a second builder's SetPageChecked on a checked head changes nothing
    expect(h.legal([...COMPLETE, 'SET_CHECKED'], 'SET_CHECKED')).toBe(h.reach([...COMPLETE, 'SET_CHECKED']));
    expect(h.legal([], 'CLEAR_CHECKED')).toBe(c.initial);
    expect(h.legal(FILLING, 'CLEAR_CHECKED')).toBe(h.reach(FILLING));
    for (const p of [[], PREPARED, EXPOSED, DISBANDED] as TeamHeadEvent[][]) h.illegal(p, 'SET_CHECKED');
  });

  it('illegal: ENTEAM into a disbanded team', () => {
    for (const ev of ['ENTEAM_FIRST', 'ENTEAM', 'ENTEAM_LAST'] as const) h.illegal(DISBANDED, ev);
  });
  it('illegal: ENTEAM into a prepared team (not exposed yet)', () => {
    for (const ev of ['ENTEAM_FIRST', 'ENTEAM', 'ENTEAM_LAST'] as const) h.illegal(PREPARED, ev);
  });
  it('illegal: EXPOSE twice', () => {
    for (const p of [EXPOSED, FILLING, COMPLETE]) h.illegal(p, 'EXPOSE');
  });
  it('illegal: SET_CHECKED on an incomplete team', () => h.illegal(FILLING, 'SET_CHECKED'));
  it('illegal: DISBAND of a checked team (disband relies on ClearPageChecked first)', () => {
    h.illegal([...COMPLETE, 'SET_CHECKED'], 'DISBAND');
  });
  it('illegal: TAG_HUGEHOLE on an exposed team with no page counted', () => h.illegal(EXPOSED, 'TAG_HUGEHOLE'));
  it('illegal: DISBAND_TAILS after EXPOSE (a head already exposed disbands whole)', () => {
    for (const p of [['EXPOSE'], EXPOSED, FILLING, COMPLETE] as TeamHeadEvent[][]) h.illegal(p, 'DISBAND_TAILS');
  });
  it('illegal: DISBAND of a team never exposed; ENTEAM_FIRST twice; ENTEAM on a complete team', () => {
    h.illegal([], 'DISBAND');
    h.illegal(PREPARED, 'DISBAND');
    h.illegal(FILLING, 'ENTEAM_FIRST');
    h.illegal(COMPLETE, 'ENTEAM');
    h.illegal(COMPLETE, 'ENTEAM_LAST');
  });
});

describe('compileObjectChart rejects malformed charts', () => {
  it('an event no region handles', () => {
    expect(() => compileObjectChart({ id: 'x', events: ['A', 'B'], regions: { r: { initial: 's', states: { s: { on: { A: 's' } } } } } }))
      .toThrow(ObjectChartError);
  });
  it('an event handled by two regions', () => {
    expect(() => compileObjectChart({
      id: 'x', events: ['A'],
      regions: { r: { initial: 's', states: { s: { on: { A: 's' } } } }, q: { initial: 't', states: { t: { on: { A: 't' } } } } },
    })).toThrow(/both/);
  });
  it('a named (non state-in) guard', () => {
    expect(() => compileObjectChart({ id: 'x', events: ['A'], regions: { r: { initial: 's', states: { s: { on: { A: { target: 's', guard: 'g' } } } } } } }))
      .toThrow(/state-in/);
  });
  it('a guard on an unknown state', () => {
    expect(() => compileObjectChart({ id: 'x', events: ['A'], regions: { r: { initial: 's', states: { s: { on: { A: { target: 's', guard: { in: 'r.zz' } } } } } } } }))
      .toThrow(/unknown state/);
  });
});
