/**
 * A deliberately broken huge zero page shrinker, registered from outside the core the way
 * any extension is: it replaces the shrinker's atomic_cmpxchg(&huge_zero_refcount, 1, 0)
 * with a read and a separate store,
 *
 *     if (atomic_read(&huge_zero_refcount) == 1) {
 *             atomic_set(&huge_zero_refcount, 0);
 *
 * so a get_huge_zero_page() can take a reference between the two, and the page is freed
 * under it. The invariants must catch this; examples/zero-page-broken-shrinker.yaml runs it.
 */
import { type Actor, type TaskChartDef, registerVariant } from 'thpsim/extend';
import type { ShrinkerLocals } from '../../machines/huge_zero_page.ts';

type S = Actor<ShrinkerLocals>;

registerVariant({
  name: 'shrink_huge_zero_page_nonatomic',
  kind: 'broken',
  description: 'BROKEN: the shrinker tests the count and zeroes it in two steps instead of atomic_cmpxchg(1 → 0)',
  charts: {
    huge_zero_page_shrinker: (def: TaskChartDef<S>): TaskChartDef<S> => ({
      ...def,
      states: {
        ...def.states,
        scan: {
          meta: { kernel: 'BROKEN shrink_huge_zero_page: if (atomic_read(&huge_zero_refcount) == 1)' },
          on: {
            STEP: [
              { guard: 'hugeZeroRefcountIsOne', target: 'zeroCount' },
              { actions: 'shrinkerCmpxchgLost', target: 'passDone' },
            ],
          },
        },
        zeroCount: {
          meta: { kernel: 'BROKEN shrink_huge_zero_page: atomic_set(&huge_zero_refcount, 0)' },
          on: { STEP: { actions: 'shrinkerSetZero', target: 'xchgPfn' } },
        },
      },
      actions: {
        ...def.actions,
        shrinkerSetZero: (a) => {
          a.k.atomic('huge_zero_refcount', 'atomic_set', 0, a.ix);
          a.k.ref('drop', 'huge_zero_refcount', -1, 'shrinker', '', a.ix);
        },
      },
    }),
  },
});
