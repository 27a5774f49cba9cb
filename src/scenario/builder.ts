/**
 * The typed scenario builder: a scenario written in TypeScript, equivalent to the YAML
 * (docs/scenarios.md). It makes the data a YAML file parses to — field names and values
 * as the file spells them, addresses as numbers or "0x..." strings — and `build()`
 * validates that data exactly as a file's is validated (validateScenario): one format, one
 * schema, one set of errors.
 *
 *   scenario('collapse-vs-truncate').hpagePmdNr(4).sysfs({ shmem_enabled: 'always' })
 *     .file({ name: 'f', size: '0x4000' })
 *     .mm('m1', (m) => m.vma({ start: 0, size: 0x4000, file: 'f', flags: ['VM_READ', 'VM_WRITE', 'VM_SHARED'] }))
 *     .task('T1', { mm: 'm1', ops: [{ pwrite: { file: 'f', offset: 0 } }, { truncate: { file: 'f', size: 0x1000 } }] })
 *     .khugepaged('khugepaged', { full_scans: 2 })
 *     .expect({ verdict: 'ok' })
 *
 * The types are derived from the Zod schemas (z.input), so they cannot drift from the
 * format: what the schema would refuse — an unknown field, an enum value it does not list,
 * a string where it wants a number, an address that is not a number or "0x..." — is a type
 * error here. Only what no type can say (a range, page alignment, names that must refer to
 * something) is left to build(), which reports it as a file's error names the field.
 */
import { resolve } from 'node:path';
import type { z } from 'zod';
import { type Scenario, type injectSchema, scenarioBaseSchema } from './schema.ts';
import { ScenarioError, validateScenario } from './load.ts';
import { type OPS, taskSpecSchema } from '../actors/task.ts';
import { khugepagedSpecSchema } from '../actors/khugepaged.ts';
import { shmemReclaimSpecSchema } from '../actors/shmem_reclaim.ts';
import { shmemRecoverySpecSchema } from '../actors/shmem_recovery.ts';
import { shmemShrinkerSpecSchema } from '../actors/shmem_shrinker.ts';
import { shrinkerSpecSchema } from '../actors/huge_zero_shrinker.ts';

/** A byte address or size as a file gives it: a number, or a hex string like "0x200000". */
export type Address = number | `0x${string}`;

/**
 * A schema's input type with every address narrowed from `string | number` (all Zod can
 * say of pageAddress) to Address: the string the schema accepts is "0x..." only.
 */
export type Precise<T> = undefined extends T ? PreciseDefined<Exclude<T, undefined>> | undefined : PreciseDefined<T>;
type PreciseDefined<T> = [T] extends [string | number] ? ([string | number] extends [T] ? Address : T)
  : T extends readonly (infer E)[] ? Precise<E>[]
  : T extends object ? { [K in keyof T]: Precise<T[K]> }
  : T;

/** One member of a union of objects, with the other members' keys refused (as a strict Zod union refuses them). */
type OneOf<U, All = U> = U extends unknown ? U & { [K in Exclude<All extends unknown ? keyof All : never, keyof U>]?: never } : never;

type Input<S extends z.ZodType> = Precise<z.input<S>>;
type Base = Input<typeof scenarioBaseSchema>;

export type FileData = NonNullable<Base['files']>[number];
export type MmData = NonNullable<Base['mms']>[number];
export type VmaData = NonNullable<MmData['vmas']>[number];
export type SysfsData = NonNullable<Base['sysfs']>;
export type ConfigData = NonNullable<Base['config']>;
export type InjectData = Input<typeof injectSchema>;
export type ExpectData = NonNullable<Base['expect']>;
export type Verdict = ExpectData['verdict'];

/**
 * The arguments of each task operation, from its schema (src/actors/task.ts) — the ops list
 * itself is checked by a transform, whose input type Zod can only call unknown.
 */
type OpArgs = { [K in keyof typeof OPS]: K extends 'wait' ? OneOf<Input<(typeof OPS)[K]>> : Input<(typeof OPS)[K]> };

/** A task operation: an object with one key naming it, as in the file ({ read: 0x1000 }, { madvise: {...} }). */
export type TaskOpData = OneOf<{ [K in keyof OpArgs]: { [P in K]: OpArgs[K] } }[keyof OpArgs]>;
/** A task's program: its operations, `'exit'` only as the last. */
export type TaskOpsData = TaskOpData[] | [...TaskOpData[], 'exit'];

/** The actor kinds thpsim ships with (src/builtins.ts), each with its schema. */
export const builtinActorSchemas = {
  task: taskSpecSchema,
  khugepaged: khugepagedSpecSchema,
  shmem_reclaim: shmemReclaimSpecSchema,
  shmem_recovery: shmemRecoverySpecSchema,
  shmem_shrinker: shmemShrinkerSpecSchema,
  huge_zero_page_shrinker: shrinkerSpecSchema,
};
export type BuiltinKind = keyof typeof builtinActorSchemas;

/** Each built-in kind's entry in `actors:` (without `kind`). */
export interface BuiltinActorData {
  task: Omit<Input<typeof taskSpecSchema>, 'ops'> & { ops: TaskOpsData };
  khugepaged: Input<typeof khugepagedSpecSchema>;
  shmem_reclaim: Input<typeof shmemReclaimSpecSchema>;
  shmem_recovery: Input<typeof shmemRecoverySpecSchema>;
  shmem_shrinker: Input<typeof shmemShrinkerSpecSchema>;
  huge_zero_page_shrinker: Input<typeof shrinkerSpecSchema>;
}

/** An actor of a kind a plugin registers: its fields are its schema's to check, at build(). */
export type PluginActorData = { kind: string; id: string } & { [field: string]: unknown };

/** An entry of `actors:` as `.actor()` takes it: a built-in kind's fields typed, another kind's checked at build(). */
export type ActorData<K extends string = string> = K extends BuiltinKind ? { kind: K } & BuiltinActorData[K] : { kind: K; id: string } & { [field: string]: unknown };

/** A scenario's data as a YAML or JSON file parses to it. */
export type ScenarioData = Omit<Base, 'actors'> & { actors?: ({ [K in BuiltinKind]: ActorData<K> }[BuiltinKind] | PluginActorData)[] };

/** The VMAs of one mm, in order. */
export class MmBuilder {
  readonly #vmas: readonly VmaData[];
  constructor(vmas: readonly VmaData[] = []) { this.#vmas = vmas; }
  /** A VMA: `{ start, size, flags?, file?, pgoff? }` as under `vmas:`. */
  vma(v: VmaData): MmBuilder { return new MmBuilder([...this.#vmas, structuredClone(v)]); }
  get vmas(): VmaData[] { return structuredClone([...this.#vmas]); }
}

export interface BuildOptions {
  /** The directory the scenario's `plugins:` are resolved from (default: the working directory). */
  base?: string;
}

/**
 * A scenario being written. Each method returns a new builder (a builder is a value: one
 * can be the common part of several scenarios); the methods are the file's keys, in
 * camelCase where the key is snake_case, with the same fields and values under them.
 */
export class ScenarioBuilder {
  readonly #data: Readonly<ScenarioData>;
  constructor(data: ScenarioData) { this.#data = data; }

  #with(part: Partial<ScenarioData>): ScenarioBuilder {
    // a copy: neither what the caller keeps nor what data() returned can change this builder
    let copy: Partial<ScenarioData>;
    try {
      copy = structuredClone(part);
    } catch {
      throw new ScenarioError(this.source, Object.keys(part)[0]!, 'expected data a scenario file could hold (no functions)');
    }
    return new ScenarioBuilder({ ...this.#data, ...copy });
  }
  #append<K extends 'files' | 'mms' | 'actors' | 'variants' | 'plugins'>(key: K, items: NonNullable<ScenarioData[K]>): ScenarioBuilder {
    return this.#with({ [key]: [...(this.#data[key] ?? []), ...items] });
  }

  /** `description:` free text. */
  description(text: string): ScenarioBuilder { return this.#with({ description: text }); }
  /** `hpage_pmd_nr:` HPAGE_PMD_NR, a power of two from 2 to 512 (default 512). */
  hpagePmdNr(n: number): ScenarioBuilder { return this.#with({ hpage_pmd_nr: n }); }
  /** `seed:` the scheduler's seed (default 1). */
  seed(n: number): ScenarioBuilder { return this.#with({ seed: n }); }
  /** `max_steps:` the step bound (default 1,000,000): reaching it is verdict step-bound. */
  maxSteps(n: number): ScenarioBuilder { return this.#with({ max_steps: n }); }
  /** `nr_cpus:` for the [cpu] column of trace lines (default 4). */
  nrCpus(n: number): ScenarioBuilder { return this.#with({ nr_cpus: n }); }
  /** `variants:` named variants (thpsim list), added to those given before. */
  variants(...names: string[]): ScenarioBuilder { return this.#append('variants', names); }
  /** `plugins:` modules that register more kinds, monitors, variants (resolved from build()'s `base`), added to those given before. */
  plugins(...paths: string[]): ScenarioBuilder { return this.#append('plugins', paths); }
  /** `inject:` failure-injection rates, merged into those given before. */
  inject(rates: InjectData): ScenarioBuilder { return this.#with({ inject: { ...this.#data.inject, ...rates } }); }
  /** `sysfs:` tunables, merged into those given before (the khugepaged directory's too). */
  sysfs(tunables: SysfsData): ScenarioBuilder {
    const before = this.#data.sysfs;
    const khugepaged = before?.khugepaged && tunables.khugepaged ? { ...before.khugepaged, ...tunables.khugepaged } : tunables.khugepaged ?? before?.khugepaged;
    return this.#with({ sysfs: { ...before, ...tunables, ...(khugepaged && { khugepaged }) } });
  }
  /** `config:` Kconfig options, merged into those given before. */
  config(options: ConfigData): ScenarioBuilder { return this.#with({ config: { ...this.#data.config, ...options } }); }
  /** An entry of `files:`: `{ name, size, shmem?, populated?, cached?, huge?, swapped?, holes? }`. */
  file(f: FileData): ScenarioBuilder { return this.#append('files', [f]); }
  /**
   * An entry of `mms:`: its name and its VMAs, as a list or added one by one
   * (`(m) => m.vma({...}).vma({...})`); without them, an mm with no VMA (a fork's parent may map later).
   */
  mm(name: string, vmas?: VmaData[] | ((m: MmBuilder) => MmBuilder)): ScenarioBuilder {
    const list = typeof vmas === 'function' ? vmas(new MmBuilder()).vmas : vmas;
    return this.#append('mms', [list ? { name, vmas: list } : { name }]);
  }
  /** A `kind: task` actor: its mm and its program, `ops` as in the file. */
  task(id: string, spec: Omit<BuiltinActorData['task'], 'id'>): ScenarioBuilder { return this.#actor('task', id, spec); }
  /** A `kind: khugepaged` actor: the khugepaged thread, stopping after `full_scans` (default 1). */
  khugepaged(id: string, spec: Omit<BuiltinActorData['khugepaged'], 'id'> = {}): ScenarioBuilder { return this.#actor('khugepaged', id, spec); }
  /** A `kind: shmem_reclaim` actor: reclaim swapping out its `targets`. */
  shmemReclaim(id: string, spec: Omit<BuiltinActorData['shmem_reclaim'], 'id'>): ScenarioBuilder { return this.#actor('shmem_reclaim', id, spec); }
  /** A `kind: shmem_recovery` actor: huge tmpfs recovery work for `file` at `offset`, queued by `mm`'s fault. */
  shmemRecovery(id: string, spec: Omit<BuiltinActorData['shmem_recovery'], 'id'>): ScenarioBuilder { return this.#actor('shmem_recovery', id, spec); }
  /** A `kind: shmem_shrinker` actor: the huge-hole shrinker, `passes` times (default 1). */
  shmemShrinker(id: string, spec: Omit<BuiltinActorData['shmem_shrinker'], 'id'> = {}): ScenarioBuilder { return this.#actor('shmem_shrinker', id, spec); }
  /** A `kind: huge_zero_page_shrinker` actor: reclaim's shrink_slab() passes over the huge zero page shrinker. */
  hugeZeroPageShrinker(id: string, spec: Omit<BuiltinActorData['huge_zero_page_shrinker'], 'id'> = {}): ScenarioBuilder {
    return this.#actor('huge_zero_page_shrinker', id, spec);
  }
  /** An entry of `actors:` of any kind, as in the file (`{ kind, id, ... }`): a plugin's kinds are written this way. */
  actor<K extends string>(spec: ActorData<K>): ScenarioBuilder { return this.#append('actors', [spec as PluginActorData]); }
  #actor(kind: BuiltinKind, id: string, spec: object): ScenarioBuilder { return this.#append('actors', [{ kind, id, ...spec } as PluginActorData]); }
  /** `liveness:` check the liveness properties at quiescence. */
  liveness(on = true): ScenarioBuilder { return this.#with({ liveness: on }); }
  /** `expect:` the verdict (and invariant) the tests expect. */
  expect(e: ExpectData): ScenarioBuilder { return this.#with({ expect: e }); }

  /** The name errors give for this scenario, where a file's give its path. */
  get source(): string { return `scenario(${JSON.stringify(this.#data.name)})`; }

  /** The scenario's data, exactly what the equivalent YAML file parses to (what a replay file embeds). */
  data(): ScenarioData { return structuredClone(this.#data) as ScenarioData; }

  /**
   * The validated scenario, as loadScenario gives a file's: its plugins imported, every
   * mistake one ScenarioError naming the field (`scenario("x"): actors[0].ops[2].read: ...`).
   */
  build(options: BuildOptions = {}): Promise<Scenario> {
    const dir = resolve(options.base ?? '.');
    return validateScenario(this.data(), this.source, { base: { dir, why: options.base === undefined ? 'the working directory' : dir } });
  }
}

/** A new scenario named `name` (`name:`, required). */
export function scenario(name: string): ScenarioBuilder { return new ScenarioBuilder({ name }); }
