// The causes of a violation (src/inspect/causes.ts, issue 20 item 2) on the two
// counterexamples a new user tried: each cause step is found here again, independently,
// from the run's bus events (a step's events are published before its `step` event).
import { describe, expect, it } from 'vitest';
import { readReplay } from '../src/cli/replay.ts';
import { record } from '../src/inspect/record.ts';
import { run } from '../src/sched/run.ts';
import type { BusEvent } from '../src/bus/events.ts';
import type { Scenario } from '../src/scenario/schema.ts';
import type { Decision } from '../src/sched/run.ts';

/** Every bus event of the replayed run, with the step that published it (-1: setup). */
function eventsOf(scenario: Scenario, seed: number, schedule: Decision[]) {
  const out: { step: number; e: BusEvent }[] = [];
  let step = 0;
  let started = false;
  const r = run(scenario, {
    seed, schedule,
    observe: (k) => k.bus.events$.subscribe((e) => {
      if (e.kind === 'step') step = e.step + 1;
      else out.push({ step: started ? step : -1, e });
    }),
    onStep: () => void (started = true),
  });
  return { r, out };
}

describe('the causes of a counterexample', () => {
  it('seed 004\'s zero-pmd overwrite: both threads\' pmd_none reads, the first set_huge_zero_page, the second', async () => {
    const rp = await readReplay('test/fixtures/zero-page-overwrite.replay.json');
    const { r, out } = eventsOf(rp.scenario, rp.seed, rp.decisions);
    const v = r.violations[0]!;
    expect(v.invariant).toBe('illegal-transition');
    const ids = r.kernel.actorIds;
    // the pmd the message names, and the last command on it before the violating step
    const mm = r.kernel.mms.find((m) => m.name === 'mm1')!.id;
    const sets = out.filter((x) => x.e.kind === 'pmd' && x.e.mm === mm && x.e.pmd === 0 && x.step < v.step);
    const last = sets[sets.length - 1]!;
    const lastActor = (last.e as { actor: number }).actor;
    const reads = (a: number, before: number) => out.filter((x) => x.e.kind === 'pmd_read' && x.e.actor === a && x.step < before).at(-1)!;
    const t1 = ids.indexOf(v.actor);
    const expected = [reads(t1, v.step).step, reads(lastActor, last.step).step, last.step, v.step].sort((a, b) => a - b);

    const rec = record(rp.scenario, { seed: rp.seed, schedule: rp.decisions });
    expect(rec.explanation!.causes.map((c) => c.step)).toEqual(expected);
    expect(expected).toEqual([0, 7, 12, 15]);
    expect(rec.explanation!.causes.map((c) => ids[c.actor])).toEqual(['T1', 'T2', 'T2', 'T1']);
    expect(rec.explanation!.story).toBe(
      'T1 saw pmd_none at mm1:0x0 (step 0); T2 saw pmd_none at mm1:0x0 (step 7); T2 set the huge zero pmd at mm1:0x0 (step 12); '
      + 'T1 set the huge zero pmd at mm1:0x0 over the [huge_zero] entry (step 15): illegal-transition.',
    );
  });

  it('seed 000\'s hole read as garbage: the huge page allocated unzeroed, the hole filled with its subpage, the pte, the read', async () => {
    const rp = await readReplay('examples/collapse-shmem-as-posted-holes.replay.json');
    const { r, out } = eventsOf(rp.scenario, rp.seed, rp.decisions);
    const v = r.violations[0]!;
    expect(v.invariant).toBe('data-integrity');
    const read = out.filter((x) => x.e.kind === 'access' && x.e.op === 'read' && x.step === v.step).at(-1)!.e as Extract<BusEvent, { kind: 'access' }>;
    expect(read.token).toBe(-1);
    const before = (test: (e: BusEvent) => boolean) => out.filter((x) => x.step < v.step && test(x.e)).at(-1)!;
    // nothing wrote the page after it was allocated: the allocation is where the garbage came from
    const head = r.kernel.pages.compoundHead(read.pfn);
    expect(head).not.toBe(read.pfn); // a subpage of the huge page collapse_shmem allocated
    const alloc = before((e) => e.kind === 'page' && e.op === 'ALLOC' && e.pfn === head);
    expect(out.some((x) => x.step > alloc.step && x.step <= v.step && x.e.kind === 'data' && x.e.pfn === read.pfn)).toBe(false);
    const slot = before((e) => e.kind === 'cache' && e.ino === read.ino && e.index === read.index);
    expect(slot.e).toMatchObject({ old: -1, value: read.pfn });
    const pte = before((e) => e.kind === 'pte' && e.mm === read.mm && e.vpn === read.vpn);
    expect(pte.e).toMatchObject({ op: 'set', pfn: read.pfn });

    const rec = record(rp.scenario, { seed: rp.seed, schedule: rp.decisions });
    const causes = rec.explanation!.causes;
    expect(causes.map((c) => c.step)).toEqual([alloc.step, slot.step, pte.step, v.step]);
    expect(causes.map((c) => rec.actors[c.actor]!.id)).toEqual(['khugepaged', 'khugepaged', 'T1', 'T1']);
    expect(causes.at(-1)!.violation).toBe(true);
    expect(rec.explanation!.story).toMatch(/^khugepaged allocated huge page 0x\w+ without __GFP_ZERO .*; khugepaged filled the hole f\[2\] with subpage 0x\w+ .*; T1 read garbage at m1:0x2000 \(f\[2\]\), expected zeroes \(step \d+\): data-integrity\.$/);
  });

  it('the pmd_read ghost event changes nothing: same trace hash, no trace line', async () => {
    const rp = await readReplay('test/fixtures/zero-page-overwrite.replay.json');
    // the hash the replay gave before handle_mm_fault published its read
    expect(run(rp.scenario, { seed: rp.seed, schedule: rp.decisions }).traceHash).toBe('fd25eefa7ed3b239');
    const lines: string[] = [];
    run(rp.scenario, { seed: rp.seed, schedule: rp.decisions, trace: (l) => void lines.push(l) });
    expect(lines.join('\n')).not.toMatch(/pmd_read/);
  });
});

describe('a check at quiescence: the steps that last changed what it names', () => {
  it('seed 001\'s fault-vs-truncate: the truncation\'s i_size, the fault that filled the slot beyond it', async () => {
    const rp = await readReplay('examples/team-fault-as-posted-truncate.replay.json');
    const { r, out } = eventsOf(rp.scenario, rp.seed, rp.decisions);
    const v = r.violations[0]!;
    expect([v.invariant, v.actor]).toEqual(['truncation', '-']);
    const [, file, index] = /^(\S+): index (\d+) is in the page cache beyond i_size/.exec(v.message)!;
    const ino = r.kernel.inodes.find((i) => i.name === file)!.id;
    const iSize = out.filter((x) => x.e.kind === 'inode' && x.e.ino === ino && x.e.field === 'i_size').at(-1)!;
    const fill = out.filter((x) => x.e.kind === 'cache' && x.e.ino === ino && x.e.index === Number(index)).at(-1)!;
    const rec = record(rp.scenario, { seed: rp.seed, schedule: rp.decisions });
    expect(rec.explanation!.causes.map((c) => c.step)).toEqual([iSize.step, fill.step, v.step].sort((a, b) => a - b));
    expect(rec.explanation!.story).toMatch(new RegExp(`^T\\d set ${file}'s i_size 8 → 4 pages \\(step ${iSize.step}\\); T\\d put 0x\\w+ in ${file}\\[${index}\\] \\(was a hole\\) \\(step ${fill.step}\\); once nothing could run: .*: truncation\\.$`));
  });

  it('every replay shipped in examples/ has a story ending in its invariant', async () => {
    const { readdirSync } = await import('node:fs');
    for (const f of readdirSync('examples').filter((x) => x.endsWith('.replay.json'))) {
      const rp = await readReplay(`examples/${f}`);
      const rec = record(rp.scenario, { seed: rp.seed, schedule: rp.decisions });
      const v = rec.violations[0]!;
      expect(rec.explanation, f).not.toBeNull();
      expect(rec.explanation!.story.endsWith(`: ${v.invariant}.`), f).toBe(true);
      expect(rec.explanation!.causes.at(-1)!.step, f).toBe(v.step);
    }
  });
});
