/**
 * The huge tmpfs team monitors (seed 001) on teams built by hand through src/memory/team.ts:
 * `team` (PageTeam only in a live team, never on a migrate list; what a migration moves; a
 * complete team is whole; team_usage, NR_SHMEM_FREEHOLES and a huge mount's data at
 * quiescence), `recovery-terminates`, and the accounting monitor's view of teams. Each
 * check is shown quiet on a good state and reporting on a bad one.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { Kernel } from '../src/memory/kernel.ts';
import type { Inode } from '../src/memory/address_space.ts';
import { SLOT_HOLE } from '../src/memory/address_space.ts';
import { shmemAddedToHugeteam, shmemDisbandHugehead, shmemDisbandHugetails, teamCmd, teamMember, teamUsageSet } from '../src/memory/team.ts';
import type { MigrateBusEvent } from '../src/bus/events.ts';
import type { Monitor, MonitorKind } from '../src/registry.ts';
import { teamMonitor } from '../src/check/team.ts';
import { recoveryTerminatesMonitor } from '../src/check/recovery_liveness.ts';
import { accountingMonitor } from '../src/check/accounting.ts';

const T1 = 0;
const T2 = 1;
const N = 4;
let k: Kernel;
let ino: Inode;
let reports: string[];
let changes: number;
let team: Monitor;

function create(kind: MonitorKind): Monitor {
  return kind.create({ k, actors: [], report: (m) => reports.push(m), changed: () => changes++ });
}

beforeEach(() => {
  k = new Kernel({ hpagePmdNr: N });
  k.setActors(['T1', 'T2']);
  reports = [];
  changes = 0;
  ino = k.createInode('huge', true, 2 * N);
  ino.huge = true;
  team = create(teamMonitor);
});

/** shmem_alloc_page(SHMEM_ALLOC_HUGE_PAGE): split, the head PageTeam with mapping and index, its holes held by the team. */
function newTeam(index = 0): number {
  const head = k.pages.alloc(k.HPAGE_PMD_ORDER, false, T1, 'team');
  k.pages.splitPage(head, T1, 'team');
  teamCmd(k, head, 'EXPOSE', T1, k.T.LRU_WEIGHT_ONE);
  k.pages.mapping[head] = ino.id;
  k.pages.index[head] = index;
  return head;
}

/** Page `page` at its offset of the file, counted as the page cache counts it. */
function cacheAdd(page: number, index: number): void {
  k.pages.setFlag(page, 'swapbacked');
  k.pages.mapping[page] = ino.id;
  k.pages.index[page] = index;
  k.cacheSet(ino, index, page, T1);
  k.inodeAdd(ino, 'nrpages', 1, T1);
  k.inodeAdd(ino, 'alloced', 1, T1);
  k.count('nr_file_pages', 1, T1);
  k.count('nr_shmem', 1, T1);
}

/** shmem_add_to_page_cache of team page i (cleared; Uptodate unless asked not to), counted into its team. */
function instantiate(head: number, i: number, opts: { uptodate?: boolean; inCache?: boolean } = {}): number {
  const p = head + i;
  const index = k.pages.index[head]! + i;
  if (i) teamMember(k, p, true, T1);
  if (opts.inCache === false) {
    k.pages.setFlag(p, 'swapbacked');
    k.pages.mapping[p] = ino.id;
    k.pages.index[p] = index;
  } else cacheAdd(p, index);
  shmemAddedToHugeteam(k, ino, p, false, T1);
  k.setPageData(p, 0, 'clear', T1);
  if (opts.uptodate !== false) k.pages.setUptodate(p, T1);
  return p;
}

function fullTeam(): number {
  const head = newTeam();
  for (let i = 0; i < N; i++) instantiate(head, i);
  return head;
}

/** A small page (not a team page) at `index`, holding fresh data written there. */
function smallPage(index: number): number {
  const q = k.pages.alloc(0, false, T1);
  cacheAdd(q, index);
  const token = k.newToken();
  k.setPageData(q, token, 'fill', T1);
  k.setExpected(ino, index, token, T1);
  k.pages.setUptodate(q, T1);
  return q;
}

function migrate(op: MigrateBusEvent['op'], pfn: number, newpfn = -1): void {
  k.bus.publish({ kind: 'migrate', op, pfn, newpfn, reason: 'shmem_recovery', succeeded: 0, failed: 0, actor: T1 });
}

/** migrate_page_move_mapping + migrate_page_copy + move_to_new_page, the parts a bad migration skips left out. */
function move(old: number, nu: number, skip: { slot?: boolean; data?: boolean; oldMapping?: boolean } = {}): void {
  const index = k.pages.index[old]!;
  if (!skip.data) k.setPageData(nu, k.pages.data[old]!, 'copy', T1);
  k.pages.mapping[nu] = ino.id;
  k.pages.index[nu] = index;
  k.pages.setFlag(nu, 'swapbacked');
  if (!skip.slot) k.cacheSet(ino, index, nu, T1);
  if (!skip.oldMapping) k.pages.mapping[old] = -1;
  migrate('move', old, nu);
}

const stepEnd = () => team.stepEnd!();
const quiescent = (m: Monitor = team) => m.quiescent!();

describe('team monitor: a team built, filled, checked', () => {
  it('stays quiet through a fault-allocated team filled page by page, PageChecked, and at quiescence', () => {
    const head = newTeam();
    stepEnd();
    for (let i = 0; i < N; i++) {
      instantiate(head, i);
      stepEnd();
      quiescent();
    }
    teamCmd(k, head, 'SET_CHECKED', T1);
    stepEnd();
    quiescent();
    expect(k.vmstat.get('nr_shmem_hugepages')).toBe(1);
    expect(reports).toEqual([]);
  });
});

describe('team monitor: PageTeam only in a live team', () => {
  it('a tail made PageTeam under a head that was never exposed is reported', () => {
    const head = k.pages.alloc(k.HPAGE_PMD_ORDER, false, T1, 'team');
    k.pages.splitPage(head, T1, 'team');
    teamCmd(k, head, 'PREPARE', T1);
    stepEnd();
    expect(reports).toEqual([]);
    k.pages.index[head + 1] = 1;
    teamMember(k, head + 1, true, T1);
    stepEnd();
    expect(reports).toEqual([`page 0x${(head + 1).toString(16)} is PageTeam but its team head 0x${head.toString(16)} is not PageTeam, in team state prepared`]);
  });

  it('a PageTeam page whose index does not match its place in the extent is reported (team_head VM_BUG_ON)', () => {
    const head = newTeam();
    instantiate(head, 1);
    stepEnd();
    expect(reports).toEqual([]);
    k.pages.index[head + 1] = 2;
    k.cacheSet(ino, 2, head + 1, T1);
    stepEnd();
    expect(reports[0]).toMatch(/is PageTeam at index 2, but team_head\(\) gives .*, not an aligned head/);
  });

  it('tails still PageTeam between shmem_disband_hugehead and _hugetails are allowed per step, not at quiescence', () => {
    const head = fullTeam();
    stepEnd();
    shmemDisbandHugehead(k, ino, head, T1);
    migrate('isolate', head + 2); // a racing populate may isolate a page of a team being disbanded
    stepEnd();
    expect(reports).toEqual([]);
    quiescent();
    expect(reports).toEqual([`page 0x${(head + 1).toString(16)} is PageTeam but its team head 0x${head.toString(16)} is not PageTeam, in team state disbanded`]);
    reports.length = 0;
    shmemDisbandHugetails(k, head, T1);
    migrate('putback', head + 2);
    stepEnd();
    quiescent();
    expect(reports).toEqual([]);
  });

  it('a head exposed again while a tail of the old team is still PageTeam is reported at once', () => {
    const head = fullTeam();
    shmemDisbandHugehead(k, ino, head, T1);
    expect(reports).toEqual([]);
    teamCmd(k, head, 'EXPOSE', T1, k.T.LRU_WEIGHT_ONE);
    expect(reports).toEqual([`team head 0x${head.toString(16)}: EXPOSE while page 0x${(head + 1).toString(16)} of its extent is still PageTeam`]);
  });
});

describe('team monitor: migrate lists', () => {
  it('a member of a live team on a migrate list is reported; a small page is not', () => {
    const head = newTeam();
    instantiate(head, 0);
    const q = smallPage(1);
    migrate('isolate', q);
    stepEnd();
    expect(reports).toEqual([]);
    migrate('isolate', head);
    stepEnd();
    expect(reports).toEqual([`page 0x${head.toString(16)} is on a migrate list while a member of the live team 0x${head.toString(16)}`]);
  });

  it('a page never moved or put back is reported at quiescence', () => {
    const q = smallPage(N);
    migrate('isolate', q);
    stepEnd();
    quiescent();
    expect(reports).toEqual([`page 0x${q.toString(16)} was left isolated on a migrate list (never moved or put back)`]);
    reports.length = 0;
    migrate('putback', q);
    quiescent();
    expect(reports).toEqual([]);
  });

  it('the migrate list is kept sorted: two isolation orders leave one monitor state', () => {
    const other = create(teamMonitor);
    const a = smallPage(N);
    const b = smallPage(N + 1);
    migrate('isolate', b);
    migrate('isolate', a);
    expect(team.state).toEqual({ isolated: [a, b] });
    expect(other.state).toEqual({ isolated: [a, b] });
    expect(changes).toBe(4);
  });
});

describe('team monitor: what a migration moves', () => {
  for (const [what, skip, message] of [
    ['the cache slot left holding the old page', { slot: true }, /index 2 holds page .*, not the new page/],
    ['the data not copied', { data: true }, /the new page holds data #-1, the old one #\d+/],
    ["the old page's mapping kept", { oldMapping: true }, /the old page still has its mapping/],
  ] as const) {
    it(`a misplaced page migrated into its team hole is quiet; with ${what}, reported`, () => {
      const head = newTeam();
      instantiate(head, 0);
      const q = smallPage(1);
      migrate('isolate', q);
      stepEnd();
      move(q, head + 1);
      stepEnd();
      expect(reports).toEqual([]);
      // the next pass enteams it; the team is whole at quiescence, holding the data written
      teamMember(k, head + 1, true, T1);
      shmemAddedToHugeteam(k, ino, head + 1, false, T1);
      k.pages.setUptodate(head + 1, T1);
      stepEnd();
      quiescent();
      expect(reports).toEqual([]);

      const q2 = smallPage(2);
      migrate('isolate', q2);
      move(q2, head + 2, skip);
      stepEnd();
      expect(reports).toHaveLength(1);
      expect(reports[0]).toMatch(message);
    });
  }

  it('the move event before the old mapping is cleared, in the same step, is quiet', () => {
    const head = newTeam();
    instantiate(head, 0);
    const q = smallPage(1);
    migrate('isolate', q);
    k.setPageData(head + 1, k.pages.data[q]!, 'copy', T1);
    k.pages.mapping[head + 1] = ino.id;
    k.pages.index[head + 1] = 1;
    k.cacheSet(ino, 1, head + 1, T1);
    migrate('move', q, head + 1);
    k.pages.mapping[q] = -1;
    stepEnd();
    expect(reports).toEqual([]);
  });

  it('recovery migrating into a page not at the index\'s offset of the extent is reported', () => {
    const head = newTeam();
    instantiate(head, 0);
    const q = smallPage(1);
    migrate('isolate', q);
    move(q, head + 3);
    stepEnd();
    expect(reports).toEqual([`migration of page 0x${q.toString(16)} into 0x${(head + 3).toString(16)}: not the team page for index 1 (head + (index & (HPAGE_PMD_NR-1)))`]);
  });

  it('a PageTeam page migrated away is reported (unmap_and_move refuses it)', () => {
    const head = newTeam();
    instantiate(head, 0);
    const p = instantiate(head, 1);
    const hole = k.pages.alloc(0, false, T1);
    shmemDisbandHugehead(k, ino, head, T1); // being disbanded: isolating it is allowed
    migrate('isolate', p);
    stepEnd();
    expect(reports).toEqual([]);
    move(p, hole);
    stepEnd();
    expect(reports).toEqual([`migration of page 0x${p.toString(16)} into 0x${hole.toString(16)}: a PageTeam page migrated away from its team`]);
  });
});

describe('team monitor: a complete team is whole', () => {
  it('ENTEAM_LAST with a page not in its slot is reported', () => {
    const head = newTeam();
    for (let i = 0; i < N - 1; i++) instantiate(head, i);
    stepEnd();
    instantiate(head, N - 1, { inCache: false });
    stepEnd();
    expect(reports).toEqual([`complete team 0x${head.toString(16)} of huge: index ${N - 1} holds a hole, not its team page 0x${(head + N - 1).toString(16)}`]);
  });

  it('ENTEAM_LAST before the last page is Uptodate is quiet; SET_CHECKED then is not, nor quiescence', () => {
    const head = newTeam();
    for (let i = 0; i < N - 1; i++) instantiate(head, i);
    instantiate(head, N - 1, { uptodate: false });
    stepEnd();
    expect(reports).toEqual([]);
    teamCmd(k, head, 'SET_CHECKED', T1);
    stepEnd();
    const notUptodate = `complete team 0x${head.toString(16)} of huge: index ${N - 1}: page 0x${(head + N - 1).toString(16)} is not Uptodate`;
    expect(reports).toEqual([`${notUptodate}, yet the head is PageChecked`]);
    reports.length = 0;
    quiescent();
    expect(reports).toEqual([`${notUptodate}, yet the head is PageChecked`]);
  });
});

describe('team monitor: team_usage, NR_SHMEM_FREEHOLES and data at quiescence', () => {
  it("the migrated-in head not yet counted (patch 24's account_head) is quiet per step, reported at quiescence, quiet once counted", () => {
    const head = newTeam();
    const q = smallPage(0);
    migrate('isolate', q);
    move(q, head);
    stepEnd();
    expect(reports).toEqual([]);
    quiescent();
    expect(reports).toEqual([`team 0x${head.toString(16)} of huge (exposed): team_usage counts 0 pages but 1 are instantiated in place`]);
    reports.length = 0;
    shmemAddedToHugeteam(k, ino, head, false, T1);
    k.pages.setUptodate(head, T1);
    stepEnd();
    quiescent();
    expect(reports).toEqual([]);
    expect(k.vmstat.get('nr_shmem_freeholes')).toBe(N - 1);
  });

  it('a member mapped by a pte is counted once in team_usage (inc_team_pte_mapped), and the monitor agrees', () => {
    const head = newTeam();
    const p = instantiate(head, 1);
    k.pages.mapPte(p, T1); // page_add_file_rmap: the first mapping of a PageTeam page
    expect(k.pages.teamUsage[head]).toBe(k.T.PAGE_COUNTER + k.T.PTE_COUNTER + k.T.LRU_WEIGHT_ONE);
    k.pages.mapPte(p, T1); // not the first: no count
    expect(k.pages.teamUsage[head]).toBe(k.T.PAGE_COUNTER + k.T.PTE_COUNTER + k.T.LRU_WEIGHT_ONE);
    quiescent();
    expect(reports).toEqual([]);
    k.pages.unmapPte(p, T1);
    k.pages.unmapPte(p, T1); // the last: dec_team_pte_mapped
    expect(k.pages.teamUsage[head]).toBe(k.T.PAGE_COUNTER + k.T.LRU_WEIGHT_ONE);
  });

  it("team_usage's low part other than TEAM_LRU_WEIGHT_ONE plus the pte-mapped members is reported", () => {
    const head = newTeam();
    instantiate(head, 0);
    teamUsageSet(k, head, k.pages.teamUsage[head]! + 1, T1);
    quiescent();
    expect(reports).toEqual([`team 0x${head.toString(16)} of huge (filling): team_usage's low part is 2, but 0 member(s) are mapped by ptes: 1 (team_pte_mapped + TEAM_LRU_WEIGHT_ONE)`]);
  });

  it('team_usage written around the chart (an exposed team counting a page) is reported', () => {
    const head = newTeam();
    const q = smallPage(0);
    move(q, head);
    teamUsageSet(k, head, k.T.PAGE_COUNTER + k.T.LRU_WEIGHT_ONE, T1);
    quiescent();
    expect(reports).toEqual([`team 0x${head.toString(16)} of huge (exposed): team_usage counts 1 pages, so the team should be filling`]);
  });

  it('a live team head with no mapping is reported', () => {
    const head = newTeam();
    quiescent();
    expect(reports).toEqual([]);
    k.pages.mapping[head] = -1;
    quiescent();
    expect(reports).toEqual([`team head 0x${head.toString(16)} is exposed but has no mapping`]);
  });

  it('NR_SHMEM_FREEHOLES counts the holes of filling teams, none of an exposed one', () => {
    const filling = newTeam();
    instantiate(filling, 0);
    instantiate(filling, 2);
    newTeam(N); // exposed, nothing instantiated
    quiescent();
    expect(reports).toEqual([]);
    expect(k.vmstat.get('nr_shmem_freeholes')).toBe(N - 2);
    k.count('nr_shmem_freeholes', 1, T1);
    quiescent();
    expect(reports).toEqual([`nr_shmem_freeholes is ${N - 1} but the partly filled teams have ${N - 2} holes`]);
  });

  it("a huge mount's page, swap entry or hole holding other than the offset's data is reported", () => {
    const head = fullTeam();
    const entry = k.swapOut(77, T1);
    k.cacheSet(ino, N + 1, entry, T1);
    k.setExpected(ino, N + 1, 77, T1);
    quiescent();
    expect(reports).toEqual([]);
    k.setExpected(ino, N + 1, 78, T1);
    quiescent();
    expect(reports.pop()).toBe(`huge index ${N + 1}: a swap entry holds data #77, expected data #78`);
    k.setExpected(ino, N + 1, 77, T1);
    k.pages.data[head + 2] = 99;
    quiescent();
    expect(reports.pop()).toBe(`huge index 2: page 0x${(head + 2).toString(16)} holds data #99, expected zeroes`);
    k.pages.data[head + 2] = 0;
    expect(ino.mapping.lookup(N + 2)).toBe(SLOT_HOLE);
    k.setExpected(ino, N + 2, 5, T1);
    quiescent();
    expect(reports).toEqual([`huge index ${N + 2}: a hole holds zeroes, expected data #5`]);
  });
});

describe('recovery-terminates', () => {
  const pass = (actor: number, op: 'pass' | 'end' = 'pass') =>
    k.bus.publish({ kind: 'recovery', op, ino: ino.id, index: 0, head: -1, result: op === 'end' ? 'completed' : '', actor });

  it('allows HPAGE_PMD_NR + 2 passes per recovery, per actor; one more is reported', () => {
    const m = create(recoveryTerminatesMonitor);
    for (let i = 0; i < N + 2; i++) pass(T1);
    pass(T2);
    expect(reports).toEqual([]);
    pass(T1, 'end');
    for (let i = 0; i < N + 2; i++) pass(T1);
    expect(reports).toEqual([]);
    expect(m.state).toEqual({ passes: Int32Array.from([N + 2, 1]) });
    pass(T1);
    expect(reports).toEqual([`shmem_recovery_populate of huge index 0 begins pass ${N + 3}: more than HPAGE_PMD_NR + 2 (${N + 2}), so a pass went round again without filling a hole`]);
  });
});

describe('accounting with teams', () => {
  it("a partly filled team's holes are held by the team, not leaked; a complete team counts in nr_shmem_hugepages", () => {
    const acct = create(accountingMonitor);
    const head = newTeam();
    instantiate(head, 0);
    quiescent(acct);
    expect(reports).toEqual([]);
    for (let i = 1; i < N; i++) instantiate(head, i);
    expect(k.vmstat.get('nr_shmem_hugepages')).toBe(1);
    quiescent(acct);
    expect(reports).toEqual([]);
  });

  it("holes left when a team's head is disbanded and its tails are not are leaked", () => {
    const acct = create(accountingMonitor);
    const head = newTeam();
    instantiate(head, 0);
    shmemDisbandHugehead(k, ino, head, T1);
    quiescent(acct);
    expect(reports).toEqual([`page 0x${(head + 1).toString(16)} is allocated but nothing maps, caches or holds it: leaked`]);
  });
});
