/**
 * Build-time configuration of the modelled kernel (its Kconfig), fixed for a run: the
 * scenario's `config:`. Defaults are the kernel's own (an option without a `default`
 * line in its Kconfig entry is n).
 */
export interface Kconfig {
  /**
   * CONFIG_READ_ONLY_THP_FOR_FS (mm/Kconfig, v5.4 on: "Read-only THP for filesystems
   * (EXPERIMENTAL)", no default, so n): khugepaged and MADV_COLLAPSE may collapse the
   * page cache of a regular file mapped VM_EXEC and not open for write
   * (file_thp_enabled()). Off, hugepage_vma_check() refuses such a VMA: khugepaged
   * never registers or scans it, and MADV_COLLAPSE fails with EINVAL.
   */
  READ_ONLY_THP_FOR_FS: boolean;
}

export function defaultKconfig(): Kconfig {
  return { READ_ONLY_THP_FOR_FS: false };
}
