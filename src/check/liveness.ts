/**
 * Liveness at quiescence (seed 003, issue 4): once nothing can run, every eligible,
 * aligned range whose file extent is a huge page in the page cache is pmd-mapped in every
 * mm that maps it — not left pte-mapped. A range where some pte maps a page that is not
 * the huge page's subpage (uprobe replaced it) cannot be collapsed and is exempt. Checked
 * only when the scenario asks (`liveness: true`): the property needs khugepaged to have
 * had its full scans. In P's terms this is a hot state: owed work at quiescence.
 *
 * A range whose retry is still recorded — its pmd in the mm's retry list (seed 003's
 * design b), or AS_COLLAPSE_PMD still set on its mapping (design a) — is owed to a
 * khugepaged that would act on it at its next visit, and is not reported: the kernel's
 * khugepaged runs for as long as the mm lives, the model's stops after `full_scans`. (The
 * exhaustive search finds schedules where a task holds mmap_lock for read across all of
 * khugepaged's last passes, so every down_write_trylock of the retry fails: a schedule
 * unfair to the task, not a lost range.) A range whose retry was dropped is reported.
 */
import type { MonitorKind } from '../registry.ts';
import { khugepagedVmaCheck } from '../../machines/khugepaged.ts';
import { PTE_NONE } from '../memory/mm.ts';
import type { Actor } from '../sched/actor.ts';

export const livenessPmdMappedMonitor: MonitorKind = {
  name: 'liveness-pmd-mapped',
  description: 'at quiescence (when asked): every eligible range backed by a huge page is pmd-mapped, not pte-mapped',
  create({ k, report }) {
    return {
      quiescent() {
        if (!k.liveness) return;
        const probe = { k } as Actor;
        for (const mm of k.mms) {
          if (mm.usersState() !== 'live') continue;
          for (const vma of mm.vmas) {
            if (vma.file < 0 || !khugepagedVmaCheck(probe, vma)) continue;
            const ino = k.inodes[vma.file]!;
            for (let base = Math.ceil(vma.start / k.HPAGE_PMD_NR) * k.HPAGE_PMD_NR; base + k.HPAGE_PMD_NR <= vma.end; base += k.HPAGE_PMD_NR) {
              const p = base / k.HPAGE_PMD_NR;
              if (mm.kindAt(p) !== 'pte_table') continue;
              if (mm.ptePmdRetry.has(p) || ino.mapping.flags.has('AS_COLLAPSE_PMD')) continue; // (owed, see above)
              const index = vma.pgoff + (base - vma.start);
              const v = ino.mapping.lookup(index);
              if (v < 0) continue;
              const h = k.pages.compoundHead(v);
              if (k.pages.order[h] !== k.HPAGE_PMD_ORDER || k.pages.index[h] !== index) continue;
              const ptes = mm.pmds.get(p)!.ptes;
              let foreign = false;
              for (let i = 0; i < k.HPAGE_PMD_NR; i++) if (ptes.at(i) !== PTE_NONE && ptes.at(i) !== h + i) foreign = true;
              if (foreign) continue;
              report(`${mm.name}:0x${(base * 4096).toString(16)} maps huge page 0x${h.toString(16)} of ${ino.name} by ptes, not by pmd, and nothing will retract its page table`);
              return;
            }
          }
        }
      },
    };
  },
};
