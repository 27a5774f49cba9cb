/** The `task` actor kind: a user task running a program of loads, stores, fork, munmap, split and exit. */
import { makeStruct } from '../vector/struct.ts';
import { z } from 'zod';
import { type TaskOp, type TaskLocals, taskChart, taskLocals } from '../../machines/task.ts';
import { arrayOf, pageAddress, sysfsSchema } from '../scenario/schema.ts';
import { VM } from '../memory/mm.ts';
import type { Kernel } from '../memory/kernel.ts';
import type { ActorKind } from '../registry.ts';

const madviseAdvice = z.enum(['MADV_HUGEPAGE', 'MADV_NOHUGEPAGE', 'MADV_DONTNEED', 'MADV_REMOVE', 'MADV_PAGEOUT', 'MADV_COLLAPSE'], {
  error: 'expected one of MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_DONTNEED, MADV_REMOVE, MADV_PAGEOUT, MADV_COLLAPSE',
});

/** mprotect's prot: PROT_NONE or a list of PROT_READ / PROT_WRITE / PROT_EXEC. */
const protSchema = z.union([
  z.literal('PROT_NONE'),
  arrayOf(z.enum(['PROT_READ', 'PROT_WRITE', 'PROT_EXEC'], { error: 'expected PROT_READ, PROT_WRITE or PROT_EXEC' }), { min: [1, 'Too small: expected array to have >=1 items'] }),
], { error: 'expected PROT_NONE or a list of PROT_READ, PROT_WRITE, PROT_EXEC' });

/** What to wait for: khugepaged to complete N more full scans, another actor to finish, or simulated time. */
const waitSchema = z.union([
  z.strictObject({ khugepaged_full_scans: z.number().int().positive() }),
  z.strictObject({ actor: z.string().min(1) }),
  // (msleep()'s unsigned int: 49.7 days, 4.3e15 ns — a simulated nanosecond clock stays exact to 2^53)
  z.strictObject({ ms: z.number().int().positive().max(0xffffffff, 'expected at most 4294967295 ms (msleep\'s unsigned int)') }),
], { error: 'expected one of {khugepaged_full_scans: N}, {actor: id}, {ms: N}' });

/**
 * Each operation: an object with one key naming it (or the string exit). Exported for the
 * scenario builder, whose operation types are derived from these schemas.
 */
export const OPS = {
  read: pageAddress,
  write: pageAddress,
  fork: z.string().min(1),
  munmap: z.strictObject({ start: pageAddress, size: pageAddress }),
  split: pageAddress,
  pread: z.strictObject({ file: z.string(), offset: pageAddress }),
  pwrite: z.strictObject({ file: z.string(), offset: pageAddress }),
  truncate: z.strictObject({ file: z.string(), size: pageAddress }),
  punch: z.strictObject({ file: z.string(), offset: pageAddress, size: pageAddress }),
  uprobe: pageAddress,
  madvise_collapse: z.strictObject({ start: pageAddress, size: pageAddress }),
  madvise: z.strictObject({ start: pageAddress, size: pageAddress, advice: madviseAdvice }),
  mprotect: z.strictObject({ start: pageAddress, size: pageAddress, prot: protSchema }),
  sysfs: sysfsSchema.refine((v) => Object.keys(v).length > 0, 'expected at least one tunable to write'),
  wait: waitSchema,
} as const;

type OpOut = 'exit' | { [K in keyof typeof OPS]: { [P in K]: z.output<(typeof OPS)[K]> } }[keyof typeof OPS];

const OP_LIST = 'expected an operation: {read: addr}, {write: addr}, {fork: child-mm}, {munmap: {start, size}}, {split: addr}, '
  + '{pread: {file, offset}}, {pwrite: {file, offset}}, {truncate: {file, size}}, {punch: {file, offset, size}}, {uprobe: addr}, {madvise_collapse: {start, size}}, '
  + '{madvise: {start, size, advice}}, {mprotect: {start, size, prot}}, {sysfs: {tunable: value}}, {wait: {khugepaged_full_scans | actor | ms}} or exit';

/**
 * An operation, checked by the schema its key names — so a mistake inside one is reported
 * at its own field (ops[3].madvise.advice: expected one of ...), not as "not an operation".
 */
const opSchema = z.unknown().transform((v, ctx): OpOut => {
  if (v === 'exit') return 'exit';
  const keys = v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : [];
  const key = keys[0] as keyof typeof OPS | undefined;
  if (keys.length !== 1 || !key || !Object.hasOwn(OPS, key)) {
    ctx.addIssue({ code: 'custom', message: OP_LIST });
    return z.NEVER;
  }
  const r = (OPS[key] as z.ZodType).safeParse((v as Record<string, unknown>)[key]);
  if (!r.success) {
    for (const issue of r.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: [key, ...issue.path] });
    return z.NEVER;
  }
  return { [key]: r.data } as OpOut;
});

export const taskSpecSchema = z
  .strictObject({
    id: z.string().min(1),
    mm: z.string().min(1),
    ops: arrayOf(opSchema, { min: [1, 'expected at least one operation'] }),
  })
  .refine((t) => t.ops.findIndex((o) => o === 'exit') < 0 || t.ops.indexOf('exit') === t.ops.length - 1, {
    message: 'exit must be the last operation',
    path: ['ops'],
  });

export type TaskSpec = z.output<typeof taskSpecSchema>;

/** The task's operations, frozen: they never change during a run (a dfs snapshot keeps them by reference). */
export function toTaskOps(spec: TaskSpec, k: Kernel): readonly TaskOp[] {
  const file = (name: string) => k.inodeByName(name)!.id;
  const actorIndex = (id: string) => k.actorIds.indexOf(id);
  const ops = spec.ops.flatMap((o): TaskOp | TaskOp[] => {
    // uprobe: fault the page in (a load), then __replace_page it
    if (typeof o === 'object' && 'uprobe' in o) return [{ op: 'read', vpn: o.uprobe }, { op: 'replace_page', vpn: o.uprobe }];
    if (o === 'exit') return { op: 'exit' };
    if ('read' in o) return { op: 'read', vpn: o.read };
    if ('write' in o) return { op: 'write', vpn: o.write };
    if ('fork' in o) return { op: 'fork', child: o.fork };
    if ('munmap' in o) return { op: 'munmap', start: o.munmap.start, end: o.munmap.start + o.munmap.size };
    if ('pread' in o) return { op: 'pread', ino: file(o.pread.file), index: o.pread.offset };
    if ('pwrite' in o) return { op: 'pwrite', ino: file(o.pwrite.file), index: o.pwrite.offset };
    if ('truncate' in o) return { op: 'truncate', ino: file(o.truncate.file), size: o.truncate.size };
    if ('madvise_collapse' in o) return { op: 'madvise_collapse', start: o.madvise_collapse.start, end: o.madvise_collapse.start + o.madvise_collapse.size };
    if ('madvise' in o) {
      const m = o.madvise;
      if (m.advice === 'MADV_COLLAPSE') return { op: 'madvise_collapse', start: m.start, end: m.start + m.size };
      return { op: 'madvise', advice: m.advice, start: m.start, end: m.start + m.size };
    }
    if ('mprotect' in o) {
      const p = o.mprotect.prot;
      const prot = p === 'PROT_NONE' ? 0 : p.reduce((acc, f) => acc | VM[f.slice(5) as 'READ' | 'WRITE' | 'EXEC'], 0);
      return { op: 'mprotect', start: o.mprotect.start, end: o.mprotect.start + o.mprotect.size, prot };
    }
    // one write per file, in the order the kernel's sysfs lists them
    if ('sysfs' in o) return sysfsWrites(o.sysfs);
    if ('wait' in o) {
      const w = o.wait;
      return {
        op: 'wait', full_scans: 'khugepaged_full_scans' in w ? w.khugepaged_full_scans : 0,
        actor: 'actor' in w ? actorIndex(w.actor) : -1, ms: 'ms' in w ? w.ms : 0,
      };
    }
    if ('punch' in o) return { op: 'punch', ino: file(o.punch.file), start: o.punch.offset, end: o.punch.offset + o.punch.size };
    return { op: 'split', vpn: o.split };
  });
  return Object.freeze(ops.map((op) => Object.freeze(op)));
}

type SysfsWrite = z.output<typeof sysfsSchema>;
/** A `sysfs:` operation as the writes it makes, one file each (khugepaged/… for the khugepaged directory). */
function sysfsWrites(w: SysfsWrite): TaskOp[] {
  const out: TaskOp[] = [];
  for (const [key, v] of Object.entries(w)) {
    if (key === 'khugepaged') {
      for (const [kk, kv] of Object.entries(v as Record<string, number>)) out.push({ op: 'sysfs', file: `khugepaged/${kk}`, value: String(kv) });
    } else out.push({ op: 'sysfs', file: key, value: String(v) });
  }
  return out;
}

export const taskKind: ActorKind<TaskLocals, TaskSpec> = {
  kind: 'task',
  description: 'a user task running a program: loads and stores (anonymous, shmem and file mappings) and the faults they take, read/write/pread/pwrite, fork, munmap, mprotect, madvise (MADV_COLLAPSE too), truncate, hole punch, sysfs writes, waits, uprobe, split, exit',
  comm: 'task',
  chart: taskChart,
  schema: taskSpecSchema as unknown as z.ZodType<TaskSpec>,
  attach(spec, k) {
    const mm = k.mmByName(spec.mm);
    if (mm) mm.users++;
    else k.mmUsersAtFork.set(spec.mm, (k.mmUsersAtFork.get(spec.mm) ?? 0) + 1);
  },
  unborn: (a) => a.k.mmByName(a.l.mmName) === undefined,
  // laid out in the state vector (src/vector/): taskLocals, machines/task.ts
  locals: (spec, k) => {
    const ops = toTaskOps(spec, k);
    // MADV_PAGEOUT's isolated pages, (pfn, inode, index) triples: at most its range's pages
    let pageout = 0;
    for (const op of ops) if (op.op === 'madvise' && op.advice === 'MADV_PAGEOUT') pageout = Math.max(pageout, Math.min(op.end - op.start, k.sv.bounds.mmPages));
    // collapse_shmem's lists only where MADV_COLLAPSE may run it
    const collapses = ops.some((op) => op.op === 'madvise_collapse');
    const collapse = collapses ? {} : { cs_list: 0, cs_copied: 0, rt_todo: 0 };
    return makeStruct(k.sv, taskLocals, spec.id, { mmName: spec.mm, ops }, {}, { po_pages: 3 * pageout, ...collapse });
  },
};
