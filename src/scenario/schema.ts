/**
 * The scenario format (docs/scenarios.md), as Zod schemas. A scenario is data: the
 * machine (HPAGE_PMD_NR, sysfs, Kconfig), the mm_structs and their VMAs, the actors with their
 * programs, the variants selected and the failure-injection rates. Addresses are byte
 * addresses (numbers or "0x..." strings), page aligned; they become page numbers here.
 */
import { z } from 'zod';
import { allActorKinds } from '../registry.ts';
import { VM, type VmFlag } from '../memory/mm.ts';

export const PAGE_SHIFT = 12;

/**
 * TASK_SIZE with 4-level page tables (x86-64): user addresses are below 2^47 - 4096. Every
 * such address is a safe integer, so page numbers stay exact.
 */
export const TASK_SIZE = 0x7ffffffff000;

/** The largest seed: the scheduler's generator is seeded with 32 bits (src/sched/rng.ts); a larger one would wrap. */
export const SEED_MAX = 0xffffffff;

/**
 * A byte address or size, page aligned and below TASK_SIZE, as a page number. Parsed
 * exactly (a hex string through BigInt): a value out of range is refused, never wrapped.
 */
export const pageAddress = z
  .union([z.number(), z.string()], {
    error: 'expected a page-aligned address: a number or a hex string like "0x200000"',
  })
  .transform((v, ctx) => {
    const fail = (message: string) => {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    };
    let n: bigint;
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v) || v < 0) return fail(`expected a whole, non-negative number of bytes, got ${v}`);
      n = BigInt(v);
    } else {
      if (!/^0x[0-9a-fA-F]+$/.test(v)) return fail(`expected a hex address like "0x200000", got ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`);
      n = BigInt(v);
    }
    const shown = typeof v === 'number' ? `0x${v.toString(16)}` : v;
    if (n > BigInt(TASK_SIZE)) return fail(`${shown} is beyond the user address space (TASK_SIZE 0x${TASK_SIZE.toString(16)}, 47 bits)`);
    if (n % 4096n !== 0n) return fail(`must be page-aligned (a multiple of 4096), got ${shown}`);
    return Number(n >> BigInt(PAGE_SHIFT));
  });

/**
 * z.array(item) that stops at the first element that fails, giving that element's issues
 * (the first of which is what a ScenarioError reports, as before). Zod checks every element
 * and hands each array's issues up by spreading them into one call: a file with 100,000
 * bad VMAs overflowed the stack ("internal error") instead of naming the first. `min`: at
 * least that many elements, with its message; `error`: the message for a value that is not
 * a list.
 */
export function arrayOf<T extends z.ZodType>(item: T, opts: { min?: [number, string]; error?: string } = {}): z.ZodType<z.output<T>[], z.input<T>[]> {
  let list = z.array(z.unknown(), opts.error === undefined ? undefined : { error: opts.error });
  if (opts.min) list = list.min(opts.min[0], opts.min[1]);
  return list.transform((xs, ctx) => {
    const out: z.output<T>[] = new Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      const r = item.safeParse(xs[i]);
      if (!r.success) {
        for (const issue of r.error.issues) ctx.addIssue({ ...issue, path: [i, ...issue.path] } as Parameters<typeof ctx.addIssue>[0]);
        return z.NEVER;
      }
      out[i] = r.data;
    }
    return out;
  }) as unknown as z.ZodType<z.output<T>[], z.input<T>[]>;
}

/** A value the kernel reads with kstrtouint(): 0 to 4294967295 (a larger write is EINVAL). */
const uint = z.number().int().nonnegative().max(0xffffffff, 'expected at most 4294967295 (the kernel reads an unsigned int)');

/** Control and format characters: never in a name, which summaries and traces print. */
export const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\uFFFD]/u;

/** A name (the scenario's, an mm's, a file's, an actor's id): printable, one line, short. */
export const nameSchema = z
  .string({ error: 'expected a name (a string)' })
  .min(1, 'expected a non-empty name')
  .max(100, 'expected a name of at most 100 characters')
  .refine((v) => !UNPRINTABLE.test(v), 'expected a printable name (no control characters)');

const injectRate = z.number().min(0).max(1);

export const injectSchema = z.strictObject({
  alloc_huge_page: injectRate.optional(),
  shmem_alloc_hugepage: injectRate.optional(),
  alloc_page: injectRate.optional(),
  pte_alloc_one: injectRate.optional(),
  mem_cgroup_charge: injectRate.optional(),
  isolate_lru_page: injectRate.optional(),
  trylock: injectRate.optional(),
});

// (typed as the names it lists, so the scenario builder's flags are checked by the compiler too)
export const vmFlagName = z.enum(Object.keys(VM).map((f) => `VM_${f}`) as [`VM_${VmFlag}`, ...`VM_${VmFlag}`[]], {
  error: `expected one of ${Object.keys(VM).map((f) => `VM_${f}`).join(', ')}`,
});

export const vmaSchema = z.strictObject({
  start: pageAddress,
  size: pageAddress,
  flags: arrayOf(vmFlagName).default(['VM_READ', 'VM_WRITE']),
  /** A file (by name in `files:`) mapped at this VMA; omitted = anonymous. */
  file: z.string().optional(),
  pgoff: z.number().int().nonnegative().default(0),
});

export const mmSchema = z.strictObject({
  name: nameSchema,
  vmas: arrayOf(vmaSchema).default([]),
});

/**
 * The largest file: the model keeps a file's page cache slot by slot (and a populated file's
 * every page), so a file is at most 1 GiB — far beyond any scenario's needs, well within
 * memory.
 */
export const MAX_FILE_SIZE = 0x40000000;

export const fileSchema = z.strictObject({
  name: nameSchema,
  shmem: z.boolean().default(true),
  size: pageAddress.refine((pages) => pages <= MAX_FILE_SIZE >> PAGE_SHIFT, `expected a size up to 0x${MAX_FILE_SIZE.toString(16)} (1 GiB): files are modelled page by page`),
  /** Every page already written (as if the file had been filled before the run), each with its own data. */
  populated: z.boolean().default(false),
  /** With `populated`: whether its pages start in the page cache (a regular file may start cold, on disk only). */
  cached: z.boolean().default(true),
  /** Mounted huge=1 (huge tmpfs, seed 001): pages are allocated as teams of small pages in huge extents. */
  huge: z.boolean().default(false),
  /** With `populated`: byte ranges whose pages start swapped out (their data in swap, a swap entry in the page cache). */
  swapped: arrayOf(z.strictObject({ offset: pageAddress, size: pageAddress })).default([]),
  /** With `populated`: byte ranges left as holes (never written). */
  holes: arrayOf(z.strictObject({ offset: pageAddress, size: pageAddress })).default([]),
  /**
   * A populated, cached regular file: byte ranges whose pages start dirty (PG_dirty) —
   * written through a writable fd, since closed, and not yet written back: what the
   * flusher writes and collapse_file finds.
   */
  dirty: arrayOf(z.strictObject({ offset: pageAddress, size: pageAddress })).default([]),
});

export const sysfsSchema = z.strictObject({
  enabled: z.enum(['always', 'madvise', 'never']).optional(),
  defrag: z.enum(['always', 'defer', 'defer+madvise', 'madvise', 'never']).optional(),
  use_zero_page: z.union([z.literal(0), z.literal(1)]).optional(),
  shmem_enabled: z.enum(['always', 'within_size', 'advise', 'never', 'deny', 'force']).optional(),
  khugepaged: z
    .strictObject({
      pages_to_scan: uint.positive().optional(),
      scan_sleep_millisecs: uint.optional(),
      alloc_sleep_millisecs: uint.optional(),
      max_ptes_none: z.number().int().nonnegative().optional(),
      max_ptes_swap: z.number().int().nonnegative().optional(),
      max_ptes_shared: z.number().int().nonnegative().optional(),
      defrag: z.union([z.literal(0), z.literal(1)]).optional(),
    })
    .optional(),
});

/** Kconfig options (src/memory/kconfig.ts); omitted ones as the kernel defaults them. */
export const configSchema = z.strictObject({
  READ_ONLY_THP_FOR_FS: z.boolean().optional(),
});

export const verdictSchema = z.enum(['ok', 'violation', 'deadlock', 'liveness', 'step-bound']);

/** The scenario without its actors (their schemas come from the registered actor kinds). */
export const scenarioBaseSchema = z.strictObject({
  name: nameSchema,
  description: z.string().optional(),
  hpage_pmd_nr: z
    .number()
    .int()
    .refine((n) => n >= 2 && n <= 512 && (n & (n - 1)) === 0, 'expected a power of two between 2 and 512')
    .default(512),
  seed: z.number().int().nonnegative().max(SEED_MAX, 'expected a seed up to 4294967295 (the scheduler\'s seeds are 32-bit)').default(1),
  max_steps: z.number().int().positive().default(1_000_000),
  nr_cpus: z.number().int().positive().default(4),
  variants: arrayOf(z.string()).default([]),
  plugins: arrayOf(z.string()).default([]),
  inject: injectSchema.default({}),
  sysfs: sysfsSchema.default({}),
  config: configSchema.default({}),
  files: arrayOf(fileSchema).default([]),
  mms: arrayOf(mmSchema).default([]),
  actors: z.array(z.unknown()).min(1, 'expected at least one actor'),
  /** Check the liveness properties at quiescence (e.g. every collapsed extent ends up pmd-mapped). */
  liveness: z.boolean().default(false),
  expect: z
    .strictObject({ verdict: verdictSchema, invariant: z.string().optional() })
    .optional(),
});

export type ScenarioBase = z.output<typeof scenarioBaseSchema>;
export type ActorSpec = { kind: string; id: string } & Record<string, unknown>;
export interface Scenario extends Omit<ScenarioBase, 'actors'> {
  actors: ActorSpec[];
}

/** The full schema, with one branch per registered actor kind. */
export function scenarioSchema() {
  const kinds = allActorKinds();
  const branches = kinds.map((k) => (k.schema as unknown as z.ZodObject).extend({ kind: z.literal(k.kind) }));
  const actor =
    branches.length === 1
      ? branches[0]!
      : z.discriminatedUnion('kind', branches as unknown as [z.ZodObject, z.ZodObject], {
          error: (iss) =>
            iss.code === 'invalid_union' ? `expected kind to be one of: ${kinds.map((k) => k.kind).join(', ')}` : undefined,
        });
  return scenarioBaseSchema.extend({ actors: arrayOf(actor, { min: [1, 'expected at least one actor'] }) });
}
