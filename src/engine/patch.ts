/** Helpers for variants: rewrite one state of a chart definition, by its dotted path. */
import type { StateDef } from './chart.ts';
import type { TaskChartDef } from './task_chart.ts';

export function patchStates<A>(
  def: TaskChartDef<A>,
  path: string,
  fn: (states: Record<string, StateDef>) => Record<string, StateDef>,
  extra: { guards?: TaskChartDef<A>['guards']; actions?: TaskChartDef<A>['actions'] } = {},
): TaskChartDef<A> {
  const rewrite = (states: Record<string, StateDef>, parts: string[]): Record<string, StateDef> => {
    if (parts.length === 0) return fn(states);
    const [head, ...rest] = parts;
    const s = states[head!];
    if (!s?.states) throw new Error(`${def.id}: no compound state '${head}' on the way to '${path}'`);
    return { ...states, [head!]: { ...s, states: rewrite(s.states, rest) } };
  };
  return {
    ...def,
    states: rewrite(def.states, path ? path.split('.') : []),
    guards: { ...def.guards, ...extra.guards },
    actions: { ...def.actions, ...extra.actions },
  };
}
