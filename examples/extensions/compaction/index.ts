/**
 * thpsim-extension-compaction: kcompactd's proactive compaction as a new actor kind
 * (`kind: compaction`), registered through thpsim/extend as any extension registers one,
 * and a deliberately broken variant of it for the invariants to catch. A scenario loads
 * it with `plugins: [./index.ts]` (a path from the scenario's directory).
 */
import { type ActorKind, type TaskChartDef, makeStruct, registerActorKind, registerVariant, z } from 'thpsim/extend';
import { type C, type CompactionLocals, compactionChart, compactionLocals } from './compaction.ts';

export { compactionChart, isolateMigratepagesBlockStates, MIGRATE_CALL } from './compaction.ts';
export type { CompactionLocals } from './compaction.ts';

const compactionSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** How many times kcompactd wakes to compact the zone (compact_zone() runs). */
  passes: z.number().int().positive().default(1),
});
type CompactionSpec = z.output<typeof compactionSpecSchema>;

export const compactionKind: ActorKind<CompactionLocals, CompactionSpec> = {
  kind: 'compaction',
  description: 'kcompactd proactive compaction: compact_zone over the whole zone, isolate_migratepages_block per pageblock, migrate_pages(MR_COMPACTION) of the shmem pages it isolated',
  comm: 'kcompactd0',
  chart: compactionChart,
  schema: compactionSpecSchema as unknown as z.ZodType<CompactionSpec>,
  // laid out in the state vector, as the built-in kinds' locals are
  locals: (spec, k) => makeStruct(k.sv, compactionLocals, spec.id, {}, { mg_reason: 'compaction', mg_mode: 'MIGRATE_SYNC_LIGHT', passes: spec.passes }),
};

registerActorKind(compactionKind);

/**
 * BROKEN: the reference taken with get_page() where the kernel has
 * folio_get_nontail_page() (get_page_unless_zero): a page whose count collapse_shmem has
 * frozen at 0 (page_ref_freeze(page, 3): it is replacing the page in the cache) is taken
 * anyway. The frozen page is touched by someone other than the freezer; the invariants
 * must catch it on some schedule.
 */
registerVariant({
  name: 'compaction_get_page_not_unless_zero',
  kind: 'broken',
  description: 'BROKEN: isolate_migratepages_block takes its reference with get_page() instead of get_page_unless_zero(), so a frozen page is touched',
  charts: {
    compaction: (def: TaskChartDef<C>): TaskChartDef<C> => {
      const zone = def.states.compact_zone!;
      const block = zone.states!.isolate_migratepages!;
      return {
        ...def,
        states: {
          ...def.states,
          compact_zone: {
            ...zone,
            states: {
              ...zone.states,
              isolate_migratepages: {
                ...block,
                states: {
                  ...block.states,
                  get: {
                    meta: { kernel: 'BROKEN isolate_migratepages_block: get_page(page) (no get_page_unless_zero)' },
                    on: {
                      STEP: [
                        { guard: 'cpNontail', actions: 'cpGet', target: 'checks' },
                        { actions: 'cpNextPfn', target: 'next' },
                      ],
                    },
                  },
                },
              },
            },
          },
        },
        guards: {
          ...def.guards,
          cpNontail: (a) => a.k.pages.isAllocated(a.l.cp_pfn) && a.k.pages.compoundHead(a.l.cp_pfn) === a.l.cp_pfn,
        },
      };
    },
  },
});
