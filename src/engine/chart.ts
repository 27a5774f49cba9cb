/**
 * The one definition format every thpsim statechart is written in.
 *
 * A chart is written once, as data close to XState's own config, with guards and
 * actions referenced by name. From that single definition we derive
 *   - the XState v5 machine (src/engine/xstate_chart.ts): what the inspector draws,
 *     what docs embed, what `--engine xstate` executes;
 *   - the compiled fast form (src/engine/task_chart.ts, src/engine/object_chart.ts):
 *     what the scheduler executes when speed matters.
 * test/engine_agreement.test.ts checks that both give the same states for the same
 * events, so the statechart stays the source of truth.
 *
 * The subset used is deliberately small so both forms agree by construction:
 * sibling targets only, transition actions only (no entry/exit), `always` on atomic
 * states only, `onDone` on compound states, parallel regions only at the root of
 * object charts.
 */

/** A guard reference: a named guard, or (object charts) a state-in test. */
export type GuardRef = string | { in: string } | { not: GuardRef } | { and: GuardRef[] } | { or: GuardRef[] };

export interface TransitionDef {
  /** Sibling state name. Omitted only for object-chart self transitions. */
  target?: string;
  guard?: GuardRef;
  actions?: string | readonly string[];
  description?: string;
}

export type Transitions = string | TransitionDef | readonly TransitionDef[];

/** Injection points: a step whose outcome the scheduler may choose to fail. */
export type InjectionPoint =
  | 'alloc_huge_page'
  | 'alloc_page'
  | 'pte_alloc_one'
  | 'mem_cgroup_charge'
  | 'isolate_lru_page'
  | 'trylock';

export interface StateMeta {
  /** The kernel function (and seed line, where useful) this state is a program point of. */
  kernel?: string;
  /** This step can be made to fail by the scheduler (failure injection). */
  inject?: InjectionPoint;
}

export interface StateDef {
  type?: 'final' | 'parallel' | 'compound' | 'atomic';
  initial?: string;
  states?: Record<string, StateDef>;
  on?: Record<string, Transitions>;
  always?: Transitions;
  onDone?: Transitions;
  meta?: StateMeta;
  description?: string;
}

export function transitionList(t: Transitions | undefined): TransitionDef[] {
  if (t === undefined) return [];
  if (typeof t === 'string') return [{ target: t }];
  if (Array.isArray(t)) return t as TransitionDef[];
  return [t as TransitionDef];
}

export function actionList(a: string | readonly string[] | undefined): string[] {
  if (a === undefined) return [];
  return typeof a === 'string' ? [a] : [...a];
}

/**
 * A program point whose STEP is one atomic step of the kernel function named in
 * `kernel` (the line it models); `meta` adds e.g. an injection point.
 */
export function step(kernel: string, t: TransitionDef | readonly TransitionDef[], meta: StateMeta = {}): StateDef {
  return { meta: { kernel, ...meta }, on: { STEP: t as Transitions } };
}

/** A final state: the function returns (its compound state's onDone is taken). */
export const final: StateDef = { type: 'final' };

/** Walks a state tree, calling fn with each state's dotted path. */
export function walkStates(
  states: Record<string, StateDef>,
  fn: (path: string, def: StateDef, name: string) => void,
  prefix = '',
): void {
  for (const [name, def] of Object.entries(states)) {
    const path = prefix ? `${prefix}.${name}` : name;
    fn(path, def, name);
    if (def.states) walkStates(def.states, fn, path);
  }
}
