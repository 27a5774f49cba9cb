/**
 * /sys/kernel/mm/transparent_hugepage/ tunables with the kernel's names and defaults
 * (../shared/conventions.md). Defaults scale with HPAGE_PMD_NR.
 */
export type ThpEnabled = 'always' | 'madvise' | 'never';
export type ThpDefrag = 'always' | 'defer' | 'defer+madvise' | 'madvise' | 'never';
export type ShmemEnabled = 'always' | 'within_size' | 'advise' | 'never' | 'deny' | 'force';

export interface KhugepagedTunables {
  pages_to_scan: number;
  scan_sleep_millisecs: number;
  alloc_sleep_millisecs: number;
  max_ptes_none: number;
  max_ptes_swap: number;
  max_ptes_shared: number;
  defrag: 0 | 1;
}

export interface Sysfs {
  enabled: ThpEnabled;
  defrag: ThpDefrag;
  use_zero_page: 0 | 1;
  shmem_enabled: ShmemEnabled;
  khugepaged: KhugepagedTunables;
}

export function defaultSysfs(hpagePmdNr: number): Sysfs {
  return {
    enabled: 'always',
    defrag: 'madvise',
    use_zero_page: 1,
    shmem_enabled: 'never',
    khugepaged: {
      pages_to_scan: hpagePmdNr * 8,
      scan_sleep_millisecs: 10000,
      alloc_sleep_millisecs: 60000,
      max_ptes_none: hpagePmdNr - 1,
      max_ptes_swap: Math.floor(hpagePmdNr / 8),
      max_ptes_shared: Math.floor(hpagePmdNr / 2),
      defrag: 1,
    },
  };
}

/** The kernel's own range checks on writes to these files; returns the problem or null. */
export function checkSysfs(s: Sysfs, hpagePmdNr: number): string | null {
  const k = s.khugepaged;
  if (k.pages_to_scan === 0) return 'khugepaged/pages_to_scan: 0 is invalid';
  if (k.max_ptes_none > hpagePmdNr - 1) return `khugepaged/max_ptes_none: more than HPAGE_PMD_NR - 1 (${hpagePmdNr - 1}) is invalid`;
  if (k.max_ptes_swap > hpagePmdNr - 1) return `khugepaged/max_ptes_swap: more than HPAGE_PMD_NR - 1 (${hpagePmdNr - 1}) is invalid`;
  if (k.max_ptes_shared > hpagePmdNr - 1) return `khugepaged/max_ptes_shared: more than HPAGE_PMD_NR - 1 (${hpagePmdNr - 1}) is invalid`;
  return null;
}
