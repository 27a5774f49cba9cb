/**
 * Builds the XState v5 machine from a thpsim chart definition. This machine is the
 * statechart users see (inspector, Mermaid/SCXML export, Stately) and the one
 * `--engine xstate` executes; the compiled forms are derived from the same definition.
 */
import { and, not, or, setup, stateIn, type AnyStateMachine } from 'xstate';
import { type GuardRef, type StateDef, type Transitions, actionList, transitionList } from './chart.ts';
import type { ObjectChartDef } from './object_chart.ts';
import type { StepEvent, TaskChartDef } from './task_chart.ts';

/** The context every task machine carries: a handle to the actor it animates. */
export interface TaskMachineContext<A> {
  a: A;
}

type XGuard = string | ReturnType<typeof stateIn> | ReturnType<typeof not> | ReturnType<typeof and> | ReturnType<typeof or>;

function xGuard(g: GuardRef | undefined): XGuard | undefined {
  if (g === undefined) return undefined;
  if (typeof g === 'string') return g;
  if ('in' in g) {
    const [region, state] = g.in.split('.');
    return stateIn({ [region!]: state! });
  }
  if ('not' in g) return not(xGuard(g.not) as never);
  if ('or' in g) return or(g.or.map((x) => xGuard(x)) as never);
  return and(g.and.map((x) => xGuard(x)) as never);
}

function xTransitions(t: Transitions | undefined): object[] | undefined {
  const list = transitionList(t);
  if (!list.length) return undefined;
  return list.map((x) => {
    const out: Record<string, unknown> = {};
    if (x.target !== undefined) out.target = x.target;
    const g = xGuard(x.guard);
    if (g !== undefined) out.guard = g;
    const acts = actionList(x.actions);
    if (acts.length) out.actions = acts;
    if (x.description) out.description = x.description;
    return out;
  });
}

function xStates(states: Record<string, StateDef>): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [name, s] of Object.entries(states)) {
    const x: Record<string, unknown> = {};
    if (s.type === 'final' || s.type === 'parallel') x.type = s.type;
    if (s.initial) x.initial = s.initial;
    if (s.states) {
      x.states = xStates(s.states);
      if (!s.initial) x.initial = Object.keys(s.states)[0];
    }
    if (s.on) x.on = Object.fromEntries(Object.entries(s.on).map(([e, t]) => [e, xTransitions(t)]));
    const always = xTransitions(s.always);
    if (always) x.always = always;
    const onDone = xTransitions(s.onDone);
    if (onDone) x.onDone = onDone;
    if (s.meta) x.meta = s.meta;
    if (s.description) x.description = s.description;
    out[name] = x;
  }
  return out;
}

export function buildTaskMachine<A>(def: TaskChartDef<A>): AnyStateMachine {
  const guards: Record<string, (args: { context: TaskMachineContext<A>; event: StepEvent }) => boolean> = {};
  for (const [name, g] of Object.entries(def.guards)) {
    guards[name] = ({ context, event }) => g(context.a, event);
  }
  const actions: Record<string, (args: { context: TaskMachineContext<A>; event: StepEvent }) => void> = {};
  for (const [name, f] of Object.entries(def.actions)) {
    actions[name] = ({ context, event }) => f(context.a, event);
  }
  return setup({
    types: {} as { context: TaskMachineContext<A>; events: StepEvent; input: TaskMachineContext<A> },
    guards: guards as never,
    actions: actions as never,
  }).createMachine({
    id: def.id,
    description: def.description,
    context: ({ input }) => input,
    initial: def.initial,
    states: xStates(def.states) as never,
  }) as unknown as AnyStateMachine;
}

export function buildObjectMachine(def: ObjectChartDef): AnyStateMachine {
  const states: Record<string, StateDef> = {};
  for (const [r, region] of Object.entries(def.regions)) {
    states[r] = {
      initial: region.initial,
      description: region.description,
      states: Object.fromEntries(
        Object.entries(region.states).map(([n, s]) => [n, { on: s.on, description: s.description }]),
      ),
    };
  }
  return setup({ types: {} as { events: { type: string } } }).createMachine({
    id: def.id,
    description: def.description,
    type: 'parallel',
    states: xStates(states) as never,
  }) as unknown as AnyStateMachine;
}
