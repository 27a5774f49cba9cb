/**
 * Corrections of findings on seed 001 (huge tmpfs recovery, patch 24/31 as posted), each as
 * the series itself later made it. The default runs the seed as posted.
 */
import type { Variant } from '../registry.ts';

/**
 * Finding: migrate_page_move_mapping() composes PageSwapBacked (from the old page) onto the
 * team head, which is already PageTeam; when the head was mapped, remove_migration_ptes()'s
 * page_add_file_rmap() counts its pte in team_usage (inc_team_pte_mapped: the head is
 * PageTeam and the team has pages counted), and populate's next pass, seeing account_head,
 * counts it again in the rmap dance — team_pte_mapped one too high for as long as the team
 * lives (team invariant: team_usage's low part). Fix (patch 29/31, "huge tmpfs recovery:
 * page migration call back into shmem"): MIGRATE_SHMEM_RECOVERY — migrate_page_move_mapping
 * calls shmem_recovery_migrate_page() under the tree lock with the old page frozen, which
 * enteams the new page at once (no cache reference: its split reference serves), so no
 * account_head, no migrated_head, and no extra pass "to SetPageTeam on them".
 *
 * The same fix closes a second finding: between that migration and the next pass the head
 * holds its split reference beside the cache's; if the team is disbanded then (reclaim's
 * shmem_writepage swapping the head out), shmem_disband_hugetails() drops a "half
 * recovered" tail's extra reference but never the head's, and the head is leaked once the
 * cache lets it go (accounting).
 */
export const shmemRecoveryMigratePage: Variant = {
  name: 'shmem_recovery_migrate_page',
  kind: 'fix',
  description: 'migrate_page_move_mapping enteams the migrated page itself (MIGRATE_SHMEM_RECOVERY, shmem_recovery_migrate_page): no account_head',
};

/**
 * Finding: shmem_recovery_populate() marks the team PageChecked ("complete and ready for
 * pmd mapping") once shmem_freeholes() is 0, without looking at the pages. When a racing
 * fault or write(2) filled the last hole in place (shmem_hugeteam_lookup's team page,
 * counted by shmem_add_to_page_cache under the tree lock), that page is not yet cleared or
 * Uptodate — shmem_getpage_gfp does that in a later step, still holding the page lock — so
 * a team with a page of garbage is published as ready (team invariant: a PageChecked team
 * has every page present and Uptodate). No later patch of the series addresses it; the fix
 * modelled (inferred) is what shmem_populate_hugeteam() does for the huge fault: set
 * PageChecked only after a pass that found every page PageTeam, PageUptodate and PageDirty,
 * going round again (whose shmem_getpage_gfp waits on the page lock) otherwise.
 */
export const shmemRecoveryCheckUptodate: Variant = {
  name: 'shmem_recovery_check_uptodate',
  kind: 'fix',
  description: 'recovery sets PageChecked only after a pass that found every team page PageTeam, Uptodate and Dirty (inferred)',
};

/**
 * Finding: shmem_getpage_gfp(SGP_TEAM) is never checked against i_size (patch 07: the
 * checks are for sgp <= SGP_CACHE). A truncation that empties the extent after
 * shmem_work_still_useful() said yes leaves recovery instantiating pages wholly beyond
 * i_size — through shmem_hugeteam_lookup's SHMEM_ALLOC_HUGE_PAGE even a second team of its
 * own, which it then detects as "two teams ... for the same area" and abandons, leaving
 * the page cached (truncation invariant). Fix (patch 27/31, "huge tmpfs recovery: tweak
 * shmem_getpage_gfp to fill team", its i_size part): SGP_TEAM is checked like SGP_CACHE with
 * the offset rounded down to the huge page, -EINVAL beyond.
 */
export const shmemGetpageTeamEof: Variant = {
  name: 'shmem_getpage_team_eof',
  kind: 'fix',
  description: 'shmem_getpage_gfp(SGP_TEAM) returns -EINVAL for an extent that starts at or beyond i_size (patch 27)',
};

/**
 * Finding (the series' shmem_getpage_gfp, patch 04, which seed 001 builds on): "Perhaps the
 * file has been truncated since we checked" deletes the page only "if (alloced &&
 * !PageTeam(page))". A fault (or recovery's SGP_TEAM) that instantiated a team page in an
 * extent a racing truncation had already passed leaves it in the page cache wholly beyond
 * i_size, and nothing removes it (truncation). Fix (inferred): shmem_disband_hugeteam(page)
 * first, then delete it as any other page; if the disband cannot be done (its head locked
 * by another), as posted.
 */
export const shmemGetpageDisbandTruncated: Variant = {
  name: 'shmem_getpage_disband_truncated',
  kind: 'fix',
  description: 'shmem_getpage_gfp disbands the team of a page it instantiated beyond a racing truncation, then deletes it (inferred)',
};

/**
 * Finding on shmem_getpage_disband_truncated (this model's inferred fix above): where the
 * disband cannot be done — shmem_disband_hugeteam's trylock_page(head) fails, another task
 * holding the head (a fault beyond EOF disbanding the same team, a truncation) — the page is
 * left "as posted": cached beyond i_size. The holder disbands the team but deletes only its
 * own page, so nothing removes this one (examples/team-fault-disband-truncated-trylock.yaml:
 * a complete search of 282,535 states, 32 steps). Fix (inferred): unlock the page, wait for
 * it again (lock_page: the holder is done with the head), and check again — the page is then
 * truncated, or no longer PageTeam and deleted, or its team still there and disbanded anew.
 */
export const shmemGetpageDisbandTruncatedRetry: Variant = {
  name: 'shmem_getpage_disband_truncated_retry',
  kind: 'fix',
  description: 'shmem_getpage_disband_truncated, and where the disband finds the head locked: unlock the page, lock it again and check again, until the page is deleted (inferred)',
};
