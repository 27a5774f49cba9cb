// --stately: a run's actors reach a Stately inspector server over a WebSocket. The server
// here is a local one (the machine is offline); it only records what it receives.
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { loadScenario } from '../src/scenario/load.ts';
import { run } from '../src/sched/run.ts';
import { statelyInspector } from '../src/inspect/stately.ts';

interface Received { type: string; name?: string; sessionId: string; event?: { type: string }; snapshot?: { value?: unknown; context?: Record<string, unknown> } }

async function inspectorServer(): Promise<{ url: string; received: Received[]; close(): void }> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.on('listening', r));
  const received: Received[] = [];
  server.on('connection', (sock) => sock.on('message', (d) => received.push(JSON.parse(d.toString()))));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, received, close: () => server.close() };
}

function thpsim(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['bin/thpsim.js', ...args]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** Every actor registered, and its snapshots and STEP events, under the actor's own session. */
function checkEveryActor(received: Received[], ids: string[]): void {
  const actors = received.filter((e) => e.type === '@xstate.actor');
  expect(actors.map((e) => e.name).sort()).toEqual([...ids].sort());
  for (const a of actors) {
    const mine = received.filter((e) => e.sessionId === a.sessionId);
    expect(mine.filter((e) => e.type === '@xstate.event' && e.event?.type === 'STEP').length, a.name).toBeGreaterThan(0);
    const snaps = mine.filter((e) => e.type === '@xstate.snapshot');
    expect(snaps.length, a.name).toBeGreaterThan(0);
    // the context names the actor instead of carrying the whole simulated kernel
    expect(snaps[0]!.snapshot!.context).toMatchObject({ actor: a.name });
  }
}

describe('Stately inspector', { timeout: 120_000 }, () => {
  it('thpsim run --stately URL sends @xstate.actor, @xstate.snapshot and @xstate.event for every actor', async () => {
    const srv = await inspectorServer();
    try {
      const r = await thpsim('run', 'examples/zero-page-read-faults.yaml', '--stately', srv.url);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/engine xstate/);
      expect(r.out).toMatch(/verdict: OK/);
      expect(r.err).toBe(`thpsim: inspecting in the Stately inspector server at ${srv.url}\n`);
      checkEveryActor(srv.received, ['A1', 'A2', 'B1', 'C1', 'kswapd']);
    } finally {
      srv.close();
    }
  });

  it('thpsim inspect --stately URL: the page is served and the same run reaches the Stately inspector', async () => {
    const srv = await inspectorServer();
    const p = spawn(process.execPath, ['bin/thpsim.js', 'inspect', 'examples/zero-page-as-posted.yaml', '--stately', srv.url]);
    try {
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      await new Promise<void>((resolve, reject) => {
        const t = setInterval(() => {
          if (/http:\/\/127\.0\.0\.1:\d+/.test(out) && srv.received.some((e) => e.type === '@xstate.event')) {
            clearInterval(t);
            resolve();
          }
        }, 100);
        p.on('close', () => reject(new Error(`inspect exited: ${err}`)));
      });
      expect(err).toContain(`thpsim: inspecting in the Stately inspector server at ${srv.url}`);
      // the scenario's own seed: a violation, as the page says
      expect(out).toMatch(/^thpsim inspect: zero-page-as-posted \(seed \d+\): violation/);
      await new Promise((r) => setTimeout(r, 500));
      checkEveryActor(srv.received, (await loadScenario('examples/zero-page-as-posted.yaml')).actors.map((a) => a.id));
    } finally {
      p.kill('SIGTERM');
      srv.close();
    }
  });

  it('statelyInspector() as run()\'s inspect option: nothing lost, every event delivered before stop() resolves', async () => {
    const srv = await inspectorServer();
    try {
      const s = await loadScenario('examples/collapse-shmem-vs-truncate.yaml');
      const st = statelyInspector(srv.url);
      const r = run(s, { engine: 'xstate', inspect: st.inspect });
      await st.stop();
      checkEveryActor(srv.received, s.actors.map((a) => a.id));
      // one STEP event per scheduler step, as the run took them
      const steps = srv.received.filter((e) => e.type === '@xstate.event' && e.event?.type === 'STEP').length;
      expect(steps).toBe(r.steps);
    } finally {
      srv.close();
    }
  });

  it('an inspector that cannot be reached is one line, exit 2', async () => {
    const srv = await inspectorServer();
    const url = srv.url;
    srv.close(); // the port is free again: nothing listens there
    const r = await thpsim('run', 'examples/zero-page-read-faults.yaml', '--stately', url);
    expect(r.code).toBe(2);
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(new RegExp(`^thpsim: thpsim run: --stately: cannot connect to ${url}: `));
  });
});
