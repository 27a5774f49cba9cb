/**
 * The page fault a task's load or store takes (handle_mm_fault, v3.8-era mm/memory.c and
 * mm/huge_memory.c with the seeds' shmem paths): routing on the pmd and the VMA,
 * do_huge_pmd_anonymous_page with the huge zero page (seed 004), do_huge_pmd_wp_page and
 * its fallback, the pte-level do_anonymous_page / do_wp_page, and the file faults
 * (shmem_fault, filemap_fault). Split out of machines/task.ts by kernel function.
 */
import { type StateDef, final, step } from '../src/engine/chart.ts';
import type { TaskAction, TaskGuard } from '../src/engine/task_chart.ts';
import { PTE_NONE, VM, pmdKind } from '../src/memory/mm.ts';
import { filemapGetpageStates, getPageRef, putPageRef } from './shmem.ts';
import { shmemFaultStates } from './shmem_fault.ts';
import { getHugeZeroPageStates } from './huge_zero_page.ts';
import { putHugeZeroPage, splitHugePmd } from './huge_pmd_split.ts';
import { khugepagedEnterVma } from './khugepaged.ts';
import { type A, mmOf, pmdIndex } from './task_mm.ts';

const pmdState = (a: A) => pmdKind(mmOf(a).pmdAt(pmdIndex(a)).state);

function thpEligible(a: A): boolean {
  const mm = mmOf(a);
  const vma = mm.findVma(a.l.vpn);
  if (!vma) return false;
  const s = a.k.sysfs.enabled;
  if (vma.flags & VM.NOHUGEPAGE) return false;
  if (s === 'never' || (s === 'madvise' && !(vma.flags & VM.HUGEPAGE))) return false;
  const start = pmdIndex(a) * a.k.HPAGE_PMD_NR;
  return start >= vma.start && start + a.k.HPAGE_PMD_NR <= vma.end;
}

/** pmd_same(*pmd, orig_pmd). */
function pmdSame(a: A): boolean {
  const p = mmOf(a).pmdAt(pmdIndex(a));
  return p.state === a.l.orig_pmd_state && p.pfn === a.l.orig_pmd_pfn;
}

/** The reference a just-allocated page carries belongs to the task until mapped. */
function allocPage(a: A, order: number, zeroed: boolean): number {
  const pfn = a.k.pages.alloc(order, zeroed, a.ix, a.id);
  a.k.pages.setFlag(pfn, 'swapbacked'); // anonymous: __SetPageSwapBacked in page_add_new_anon_rmap
  return pfn;
}

/** do_huge_pmd_anonymous_page() as posted in seed 004. */
function doHugePmdAnonymousPage(): StateDef {
  return {
    meta: { kernel: 'do_huge_pmd_anonymous_page' },
    initial: 'route',
    states: {
      route: { always: [{ guard: 'readFaultUseZeroPage', target: 'pte_alloc_one' }, { target: 'alloc_hugepage' }] },
      pte_alloc_one: step('do_huge_pmd_anonymous_page: pgtable = pte_alloc_one(mm, haddr)', [
        { guard: 'injectedFailure', actions: 'faultOom', target: 'returned' },
        { actions: 'pteAllocOne', target: 'get_huge_zero_page' },
      ], { inject: 'pte_alloc_one', sleeps: 'alloc_pages' }),
      get_huge_zero_page: {
        ...getHugeZeroPageStates(),
        onDone: [{ guard: 'noZeroPfn', target: 'zero_fallback' }, { target: 'spin_lock' }],
      },
      zero_fallback: step('do_huge_pmd_anonymous_page: pte_free(mm, pgtable); count_vm_event(THP_FAULT_FALLBACK); goto out', {
        actions: ['pteFree', 'countFaultFallback', 'fallback'], target: 'returned',
      }),
      spin_lock: step('do_huge_pmd_anonymous_page: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'set_huge_zero_page',
      }),
      set_huge_zero_page: step('set_huge_zero_page(pgtable, mm, vma, haddr, pmd, zero_pfn)', {
        actions: 'setHugeZeroPage', target: 'spin_unlock',
      }),
      spin_unlock: step('do_huge_pmd_anonymous_page: spin_unlock(&mm->page_table_lock); return 0', {
        actions: ['unlockPtl', 'faultOk'], target: 'returned',
      }),
      alloc_hugepage: step('do_huge_pmd_anonymous_page: page = alloc_hugepage_vma(...)', [
        { guard: 'injectedFailure', actions: ['countFaultFallback', 'fallback'], target: 'returned' },
        { actions: ['allocNewHugePage', 'countFaultAlloc'], target: 'clear_huge_page' },
      ], { inject: 'alloc_huge_page', sleeps: 'alloc_pages' }),
      clear_huge_page: step('__do_huge_pmd_anonymous_page: clear_huge_page(page, haddr, HPAGE_PMD_NR)', {
        actions: 'clearNewHugePage', target: 'pte_alloc_one_w',
      }),
      pte_alloc_one_w: step('__do_huge_pmd_anonymous_page: pgtable = pte_alloc_one(mm, haddr)', [
        { guard: 'injectedFailure', actions: ['putNewPage', 'faultOom'], target: 'returned' },
        { actions: 'pteAllocOne', target: 'spin_lock_w' },
      ], { inject: 'pte_alloc_one', sleeps: 'alloc_pages' }),
      spin_lock_w: step('__do_huge_pmd_anonymous_page: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'set_pmd',
      }),
      set_pmd: step('__do_huge_pmd_anonymous_page: if (!pmd_none(*pmd)) ... else set_pmd_at()', [
        { guard: 'pmdPresent', target: 'lost_unlock' },
        { actions: 'mapNewHugePmd', target: 'spin_unlock' },
      ]),
      lost_unlock: step('__do_huge_pmd_anonymous_page: spin_unlock(&mm->page_table_lock)', {
        actions: 'unlockPtl', target: 'lost_release',
      }),
      lost_release: step('__do_huge_pmd_anonymous_page: put_page(page); pte_free(mm, pgtable)', {
        actions: ['putNewPage', 'pteFree', 'faultOk'], target: 'returned',
      }),
      returned: final,
    },
  };
}

/** do_huge_pmd_wp_page(): a write to a write-protected huge pmd (the huge zero page, or shared after fork). */
function doHugePmdWpPage(): StateDef {
  return {
    meta: { kernel: 'do_huge_pmd_wp_page' },
    initial: 'spin_lock',
    states: {
      spin_lock: step('do_huge_pmd_wp_page: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'check',
      }),
      check: step('do_huge_pmd_wp_page: pmd_same? huge zero? page_mapcount(page) == 1 → reuse; else get_page(page)', [
        { guard: { not: 'pmdSame' }, actions: ['unlockPtl', 'faultOk'], target: 'returned' },
        { guard: 'origPmdIsHugeZero', actions: 'unlockPtl', target: 'alloc' },
        { guard: 'hugePageExclusive', actions: ['reuseHugePmd', 'unlockPtl', 'faultOk'], target: 'returned' },
        { actions: ['getOrigHugePage', 'unlockPtl'], target: 'alloc' },
      ]),
      alloc: step('do_huge_pmd_wp_page: new_page = alloc_hugepage_vma(...)', [
        { guard: { and: ['injectedFailure', 'origPmdIsHugeZero'] }, actions: 'countFaultFallback', target: 'zero_fallback' },
        { guard: 'injectedFailure', actions: ['countFaultFallback', 'putOrigHugePage'], target: 'split_fallback' },
        { actions: ['allocNewHugePage', 'countFaultAlloc'], target: 'copy' },
      ], { inject: 'alloc_huge_page', sleeps: 'alloc_pages' }),
      copy: step('do_huge_pmd_wp_page: clear_huge_page() for the zero page, copy_user_huge_page() otherwise', {
        actions: 'copyIntoNewHugePage', target: 'spin_lock2',
      }),
      spin_lock2: step('do_huge_pmd_wp_page: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: ['lockPtl', 'putOrigHugePage'], target: 'replace',
      }),
      replace: step('do_huge_pmd_wp_page: pmd_same? pmdp_clear_flush; page_add_new_anon_rmap; set_pmd_at', [
        { guard: { not: 'pmdSame' }, actions: 'unlockPtl', target: 'lost_release' },
        { guard: 'origPmdIsHugeZero', actions: 'cowHugeZeroPmd', target: 'put_huge_zero_page' },
        { actions: 'cowHugePmd', target: 'spin_unlock' },
      ]),
      put_huge_zero_page: putHugeZeroPage('spin_unlock'),
      spin_unlock: step('do_huge_pmd_wp_page: spin_unlock(&mm->page_table_lock)', {
        actions: ['unlockPtl', 'faultOk'], target: 'returned',
      }),
      lost_release: step('do_huge_pmd_wp_page: put_page(new_page); goto out', {
        actions: ['putNewPage', 'faultOk'], target: 'returned',
      }),
      zero_fallback: doHugePmdWpZeroPageFallback(),
      split_fallback: { ...splitHugePmd(), onDone: 'fallback_done' },
      fallback_done: { always: { actions: 'faultOk', target: 'returned' } },
      returned: final,
    },
    onDone: undefined,
  };
}

/** do_huge_pmd_wp_zero_page_fallback(): one new small page, the rest of the range → ZERO_PAGE ptes. */
function doHugePmdWpZeroPageFallback(): StateDef {
  return {
    meta: { kernel: 'do_huge_pmd_wp_zero_page_fallback' },
    initial: 'alloc_page',
    onDone: 'returned',
    states: {
      alloc_page: step('do_huge_pmd_wp_zero_page_fallback: page = alloc_page_vma(); clear_user_highpage()', [
        { guard: 'injectedFailure', actions: 'faultOom', target: 'done' },
        { actions: 'allocNewSmallPage', target: 'spin_lock' },
      ], { inject: 'alloc_page', sleeps: 'alloc_pages' }),
      spin_lock: step('do_huge_pmd_wp_zero_page_fallback: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'populate',
      }),
      populate: step('do_huge_pmd_wp_zero_page_fallback: pmdp_clear_flush; ptes → ZERO_PAGE and the new page; pmd_populate', [
        { guard: { not: 'pmdSame' }, actions: ['unlockPtl', 'putNewPage', 'faultOk'], target: 'done' },
        { actions: 'wpZeroPageFallbackPopulate', target: 'put_huge_zero_page' },
      ]),
      put_huge_zero_page: putHugeZeroPage('spin_unlock'),
      spin_unlock: step('do_huge_pmd_wp_zero_page_fallback: spin_unlock(&mm->page_table_lock)', {
        actions: ['unlockPtl', 'faultOk'], target: 'done',
      }),
      done: final,
    },
  };
}

/** __pte_alloc() then handle_pte_fault(): do_anonymous_page / do_wp_page. */
function handlePteFault(): StateDef {
  return {
    meta: { kernel: 'handle_pte_fault' },
    initial: 'route',
    states: {
      route: {
        always: [
          { guard: 'pmdIsNone', target: 'pte_alloc_one' },
          { guard: 'pmdIsPteTable', target: 'pte_route' },
          { actions: 'faultOk', target: 'returned' },
        ],
      },
      pte_alloc_one: step('__pte_alloc: new = pte_alloc_one(mm, address)', [
        { guard: 'injectedFailure', actions: 'faultOom', target: 'returned' },
        { actions: 'pteAllocOne', target: 'pte_alloc_lock' },
      ], { inject: 'pte_alloc_one', sleeps: 'alloc_pages' }),
      pte_alloc_lock: step('__pte_alloc: spin_lock(&mm->page_table_lock)', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'pte_alloc_populate',
      }),
      pte_alloc_populate: step('__pte_alloc: if (!pmd_present(*pmd)) pmd_populate(); else pte_free()', [
        { guard: 'pmdIsNone', actions: 'pmdPopulate', target: 'pte_alloc_unlock' },
        { actions: 'pteFree', target: 'pte_alloc_unlock' },
      ]),
      pte_alloc_unlock: step('__pte_alloc: spin_unlock(&mm->page_table_lock)', {
        actions: 'unlockPtl', target: 'route',
      }),
      pte_route: {
        always: [
          { guard: { and: ['pteIsNone', { not: 'isWrite' }] }, target: 'anon_read_lock' },
          { guard: 'pteIsNone', target: 'anon_alloc' },
          { guard: { and: ['isWrite', 'pteReadOnly'] }, actions: 'readOrigPte', target: 'wp_lock' },
          { actions: 'faultOk', target: 'returned' },
        ],
      },
      // do_anonymous_page, read: map the small ZERO_PAGE
      anon_read_lock: step('do_anonymous_page: pte_offset_map_lock()', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'anon_read_set',
      }),
      anon_read_set: step('do_anonymous_page: if (pte_none) set_pte_at(my_zero_pfn)', [
        { guard: 'pteIsNone', actions: 'mapZeroPte', target: 'anon_unlock' },
        { target: 'anon_unlock' },
      ]),
      // do_anonymous_page, write: a new zeroed page
      anon_alloc: step('do_anonymous_page: page = alloc_zeroed_user_highpage_movable()', [
        { guard: 'injectedFailure', actions: 'faultOom', target: 'returned' },
        { actions: 'allocNewSmallPage', target: 'anon_write_lock' },
      ], { inject: 'alloc_page', sleeps: 'alloc_pages' }),
      anon_write_lock: step('do_anonymous_page: pte_offset_map_lock()', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'anon_write_set',
      }),
      anon_write_set: step('do_anonymous_page: if (!pte_none) release; else page_add_new_anon_rmap; set_pte_at', [
        { guard: 'pteIsNone', actions: 'mapNewSmallPage', target: 'anon_unlock' },
        { actions: ['unlockPtl', 'putNewPage', 'faultOk'], target: 'returned' },
      ]),
      anon_unlock: step('do_anonymous_page: pte_unmap_unlock()', {
        actions: ['unlockPtl', 'faultOk'], target: 'returned',
      }),
      // do_wp_page
      wp_lock: step('do_wp_page: pte_offset_map_lock()', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'wp_check',
      }),
      wp_check: step('do_wp_page: pte_same? reuse if page_mapcount(old_page) == 1, else get_page(old_page)', [
        { guard: { not: 'pteSame' }, actions: ['unlockPtl', 'faultOk'], target: 'returned' },
        { guard: 'origPteIsZeroPage', actions: 'unlockPtl', target: 'wp_alloc' },
        { guard: 'smallPageExclusive', actions: ['reusePte', 'unlockPtl', 'faultOk'], target: 'returned' },
        { actions: ['getOrigSmallPage', 'unlockPtl'], target: 'wp_alloc' },
      ]),
      wp_alloc: step('do_wp_page: new_page = alloc_page_vma(); cow_user_page()', [
        { guard: 'injectedFailure', actions: ['putOrigSmallPage', 'faultOom'], target: 'returned' },
        { actions: ['allocNewSmallPage', 'copyIntoNewSmallPage'], target: 'wp_lock2' },
      ], { inject: 'alloc_page', sleeps: 'alloc_pages' }),
      wp_lock2: step('do_wp_page: pte_offset_map_lock()', {
        guard: 'ptlFree', actions: 'lockPtl', target: 'wp_replace',
      }),
      wp_replace: step('do_wp_page: if (pte_same) { page_remove_rmap(old); set_pte_at(new) }', [
        { guard: 'pteSame', actions: 'cowSmallPage', target: 'wp_unlock' },
        { actions: 'unlockPtl', target: 'wp_lost' },
      ]),
      wp_unlock: step('do_wp_page: pte_unmap_unlock(); page_cache_release(old_page)', {
        actions: ['unlockPtl', 'putOrigSmallPage', 'faultOk'], target: 'returned',
      }),
      wp_lost: step('do_wp_page: page_cache_release(new_page); page_cache_release(old_page)', {
        actions: ['putNewPage', 'putOrigSmallPage', 'faultOk'], target: 'returned',
      }),
      returned: final,
    },
  };
}

/** The fault path from do_page_fault: route on the pmd, then one of the handlers. */
export function pageFault(): StateDef {
  return {
    meta: { kernel: 'handle_mm_fault' },
    initial: 'route',
    onDone: undefined,
    states: {
      route: {
        always: [
          { guard: 'noVma', actions: 'faultSigsegv', target: 'up_read' },
          // access_error: a PROT_NONE VMA (mprotect) faults every access
          { guard: 'vmaNoAccess', actions: 'faultSigsegv', target: 'up_read' },
          // bad_area: a store to a VMA without VM_WRITE (a read-only file mapping)
          { guard: { and: ['isWrite', 'vmaNotWritable'] }, actions: 'faultSigsegv', target: 'up_read' },
          { guard: { and: ['vmaIsFile', 'pmdIsHugeAny'] }, actions: 'faultOk', target: 'up_read' },
          { guard: { and: ['vmaIsFile', 'vmaIsShmem'] }, actions: 'beginShmemFault', target: 'shmem_fault' },
          { guard: 'vmaIsFile', actions: 'beginShmemFault', target: 'filemap_fault' },
          { guard: { and: ['pmdIsNone', 'thpEligible'] }, actions: ['sawPmdNone', 'khugepagedEnterFault'], target: 'do_huge_pmd_anonymous_page' },
          { guard: { and: ['isWrite', 'pmdIsHugeReadOnly'] }, actions: 'readOrigPmd', target: 'do_huge_pmd_wp_page' },
          { guard: 'pmdIsHugeAny', actions: 'faultOk', target: 'up_read' },
          { target: 'handle_pte_fault' },
        ],
      },
      do_huge_pmd_anonymous_page: {
        ...doHugePmdAnonymousPage(),
        onDone: [{ guard: 'faultFellBack', target: 'handle_pte_fault' }, { target: 'up_read' }],
      },
      do_huge_pmd_wp_page: { ...doHugePmdWpPage(), onDone: 'up_read' },
      handle_pte_fault: { ...handlePteFault(), onDone: 'up_read' },
      shmem_fault: { ...shmemFaultStates(), onDone: 'up_read' },
      filemap_fault: { ...shmemFaultStates(filemapGetpageStates(), 'do_read_fault → filemap_fault → alloc_set_pte'), onDone: 'up_read' },
      up_read: step('do_page_fault: up_read(&mm->mmap_sem)', { actions: 'mmapReadUnlock', target: 'returned' }),
      returned: final,
    },
  };
}

/** The fault path's guards. */
export const faultGuards: Record<string, TaskGuard<A>> = {
  vmaIsFile: (a) => (mmOf(a).findVma(a.l.vpn)?.file ?? -1) >= 0,
  vmaIsShmem: (a) => a.k.inodes[mmOf(a).findVma(a.l.vpn)!.file]!.shmem,
  vmaNotWritable: (a) => !((mmOf(a).findVma(a.l.vpn)?.flags ?? VM.WRITE) & VM.WRITE),
  vmaNoAccess: (a) => ((mmOf(a).findVma(a.l.vpn)?.flags ?? 0) & (VM.READ | VM.WRITE | VM.EXEC)) === 0,
  noVma: (a) => !mmOf(a).findVma(a.l.vpn),
  thpEligible,
  isWrite: (a) => a.l.write,
  readFaultUseZeroPage: (a) => !a.l.write && a.k.sysfs.use_zero_page === 1,
  pmdIsNone: (a) => pmdState(a) === 'none',
  pmdPresent: (a) => pmdState(a) !== 'none',
  pmdIsPteTable: (a) => pmdState(a) === 'pte_table',
  pmdIsHugeAny: (a) => pmdState(a) === 'huge' || pmdState(a) === 'huge_zero',
  pmdIsHugeReadOnly: (a) => {
    const p = mmOf(a).pmdAt(pmdIndex(a));
    const kind = pmdKind(p.state);
    return (kind === 'huge' || kind === 'huge_zero') && !p.writable;
  },
  pmdIsHugeZero: (a) => a.k.isHugeZeroPfn(mmOf(a).pmdAt(pmdIndex(a)).pfn) && pmdState(a) !== 'pte_table',
  pmdIsHuge: (a) => pmdState(a) === 'huge' || pmdState(a) === 'huge_zero',
  pmdSame,
  origPmdIsHugeZero: (a) => a.k.isHugeZeroPfn(a.l.orig_pmd_pfn),
  hugePageExclusive: (a) => a.k.pages.pageMapcount(a.l.orig_pmd_pfn) === 1,
  noZeroPfn: (a) => a.l.zero_pfn === 0,
  faultFellBack: (a) => a.l.fault === 'fallback',
  pteIsNone: (a) => a.k.pte(mmOf(a), a.l.vpn) === PTE_NONE,
  pteReadOnly: (a) => {
    const t = a.k.translate(mmOf(a), a.l.vpn);
    return t !== null && !t.writable;
  },
  pteSame: (a) => a.k.pte(mmOf(a), a.l.vpn) === a.l.orig_pte,
  origPteIsZeroPage: (a) => a.l.orig_pte === a.k.ZERO_PAGE,
  smallPageExclusive: (a) => a.k.pages.pageMapcount(a.l.orig_pte) === 1 && a.k.pages.compoundHead(a.l.orig_pte) === a.l.orig_pte,
};

/** Its actions. */
export const faultActions: Record<string, TaskAction<A>> = {
  beginShmemFault: (a) => {
    const f = a.k.fileOffset(mmOf(a), a.l.vpn)!;
    a.l.gp_ino = f.ino.id;
    a.l.gp_index = f.index;
    a.l.gp_sgp = 'fault';
    a.l.sf_once = false; // shmem_fault's once, per fault
    a.l.gp_err = '';
    a.l.gp_page = -1;
  },
  // the read the huge fault rests on (seed 004: two threads both see pmd_none, and the
  // second set_huge_zero_page() overwrites the first's entry): a ghost event, for the inspector
  sawPmdNone: (a) => {
    const mm = mmOf(a);
    if (a.k.bus.wants('pmd_read')) {
      a.k.bus.publish({ kind: 'pmd_read', mm: mm.id, pmd: pmdIndex(a), seen: pmdState(a), check: 'handle_mm_fault: if (pmd_none(*pmd) && transparent_hugepage_enabled(vma))', actor: a.ix });
    }
  },
  // do_huge_pmd_anonymous_page: khugepaged_enter(vma, vma->vm_flags)
  khugepagedEnterFault: (a) => {
    const mm = mmOf(a);
    khugepagedEnterVma(a.k, mm, mm.findVma(a.l.vpn)!, a.ix);
  },
  faultOk: (a) => {
    if (a.l.fault === 'none' || a.l.fault === 'fallback') a.l.fault = 'ok';
  },
  fallback: (a) => {
    a.l.fault = 'fallback';
  },
  faultOom: (a) => {
    a.l.fault = 'VM_FAULT_OOM';
    if (a.l.pgtable) a.l.pgtable = false;
  },
  faultSigsegv: (a) => {
    a.l.fault = 'SIGSEGV';
  },
  readOrigPmd: (a) => {
    const p = mmOf(a).pmdAt(pmdIndex(a));
    a.l.orig_pmd_state = p.state;
    a.l.orig_pmd_pfn = p.pfn;
  },
  readOrigPte: (a) => {
    a.l.orig_pte = a.k.pte(mmOf(a), a.l.vpn);
  },
  pteAllocOne: (a) => {
    a.l.pgtable = true;
  },
  pteFree: (a) => {
    a.l.pgtable = false;
  },
  countFaultFallback: (a) => a.k.count('thp_fault_fallback', 1, a.ix),
  countFaultAlloc: (a) => a.k.count('thp_fault_alloc', 1, a.ix),
  setHugeZeroPage: (a) => {
    // set_huge_zero_page() as posted: no pmd_none() check (see variants/).
    const mm = mmOf(a);
    a.k.pmdCmd(mm, pmdIndex(a), 'SET_HUGE_ZERO', a.l.zero_pfn, a.ix);
    mm.pmd(pmdIndex(a)).writable = false;
    a.k.ref('move', 'huge_zero_refcount', -1, a.id, 'pmd', a.ix);
    mm.pmd(pmdIndex(a)).deposited++;
    a.l.pgtable = false;
    a.k.addMmCounter(mm, 'nr_ptes', 1, a.ix);
  },
  allocNewHugePage: (a) => {
    a.l.new_page = allocPage(a, a.k.HPAGE_PMD_ORDER, false);
  },
  clearNewHugePage: (a) => {
    for (let i = 0; i < a.k.HPAGE_PMD_NR; i++) a.k.setPageData(a.l.new_page + i, 0, 'clear', a.ix);
  },
  putNewPage: (a) => {
    putPageRef(a, a.l.new_page);
    a.l.new_page = -1;
  },
  mapNewHugePmd: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    k.pages.mapPmd(a.l.new_page, a.ix);
    k.pages.lruAdd(a.l.new_page, a.ix);
    const p = k.pmdCmd(mm, pmdIndex(a), 'SET_PMD_HUGE', a.l.new_page, a.ix);
    p.writable = true;
    p.deposited++;
    k.ref('move', 'page', a.l.new_page, a.id, 'pmd', a.ix);
    a.k.addMmCounter(mm, 'MM_ANONPAGES', k.HPAGE_PMD_NR, a.ix);
    a.k.addMmCounter(mm, 'nr_ptes', 1, a.ix);
    a.l.pgtable = false;
    a.l.new_page = -1;
  },
  reuseHugePmd: (a) => {
    const mm = mmOf(a);
    mm.pmd(pmdIndex(a)).writable = true;
    a.k.mmField(mm, 'pmd_writable', a.ix);
  },
  getOrigHugePage: (a) => {
    getPageRef(a, a.l.orig_pmd_pfn);
    a.l.page = a.l.orig_pmd_pfn;
  },
  putOrigHugePage: (a) => {
    if (a.l.page >= 0) {
      putPageRef(a, a.l.page);
      a.l.page = -1;
    }
  },
  copyIntoNewHugePage: (a) => {
    const d = a.k.pages.data;
    const zero = a.k.isHugeZeroPfn(a.l.orig_pmd_pfn);
    for (let i = 0; i < a.k.HPAGE_PMD_NR; i++) {
      a.k.setPageData(a.l.new_page + i, zero ? 0 : d[a.l.orig_pmd_pfn + i]!, zero ? 'clear' : 'copy', a.ix);
    }
  },
  cowHugeZeroPmd: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    k.pages.mapPmd(a.l.new_page, a.ix);
    k.pages.lruAdd(a.l.new_page, a.ix);
    const p = k.pmdCmd(mm, pmdIndex(a), 'COW_HUGE_ZERO', a.l.new_page, a.ix);
    p.writable = true;
    k.ref('move', 'page', a.l.new_page, a.id, 'pmd', a.ix);
    k.ref('move', 'huge_zero_refcount', -1, 'pmd', a.id, a.ix);
    a.k.addMmCounter(mm, 'MM_ANONPAGES', k.HPAGE_PMD_NR, a.ix);
    a.l.new_page = -1;
  },
  cowHugePmd: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    const old = a.l.orig_pmd_pfn;
    k.pages.mapPmd(a.l.new_page, a.ix);
    k.pages.lruAdd(a.l.new_page, a.ix);
    const p = k.pmdCmd(mm, pmdIndex(a), 'COW_HUGE', a.l.new_page, a.ix);
    p.writable = true;
    k.ref('move', 'page', a.l.new_page, a.id, 'pmd', a.ix);
    k.folioRemoveRmapPmd(old, a.ix);
    k.pages.put(old, a.ix);
    a.l.new_page = -1;
  },
  wpZeroPageFallbackPopulate: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    const ix = pmdIndex(a);
    const base = ix * k.HPAGE_PMD_NR;
    const p = k.pmdCmd(mm, ix, 'SPLIT_HUGE_ZERO', -1, a.ix);
    p.deposited--;
    for (let i = 0; i < k.HPAGE_PMD_NR; i++) {
      if (base + i === a.l.vpn) {
        k.pages.mapPte(a.l.new_page, a.ix);
        k.pages.lruAdd(a.l.new_page, a.ix);
        k.setPte(mm, base + i, a.l.new_page, true, a.ix);
        k.ref('move', 'page', a.l.new_page, a.id, 'pte', a.ix);
      } else {
        k.setPte(mm, base + i, k.ZERO_PAGE, false, a.ix);
      }
    }
    k.ref('move', 'huge_zero_refcount', -1, 'pmd', a.id, a.ix);
    a.k.addMmCounter(mm, 'MM_ANONPAGES', 1, a.ix);
    a.l.new_page = -1;
  },
  pmdPopulate: (a) => {
    const mm = mmOf(a);
    a.k.pmdCmd(mm, pmdIndex(a), 'PMD_POPULATE', -1, a.ix);
    a.k.addMmCounter(mm, 'nr_ptes', 1, a.ix);
    a.l.pgtable = false;
  },
  mapZeroPte: (a) => {
    a.k.setPte(mmOf(a), a.l.vpn, a.k.ZERO_PAGE, false, a.ix);
  },
  allocNewSmallPage: (a) => {
    a.l.new_page = allocPage(a, 0, true);
  },
  mapNewSmallPage: (a) => {
    const mm = mmOf(a);
    a.k.pages.mapPte(a.l.new_page, a.ix);
    a.k.pages.lruAdd(a.l.new_page, a.ix);
    a.k.setPte(mm, a.l.vpn, a.l.new_page, true, a.ix);
    a.k.ref('move', 'page', a.l.new_page, a.id, 'pte', a.ix);
    a.k.addMmCounter(mm, 'MM_ANONPAGES', 1, a.ix);
    a.l.new_page = -1;
  },
  reusePte: (a) => {
    a.k.setPte(mmOf(a), a.l.vpn, a.l.orig_pte, true, a.ix);
  },
  getOrigSmallPage: (a) => {
    getPageRef(a, a.l.orig_pte);
    a.l.page = a.l.orig_pte;
  },
  putOrigSmallPage: (a) => {
    if (a.l.page >= 0) {
      putPageRef(a, a.l.page);
      a.l.page = -1;
    }
  },
  copyIntoNewSmallPage: (a) => {
    const zero = a.l.orig_pte === a.k.ZERO_PAGE;
    a.k.setPageData(a.l.new_page, zero ? 0 : a.k.pages.data[a.l.orig_pte]!, zero ? 'clear' : 'copy', a.ix);
  },
  cowSmallPage: (a) => {
    const mm = mmOf(a);
    const k = a.k;
    const old = a.l.orig_pte;
    k.pages.mapPte(a.l.new_page, a.ix);
    k.pages.lruAdd(a.l.new_page, a.ix);
    k.setPte(mm, a.l.vpn, a.l.new_page, true, a.ix);
    k.ref('move', 'page', a.l.new_page, a.id, 'pte', a.ix);
    if (old === k.ZERO_PAGE) a.k.addMmCounter(mm, 'MM_ANONPAGES', 1, a.ix);
    else {
      k.folioRemoveRmapPte(old, a.ix);
      k.pages.put(old, a.ix);
    }
    a.l.new_page = -1;
  },
};
