/**
 * The Stately inspector (@statelyai/inspect, the XState v5 successor of @xstate/inspect):
 * every actor of an `--engine xstate` run, its snapshots and the STEP events it took,
 * shown in the tool XState users know.
 *
 * With a URL, events go over a WebSocket to an inspector server (e.g.
 * `createInspectorServer()` from @statelyai/inspect/server, which bridges to the Stately
 * inspector in a browser). The package's own WebSocket adapter keeps only the last 200
 * events until the socket opens and does not flush on stop; a run is synchronous and
 * over before any socket opens, so this adapter queues every event and stop() returns
 * once all of them are written and the socket is closed.
 * Without a URL, the package's Stately Sky inspector (stately.ai, needs the internet)
 * prints a live link; that session stays open until the process is interrupted.
 */
import { createInspector, createSkyInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import WebSocket from 'ws';
import type { InspectionEvent, Observer } from 'xstate';

export interface StatelyInspector {
  /** XState's inspection observer: run()'s `inspect` option (createActor's `inspect`). */
  inspect: Observer<InspectionEvent>;
  /** Where the user should look, for a message. */
  where: string;
  /**
   * Resolves once every event sent so far has reached the inspector and the connection
   * is closed; rejects with a one-line reason if it cannot be reached. (Sky: stays open.)
   */
  stop(): Promise<void>;
}


/**
 * A task actor's context is the simulated actor with the whole kernel behind it: the
 * inspector gets who it is instead.
 */
function sanitizeContext(context: Record<string, unknown>): Record<string, unknown> {
  const a = context.a as { id?: string; kind?: string; comm?: string; pid?: number } | undefined;
  return a ? { actor: a.id, kind: a.kind, comm: a.comm, pid: a.pid } : context;
}

/** JSON without cycles (snapshots and refs point back at each other). */
function serialize(ev: StatelyInspectionEvent): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(ev, (_k, v: unknown) => {
    if (typeof v === 'function') return undefined;
    if (v !== null && typeof v === 'object') {
      if (seen.has(v)) return undefined;
      seen.add(v);
    }
    return v;
  });
}

function webSocketInspector(url: string, connectTimeoutMs: number): StatelyInspector {
  const queue: string[] = [];
  let ws: WebSocket;
  let failure: Error | null = null;
  const opened = new Promise<void>((resolve, reject) => {
    try {
      ws = new WebSocket(url);
    } catch (e) {
      reject(new Error(`cannot connect to ${url}: ${(e as Error).message}`));
      return;
    }
    const timer = setTimeout(() => reject(new Error(`cannot connect to ${url}: no answer in ${connectTimeoutMs / 1000} s`)), connectTimeoutMs);
    ws.on('open', () => {
      clearTimeout(timer);
      for (const m of queue.splice(0)) ws.send(m);
      resolve();
    });
    ws.on('error', (e) => {
      clearTimeout(timer);
      failure = new Error(`cannot connect to ${url}: ${e.message || (e as NodeJS.ErrnoException).code || 'connection failed'}`);
      reject(failure);
    });
  });
  opened.catch(() => {}); // reported by stop()
  const inspector = createInspector({
    send(ev: StatelyInspectionEvent) {
      const m = serialize(ev);
      if (ws?.readyState === WebSocket.OPEN) ws.send(m);
      else queue.push(m);
    },
  }, { sanitizeContext, maxDeferredEvents: Infinity });
  return {
    inspect: inspector.inspect,
    where: `the Stately inspector server at ${url}`,
    async stop() {
      // the package converts each inspection event on a timer of its own: let them all run
      await new Promise((r) => setTimeout(r, 0));
      await opened;
      if (failure) throw failure;
      await new Promise<void>((resolve) => {
        ws.on('close', resolve);
        ws.close(); // after the queued frames: the server receives every event first
      });
    },
  };
}

function skyInspector(): StatelyInspector {
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<void>((_, reject) => (fail = reject));
  const sky = createSkyInspector({
    onerror: (e) => fail(new Error(`cannot reach Stately Sky (stately.ai): ${(e as Error).message ?? 'connection failed'}; give a local inspector server's ws:// URL`)),
  });
  // (in Node the package passes its options to no inspector, and its superjson throws on the
  // snapshots' cycles from a timer: events reach the Sky socket sanitized and cycle-free)
  const inspector = createInspector({
    send: (ev: StatelyInspectionEvent) => sky.adapter.send(JSON.parse(serialize(ev)) as StatelyInspectionEvent),
  }, { sanitizeContext, maxDeferredEvents: Infinity });
  return {
    inspect: inspector.inspect,
    where: 'Stately Sky: the live link to open is printed once connected; Ctrl-C ends the session',
    stop: () => failed,
  };
}

/** An inspector for `url` (a ws:// inspector server), or Stately Sky without one. */
export function statelyInspector(url?: string, opts: { connectTimeoutMs?: number } = {}): StatelyInspector {
  return url ? webSocketInspector(url, opts.connectTimeoutMs ?? 10_000) : skyInspector();
}
