/**
 * The head page of a huge tmpfs team (seed 001, Hugh Dickins' 2016 "huge tmpfs" series)
 * as a statechart of its own, beside the struct page chart that the same pfn also runs.
 *
 * A team is a huge page split into HPAGE_PMD_NR small pages (split_page), each placed
 * in the page cache at its own offset of one aligned extent. team_head(page) is
 * page - (page->index & (HPAGE_PMD_NR-1)); the head carries the team's state:
 * PageTeam, head->mapping and head->index, head->team_usage (instantiated-page counter
 * and LRU weight), PageChecked once recovery found the team complete and ready for a pmd
 * mapping, and the SHMEM_TAG_HUGEHOLE radix-tree tag that lets the huge-hole shrinker
 * take its holes. The seed's awkwardness lives here: the head "needs PageTeam and
 * mapping and index set even before it is instantiated ... but must not be confused with
 * an instantiated team page until PageSwapBacked is set" — the `exposed` state.
 *
 *   none ──PREPARE──▶ prepared ──EXPOSE──▶ exposed ──ENTEAM_FIRST──▶ filling ──ENTEAM_LAST──▶ complete
 *     │                  │                   │                       │  ENTEAM ↺               │
 *     └────EXPOSE────────┼───────────────────┘                       │                        │
 *                        └─DISBAND_TAILS─▶ disbanded ◀──DISBAND──────┴────────────────────────┘
 *
 * Commands the model does not draw are illegal (a violation): enteaming into a team
 * that was disbanded, SetPageChecked on an incomplete team, tagging a team with no
 * instantiated page, exposing a head twice.
 */
import type { ObjectChartDef } from '../src/engine/object_chart.ts';
import type { GuardRef } from '../src/engine/chart.ts';

export const TEAM_HEAD_EVENTS = [
  'PREPARE', 'EXPOSE', 'ENTEAM_FIRST', 'ENTEAM', 'ENTEAM_LAST', 'DISBAND', 'DISBAND_TAILS',
  'TAG_HUGEHOLE', 'CLEAR_HUGEHOLE',
  'SET_CHECKED', 'CLEAR_CHECKED',
] as const;
export type TeamHeadEvent = (typeof TEAM_HEAD_EVENTS)[number];

const instantiated: GuardRef = { or: [{ in: 'team.filling' }, { in: 'team.complete' }] };
// "Warning: this optimization relies on disband's ClearPageChecked" (shmem_recovery_populate)
const disband = { target: 'disbanded', guard: { in: 'checked.unchecked' } };

export const teamHeadChart: ObjectChartDef<TeamHeadEvent> = {
  id: 'team_head',
  description: 'huge tmpfs team head: prepared → exposed (PageTeam) → filling → complete (team_usage ≥ TEAM_COMPLETE), disbanded; SHMEM_TAG_HUGEHOLE; PageChecked',
  events: TEAM_HEAD_EVENTS,
  regions: {
    team: {
      initial: 'none',
      description: 'PageTeam(head) and head->team_usage: how far the team is built',
      states: {
        none: {
          description: 'not a team head',
          on: {
            // shmem_recovery_work: alloc_pages_vma(HPAGE_PMD_ORDER); split_page; get_page(head)
            PREPARE: 'prepared',
            // shmem_alloc_page(SHMEM_ALLOC_HUGE_PAGE): a fault allocates, splits and heads a team at once
            EXPOSE: 'exposed',
          },
        },
        prepared: {
          description: 'split by recovery, not yet PageTeam (recovery->exposed_team false)',
          on: {
            // shmem_recovery_populate: SetPageTeam(head); head->mapping, head->index; team_usage = TEAM_LRU_WEIGHT_ONE
            EXPOSE: 'exposed',
            // "Failed before even setting team head": shmem_disband_hugetails(head)
            DISBAND_TAILS: 'disbanded',
          },
        },
        exposed: {
          description: 'PageTeam, mapping and index set; no page counted in team_usage yet',
          on: {
            // shmem_added_to_hugeteam: team_usage += TEAM_PAGE_COUNTER (the first)
            ENTEAM_FIRST: 'filling',
            DISBAND: disband,
          },
        },
        filling: {
          description: 'some pages instantiated and counted (team_usage ≥ TEAM_PAGE_COUNTER)',
          on: {
            ENTEAM: 'filling',
            // team_usage reaches TEAM_COMPLETE: the tag is cleared, NR_SHMEM_HUGEPAGES++
            ENTEAM_LAST: 'complete',
            DISBAND: disband,
          },
        },
        complete: {
          description: 'all HPAGE_PMD_NR pages instantiated (team_usage ≥ TEAM_COMPLETE)',
          on: { DISBAND: disband },
        },
        disbanded: {
          description: 'shmem_disband_hugeteam cleared PageTeam: the pages are small pages again',
          on: {
            // the pfn heads a new team once reallocated
            PREPARE: 'prepared',
            EXPOSE: 'exposed',
          },
        },
      },
    },
    hugehole: {
      initial: 'untagged',
      description: 'SHMEM_TAG_HUGEHOLE on the team in the page cache: the huge-hole shrinker may take its holes',
      states: {
        untagged: {
          on: {
            TAG_HUGEHOLE: { target: 'tagged', guard: instantiated },
            CLEAR_HUGEHOLE: {},
          },
        },
        tagged: {
          on: {
            TAG_HUGEHOLE: { guard: instantiated },
            CLEAR_HUGEHOLE: 'untagged',
          },
        },
      },
    },
    checked: {
      initial: 'unchecked',
      description: 'PageChecked(head): recovery found the team complete and ready for pmd mapping',
      states: {
        unchecked: {
          on: {
            SET_CHECKED: { target: 'checked', guard: { in: 'team.complete' } },
            CLEAR_CHECKED: {},
          },
        },
        // SetPageChecked on a checked head is a no-op (two builders may both finish it)
        checked: { on: { CLEAR_CHECKED: 'unchecked', SET_CHECKED: {} } },
      },
    },
  },
};
