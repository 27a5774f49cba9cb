/*
 * zero_page.pml: seed 004's huge zero page (get_huge_zero_page / put_huge_zero_page with
 * a lockless refcount, and the shrinker) as a SPIN anchor for thpsim. See README.md here.
 *
 * One Promela transition per thpsim atomic step. Every control location is one leaf
 * state of thpsim's charts (machines/task.ts, machines/huge_zero_page.ts,
 * src/variants/huge_zero_page.ts). Each option of the `if` at that location is one
 * branch of that state's STEP transition, written as `d_step { guard -> actions }`,
 * followed by a goto to the next leaf. spin -a removes the gotos, so each d_step goes
 * straight to the next location: one transition and one depth level per step
 * (check with ./pan -d). The eventless thpsim transitions (route, counted, passDone,
 * op_done, next_op, advance...) are folded into the step that leads to them, as thpsim
 * folds them.
 *
 * Configuration (spin -D...):
 *   NTASK=2 (default)  test/fixtures/zero-page-dfs-{fixed,as-posted}.yaml: T1 reads 0x0,
 *                      T2 reads 0x1000 (one mm), the shrinker makes 3 passes
 *   NTASK=3            examples/zero-page-as-posted.yaml: also T3 in mm2 (read 0x0, exit)
 *   AS_POSTED          seed 004 as posted; otherwise both fix variants
 *                      (set_huge_zero_page_pmd_none_check, free_compound_page_with_order)
 *   STOP               a violation ends the run (thpsim's semantics: every step is
 *                      guarded by err == 0), so violation states are leaves
 *   REPORT=mask        which violation codes assert (default all); the others only end
 *                      the run (with STOP)
 *   COUNT_END          terminal processes do not sit at an end label, so every terminal
 *                      state is an "invalid end state": run ./pan -c0 and `errors` is the
 *                      number of distinct terminal states (thpsim does not count those)
 */

#ifndef NTASK
#define NTASK 2
#endif
#ifndef PASSES
#define PASSES 3
#endif
#ifndef REPORT
#define REPORT 255
#endif

#if NTASK == 3
#define NMM   3   /* mm1 (T1, T2), mm2 (T3); index 0 unused */
#define MAXPG 3   /* order-HPAGE_PMD_ORDER pages ever allocated at once (pfn = 4 * index) */
#else
#define NMM   2
#define MAXPG 2
#endif

/* violation codes (what thpsim reports them as) */
#define V_ILLEGAL     1   /* illegal-transition: SET_HUGE_ZERO on a pmd that is not none */
#define V_FREE_LOSER  2   /* compound-free-order: __free_page() by the cmpxchg loser */
#define V_FREE_SHRINK 4   /* compound-free-order: __free_page() by the shrinker */
#define V_REFCOUNT    8   /* huge-zero-refcount, huge-zero-put-last, huge-zero-shrinker */
#define V_MAPPED      16  /* huge-zero-refcount (freed while mapped / published page freed
                             by a non-shrinker), data-integrity (load from a freed page),
                             page-refcount (a page put by one not holding its reference) */
#define V_EXIT        32  /* accounting, lock-release, leaks at actor exit or quiescence */
#define V_UNMODELLED  64  /* a path thpsim has that this model leaves out was reached */

#define NONE  0
#define HZERO 1           /* pmd states used here: none, huge_zero */
#define HZP   8           /* powner: the reference huge_zero_pfn holds */
#define SHR   9           /* powner: the shrinker's */

/* ---- the model's state ---------------------------------------------------------------- */

byte refcount;            /* huge_zero_refcount */
byte zpfn;                /* huge_zero_pfn, as a page index (0: none) */
byte zp_allocs;           /* vmstat thp_zero_page_alloc */

/* the buddy allocator, as thpsim's: order-2 pages handed out at fresh indices, freed
   ones kept on a LIFO list; fl_made: the order-2 list exists (thpsim's Map entry) */
bit  palloc[MAXPG + 1];
byte powner[MAXPG + 1];   /* ghost: who holds the page's one reference (task, HZP, SHR) */
byte fl[MAXPG];
byte fln;
bit  fl_made;
byte nextp = 1;           /* the next fresh index (thpsim: pages.nr) */

/* per mm: the one pmd the tasks touch, its deposited tables, mm->nr_ptes, the page
   table lock's holder, mmap_sem (readers as a bit mask of tasks, writer) */
byte pmd[NMM];
byte pmdpfn[NMM];
byte dep[NMM];
byte nr_ptes[NMM];
byte ptl[NMM];
byte readers[NMM];
bit  writer[NMM];

/* khugepaged's mm_slot list (khugepaged_scan.mm_head), which do_huge_pmd_anonymous_page's
   khugepaged_enter appends the faulting mm to, once (MMF_VM_HUGEPAGE); nothing here removes
   a slot (khugepaged frees them, and there is no khugepaged). thpsim keeps the list, in
   order, in its state: with two mms, its order is which mm joined first */
bit  slotted[NMM];
byte slot_first;          /* that mm (0: the list is empty) */

/* ghost: huge zero page references as the huge-zero-refcount monitor counts them */
bit  href[NTASK + 1];     /* held by a task */
byte pmdref;              /* held by pmds */
bit  sref;                /* the shrinker's, from atomic_set(2) to its atomic_cmpxchg(1, 0) */
byte ndone;               /* actors finished (quiescence: all NTASK + 1) */
byte err;                 /* the violations seen (0: none) */

/* ---- checks ----------------------------------------------------------------------------- */

#define FAIL(code)     err = err | (code); assert(((REPORT) & (code)) == 0)
#define CHECK(c, code) if :: !(c) -> FAIL(code) :: else -> skip fi

#if NTASK == 3
#define HOLDERS (href[1] + href[2] + href[3] + pmdref + sref)
#else
#define HOLDERS (href[1] + href[2] + pmdref + sref)
#endif
/* huge-zero-refcount: the count equals the references that exist */
#define INV_REF CHECK(refcount == HOLDERS, V_REFCOUNT)

#ifdef STOP
#define G(c) (err == 0 && (c))
#else
#define G(c) (c)
#endif

#ifdef COUNT_END
#define FIN fin
#else
#define FIN end_fin
#endif

/* the calling task */
#define ME   (_pid + 1)
#define BIT  (1 << _pid)
#if NTASK == 3
#define MM    (_pid < 2 -> 1 : 2)
#define EXITS (_pid == 2)
#else
#define MM    1
#define EXITS 0
#endif

/* alloc_pages(GFP_TRANSHUGE | __GFP_ZERO, HPAGE_PMD_ORDER) */
inline alloc_page(p, who)
{
  if
  :: fln > 0 -> fln--; p = fl[fln]; fl[fln] = 0
  :: else -> p = nextp; nextp++
  fi;
  CHECK(p <= MAXPG, V_UNMODELLED);
  palloc[p] = 1;
  powner[p] = who
}

/* __free_page() / __free_pages(): the caller's reference is the last; checks of the
   huge-zero-refcount and page-refcount monitors at the FREE */
inline free_page(p, who, code)
{
#ifdef AS_POSTED
  FAIL(code);             /* __free_page(): order 0 of an order-2 page, tails leaked */
#endif
  CHECK(powner[p] == who, V_MAPPED);
#if NMM == 3
  CHECK(!(pmd[1] == HZERO && pmdpfn[1] == p) && !(pmd[2] == HZERO && pmdpfn[2] == p), V_MAPPED);
#else
  CHECK(!(pmd[1] == HZERO && pmdpfn[1] == p), V_MAPPED);
#endif
  CHECK(!(p == zpfn && who != SHR), V_MAPPED);
  palloc[p] = 0;
  powner[p] = 0;
  fl[fln] = p;
  fln++;
  fl_made = 1
}

/* an actor finishes: no huge zero reference, no page reference, no lock (and at
   quiescence, the accounting monitor: nr_ptes, and no page allocated that nothing
   holds: only the published huge zero page may be) */
inline actor_exit(who)
{
  CHECK(who == SHR || href[who] == 0, V_EXIT);
  CHECK(powner[1] != who && powner[2] != who, V_EXIT);
#if MAXPG == 3
  CHECK(powner[3] != who, V_EXIT);
#endif
  ndone++;
  if
  :: ndone == NTASK + 1 ->
     CHECK(nr_ptes[1] == dep[1], V_EXIT);
     CHECK(!palloc[1] || zpfn == 1, V_EXIT);
     CHECK(!palloc[2] || zpfn == 2, V_EXIT);
#if NTASK == 3
     CHECK(nr_ptes[2] == dep[2], V_EXIT);
     CHECK(!palloc[3] || zpfn == 3, V_EXIT);
#endif
  :: else -> skip
  fi
}

/* ---- a task: one read op (T3 then exits) ------------------------------------------------ */

active [NTASK] proctype task()
{
  byte zero_pfn;          /* l.zero_pfn: what get_huge_zero_page() returned */
  byte zero_page;         /* l.zero_page: the page this caller allocated */
  bit  pgtable;           /* l.pgtable: pte_alloc_one()'d, not yet used or freed */
  bit  faulted;           /* l.fault: 'none' / 'ok' */
  byte zapped_pfn;        /* T3's exit: l.zapped_pfn, l.zapped_zero, l.ci */
  bit  zapped_zero;
  bit  ci;

access:                   /* the load, or the page fault it takes (down_read(mmap_sem)) */
  if
  :: d_step { G(pmd[MM] == HZERO && !EXITS) ->
       CHECK(palloc[pmdpfn[MM]], V_MAPPED);      /* data-integrity: a load from a live page */
       actor_exit(ME) }; goto FIN
  :: d_step { G(pmd[MM] == HZERO && EXITS) ->
       CHECK(palloc[pmdpfn[MM]], V_MAPPED) }; goto mmput
  :: d_step { G(pmd[MM] == NONE && !writer[MM]) ->
       readers[MM] = readers[MM] | BIT;
       slot_first = (slot_first == 0 -> MM : slot_first);   /* khugepaged_enter */
       slotted[MM] = 1 }; goto pte_alloc_one
  fi;

pte_alloc_one:            /* do_huge_pmd_anonymous_page: pgtable = pte_alloc_one(mm, haddr) */
  if
  :: d_step { G(true) -> pgtable = 1 }; goto inc_not_zero
  fi;

inc_not_zero:             /* get_huge_zero_page: atomic_inc_not_zero(&huge_zero_refcount) */
  if
  :: d_step { G(refcount != 0) -> refcount++; href[ME] = 1; INV_REF }; goto read_pfn
  :: d_step { G(refcount == 0) -> skip }; goto alloc
  fi;

read_pfn:                 /* get_huge_zero_page: return ACCESS_ONCE(huge_zero_pfn) */
  if
  :: d_step { G(zpfn != 0) -> zero_pfn = zpfn }; goto spin_lock
  :: d_step { G(zpfn == 0) -> zero_pfn = 0; FAIL(V_UNMODELLED) }; goto FIN  /* zero_fallback */
  fi;

alloc:                    /* get_huge_zero_page: alloc_pages(..., HPAGE_PMD_ORDER) */
  if
  :: d_step { G(true) -> alloc_page(zero_page, ME) }; goto publish
  fi;

publish:                  /* get_huge_zero_page: cmpxchg(&huge_zero_pfn, 0, page_to_pfn(zero_page)) */
  if
  :: d_step { G(zpfn == 0) -> zpfn = zero_page; powner[zero_page] = HZP; zp_allocs++ }; goto set_count
  :: d_step { G(zpfn != 0) -> skip }; goto free_ours
  fi;

free_ours:                /* get_huge_zero_page: __free_page(zero_page); goto retry */
  if
  :: d_step { G(true) -> free_page(zero_page, ME, V_FREE_LOSER); zero_page = 0 }; goto inc_not_zero
  fi;

set_count:                /* get_huge_zero_page: atomic_set(&huge_zero_refcount, 2) */
  if
  :: d_step { G(true) -> refcount = 2; href[ME] = 1; sref = 1; INV_REF }; goto read_pfn
  fi;

spin_lock:                /* do_huge_pmd_anonymous_page: spin_lock(&mm->page_table_lock) */
  if
  :: d_step { G(ptl[MM] == 0) -> ptl[MM] = ME }; goto set_zero
  fi;

set_zero:                 /* set_huge_zero_page(pgtable, mm, vma, haddr, pmd, zero_pfn) */
  if
#ifdef AS_POSTED
  :: d_step { G(true) ->
       CHECK(pmd[MM] == NONE, V_ILLEGAL);        /* the pmd chart: SET_HUGE_ZERO from none only */
       pmd[MM] = HZERO; pmdpfn[MM] = zero_pfn; href[ME] = 0; pmdref++;
       dep[MM]++; pgtable = 0; nr_ptes[MM]++; INV_REF }; goto spin_unlock
#else
  :: d_step { G(pmd[MM] != NONE) -> skip }; goto lost_unlock     /* if (!pmd_none(*pmd)) return false */
  :: d_step { G(pmd[MM] == NONE) ->
       pmd[MM] = HZERO; pmdpfn[MM] = zero_pfn; href[ME] = 0; pmdref++;
       dep[MM]++; pgtable = 0; nr_ptes[MM]++; INV_REF }; goto spin_unlock
#endif
  fi;

spin_unlock:              /* do_huge_pmd_anonymous_page: spin_unlock(&mm->page_table_lock); return 0 */
  if
  :: d_step { G(true) -> ptl[MM] = 0; faulted = 1 }; goto up_read
  fi;

up_read:                  /* do_page_fault: up_read(&mm->mmap_sem); the access again */
  if
  :: d_step { G(true) -> readers[MM] = readers[MM] & ~BIT }; goto access
  fi;

lost_unlock:              /* (fix) do_huge_pmd_anonymous_page: spin_unlock(&mm->page_table_lock) */
  if
  :: d_step { G(true) -> ptl[MM] = 0 }; goto lost_pte_free
  fi;

lost_pte_free:            /* (fix) if (!set) { pte_free(mm, pgtable); */
  if
  :: d_step { G(true) -> pgtable = 0; faulted = 1 }; goto lost_put
  fi;

lost_put:                 /* (fix) put_huge_zero_page(): BUG_ON(atomic_dec_and_test(&huge_zero_refcount)) */
  if
  :: d_step { G(true) -> refcount--; href[ME] = 0; CHECK(refcount != 0, V_REFCOUNT); INV_REF }; goto up_read
  fi;

  /* T3's exit: do_exit -> mmput -> exit_mmap -> zap_huge_pmd */
mmput:                    /* mmput: if (atomic_dec_and_test(&mm->mm_users)) __mmput(mm) */
  if
  :: d_step { G(true) -> skip }; goto kh_exit   /* T3 is mm2's only user: always the last */
  fi;

kh_exit:                  /* __khugepaged_exit: down_write(&mm->mmap_sem) */
  if
  :: d_step { G(readers[MM] == 0 && !writer[MM]) -> writer[MM] = 1 }; goto kh_exit_up
  fi;

kh_exit_up:               /* __khugepaged_exit: up_write(&mm->mmap_sem); exit_mmap: zap_pmd_range */
  if
  :: d_step { G(pmd[MM] == HZERO) -> writer[MM] = 0 }; goto zap_lock
  :: d_step { G(pmd[MM] != HZERO) -> writer[MM] = 0; FAIL(V_UNMODELLED) }; goto FIN
  fi;

zap_lock:                 /* zap_huge_pmd: spin_lock(&tlb->mm->page_table_lock) */
  if
  :: d_step { G(ptl[MM] == 0) -> ptl[MM] = ME }; goto zap_clear
  fi;

zap_clear:                /* zap_huge_pmd: orig_pmd = pmdp_get_and_clear(); is_huge_zero_pmd? nr_ptes-- */
  if
  :: d_step { G(pmd[MM] == HZERO) ->
       zapped_pfn = pmdpfn[MM]; pmd[MM] = NONE; pmdpfn[MM] = 0;
       if :: dep[MM] > 0 -> dep[MM]--; nr_ptes[MM]-- :: else -> skip fi;
       zapped_zero = (zpfn != 0 && zapped_pfn == zpfn);
       if :: zapped_zero -> pmdref--; href[ME] = 1 :: else -> skip fi;
       INV_REF }; goto zap_unlock
  :: d_step { G(pmd[MM] != HZERO) -> FAIL(V_UNMODELLED) }; goto FIN
  fi;

zap_unlock:               /* zap_huge_pmd: spin_unlock(&tlb->mm->page_table_lock) */
  if
  :: d_step { G(zapped_zero) -> ptl[MM] = 0 }; goto zap_put
  :: d_step { G(!zapped_zero) -> ptl[MM] = 0; FAIL(V_UNMODELLED) }; goto FIN  /* tlb_remove_page */
  fi;

zap_put:                  /* zap_huge_pmd: put_huge_zero_page() */
  if
  :: d_step { G(true) -> refcount--; href[ME] = 0; CHECK(refcount != 0, V_REFCOUNT); INV_REF;
       ci = 1 }; goto exit_done
  fi;

exit_done:                /* exit_mmap: free_pgtables; the mm is gone */
  if
  :: d_step { G(true) -> actor_exit(ME) }; goto FIN
  fi;

FIN: false
}

/* ---- the shrinker: shrink_slab() passes over shrink_huge_zero_page ----------------------- */

active proctype shrinker()
{
  byte passes = PASSES;
  bit  freeable;          /* l.freeable: HPAGE_PMD_NR or 0 */
  byte zero_pfn;

count:                    /* shrink_huge_zero_page(nr_to_scan == 0): atomic_read(&huge_zero_refcount) == 1 */
  if
  :: d_step { G(refcount == 1) -> freeable = 1 }; goto scan
  :: d_step { G(refcount != 1 && passes > 1) -> freeable = 0; passes-- }; goto count
  :: d_step { G(refcount != 1 && passes == 1) -> freeable = 0; actor_exit(SHR) }; goto FIN
  fi;

scan:                     /* shrink_huge_zero_page: atomic_cmpxchg(&huge_zero_refcount, 1, 0) == 1 */
  if
  :: d_step { G(refcount == 1) -> refcount = 0; sref = 0; INV_REF }; goto xchg_pfn
  :: d_step { G(refcount != 1 && passes > 1) -> passes-- }; goto count
  :: d_step { G(refcount != 1 && passes == 1) -> actor_exit(SHR) }; goto FIN
  fi;

xchg_pfn:                 /* shrink_huge_zero_page: zero_pfn = xchg(&huge_zero_pfn, 0); BUG_ON(zero_pfn == 0) */
  if
  :: d_step { G(true) -> zero_pfn = zpfn; zpfn = 0; CHECK(zero_pfn != 0, V_REFCOUNT);
       powner[zero_pfn] = SHR }; goto free
  fi;

free:                     /* shrink_huge_zero_page: __free_page(__pfn_to_page(zero_pfn)) */
  if
  :: d_step { G(passes > 1) -> free_page(zero_pfn, SHR, V_FREE_SHRINK); zero_pfn = 0; passes-- }; goto count
  :: d_step { G(passes == 1) -> free_page(zero_pfn, SHR, V_FREE_SHRINK); zero_pfn = 0; actor_exit(SHR) }; goto FIN
  fi;

FIN: false
}
