/**
 * "Counters match the state", checked once the system is quiescent (the kernel updates
 * them in steps of their own, so they may lag within a fault): mm->nr_ptes against the
 * page tables that exist, MM_ANONPAGES against the anonymous pages mapped, the LRU
 * counters against the pages on each list, and no page left allocated that nothing can
 * reach (a leak).
 */
import type { MonitorKind } from '../registry.ts';
import { PTE_NONE, pmdKind } from '../memory/mm.ts';
import { LRU_LISTS } from '../memory/pages.ts';
import { teamState } from '../memory/team.ts';

/** Team states in which the team holds its extent's pages, holes included (split_page's references). */
const TEAM_HOLDS: ReadonlySet<string> = new Set(['prepared', 'exposed', 'filling', 'complete']);

export const accountingMonitor: MonitorKind = {
  name: 'accounting',
  description: 'at quiescence: nr_ptes, rss, LRU, shmem and page-cache counters match the state (huge tmpfs: complete teams are huge pages); every allocated page is reachable (a team holds its holes)',
  create({ k, report }) {
    return {
      quiescent() {
        const reachable = new Uint8Array(k.pages.nr);
        reachable[k.ZERO_PAGE] = 1;
        const markCompound = (head: number) => {
          reachable.fill(1, head, head + (1 << k.pages.order[head]!));
        };
        if (k.huge_zero_pfn) markCompound(k.huge_zero_pfn);
        for (const ino of k.inodes) for (const slot of ino.mapping.slots) if (slot >= 0) markCompound(k.pages.compoundHead(slot));
        // huge tmpfs teams (seed 001): a team holds its holes; a complete one on a huge mount
        // counts in NR_SHMEM_HUGEPAGES as a compound page does (shmem_added_to_hugeteam)
        let completeTeams = 0;
        for (let h = 0; h < k.pages.nr; h += k.HPAGE_PMD_NR) {
          const s = teamState(k, h);
          if (!TEAM_HOLDS.has(s)) continue;
          reachable.fill(1, h, h + k.HPAGE_PMD_NR);
          if (s === 'complete' && k.inodes[k.pages.mapping[h]!]?.huge) completeTeams++;
        }
        for (const mm of k.mms) {
          let tables = 0;
          let anon = 0;
          let shmem = 0;
          let file = 0;
          const isFile = (pfn: number) => k.pages.mapping[k.pages.compoundHead(pfn)]! >= 0;
          const count = (pfn: number, n: number) => {
            if (k.mmCounterFile(pfn) === 'MM_SHMEMPAGES') shmem += n;
            else file += n;
          };
          for (const p of mm.pmds.values()) {
            const kind = pmdKind(p.state);
            tables += p.deposited;
            if (kind === 'pte_table') {
              tables++;
              for (const pfn of p.ptes) {
                if (pfn === PTE_NONE || pfn === k.ZERO_PAGE) continue;
                if (isFile(pfn)) count(pfn, 1);
                else anon++;
                markCompound(k.pages.compoundHead(pfn));
              }
            } else if (kind === 'huge') {
              if (isFile(p.pfn)) count(p.pfn, k.HPAGE_PMD_NR);
              else anon += k.HPAGE_PMD_NR;
              markCompound(p.pfn);
            }
          }
          if (mm.nr_ptes !== tables) report(`mm ${mm.name}: nr_ptes is ${mm.nr_ptes} but ${tables} page tables exist`);
          if (mm.rss.MM_ANONPAGES !== anon) report(`mm ${mm.name}: MM_ANONPAGES is ${mm.rss.MM_ANONPAGES} but ${anon} anonymous pages are mapped`);
          if (mm.rss.MM_SHMEMPAGES !== shmem) report(`mm ${mm.name}: MM_SHMEMPAGES is ${mm.rss.MM_SHMEMPAGES} but ${shmem} shmem pages are mapped`);
          if (mm.rss.MM_FILEPAGES !== file) report(`mm ${mm.name}: MM_FILEPAGES is ${mm.rss.MM_FILEPAGES} but ${file} file pages are mapped`);
        }
        // shmem: info->alloced and info->swapped; NR_FILE_PAGES, NR_SHMEM, NR_SHMEM_THPS, NR_FILE_THPS
        let filePages = 0;
        let shmemPages = 0;
        let shmemHuge = 0;
        let fileHuge = 0;
        for (const ino of k.inodes) {
          let pages = 0;
          let swapped = 0;
          let huge = 0;
          for (const slot of ino.mapping.slots) {
            if (slot >= 0) {
              pages++;
              if (k.pages.order[slot]! > 0) huge++;
            } else if (slot <= -2) swapped++;
          }
          filePages += pages;
          if (ino.shmem) {
            shmemPages += pages;
            shmemHuge += huge;
          } else fileHuge += huge;
          if (ino.mapping.nrpages !== pages) report(`${ino.name}: mapping->nrpages is ${ino.mapping.nrpages} but ${pages} pages are in the page cache`);
          if (!ino.shmem) continue;
          if (ino.swapped !== swapped) report(`${ino.name}: info->swapped is ${ino.swapped} but ${swapped} swap entries are in the page cache`);
          if (ino.alloced !== pages + swapped) report(`${ino.name}: info->alloced is ${ino.alloced} but ${pages} pages + ${swapped} swap entries are in the page cache`);
        }
        for (const [item, want] of [['nr_file_pages', filePages], ['nr_shmem', shmemPages], ['nr_shmem_hugepages', shmemHuge + completeTeams], ['nr_file_hugepages', fileHuge]] as const) {
          if (k.vmstat.get(item) !== want) report(`${item} is ${k.vmstat.get(item)} but the page cache holds ${want}`);
        }
        const onList = LRU_LISTS.map(() => 0);
        for (let pfn = 0; pfn < k.pages.nr; pfn++) {
          const l = k.pages.lru[pfn]!;
          if (l >= 0) onList[l]! += 1 << k.pages.order[pfn]!;
        }
        for (const [i, item] of LRU_LISTS.entries()) {
          if (k.vmstat.get(item) !== onList[i]) report(`${item} is ${k.vmstat.get(item)} but ${onList[i]} pages are on that LRU list`);
        }
        for (let pfn = 0; pfn < k.pages.nr; pfn++) {
          if (!reachable[pfn] && k.pages.isAllocated(pfn)) {
            const h = k.pages.compoundHead(pfn);
            report(`page 0x${pfn.toString(16)}${h !== pfn ? ` (tail of 0x${h.toString(16)})` : ''} is allocated but nothing maps, caches or holds it: leaked`);
            return;
          }
        }
      },
    };
  },
};
