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
export { step, final } from './engine/chart.ts';
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
 * the pages left isolated, for the caller's putback_movable_pages().
 */
export { migratePagesStates, migrateGuards, migrateActions } from '../machines/migrate.ts';
export type { MigrateLocals, MigrateRc, MigrateReason, MigrateMode } from '../machines/migrate.ts';
