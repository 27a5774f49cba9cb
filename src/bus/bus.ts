/**
 * The RxJS event bus. Synchronous: a publish reaches every subscriber before publish()
 * returns, so a monitor's verdict on a step is in before the scheduler picks the next one.
 * One stream per event kind, plus one for everything, so a subscriber pays only for the
 * kinds it watches.
 *
 * A stream is an RxJS Observable whose subscribers the bus keeps and calls as a Subject
 * would (each one's `next`, in the order they subscribed; one that subscribes during a
 * delivery gets the next event, not this one) — without a Subject's per-event cost: the
 * RxJS package Node loads is its ES5 build, whose `Subject.next` allocates a closure, an
 * iterator and a result object per subscriber for every event. With millions of events a
 * run, that was a tenth of a plain run's time and most of its garbage.
 */
import { Observable, type Subscriber } from 'rxjs';
import type { BusEvent } from './events.ts';

type Kind = BusEvent['kind'];

/** The subscribers of one stream: replaced, never changed in place, so a delivery iterates a snapshot. */
class Stream {
  subscribers: readonly Subscriber<BusEvent>[] = [];
  readonly observable = new Observable<BusEvent>((sub) => {
    this.subscribers = [...this.subscribers, sub];
    return () => {
      this.subscribers = this.subscribers.filter((x) => x !== sub);
    };
  });

  deliver(ev: BusEvent): void {
    const subs = this.subscribers;
    for (let i = 0; i < subs.length; i++) subs[i]!.next(ev);
  }

  complete(): void {
    for (const sub of this.subscribers) sub.complete();
  }
}

/** Who receives one kind of event: its taps, then its stream's subscribers (one lookup a publish). */
interface Channel {
  readonly taps: ((ev: BusEvent) => void)[];
  stream: Stream | null;
}

export class Bus {
  private readonly all = new Stream();
  private readonly channels = new Map<Kind, Channel>();
  /** Every event, of every kind (the tracer, the inspector). */
  readonly events$: Observable<BusEvent> = this.all.observable;

  /**
   * While a step's footprint is recorded: the recorder, paused around each delivery — what
   * a subscriber (a monitor) reads or writes is not the step's (src/world/footprint.ts).
   */
  observing: { tracking: boolean } | null = null;

  publish(ev: BusEvent): void {
    const rec = this.observing;
    // (an event a subscriber publishes is delivered within the outer one: tracking stays off)
    const was = rec !== null && rec.tracking;
    if (rec !== null) rec.tracking = false;
    const c = this.channels.get(ev.kind);
    if (c !== undefined) {
      const taps = c.taps;
      for (let i = 0; i < taps.length; i++) taps[i]!(ev);
      if (c.stream !== null) c.stream.deliver(ev);
    }
    if (this.all.subscribers.length !== 0) this.all.deliver(ev);
    if (rec !== null) rec.tracking = was;
  }

  /** Whether anyone would receive an event of this kind (so callers can skip building it). */
  wants(kind: Kind): boolean {
    if (this.all.subscribers.length !== 0) return true;
    const c = this.channels.get(kind);
    return c !== undefined && (c.taps.length > 0 || (c.stream !== null && c.stream.subscribers.length !== 0));
  }

  private channel(kind: Kind): Channel {
    let c = this.channels.get(kind);
    if (!c) this.channels.set(kind, (c = { taps: [], stream: null }));
    return c;
  }

  /**
   * A plain function called with every event of these kinds, before the subscribers, in the
   * order tapped: for the few that see nearly every event and should not pay for RxJS on
   * each — the dfs's record of which state components a step changed
   * (src/world/components.ts), the lock-order monitor (every lock taken and released).
   */
  tap(kinds: readonly Kind[], fn: (ev: BusEvent) => void): void {
    for (const kind of kinds) this.channel(kind).taps.push(fn);
  }

  /** The events of one kind. */
  on<K extends Kind>(kind: K): Observable<Extract<BusEvent, { kind: K }>> {
    const c = this.channel(kind);
    c.stream ??= new Stream();
    return c.stream.observable as Observable<Extract<BusEvent, { kind: K }>>;
  }

  complete(): void {
    this.all.complete();
    for (const c of this.channels.values()) c.stream?.complete();
  }
}
