/**
 * /sys/kernel/mm/transparent_hugepage/ tunables with the kernel's names and defaults
 * (../shared/conventions.md). Defaults scale with HPAGE_PMD_NR.
 */
import { stringId } from '../vector/strings.ts';
import { VECTOR_BASE } from '../vector/state_vector.ts';
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

/** Settings by fingerprint (sysfsId): one frozen object for each content seen in the process. */
const byId = new Map<number, Sysfs>();

/**
 * The settings' fingerprint, a slot value of the state vector: the same for the same
 * content in every run and worker thread (the fingerprint of its text with the keys in a
 * fixed order, src/vector/strings.ts; two contents with one fingerprint are an error there).
 */
export function sysfsId(s: Sysfs): number {
  const id = stringId(canonical(s));
  if (!byId.has(id)) {
    // (marked as the vector's — it is what a slot's value stands for, and never changes: a
    // step's footprint takes the slot its getter reads, not this object)
    const settings = { ...s, khugepaged: Object.freeze({ ...s.khugepaged }) };
    Object.defineProperty(settings, VECTOR_BASE, { value: -1 });
    byId.set(id, Object.freeze(settings));
  }
  return id;
}

/** The settings a fingerprint stands for (frozen). */
export function sysfsOf(id: number): Sysfs {
  const s = byId.get(id);
  if (s === undefined) throw new Error(`sysfs: ${id} is no settings' fingerprint`);
  return s;
}

/** JSON with every object's keys sorted. */
function canonical(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
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
