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
