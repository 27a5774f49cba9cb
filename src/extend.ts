/**
 * What a thpsim extension imports (`thpsim/extend`): the registries of actor kinds,
 * invariant monitors and variants, the chart definitions' types and helpers, and the
 * model objects an action or a monitor reads and writes. docs/extending.md is the guide;
 * examples/extensions/ the worked examples. An extension composes chart definitions: it
 * never edits the core, and every registered invariant checks what it adds.
 */
import './builtins.ts';

export {
  registerActorKind, registerMonitor, registerVariant, allActorKinds, allMonitors, allVariants, getActorKind, getVariant,
} from './registry.ts';
export type { ActorKind, Monitor, MonitorKind, MonitorContext, Variant, ChartPatch, FunctionPatch } from './registry.ts';
export type { TaskChartDef, TaskGuard, TaskAction, StepEvent } from './engine/task_chart.ts';
export type { StateDef, StateMeta, TransitionDef, Transitions, GuardRef, InjectionPoint, SleepReason, SpinReason } from './engine/chart.ts';
export { step, final, transitionList } from './engine/chart.ts';
export type { Actor } from './sched/actor.ts';
export type { Kernel } from './memory/kernel.ts';
export type { BusEvent, Violation } from './bus/events.ts';

/**
 * migrate_pages() (mm/migrate.c), the one definition every caller embeds: a chart that
 * migrates pages puts `migratePagesStates(call)` in a compound state (`call` is the
 * kernel line it shows), spreads `migrateGuards` and `migrateActions` into its own, and
 * supplies get_new_page and put_new_page as its actions 'mgGetNewPage' and
 * 'mgPutNewPage'. Before entering it the caller sets the MigrateLocals: mg_from the pages
 * it isolated (each holding isolate_lru_page's reference, NR_ISOLATED_ANON counted and a
 * 'migrate' isolate event published), mg_reason, mg_mode, and the rest reset as at a
 * first pass (mg_retry 1). On return mg_nr is migrate_pages()'s result and mg_from holds
 * the pages left isolated, for the caller's putback_movable_pages() (putbackMovablePages).
 */
export { migratePagesStates, migrateGuards, migrateActions, migrateLocalsFields, putbackMovablePages } from '../machines/migrate.ts';
export type { MigrateLocals, MigrateRc, MigrateReason, MigrateMode } from '../machines/migrate.ts';

/**
 * Kernel objects' states: the object charts (struct page, pmd entry, mm_struct, team head).
 * An extension adds a page flag with a lifecycle of its own as a region of the page chart
 * and the commands that move it, and makes existing commands depend on it:
 *
 *     extendObjectChart('page', {
 *       name: 'PG_writeback',
 *       events: ['SET_WRITEBACK', 'END_WRITEBACK'],
 *       regions: { writeback: { initial: 'clear', states: {
 *         clear: { on: { SET_WRITEBACK: { target: 'writeback', guard: { in: 'lock.locked' } } } },
 *         writeback: { on: { END_WRITEBACK: 'clear' } } } } },
 *       // free_pages_check(): PAGE_FLAGS_CHECK_AT_FREE includes PG_writeback
 *       guards: [{ state: 'alloc.allocated', event: 'FREE', guard: { in: 'writeback.clear' } }],
 *     });
 *
 * Call it as the plugin module loads (before any kernel is built). The page store then
 * runs the extended chart: `k.pages.command(pfn, 'SET_WRITEBACK', a.ix)` applies a command
 * (refused in a state the chart does not allow it: the illegal-transition violation every
 * run checks) and publishes it (traced as page_set_writeback); `k.pages.inState(pfn,
 * 'writeback.writeback')` tests a state from a guard. Regions are appended and a new
 * region's initial state must be its first, so every state the chart had keeps its number:
 * a scenario that never sends the new commands runs, traces and explores exactly as before.
 * `thpsim export chart page --plugin FILE` and `thpsim inspect` draw the extended chart.
 */
export { extendObjectChart, applyObjectChartExtension, objectChart, allObjectCharts } from './object_charts.ts';
export type { ObjectChartExtension, GuardConjunct } from './object_charts.ts';
export type { ObjectChartDef, ObjectRegionDef } from './engine/object_chart.ts';
export type { PageCommand } from './memory/pages.ts';
/** The collapse context's locals (khugepaged, MADV_COLLAPSE), for a FunctionPatch of collapse_shmem. */
export type { CollapseLocals, ScanResult } from '../machines/collapse_shmem.ts';
/** zod, for an actor kind's scenario schema (the instance thpsim validates with), and its address type. */
/**
 * Locals in the state vector (src/vector/): an actor kind's locals declared by a schema
 * beside their interface, laid out by makeStruct(k.sv, schema, id, constants, initial) —
 * as the built-in kinds' are — are copied and hashed as slots. (Plain-object locals work
 * too, walked field by field: slower in an exhaustive search.)
 */
export { makeStruct, struct, fields, int, bool, str, array, constant } from './vector/struct.ts';
export type { BoundedArray, FieldsOf, StructSchema } from './vector/struct.ts';
export type { VectorBounds } from './vector/state_vector.ts';

export { z } from 'zod';
export { pageAddress } from './scenario/schema.ts';
