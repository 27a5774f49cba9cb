// --stately without a URL (Stately Sky; issue 18, item 7): the events reach the Sky socket
// sanitized and free of cycles. The machine is offline: the package's Sky inspector is
// replaced by one whose socket only records what it is sent, serialized as the package's
// does (its superjson, like JSON.stringify, throws on a cycle — from a timer, a stack trace).
import { describe, expect, it, vi } from 'vitest';
import { loadScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';

const sent: string[] = [];
vi.mock('@statelyai/inspect', async (original) => ({
  ...(await original<typeof import('@statelyai/inspect')>()),
  createSkyInspector: () => ({ adapter: { send: (ev: unknown) => sent.push(JSON.stringify(ev)) } }),
}));

describe('the Stately Sky inspector', () => {
  it('gets every actor\'s events, each serializable, the task actors\' context as who they are', async () => {
    const { statelyInspector } = await import('../src/inspect/stately.ts');
    const sky = statelyInspector();
    const s = await loadScenario('examples/zero-page-read-faults.yaml');
    run(s, { seed: 1, engine: 'xstate', inspect: sky.inspect });
    // (the package converts each event on a timer of its own)
    await new Promise((r) => setTimeout(r, 50));
    const events = sent.map((m) => JSON.parse(m) as { type: string; name?: string; snapshot?: { context?: Record<string, unknown> } });
    const actors = events.filter((e) => e.type === '@xstate.actor');
    expect(actors.map((e) => e.name)).toEqual(expect.arrayContaining(s.actors.map((a) => a.id)));
    const task = events.find((e) => e.type === '@xstate.snapshot' && e.snapshot?.context?.actor === 'A1');
    expect(task?.snapshot?.context).toEqual({ actor: 'A1', kind: 'task', comm: expect.any(String), pid: expect.any(Number) });
  });
});
