/**
 * Huge tmpfs teams (seed 001): the promises the series' code makes about a team, checked
 * on the pages each step's 'team', 'migrate' and 'cache' events touched, and on the whole
 * of every team at quiescence.
 *
 * - PageTeam on a page means a live team: its team_head() (by page->index) is aligned, is
 *   PageTeam and is exposed, filling or complete. The one exception is the window inside
 *   shmem_disband_hugeteam, between shmem_disband_hugehead (head no longer PageTeam) and
 *   shmem_disband_hugetails (tails' PageTeam cleared) — "the page's old team might be being
 *   disbanded, but its PageTeam not yet cleared" (shmem_recovery_populate) — allowed while
 *   the head is `disbanded`, never at quiescence; a head exposed again must find no tail
 *   still PageTeam.
 * - A member of a live team is never on a migrate list (populate enteams a team page, never
 *   isolates it), and a PageTeam page is never migrated away (unmap_and_move's -EBUSY, patch
 *   05). A page of a team being disbanded may be isolated by a racing populate: migration
 *   refuses it.
 * - A migration moves the page: the new page in the old one's cache slot, with its data;
 *   the old page's mapping NULL (move_to_new_page). Recovery migrates into the team page
 *   for the index: shmem_get_recovery_page's head + (page->index & (HPAGE_PMD_NR-1)).
 * - A complete team (ENTEAM_LAST) has all HPAGE_PMD_NR pages in place and PageTeam;
 *   PageChecked (SET_CHECKED) also promises them Uptodate, "ready for pmd mapping". (Not
 *   at ENTEAM_LAST: shmem_getpage_gfp makes a new page Uptodate after adding it.)
 * - At quiescence, team_usage counts exactly the team's instantiated pages in place (the
 *   migrated-in head of patch 24's account_head is uncounted only until the next pass),
 *   TEAM_MAPPING_COUNTER per huge pmd of the team above TEAM_COMPLETE, and TEAM_PTE_COUNTER
 *   per member mapped by ptes (team_pte_mapped) and TEAM_LRU_WEIGHT_ONE below;
 *   NR_SHMEM_FREEHOLES is the holes of the partly filled teams; and every offset of a huge
 *   mount's page cache holds what was last written there.
 */
import type { MonitorKind } from '../registry.ts';
import { pmdKind } from '../memory/mm.ts';
import type { Kernel } from '../memory/kernel.ts';
import { PageSwapBacked, PageTeam, shmemFreeholes, teamHead, teamState } from '../memory/team.ts';
import { hex } from '../memory/pages.ts';
import { SLOT_HOLE, isSwapEntry } from '../memory/address_space.ts';
import { fit } from './ghost.ts';
import type { StateVector } from '../vector/state_vector.ts';

const LIVE: ReadonlySet<string> = new Set(['exposed', 'filling', 'complete']);

/** Where a sorted array has (or would insert) x. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function slotName(slot: number): string {
  return slot === SLOT_HOLE ? 'a hole' : isSwapEntry(slot) ? 'a swap entry' : `page ${hex(slot)}`;
}

/** Why PageTeam page `p` is not a member of a live team, or null. `quiescent`: no disband can be in progress. */
function notLiveMember(k: Kernel, p: number, quiescent: boolean): string | null {
  const h = teamHead(k, p);
  if (h < 0 || (h & (k.HPAGE_PMD_NR - 1)) !== 0) {
    return `page ${hex(p)} is PageTeam at index ${k.pages.index[p]}, but team_head() gives ${hex(h)}, not an aligned head`;
  }
  const s = teamState(k, h);
  if (LIVE.has(s) && PageTeam(k, h)) return null;
  if (h !== p && s === 'disbanded' && !quiescent) return null; // shmem_disband_hugetails still to come
  return h === p
    ? `team head ${hex(h)} is PageTeam in team state ${s}`
    : `page ${hex(p)} is PageTeam but its team head ${hex(h)} is ${PageTeam(k, h) ? '' : 'not PageTeam, '}in team state ${s}`;
}

/** Why the complete team headed by `head` is not whole (each page in place, PageTeam, and Uptodate if asked), or null. */
function notWhole(k: Kernel, head: number, uptodate: boolean): string | null {
  const ino = k.inodes[k.pages.mapping[head]!];
  if (!ino) return `complete team ${hex(head)} has no mapping`;
  const first = k.pages.index[head]!;
  for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
    const p = head + i;
    const slot = ino.mapping.lookup(first + i);
    const what = `complete team ${hex(head)} of ${ino.name}: index ${first + i}`;
    if (slot !== p) return `${what} holds ${slotName(slot)}, not its team page ${hex(p)}`;
    if (!PageTeam(k, p)) return `${what}: page ${hex(p)} is not PageTeam`;
    if (uptodate && !k.pages.isUptodate(p)) return `${what}: page ${hex(p)} is not Uptodate, yet the head is PageChecked`;
  }
  return null;
}

/**
 * The pages on a migrate list (isolated, not yet moved or put back): a set, whose hash does
 * not depend on the order they were isolated in. In a world a search copies and hashes, a
 * column of the state vector (a mark per pfn, grown past the highest pfn isolated: its
 * length is no state — the marks not set are at the column's fill) and a count slot — no
 * state component; else a sorted array, the monitor's state, announced by `changed`.
 */
interface IsolatedPages {
  has(p: number): boolean;
  add(p: number): void;
  delete(p: number): void;
  /** The lowest pfn isolated, or -1. */
  first(): number;
  state: object | undefined;
}

function isolatedPages(sv: StateVector, changed: () => void): IsolatedPages {
  if (sv.plain) {
    const st = { isolated: [] as number[] };
    return {
      has(p) {
        const i = lowerBound(st.isolated, p);
        return i < st.isolated.length && st.isolated[i] === p;
      },
      add(p) {
        const i = lowerBound(st.isolated, p);
        if (st.isolated[i] !== p) {
          st.isolated.splice(i, 0, p);
          changed();
        }
      },
      delete(p) {
        const i = lowerBound(st.isolated, p);
        if (i < st.isolated.length && st.isolated[i] === p) {
          st.isolated.splice(i, 1);
          changed();
        }
      },
      first: () => (st.isolated.length ? st.isolated[0]! : -1),
      state: st,
    };
  }
  const count = sv.alloc(1, 'team: pages on a migrate list');
  let marks = new Uint8Array(64);
  const col = sv.addColumn('team: pages on a migrate list (a mark per pfn)', marks, 0);
  const has = (p: number) => p < marks.length && marks[p] === 1;
  return {
    has,
    add(p) {
      if (p < 0 || has(p)) return;
      if (p >= marks.length) sv.setColumn(col, (marks = fit(marks, p)));
      sv.putCol(col, p, 1);
      sv.put(count, sv.w[count]! + 1);
    },
    delete(p) {
      if (!has(p)) return;
      sv.putCol(col, p, 0);
      sv.put(count, sv.w[count]! - 1);
    },
    first() {
      if (sv.w[count] === 0) return -1;
      return marks.indexOf(1);
    },
    state: undefined,
  };
}

export const teamMonitor: MonitorKind = {
  name: 'team',
  description: 'huge tmpfs teams: PageTeam only in a live team, never on a migrate list; migration moves slot and data; complete teams are whole; team_usage, NR_SHMEM_FREEHOLES and a huge mount\'s data match at quiescence',
  create({ k, report, changed }) {
    const N = k.HPAGE_PMD_NR;
    const isolated = isolatedPages(k.sv, changed);
    // per step: the pages touched (deduplicated by `seen`, which holds the round number);
    // the moves [old, new, old's mapping, old's index, into a team (recovery) 1/0]; the
    // heads that became complete or PageChecked [head, PageChecked 1/0]
    const scratch = { touched: [] as number[], seen: new Uint32Array(64), round: 1, moves: [] as number[], whole: [] as number[] };
    const touch = (p: number) => {
      if (p < 0) return;
      if (p >= scratch.seen.length) scratch.seen = fit(scratch.seen, p);
      if (scratch.seen[p] !== scratch.round) {
        scratch.seen[p] = scratch.round;
        scratch.touched.push(p);
      }
    };
    k.bus.on('team').subscribe((e) => {
      touch(e.pfn);
      if (e.op === 'PREPARE' || e.op === 'EXPOSE') {
        // a new team starts with no member but its head
        for (let p = e.pfn + 1; p < e.pfn + N; p++) {
          if (PageTeam(k, p)) {
            report(`team head ${hex(e.pfn)}: ${e.op} while page ${hex(p)} of its extent is still PageTeam`, e.actor);
            return;
          }
        }
      } else if (e.op === 'ENTEAM_LAST') scratch.whole.push(e.pfn, 0);
      else if (e.op === 'SET_CHECKED') scratch.whole.push(e.pfn, 1);
    });
    k.bus.on('migrate').subscribe((e) => {
      if (e.op === 'isolate') {
        isolated.add(e.pfn);
        touch(e.pfn);
      } else if (e.op === 'putback') {
        isolated.delete(e.pfn);
        touch(e.pfn);
      } else if (e.op === 'move') {
        isolated.delete(e.pfn);
        touch(e.pfn);
        touch(e.newpfn);
        scratch.moves.push(e.pfn, e.newpfn, k.pages.mapping[e.pfn]!, k.pages.index[e.pfn]!, e.reason === 'shmem_recovery' ? 1 : 0);
      }
    });
    // (a page a cache event names matters at the step's end only if PageTeam then: one that
    // is not yet becomes a member in a team event of its own, which touches it)
    k.bus.on('cache').subscribe((e) => {
      if (e.old >= 0 && PageTeam(k, e.old)) touch(e.old);
      if (e.value >= 0 && PageTeam(k, e.value)) touch(e.value);
    });

    /** What is wrong with the move of `old` into `nu` (at the step's end), or null. */
    const badMove = (old: number, nu: number, ino0: number, index0: number, recovery: boolean): string | null => {
      const what = `migration of page ${hex(old)} into ${hex(nu)}`;
      if (PageTeam(k, old)) return `${what}: a PageTeam page migrated away from its team`;
      const inoId = ino0 >= 0 ? ino0 : k.pages.mapping[nu]!;
      const index = ino0 >= 0 ? index0 : k.pages.index[nu]!;
      const ino = k.inodes[inoId];
      if (!ino) return `${what}: the new page has no mapping`;
      const slot = ino.mapping.lookup(index);
      if (slot !== nu) return `${what}: ${ino.name} index ${index} holds ${slotName(slot)}, not the new page`;
      if (k.pages.mapping[nu] !== inoId || k.pages.index[nu] !== index) return `${what}: the new page's mapping and index are not the old page's`;
      if (k.pages.mapping[old] !== -1) return `${what}: the old page still has its mapping`;
      if (k.pages.data[nu] !== k.pages.data[old]) return `${what}: the new page holds data #${k.pages.data[nu]}, the old one #${k.pages.data[old]}`;
      if (recovery && ((nu - (index & (N - 1))) & (N - 1)) !== 0) return `${what}: not the team page for index ${index} (head + (index & (HPAGE_PMD_NR-1)))`;
      return null;
    };

    /** The first thing wrong with the teams once nothing runs, or null. */
    const quiescentProblem = (): string | null => {
      for (let p = 0; p < k.pages.nr; p++) {
        if (!PageTeam(k, p)) continue;
        const bad = notLiveMember(k, p, true);
        if (bad !== null) return bad;
      }
      const left = isolated.first();
      if (left >= 0) return `page ${hex(left)} was left isolated on a migrate list (never moved or put back)`;
      const T = k.T;
      let freeholes = 0;
      for (let h = 0; h < k.pages.nr; h += N) {
        const s = teamState(k, h);
        if (!LIVE.has(s)) continue;
        const ino = k.inodes[k.pages.mapping[h]!];
        if (!ino) return `team head ${hex(h)} is ${s} but has no mapping`;
        const first = k.pages.index[h]!;
        let instantiated = 0;
        for (let i = 0; i < N; i++) {
          const p = h + i;
          if (PageTeam(k, p) && PageSwapBacked(k, p) && ino.mapping.lookup(first + i) === p) instantiated++;
        }
        const u = k.pages.teamUsage[h]!;
        // up to TEAM_COMPLETE the upper part counts pages; above it, huge pmds of the team (TEAM_MAPPING_COUNTER each)
        const upper = Math.floor(u / T.PAGE_COUNTER);
        const counted = Math.min(upper, N);
        const what = `team ${hex(h)} of ${ino.name} (${s})`;
        if (counted !== instantiated) return `${what}: team_usage counts ${counted} pages but ${instantiated} are instantiated in place`;
        let pmds = 0;
        for (const mm of k.mms) for (const p of mm.pmds.values()) if (pmdKind(p.state) === 'huge' && p.pfn === h) pmds++;
        if (upper - counted !== pmds) return `${what}: team_usage counts ${upper - counted} huge pmd mapping(s) of the team but ${pmds} exist`;
        // the low part: TEAM_PTE_COUNTER per member mapped by ptes (team_pte_mapped), and the LRU weight
        let pteMapped = 0;
        for (let i = 0; i < N; i++) if (PageTeam(k, h + i) && k.pages.mapcount[h + i]! > 0) pteMapped++;
        const low = T.LRU_WEIGHT_ONE + pteMapped * T.PTE_COUNTER;
        if (u % T.PAGE_COUNTER !== low) {
          return `${what}: team_usage's low part is ${u % T.PAGE_COUNTER}, but ${pteMapped} member(s) are mapped by ptes: ${low} (team_pte_mapped + TEAM_LRU_WEIGHT_ONE)`;
        }
        const want = counted === 0 ? 'exposed' : counted >= N ? 'complete' : 'filling';
        if (s !== want) return `${what}: team_usage counts ${counted} pages, so the team should be ${want}`;
        if (s === 'filling') freeholes += shmemFreeholes(k, h);
        if (s === 'complete') {
          const w = notWhole(k, h, true);
          if (w !== null) return w;
        }
      }
      const nr = k.vmstat.get('nr_shmem_freeholes');
      if (nr !== freeholes) return `nr_shmem_freeholes is ${nr} but the partly filled teams have ${freeholes} holes`;
      for (const ino of k.inodes) {
        if (!ino.huge) continue;
        const slots = ino.mapping.slots;
        for (let index = 0; index < ino.mapping.nrSlots; index++) {
          const slot = slots[index]!;
          const want = ino.expected.get(index) ?? 0;
          const has = slot >= 0 ? k.pages.data[slot]! : isSwapEntry(slot) ? k.swapData(slot) : 0;
          if (has !== want) return `${ino.name} index ${index}: ${slotName(slot)} holds ${has === 0 ? 'zeroes' : `data #${has}`}, expected ${want === 0 ? 'zeroes' : `data #${want}`}`;
        }
      }
      return null;
    };

    /** The step's pages, moves and wholes dropped (`seen` marks of an older round from now on). */
    const forgetStep = () => {
      // (a length write is a runtime call, even of an empty array's: only when there is something to drop)
      if (scratch.touched.length !== 0) scratch.touched.length = 0;
      if (scratch.moves.length !== 0) scratch.moves.length = 0;
      if (scratch.whole.length !== 0) scratch.whole.length = 0;
      scratch.round++;
    };

    return {
      state: isolated.state,
      scratch,
      stepEnd() {
        let bad: string | null = null;
        for (const p of scratch.touched) {
          if (!k.pages.isAllocated(p) || !PageTeam(k, p)) continue;
          bad = notLiveMember(k, p, false);
          const h = teamHead(k, p);
          if (bad === null && isolated.has(p) && LIVE.has(teamState(k, h))) bad = `page ${hex(p)} is on a migrate list while a member of the live team ${hex(h)}`;
          if (bad !== null) break;
        }
        const m = scratch.moves;
        for (let i = 0; bad === null && i < m.length; i += 5) bad = badMove(m[i]!, m[i + 1]!, m[i + 2]!, m[i + 3]!, m[i + 4] === 1);
        const w = scratch.whole;
        for (let i = 0; bad === null && i < w.length; i += 2) bad = notWhole(k, w[i]!, w[i + 1] === 1);
        if (bad !== null) report(bad);
        forgetStep();
      },
      reset: forgetStep,
      quiescent() {
        const bad = quiescentProblem();
        if (bad !== null) report(bad);
      },
    };
  },
};
