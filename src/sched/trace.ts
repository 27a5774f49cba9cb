/**
 * The tracer: bus events as ftrace-like lines,
 *   <comm>-<pid> [cpu] .... <timestamp>: <event>: <field>=<value> ...
 * with simulated time. Only built when a run asks for a trace.
 */
import type { BusEvent, MigrateBusEvent } from '../bus/events.ts';
import type { Kernel } from '../memory/kernel.ts';
import { hex } from '../memory/pages.ts';
import type { Actor } from './actor.ts';

/** A page's way through a migration, by the kernel function that takes each step. */
const MIGRATE_STEP: Record<Exclude<MigrateBusEvent['op'], 'done'>, string> = {
  isolate: 'isolate_lru_page',
  move: 'move_to_new_page',
  putback: 'putback_lru_page',
};

function prefix(k: Kernel, actors: readonly Actor[], ix: number): string {
  const a = actors[ix];
  const task = a ? `${a.comm}-${a.pid}` : '<model>-0';
  const cpu = String(a ? a.cpu : 0).padStart(3, '0');
  const ts = (k.now / 1e9).toFixed(6);
  return `${task.padStart(16)} [${cpu}] .... ${ts.padStart(12)}: `;
}

export function formatTraceLine(e: BusEvent, k: Kernel, actors: readonly Actor[]): string | null {
  switch (e.kind) {
    case 'step':
      return `${prefix(k, actors, e.actor)}thpsim_step: actor=${actors[e.actor]!.id} ${e.from} -> ${e.to}${e.fail ? ' injected=fail' : ''}`;
    case 'trace':
      return `${prefix(k, actors, e.actor)}${e.event}: ${e.fields}`;
    case 'page':
      return `${prefix(k, actors, e.actor)}page_${e.op.toLowerCase()}: pfn=${hex(e.pfn)} count=${e.refcount} mapcount=${e.mapcount}`;
    case 'pmd':
      return `${prefix(k, actors, e.actor)}pmd_${e.op.toLowerCase()}: mm=${k.mms[e.mm]!.name} addr=${hex(e.pmd * k.HPAGE_PMD_NR * 4096)} pfn=${e.pfn < 0 ? 'none' : hex(e.pfn)}`;
    case 'pte':
      return `${prefix(k, actors, e.actor)}pte_${e.op}: mm=${k.mms[e.mm]!.name} addr=${hex(e.vpn * 4096)} pfn=${e.pfn < 0 ? 'none' : hex(e.pfn)}`;
    case 'mm':
      return `${prefix(k, actors, e.actor)}mm_${e.op.toLowerCase()}: mm=${k.mms[e.mm]!.name}`;
    case 'lock':
      return `${prefix(k, actors, e.actor)}lock_${e.op}: ${e.lock}`;
    case 'atomic':
      return `${prefix(k, actors, e.actor)}${e.op}: ${e.variable} ${e.variable.endsWith('pfn') ? `${hex(e.old)} -> ${hex(e.value)}` : `${e.old} -> ${e.value}`}`;
    case 'access': {
      const file = e.ino >= 0 ? ` file=${k.inodes[e.ino]!.name} index=${e.index}` : '';
      const where = e.mm >= 0 ? `mm=${k.mms[e.mm]!.name} addr=${hex(e.vpn * 4096)}${file}` : file.slice(1);
      return `${prefix(k, actors, e.actor)}${e.mm >= 0 ? 'mem' : 'file'}_${e.op}: ${where} pfn=${e.pfn < 0 ? 'hole' : hex(e.pfn)} data=${e.token}`;
    }
    case 'cache': {
      const v = (x: number) => (x >= 0 ? hex(x) : x === -1 ? 'hole' : `swap:${-2 - x}`);
      return `${prefix(k, actors, e.actor)}mm_filemap_${e.value === -1 ? 'delete_from' : 'add_to'}_page_cache: file=${k.inodes[e.ino]!.name} index=${e.index} ${v(e.old)} -> ${v(e.value)}`;
    }
    case 'truncate':
      return `${prefix(k, actors, e.actor)}shmem_${e.op}: file=${k.inodes[e.ino]!.name} start=${e.start} end=${e.end}`;
    case 'migrate':
      // migrate_pages()'s end is the kernel's mm_migrate_pages tracepoint (its TP_printk's fields)
      if (e.op === 'done') return `${prefix(k, actors, e.actor)}mm_migrate_pages: nr_succeeded=${e.succeeded} nr_failed=${e.failed} mode=${e.mode} reason=${e.reason}`;
      return `${prefix(k, actors, e.actor)}${MIGRATE_STEP[e.op]}: pfn=${hex(e.pfn)}${e.op === 'move' ? ` newpfn=${hex(e.newpfn)}` : ''} reason=${e.reason}`;
    case 'recovery': {
      const where = `file=${k.inodes[e.ino]!.name} index=${e.index} head=${e.head < 0 ? 'none' : hex(e.head)}`;
      return e.op === 'pass'
        ? `${prefix(k, actors, e.actor)}shmem_recovery_populate: pass ${where}`
        : `${prefix(k, actors, e.actor)}shmem_recovery_work: end ${where} result=${e.result || 'none'}`;
    }
    case 'team':
      return e.op === 'member_set' || e.op === 'member_clear'
        ? `${prefix(k, actors, e.actor)}team_member: op=${e.op === 'member_set' ? 'SetPageTeam' : 'ClearPageTeam'} pfn=${hex(e.pfn)}`
        : `${prefix(k, actors, e.actor)}team_head: op=${e.op} pfn=${hex(e.pfn)} usage=${e.usage}`;
    case 'vmstat':
      return `${prefix(k, actors, e.actor)}count_vm_event: ${e.item} ${e.delta > 0 ? '+' : ''}${e.delta}`;
    case 'actor':
      return e.op === 'exit' ? `${prefix(k, actors, e.actor)}sched_process_exit: ${actors[e.actor]!.id} outcome=${e.detail}` : null;
    case 'violation':
      return `${prefix(k, actors, actors.findIndex((a) => a.id === e.violation.actor))}thpsim_violation: invariant=${e.violation.invariant} ${e.violation.message}`;
    default:
      return null;
  }
}
