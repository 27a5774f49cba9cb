// A task's first operation runs in the chart's start-up macrostep, where the actions taken
// on the way are deferred until the actor starts (as XState does): a guard there must not
// read a local those actions write. pread as the first operation used to die with
// "Cannot read properties of undefined (reading 'shmem')" on both engines.
import { expect, it } from 'vitest';
import { validateScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';

it('a task whose first operation is pread runs, on both engines, and reads what the file holds', async () => {
  const s = await validateScenario({
    name: 'pread-first', hpage_pmd_nr: 4,
    files: [{ name: 'f', size: 0x4000, populated: true }, { name: 'text', shmem: false, size: 0x4000, populated: true, cached: false }],
    actors: [
      { kind: 'task', id: 'T1', mm: 'm', ops: [{ pread: { file: 'f', offset: 0x1000 } }] },
      { kind: 'task', id: 'T2', mm: 'm', ops: [{ pread: { file: 'text', offset: 0x2000 } }] },
    ],
    mms: [{ name: 'm' }],
  }, '<test>');
  for (const engine of ['fast', 'xstate'] as const) {
    const r = run(s, { seed: 1, engine });
    expect(r.verdict, JSON.stringify(r.violations)).toBe('ok');
    expect(r.actors.map((a) => a.outcome)).toEqual(['ok', 'ok']);
  }
});
