/**
 * mm_struct as a statechart: its life (mm_users > 0, exit_mmap running, gone) and its
 * mmap_lock (mmap_sem in the seeds' era), an rwsem. Acquiring is a command the task
 * issues once the lock is free (a sleeping acquire blocks the task until then); the
 * chart rejects what the rwsem could never allow, e.g. up_write without down_write.
 */
import type { ObjectChartDef } from '../src/engine/object_chart.ts';

export const MM_EVENTS = [
  'MMPUT_LAST', 'EXIT_MMAP_DONE',
  'DOWN_READ', 'UP_READ', 'UP_READ_LAST', 'DOWN_WRITE', 'UP_WRITE',
] as const;
export type MmEvent = (typeof MM_EVENTS)[number];


export const mmChart: ObjectChartDef<MmEvent> = {
  id: 'mm_struct',
  description: 'mm_struct: mm_users and mmap_lock',
  events: MM_EVENTS,
  regions: {
    users: {
      initial: 'live',
      description: 'mm_users > 0; mmput() of the last user runs exit_mmap()',
      states: {
        // exit_mmap() runs without mmap_lock: khugepaged may still hold it for read
        live: { on: { MMPUT_LAST: 'exiting' } },
        exiting: { on: { EXIT_MMAP_DONE: 'exited' } },
        exited: {},
      },
    },
    mmap_lock: {
      initial: 'unlocked',
      description: 'mmap_sem: down_read / down_write / down_write_trylock',
      states: {
        unlocked: {
          on: {
            // whoever holds an mm_count reference (khugepaged's mm_slot) may take it, even
            // on an mm whose users are gone: khugepaged_test_exit() is their check
            DOWN_READ: 'read_locked',
            DOWN_WRITE: 'write_locked',
          },
        },
        read_locked: {
          on: { DOWN_READ: {}, UP_READ: {}, UP_READ_LAST: 'unlocked' },
        },
        write_locked: { on: { UP_WRITE: 'unlocked' } },
      },
    },
  },
};
