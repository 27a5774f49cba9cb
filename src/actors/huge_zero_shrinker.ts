/** The `huge_zero_page_shrinker` actor kind: reclaim calling the huge zero page shrinker (seed 004). */
import { z } from 'zod';
import { type ShrinkerLocals, hugeZeroShrinkerChart, shrinkerLocals } from '../../machines/huge_zero_page.ts';
import { makeStruct } from '../vector/struct.ts';
import type { ActorKind } from '../registry.ts';

export const shrinkerSpecSchema = z.strictObject({
  id: z.string().min(1),
  /** How many shrink_slab() passes reclaim makes. */
  passes: z.number().int().positive().default(1),
  /** Simulated microseconds between passes (each atomic step takes 1 µs). */
  // (as a wait's ms: an unsigned int, so the simulated nanosecond clock stays exact)
  interval_us: z.number().int().nonnegative().max(0xffffffff, 'expected at most 4294967295 us (an unsigned int)').default(0),
});
export type ShrinkerSpec = z.output<typeof shrinkerSpecSchema>;

export const hugeZeroShrinkerKind: ActorKind<ShrinkerLocals, ShrinkerSpec> = {
  kind: 'huge_zero_page_shrinker',
  description: 'reclaim running shrink_slab() over the huge zero page shrinker: count, then scan',
  comm: 'kswapd0',
  chart: hugeZeroShrinkerChart,
  schema: shrinkerSpecSchema as unknown as z.ZodType<ShrinkerSpec>,
  locals: (spec, k) => makeStruct(k.sv, shrinkerLocals, spec.id, {}, { passes: spec.passes, interval_ns: spec.interval_us * 1000 }),
};
